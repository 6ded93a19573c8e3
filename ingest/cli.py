"""`newsdesk ingest PATH...`: the command-line side of ingest, registered by the `newsdesk` command (ui.cli).

>>> parser = argparse.ArgumentParser(prog="newsdesk")
>>> register(parser.add_subparsers(dest="command"))
>>> parser.parse_args(["ingest", "corpus/", "--sync"]).sync
True
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rag.console import print_json, progress_bar, settings_from


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingest import ingest_paths

    settings = settings_from(args)
    bar = progress_bar("ingest", " articles")

    def progress(articles: int, chunks: int) -> None:
        if bar is not None:
            bar.n = articles
            bar.set_postfix(chunks_embedded=chunks, refresh=False)
            bar.refresh()

    try:
        result = ingest_paths([Path(p) for p in args.paths], settings, sync=args.sync, dry_run=args.dry_run,
                              progress=progress)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print_json(result.to_dict())
    else:
        verb = "would be " if result.dry_run else ""
        print(f"{result.added} added, {result.updated} updated, {result.unchanged} unchanged, "
              f"{result.deleted} deleted {verb}— {result.chunks_embedded} chunks {verb}embedded, "
              f"{result.chunks_total} in the store ({result.seconds:.1f} s)")
        for d in result.duplicates:
            print(f"duplicate: {d['path']} is the same as article {d['duplicate_of']} ({d['reason']})")
        for f in result.failed:
            print(f"failed: {f['path']}: {f['error']}", file=sys.stderr)
    return result.exit_code


def register(sub: Any) -> None:
    """Add the `ingest` subcommand to the `newsdesk` parser's subparsers."""
    s = sub.add_parser("ingest", help="read files/folders into the store")
    s.add_argument("paths", nargs="+", metavar="PATH")
    s.add_argument("--sync", action="store_true", help="also delete articles whose source files are gone")
    s.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest)
