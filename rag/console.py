"""What the command-line packages (ingest, ui, eval) share: settings from the global flags, one JSON line on
stdout, and progress on stderr: a bar when someone is watching, else (`Progress`) a plain line every few seconds,
so a long command with its output redirected to a file or a CI log never sits silent.

>>> print_json({"answer": "Über 100 m", "n": 1})
{"answer": "Über 100 m", "n": 1}
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TextIO

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


class Progress:
    """`update(**counts)` as work advances; `close()` at the end.

    On a TTY (or with NEWSDESK_PROGRESS=1) a tqdm bar over the first count; else, every `interval` seconds
    while counts are known, one line "DESC: 120 articles, 840 chunks_embedded (35 s)".
    """

    def __init__(self, desc: str, *, total: int | None = None, unit: str = "it", stream: TextIO | None = None,
                 interval: float | None = None, bar: bool | None = None) -> None:
        self.desc, self.total = desc, total
        self.stream = stream or sys.stderr
        if interval is None:
            interval = float(os.environ.get("NEWSDESK_PROGRESS_SECONDS") or 5)
        self.interval = interval
        self._counts: dict[str, Any] = {}
        self._started = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        use_bar = bar if bar is not None else (self.stream.isatty() or os.environ.get("NEWSDESK_PROGRESS") == "1")
        self._bar: Any = None
        self._drawn = 0.0
        self._thread: threading.Thread | None = None
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(desc=desc, total=total, unit=unit, file=self.stream, dynamic_ncols=True)
        elif interval > 0:
            self._thread = threading.Thread(target=self._tick, daemon=True, name="newsdesk-progress")
            self._thread.start()

    def update(self, **counts: Any) -> None:
        with self._lock:
            self._counts.update(counts)
        if self._bar is not None:
            first, *rest = counts.items()
            self._bar.n = first[1]
            self._bar.set_postfix(dict(rest), refresh=False)
            now = time.monotonic()
            if now - self._drawn >= 0.1:  # callers may update per item; a terminal needs ten frames a second
                self._drawn = now
                self._bar.refresh()
        elif self.interval <= 0:
            self._line()

    def line(self) -> str:
        with self._lock:
            counts = dict(self._counts)
        parts = [f"{v:,} {k}" if isinstance(v, int) else f"{k} {v}" for k, v in counts.items()]
        if self.total is not None and parts:
            parts[0] = parts[0].replace(" ", f"/{self.total:,} ", 1)
        return f"{self.desc}: {', '.join(parts)} ({time.monotonic() - self._started:.0f} s)"

    def _line(self) -> None:
        if self._counts:
            print(self.line(), file=self.stream, flush=True)

    def _tick(self) -> None:
        while not self._done.wait(self.interval):
            self._line()

    def close(self) -> None:
        self._done.set()
        if self._bar is not None:
            self._bar.refresh()
            self._bar.close()
