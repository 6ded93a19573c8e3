"""The Assistant: question (+ history, filters) -> retrieval -> answerer -> verification -> Answer.

>>> import tempfile
>>> from pathlib import Path
>>> import ingest
>>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")  # hash: the test embedder
>>> seed = Path(ingest.__file__).parent / "sample" / "azerbaijan-iran-normalization.txt"
>>> _ = ingest.ingest_paths([seed], settings)
>>> answer = Assistant.open(settings=settings).ask("How long will the Astarachay bridge be?")
>>> print(answer.text[:64], "...", answer.text[-20:])
The bridge will be about 100 meters long with a width of 31 mete ... s capital, Baku [1].
>>> answer.citations[0].title
'Azerbaijan – Iran normalization process may foster regional partnership'
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.answer.answerable import answerable
from rag.answer.base import Answerer, Drafted
from rag.answer.condense import condense
from rag.answer.extractive import REFUSAL, ExtractiveAnswerer, passage_coverage
from rag.answer.llm import LLMAnswerer
from rag.answer.question import analyze, topic_terms
from rag.errors import LLMError, NewsdeskError, UserError
from rag.models.chat import ChatModel
from rag.models.embedding import Embedder, make_embedder
from rag.retrieve.rerank import make_reranker, uses_dates
from rag.retrieve.retriever import Reranker, Retrieval, Retriever
from rag.settings import Settings, load_settings
from rag.store.store import Store
from rag.text.dates import parse_as_of
from rag.types import Answer, Citation, Filters, Partial, Passage
from rag.verify.check import Verified, verify
from rag.verify.support import OfflineSupportScorer, SupportScorer

ANSWERERS = ("extractive", "openai")
_IDF_MEMO_TERMS = 200_000  # IDF values remembered at most (a few MB), then forgotten at once


def _default_scorer(settings: Settings) -> SupportScorer:
    """The support scorer that verifies answers: `verifier` "lexical" (default) or "model" (the cross-encoder
    judge with the hard checks as vetoes).

    On the adversarial set (`python -m eval.bench.adversarial`) the judge drops 0.713 of the changed sentences
    against 0.701 for the lexical scorer and keeps every unchanged one as it does, but it judged an LLM's
    "The harbour is closed, says the official notice" supported by a passage whose instruction-like sentence the
    evidence leaves out (tests/ui/test_security.py), which the lexical scorer does not; so it stays opt-in.
    """
    if settings.verifier == "model":
        from rag.verify.cross_judge import CrossSupportScorer

        return CrossSupportScorer()
    return OfflineSupportScorer()


def _check_date(name: str, value: str | None) -> None:
    if value:
        try:
            _dt.date.fromisoformat(value)
        except ValueError:
            raise UserError(f"{name} must be a date like 2023-09-28, not {value!r}") from None


def _question_record(item: str | Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The question and the ask() keywords of one `ask_many` item; a malformed record is a UserError."""
    if isinstance(item, str):
        return item, {}
    if not isinstance(item, Mapping):
        raise UserError(f"a question must be a string or an object with a \"question\", not {type(item).__name__}")
    question = item.get("question")
    if not isinstance(question, str):
        raise UserError('the record has no "question" string')
    filters = item.get("filters")
    if filters is not None and not isinstance(filters, Mapping):
        raise UserError('"filters" must be an object with source, author, since, until')
    history = item.get("history")
    if history is not None and not (isinstance(history, list) and all(
            isinstance(t, Mapping) and isinstance(t.get("content"), str) and t.get("role") in ("user", "assistant")
            for t in history)):
        raise UserError('"history" must be a list of {"role": "user"|"assistant", "content": str}')
    as_of = item.get("as_of")
    if as_of is not None and not isinstance(as_of, str):
        raise UserError('"as_of" must be a date string YYYY-MM-DD')
    parse_as_of(as_of)  # a bad date is this record's error, before any work
    return question, {"filters": dict(filters) if filters else None, "history": history, "as_of": as_of}


