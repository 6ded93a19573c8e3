"""The `newsdesk` command line, and its composition root: `build_parser` gathers the subcommands each package
registers (ingest.cli: ingest; this module: ask, chat, ui, serve, mcp, stats; eval.cli: eval), `main` runs one.
Domain errors become one line on stderr and an exit code: 0 ok, 2 usage or settings error, 3 partial failure
(some inputs failed), 1 anything else.

>>> build_parser().parse_args(["--store", "s", "ask", "How long is the bridge?", "--json"]).json
True
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import eval.cli
import ingest.cli
from rag.console import print_json, settings_from
from rag.errors import NewsdeskError, UserError

if TYPE_CHECKING:
    from rag.types import Answer

# -- ask / chat -------------------------------------------------------------------------------------------------

def _filters(args: argparse.Namespace) -> dict[str, str | None]:
    return {"source": args.source, "author": args.author, "since": args.since, "until": args.until}


def format_answer(answer: Answer, *, full: bool = False) -> str:
    """Plain-text rendering of an Answer for the terminal; a follow-up shows the standalone query it searched."""
    lines = [answer.text] + ([f"(searched for: {answer.query})"] if answer.query and answer.query != answer.question
                             else [])
    if answer.as_of and not answer.refused:
        from ui.format import human_date

        lines.append(f"(as of {human_date(answer.as_of)})")
    if answer.citations:
        lines.append("")
    from ui.format import cited_sentence, supporting_sentences

    support = supporting_sentences(answer)
    for c in answer.citations:
        meta = ", ".join(x for x in (c.source, c.published) if x)
        lines.append(f"[{c.n}] {c.title or 'Untitled'}" + (f" — {meta}" if meta else ""))
        if c.url:
            lines.append(f"    {c.url}")
        # The sentence the answer rests on, not the head of its chunk (`/sources` in chat shows the passages).
        passage = " ".join((c.passage if full else cited_sentence(c, support.get(c.n, []))).split())
        if not full and len(passage) > 300:
            passage = passage[:300].rsplit(" ", 1)[0] + " …"
        lines.append(f"    “{passage}”")
    for note in answer.notes:
        if note.startswith(("fallback", "the LLM failed")):
            lines.append(f"note: {note}")
    return "\n".join(lines)


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.text.dates import parse_as_of
    from ui.service import open_assistant

    if args.batch:
        return _ask_batch(args)
    if args.question is None:
        raise UserError('ask needs a question: newsdesk ask "QUESTION" (or --batch FILE)')
    as_of = parse_as_of(args.as_of) if args.as_of else None  # a bad date fails before the store opens
    assistant = open_assistant(settings_from(args))
    answer = assistant.ask(args.question, filters=_filters(args), top_k=args.top_k, answerer=args.answerer,
                           as_of=as_of)
    if args.json:
        print_json(answer.to_dict())
    else:
        print(format_answer(answer))
    return 0


def _ask_batch(args: argparse.Namespace) -> int:
    from rag.console import Progress
    from ui.batch import read_questions, run_batch
    from ui.service import open_assistant

    if args.question is not None:
        raise UserError("give either a QUESTION or --batch FILE, not both")
    items = read_questions(args.batch)  # a missing file fails before the model loads
    assistant = open_assistant(settings_from(args))
    bar = Progress("ask", total=len(items), unit=" questions")
    try:
        failed = run_batch(assistant, items, sys.stdout, workers=args.workers, top_k=args.top_k,
                           answerer=args.answerer, progress=bar,
                           defaults={"filters": {k: v for k, v in _filters(args).items() if v}, "as_of": args.as_of})
    finally:
        bar.close()
    print(f"ask: {len(items) - failed} answered, {failed} failed", file=sys.stderr)
    return 3 if failed else 0


def cmd_chat(args: argparse.Namespace) -> int:
    from rag.text.dates import parse_as_of
    from rag.types import Answer
    from ui.service import open_assistant

    as_of = parse_as_of(args.as_of) if args.as_of else None  # a bad date fails before the store opens
    assistant = open_assistant(settings_from(args))  # a missing or empty store fails here, naming the fix
    stats = assistant.stats()
    print(f"newsdesk chat over {stats['articles']} articles ({stats['chunks']} passages). "
          "Commands: /sources, /reset, /quit.")
    history: list[dict[str, str]] = []
    last: Answer | None = None
    while True:
        try:
            line = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not line:
            continue
        if line in ("/quit", "/exit", "/q"):
            return 0
        if line == "/reset":
            history, last = [], None
            print("(conversation cleared)")
            continue
        if line == "/sources":
            print(format_answer(last, full=True) if last and last.citations else "(no sources yet)")
            continue
        if line.startswith("/"):
            print("commands: /sources (full passages of the last answer), /reset, /quit")
            continue
        try:
            last = None
            shown = 0
            print("newsdesk> ", end="", flush=True)
            for event in assistant.stream(line, history=history, filters=_filters(args), answerer=args.answerer,
                                          as_of=as_of):
                if isinstance(event, Answer):
                    last = event
                else:
                    print(event.text[shown:], end="", flush=True)
                    shown = len(event.text)
            assert last is not None
            if last.text != (event.text if not isinstance(event, Answer) else last.text) or shown == 0:
                print(f"\r\033[Knewsdesk> {last.text}", end="")
            print()
            body = format_answer(last).split("\n", 1)
            if len(body) > 1:
                print(body[1])
            history += [{"role": "user", "content": line}, {"role": "assistant", "content": last.text}]
        except NewsdeskError as exc:
            print(f"\nerror: {exc}")


# -- stats ------------------------------------------------------------------------------------------------------

def cmd_stats(args: argparse.Namespace) -> int:
    from rag.store.store import Store, read_manifest

    settings = settings_from(args)
    # Stats must not load the embedding model: open the store with what its manifest records.
    manifest = read_manifest(Path(settings.store))
    if manifest is None:
        stats: dict[str, Any] = {"store": str(settings.store), "articles": 0, "chunks": 0, "sources": {},
                                 "authors": 0, "date_range": None, "embedding_model": None,
                                 "hint": "the store is empty; run `newsdesk ingest PATH`"}
    else:
        store = Store(Path(settings.store), embedding_model=manifest.embedding_model, dim=manifest.dim, chunker=None,
                      chroma_url=settings.chroma_url, collection=settings.collection)
        stats = store.stats()
        if args.articles:
            stats["articles_list"] = store.list_articles(limit=50)
    if args.json:
        print_json(stats)
    else:
        print(f"store:     {stats['store']}")
        print(f"articles:  {stats['articles']}   chunks: {stats['chunks']}")
        if stats.get("date_range"):
            lo, hi = stats["date_range"]
            print(f"dates:     {lo} .. {hi}" + (f"  ({stats['undated']} undated)" if stats.get("undated") else ""))
        for name, n in (stats.get("sources") or {}).items():
            print(f"source:    {name or '(none)'}: {n}")
        print(f"model:     {stats.get('embedding_model')}")
        if stats.get("hint"):
            print(stats["hint"])
        for a in stats.get("articles_list") or []:
            print(f"  {a['published'] or '----------'}  {a['id']}  {a['title']}")
    return 0


# -- ui / eval --------------------------------------------------------------------------------------------------

def cmd_ui(args: argparse.Namespace) -> int:
    from ui.app import serve
    from ui.service import require_store

    settings = settings_from(args)
    require_store(settings)
    serve(settings, host=args.host, port=args.port)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.api import serve

    serve(settings_from(args), host=args.host, port=args.port, sources=args.sources)
    return 0


def cmd_mcp(args: argparse.Namespace) -> int:
    from ui.mcp_server import serve

    serve(settings_from(args), http=args.http, host=args.host, port=args.port)
    return 0


# -- parser -----------------------------------------------------------------------------------------------------

def register(sub: Any) -> None:
    """Add this package's subcommands (ask, chat, ui, serve, mcp, stats) to the `newsdesk` parser's subparsers."""

    def add_filters(s: argparse.ArgumentParser) -> None:
        s.add_argument("--source", help="only articles from this source, e.g. cnn.com")
        s.add_argument("--author", help="only articles by this author")
        s.add_argument("--since", metavar="YYYY-MM-DD", help="only articles published on or after")
        s.add_argument("--until", metavar="YYYY-MM-DD", help="only articles published on or before")
        s.add_argument("--answerer", choices=["extractive", "openai"], default=None)

    s = sub.add_parser("ask", help="answer one question, or a file of them (--batch)")
    s.add_argument("question", nargs="?")
    s.add_argument("--json", action="store_true")
    s.add_argument("--top-k", type=int, default=None)
    s.add_argument("--as-of", metavar="YYYY-MM-DD", default=None,
                   help="the date the question is asked; 'this week', 'in June' resolve against it (default today)")
    s.add_argument("--batch", metavar="FILE", help="a question per line, or JSONL records {question, as_of?, "
                   "filters?, history?}; one ask --json object per line on stdout ('-' reads stdin)")
    s.add_argument("--workers", type=int, default=4, help="questions answered at once with --batch")
    add_filters(s)
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("chat", help="a terminal conversation with follow-up questions")
    s.add_argument("--as-of", metavar="YYYY-MM-DD", default=None,
                   help="the date the questions are asked; 'this week', 'in June' resolve against it (default today)")
    add_filters(s)
    s.set_defaults(func=cmd_chat)

    s = sub.add_parser("ui", help="start the web chat")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.set_defaults(func=cmd_ui)

    s = sub.add_parser("serve", help="HTTP API: OpenAI-compatible /v1/chat/completions, /v1/ask, /v1/search, ...")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--sources", action="store_true", help="end each chat reply with a list of its sources, for "
                   "chat apps that show only the text (Open WebUI, LibreChat)")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("mcp", help="MCP server (stdio; --http for streamable HTTP): search_articles, ask, get_article")
    s.add_argument("--http", action="store_true", help="serve streamable HTTP at http://HOST:PORT/mcp")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8001)
    s.set_defaults(func=cmd_mcp)

    s = sub.add_parser("stats", help="what the store holds")
    s.add_argument("--json", action="store_true")
    s.add_argument("--articles", action="store_true", help="also list the newest 50 articles")
    s.set_defaults(func=cmd_stats)


def build_parser() -> argparse.ArgumentParser:
    """The `newsdesk` parser: the global --store flag, then each package's subcommands in the order of --help."""
    p = argparse.ArgumentParser(prog="newsdesk", description="Ask questions about your news articles; every "
                                "answer sentence is cited to a passage.")
    p.add_argument("--store", default=None, help="store directory (default ./.newsdesk or NEWSDESK_STORE)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest.cli.register(sub)
    register(sub)
    eval.cli.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except NewsdeskError as exc:
        print(f"newsdesk: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if os.environ.get("NEWSDESK_DEBUG"):
            raise
        print(f"newsdesk: error: {type(exc).__name__}: {exc} (set NEWSDESK_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
