"""Fault points for crash tests: `checkpoint(name)` marks a place where an ingest may die.

It does nothing unless the environment variable NEWSDESK_FAULT is "<name>:<n>" (or "<name>", meaning n = 1)
when this module is imported; then the n-th time checkpoint `name` is reached, the process kills itself with
SIGKILL, exactly as an out-of-memory killer or a power cut would end it: no `finally`, no `atexit`, no flush.

>>> checkpoint("chroma_upsert_after")  # NEWSDESK_FAULT unset: a no-op
>>> _parse("chroma_upsert_after:3"), _parse("read_file"), _parse("")
(('chroma_upsert_after', 3), ('read_file', 1), (None, 0))
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "NEWSDESK_FAULT"


def _parse(spec: str) -> tuple[str | None, int]:
    """("name", n) from "name:n" or "name"; (None, 0) when unset. A malformed spec fails loudly: a crash test
    whose fault silently never fires would pass for the wrong reason.
    """
    spec = spec.strip()
    if not spec:
        return None, 0
    name, sep, count = spec.rpartition(":")
    if not sep:
        return spec, 1
    if not name or not count.isdigit() or int(count) < 1:
        raise ValueError(f"{ENV} must look like <checkpoint>:<n> with n >= 1, not {spec!r}")
    return name, int(count)


_TARGET, _AT = _parse(os.environ.get(ENV, ""))
_hits = 0
_lock = threading.Lock()  # the reader thread and the main thread both pass checkpoints


def checkpoint(name: str) -> None:
    """Die by SIGKILL if this is the armed checkpoint's n-th hit; otherwise return at once."""
    if name != _TARGET:  # the unarmed path: one comparison with None
        return
    global _hits
    with _lock:
        _hits += 1
        fire = _hits == _AT
    if fire:
        os.kill(os.getpid(), signal.SIGKILL)
