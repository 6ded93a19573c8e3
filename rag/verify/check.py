"""Verification: every sentence of a draft must be supported by the passage(s) it cites.

A sentence whose citations do not support it is re-cited to a retrieved passage that does, or removed.
Citations are renumbered 1..n in order of first use; `citations` holds exactly the cited passages.

>>> from rag.types import Passage
>>> from rag.verify.support import OfflineSupportScorer
>>> ps = [Passage("c1", "a", "The bridge will be about 100 meters long.", 0, 42, "T", 0.9),
...       Passage("c2", "a", "Trade grew to $688 million.", 50, 77, "T", 0.5)]
>>> v = verify("The bridge will be about 100 meters long [2]. It cost $9 billion [1].", ps, OfflineSupportScorer())
>>> v.text, [c.chunk_id for c in v.citations]
('The bridge will be about 100 meters long [1].', ['c1'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.text.markers import cite, parse_markers, strip_markers
from rag.text.sentences import sentence_spans
from rag.types import Citation, Passage
from rag.verify.injection import evidence_text, is_instruction_like
from rag.verify.support import SupportScorer


@dataclass(frozen=True)
class SentenceCheck:
    sentence: str  # without markers
    cited: tuple[int, ...]  # 1-based passage numbers as drafted
    kept: bool
    final: tuple[int, ...] = ()  # 1-based passage numbers after re-citation (before renumbering)
    score: float = 0.0
    note: str = ""


@dataclass(frozen=True)
class Verified:
    text: str
    citations: tuple[Citation, ...]
    checks: tuple[SentenceCheck, ...] = field(default=())

    @property
    def dropped(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.kept]

    @property
    def kept(self) -> list[SentenceCheck]:
        return [c for c in self.checks if c.kept]


def draft_sentences(draft: str) -> list[tuple[str, list[int]]]:
    """(sentence without markers, its citation numbers); a lone marker after the full stop joins its sentence."""
    out: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(draft):
        piece = draft[s:e]
        numbers = parse_markers(piece)
        bare = strip_markers(piece)
        if not any(ch.isalnum() for ch in bare):
            if out and numbers:
                out[-1][1].extend(numbers)
            continue
        out.append((bare, numbers))
    return out


def verify(draft: str, passages: Sequence[Passage], scorer: SupportScorer, *, recite: bool = True) -> Verified:
    """Check each sentence of `draft` (markers [n] index `passages` from 1) and keep the supported ones."""
    checks: list[SentenceCheck] = []
    # Evidence is the passages minus anything addressed to the assistant (article text is data).
    texts = [evidence_text(p.text) for p in passages]
    threshold = scorer.threshold
    for sentence, numbers in draft_sentences(draft):
        if is_instruction_like(sentence):
            checks.append(SentenceCheck(sentence, tuple(numbers), False, (), 0.0, "instruction-like text; removed"))
            continue
        valid = tuple(dict.fromkeys(n for n in numbers if 1 <= n <= len(passages)))
        bad = [n for n in numbers if not 1 <= n <= len(passages)]
        note = f"cited [{', '.join(map(str, bad))}], which is not a retrieved passage; " if bad else ""
        if valid:
            score = scorer.support([texts[n - 1] for n in valid], sentence)
            if score >= threshold:
                alone = [n for n in valid if scorer.support([texts[n - 1]], sentence) >= threshold]
                checks.append(SentenceCheck(sentence, valid, True, tuple(alone or valid), score, note.strip("; ")))
                continue
            note += f"not supported by its citation(s) (score {score:.2f}); "
        if recite and texts:
            scores = [scorer.support([t], sentence) for t in texts]
            best = max(range(len(texts)), key=lambda i: scores[i])
            if scores[best] >= threshold:
                checks.append(SentenceCheck(sentence, valid, True, (best + 1,), scores[best],
                                            (note + f"re-cited to [{best + 1}]").strip("; ")))
                continue
        checks.append(SentenceCheck(sentence, valid, False, (), 0.0,
                                    (note + "no retrieved passage supports it; removed").strip("; ")))
    # Renumber in order of first use.
    order: dict[int, int] = {}
    parts = []
    for c in checks:
        if not c.kept:
            continue
        for n in c.final:
            order.setdefault(n, len(order) + 1)
        parts.append(cite(c.sentence, [order[n] for n in c.final]))
    citations = tuple(Citation.from_passage(new, passages[old - 1]) for old, new in order.items())
    return Verified(" ".join(parts), citations, tuple(checks))