def _pieces(text: str, size: int = 3) -> Iterator[str]:
    """Split text into small runs of words, keeping the spaces, for a streaming feel."""
    words = text.split(" ")
    for i in range(0, len(words), size):
        yield " ".join(words[i:i + size]) + (" " if i + size < len(words) else "")


@dataclass
class _Turn:
    """One question on its way through `stream`: what `_finish` needs besides the draft."""

    question: str
    query: str
    retrieval: Retrieval
    timings: dict[str, float]
    started: float


def _write(writer: Answerer, question: str, query: str, passages: Sequence[Passage],
           history: Sequence[dict[str, str]] | None) -> Generator[Partial, None, tuple[Drafted, float]]:
    """Run an answerer: yield a Partial per delta it streams; return its draft and the milliseconds it took."""
    ta = time.perf_counter()
    parts: list[str] = []
    drafted: Drafted | None = None
    for event in writer.write(question, query, passages, history):
        if isinstance(event, str):
            parts.append(event)
            yield Partial("".join(parts), event)
        else:
            drafted = event
    if drafted is None:
        raise RuntimeError(f"the {writer.name} answerer ended without a draft")
    return drafted, (time.perf_counter() - ta) * 1e3


class Assistant:
    """Answers questions over a store. Thread-safe: the web UI calls it from many threads."""

    def __init__(self, settings: Settings, store: Store, embedder: Embedder, *, chat: ChatModel | None = None,
                 scorer: SupportScorer | None = None, reranker: Reranker | None = None) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self._chat = chat
        self._idf_memo: tuple[Any, dict[str, float]] | None = None
        self.scorer = scorer or _default_scorer(settings)
        if reranker is None:
            reranker = make_reranker(settings.rerank, self._idf)
        self.retriever = Retriever(store, embedder, candidates=settings.candidates, fusion=settings.fusion,
                                   rrf_k=settings.rrf_k, alpha=settings.fusion_alpha, reranker=reranker,
                                   rerank_candidates=settings.rerank_candidates, rerank_pool=settings.rerank_pool,
                                   date_channel=uses_dates(settings.rerank))

    @classmethod
    def open(cls, store: str | Path | None = None, *, settings: Settings | None = None,
             embedder: Embedder | None = None, chat: ChatModel | None = None, **overrides: Any) -> Assistant:
        """Open the store at `store` (default: settings.store), with settings from env/TOML unless given."""
        if settings is None:
            settings = load_settings(**overrides, store=store)
        elif store is not None or overrides:
            settings = settings.model_copy(update={**overrides, **({"store": Path(store)} if store else {})})
        embedder = embedder or make_embedder(settings.embedding_model, api_key=settings.api_key,
                                             base_url=settings.llm_base_url, precision=settings.embedding_precision)
        st = Store.open(settings, embedder)
        assistant = cls(settings, st, embedder, chat=chat)
        # Opening Chroma costs about a second of imports; do it while the embedding model loads.
        threading.Thread(target=assistant._warm_store, daemon=True, name="newsdesk-warm").start()
        return assistant

    def _warm_store(self) -> None:
        with contextlib.suppress(Exception):  # the same error surfaces on first real use, with its message
            self.store.warm()

    # -- public API -----------------------------------------------------------------------------------------

    def ask(self, question: str, *, history: Sequence[dict[str, str]] | None = None,
            filters: Filters | dict[str, Any] | None = None, top_k: int | None = None,
            answerer: str | None = None, as_of: str | _dt.date | None = None) -> Answer:
        """One answer; see `stream` for the arguments."""
        final = None
        for event in self.stream(question, history=history, filters=filters, top_k=top_k, answerer=answerer,
                                 as_of=as_of):
            if isinstance(event, Answer):
                final = event
        assert final is not None
        return final

    def stream(self, question: str, *, history: Sequence[dict[str, str]] | None = None,
               filters: Filters | dict[str, Any] | None = None, top_k: int | None = None,
               answerer: str | None = None, as_of: str | _dt.date | None = None) -> Iterator[Partial | Answer]:
        """Yield Partial events with the answer text so far, then the verified Answer.

        history: earlier turns [{"role": "user"|"assistant", "content": str}]; filters: source, author,
        since, until (YYYY-MM-DD); answerer: "extractive" or "openai"; as_of: the date the question is asked
        (YYYY-MM-DD or a date; default today, or the day of the newest article when that is earlier), which
        relative expressions in the question resolve against.
        """
        started = time.perf_counter()
        question, flt, k, name = self._validate(question, filters, top_k, answerer)
        asked_on = self._asked_on(as_of)
        chat = self.chat() if name == "openai" else None  # fails before any work when the LLM is not configured

        t0 = time.perf_counter()
        query = condense(question, history)
        retrieval = self.retriever.retrieve(query, k, flt, as_of=asked_on)
        passages = retrieval.passages
        timings = {"retrieve": (time.perf_counter() - t0) * 1e3}
        extractive = self._extractive_answerer(retrieval, asked_on)
        turn = _Turn(question=question, query=query, retrieval=retrieval, timings=timings, started=started)

        if not passages or not self._relevant(retrieval.top_similarity, question, query, passages, extractive):
            yield self._finish(turn, None, 0.0, name, ("nothing relevant enough was retrieved",))
            return

        gap = answerable(question, passages, extractive) if chat is not None else ""
        if gap:  # the extractive answer's answerability check: no LLM call when a constraint is missing
            yield self._finish(turn, None, 0.0, name, (f"not answerable: {gap}",), refusal=gap)
            return
        writer: Answerer = LLMAnswerer(chat) if chat is not None else extractive
        notes: tuple[str, ...] = ()
        try:
            drafted, answer_ms = yield from _write(writer, question, query, passages, history)
        except LLMError as exc:
            if self.settings.fallback != "extractive":
                raise
            notes = (f"the LLM failed ({exc}); this is the extractive answer instead",)
            writer, name = extractive, "extractive (fallback)"
            drafted, answer_ms = yield from _write(writer, question, query, passages, history)
        notes += (drafted.reason,) if drafted.reason else ()
        # The extractive draft may cite spans of an article outside its chunks (`passages`), quote the catalog
        # (`citations`, final) or say why it refuses (`refusal`); other drafts have none of these.
        answer = self._finish(turn, drafted.text, answer_ms, name, notes, cited=getattr(drafted, "passages", ()),
                              refusal=getattr(drafted, "refusal", ""), final=getattr(drafted, "citations", ()))
        if not writer.streams:
            # A draft chosen whole streams as its verified text, in small runs of words.
            so_far = ""
            for piece in _pieces(answer.text):
                so_far += piece
                yield Partial(so_far, piece)
        yield answer

    def search(self, query: str, *, filters: Filters | dict[str, Any] | None = None, top_k: int | None = None,
               history: Sequence[dict[str, str]] | None = None) -> tuple[str, list[Passage]]:
        """(the standalone query searched, the passages best first) for `query`, with no answer drafted.

        The passages carry their cosine similarity to the query as `score`; arguments as for `stream`.
        """
        query, flt, k, _ = self._validate(query, filters, top_k, None)
        standalone = condense(query, history)
        return standalone, self.retriever.retrieve(standalone, k, flt).passages

    def ask_many(self, questions: Iterable[str | Mapping[str, Any]], *, workers: int = 4,
                 top_k: int | None = None, answerer: str | None = None) -> Iterator[Answer | NewsdeskError]:
        """Answer many questions on `workers` threads; yields one result per question, in input order.

        A question is a string or a record {"question", "as_of"?, "filters"?, "history"?} (other keys, such as a
        suite's "id" or "answers", are ignored). A bad question yields its UserError in its place instead of
        ending the run, and so does an LLMError for a question the LLM failed on. Bad settings raise before any
        question is asked.

        >>> import tempfile
        >>> from pathlib import Path
        >>> import ingest
        >>> settings = load_settings(store=tempfile.mkdtemp(), embedding_model="hash")
        >>> _ = ingest.ingest_paths([Path(ingest.__file__).parent / "sample" / "azerbaijan-iran-normalization.txt"],
        ...                         settings)
        >>> results = Assistant.open(settings=settings).ask_many(
        ...     ["How long will the Astarachay bridge be?", {"question": "  "}], workers=2)
        >>> [r.text[:24] if isinstance(r, Answer) else f"error: {r}" for r in results]
        ['The bridge will be about', 'error: the question is empty; ask something about the articles']
        """
        if not 1 <= workers <= 64:
            raise UserError(f"workers must be between 1 and 64, not {workers}")
        if (answerer or self.settings.answerer) == "openai":
            self.chat()  # an unconfigured LLM fails once, here, not once per question

        def one(item: str | Mapping[str, Any]) -> Answer | NewsdeskError:
            try:
                question, kwargs = _question_record(item)
                return self.ask(question, top_k=top_k, answerer=answerer, **kwargs)
            except (UserError, LLMError) as exc:
                return exc

        with ThreadPoolExecutor(workers, thread_name_prefix="newsdesk-ask") as pool:
            pending: deque[Future[Answer | NewsdeskError]] = deque()
            items = iter(questions)
            for item in items:  # a bounded window: a million-line file is not read into futures at once
                pending.append(pool.submit(one, item))
                if len(pending) >= 4 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _finish(self, turn: _Turn, text: str | None, answer_ms: float, used: str, notes: tuple[str, ...], *,
                cited: Sequence[Passage] = (), refusal: str = "", final: tuple[Citation, ...] = ()) -> Answer:
        """Verify the draft `text` (None: no answer) against `cited` (default: the retrieved passages) and build
        the Answer, or the refusal (`refusal`: its plain-words reason). `final` citations (metadata answers quote
        the catalog) have no passage to be verified against.
        """
        passages = turn.retrieval.passages
        timings = turn.timings
        tv = time.perf_counter()
        verified = (Verified(text, final, ()) if final else verify(text, cited or passages, self.scorer)) \
            if text else None
        timings["answer"] = answer_ms
        timings["verify"] = (time.perf_counter() - tv) * 1e3
        timings["total"] = (time.perf_counter() - turn.started) * 1e3
        timings.update({f"retrieve_{k}": v for k, v in turn.retrieval.timings_ms.items()})
        if verified is None or not verified.citations:
            why = notes + (("verification removed every sentence",) if verified is not None else ())
            return Answer(question=turn.question, text=refusal or REFUSAL, refused=True, citations=(),
                          timings_ms=timings, answerer=used, notes=why, as_of=None, passages=tuple(passages),
                          query=turn.query)
        dropped = len(verified.dropped)
        extra = (f"{dropped} unsupported sentence(s) removed",) if dropped else ()
        as_of = max((c.published for c in verified.citations if c.published), default=None)
        return Answer(question=turn.question, text=verified.text, refused=False, citations=verified.citations,
                      timings_ms=timings, answerer=used, notes=notes + extra, as_of=as_of, passages=tuple(passages),
                      query=turn.query)

    def chat(self) -> ChatModel:
        """The configured chat model (created on first use; SettingsError when not configured)."""
        if self._chat is None:
            from rag.models.chat import OpenAIChat

            self._chat = OpenAIChat.from_settings(self.settings)
        return self._chat

    def stats(self) -> dict[str, Any]:
        return self.store.stats()

    # -- internals ------------------------------------------------------------------------------------------

    def _validate(self, question: str, filters: Filters | dict[str, Any] | None, top_k: int | None,
                  answerer: str | None) -> tuple[str, Filters, int, str]:
        if not isinstance(question, str) or not question.strip():
            raise UserError("the question is empty; ask something about the articles")
        question = " ".join(question.split())
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise UserError(f"the question is {len(question)} characters long; the limit is {limit} "
                            "(NEWSDESK_MAX_QUESTION_CHARS)")
        flt = Filters.from_any(filters)
        _check_date("since", flt.since)
        _check_date("until", flt.until)
        if flt.since and flt.until and flt.since > flt.until:
            raise UserError(f"since ({flt.since}) is after until ({flt.until})")
        if (unknown := self.store.unknown_filter(flt)) is not None:
            raise UserError(f"no article in the store has {unknown}; `newsdesk stats` lists the sources and the "
                            "web chat's filters list both")
        k = self.settings.top_k if top_k is None else top_k  # 0 is a mistake to report, not "the default"
        if not 1 <= k <= 100:
            raise UserError(f"top_k must be between 1 and 100, not {k}")
        name = answerer or self.settings.answerer
        if name not in ANSWERERS:
            raise UserError(f"unknown answerer {name!r}; use one of {', '.join(ANSWERERS)}")
        return question, flt, k, name

    def _idf(self) -> Callable[[Sequence[str]], dict[str, float]] | None:
        """The store's IDF, remembered per term for as long as the index stays the same (a question's answer asks
        for a few hundred terms, and the reranker and the next question ask for many of them again).
        """
        index = self.store.bm25_index() if self.store.manifest is not None else None
        if index is None:
            return None
        memo = self._idf_memo
        if memo is None or memo[0] is not index or len(memo[1]) > _IDF_MEMO_TERMS:
            memo = self._idf_memo = (index, {})
        known = memo[1]

        def idf(terms: Sequence[str]) -> dict[str, float]:
            new = [t for t in terms if t not in known]
            if new:
                known.update(index.idf(new))
            return {t: known[t] for t in terms}

        return idf

    def _asked_on(self, as_of: str | _dt.date | None) -> _dt.date:
        """The day a question is asked: `as_of` when given; else today, or the day of the store's newest article
        when that is earlier. An archive is asked about as of its own last day, so "this week" and the date
        prior read against the archive's time, not against a today that lies years after every article.
        """
        day = parse_as_of(as_of)
        if as_of:
            return day
        newest = self.store.newest_published()
        try:
            last = _dt.date.fromisoformat(newest[:10]) if newest else None
        except ValueError:
            last = None
        return min(day, last) if last else day

    def _extractive_answerer(self, retrieval: Retrieval, asked_on: _dt.date) -> ExtractiveAnswerer:
        """The extractive answerer for one question: the store's term statistics, the articles' full texts
        (cached for the question), the embedder and the retrieval's query vector.
        """
        index = self.store.bm25_index() if self.store.manifest is not None else None
        texts: dict[str, str | None] = {}

        def article_text(article_id: str) -> str | None:
            if article_id not in texts:
                art = self.store.article(article_id)
                texts[article_id] = art.text if art else None
            return texts[article_id]

        return ExtractiveAnswerer(idf=self._idf() if index else None,
                                  in_corpus=(lambda t: t in index.vocab) if index else None,
                                  article_text=article_text, embed=self.embedder.embed,
                                  query_vector=retrieval.query_vector, asked_on=asked_on)

    def _relevant(self, top_similarity: float, question: str, query: str, passages: Sequence[Passage],
                  extractive: ExtractiveAnswerer) -> bool:
        """Is anything retrieved close enough to the question to try answering at all?"""
        if top_similarity >= self.settings.min_relevance:
            return True
        if not topic_terms(question) and analyze(question).kind == "metadata":
            return True  # "Who wrote the analysis?" names no topic: the answerer says which article or asks
        return max((passage_coverage(query, p, extractive.idf) for p in passages), default=0.0) >= 0.5
