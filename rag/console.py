"""What the command-line packages (ingest, ui, eval) share: settings from the global flags, one JSON line on
stdout, and a progress bar on stderr when someone is watching.

>>> print_json({"answer": "Über 100 m", "n": 1})
{"answer": "Über 100 m", "n": 1}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.settings import Settings


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    """Settings for a command: `--store` from the command line, the rest from the environment and newsdesk.toml."""
    from rag.settings import load_settings  # pydantic: a quarter second, paid only by commands that need it

    return load_settings(store=args.store, **extra)


def print_json(obj: Any) -> None:
    """One JSON document on one line of stdout (UTF-8 as is, not escaped)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def progress_bar(desc: str, unit: str) -> Any:
    """A tqdm bar on stderr when stderr is a terminal (or NEWSDESK_PROGRESS=1); else None."""
    if not (sys.stderr.isatty() or os.environ.get("NEWSDESK_PROGRESS") == "1"):
        return None
    from tqdm import tqdm

    return tqdm(desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)
