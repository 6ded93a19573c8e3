"""The store's write lock: one writer at a time, across processes (flock on `<store>/.lock`).

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> with write_lock(root):
...     (root / ".lock").exists()
True
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from rag.errors import StoreLockedError


@contextlib.contextmanager
def write_lock(root: Path, wait_seconds: float = 10.0) -> Iterator[None]:
    """Exclusive write access to the store; a second writer waits, then fails with a clear message."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreLockedError(f"another newsdesk ingest is writing to {root}; "
                                           "wait for it to finish and run again") from None
                time.sleep(0.2)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
