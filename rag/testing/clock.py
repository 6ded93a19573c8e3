"""FakeClock: the time of retry and deadline tests, kept by the test instead of the wall clock.

Backoff sleeps take no real time: the clock moves forward by the sleep and records it. Waiting for a server
(Clock.wait) is real, bounded by the time the caller asked for, and the clock moves forward by the time the wait
took, so a stalled server still trips the deadline. A test then asserts on `elapsed` and `sleeps`, which a
loaded machine cannot stretch past what the code under test allowed.

>>> import queue
>>> clock = FakeClock()
>>> clock.sleep(0.5); clock.sleep(1.0)
>>> clock.elapsed, clock.sleeps
(1.5, [0.5, 1.0])
>>> clock.wait(queue.SimpleQueue(), 0.01)
Traceback (most recent call last):
...
_queue.Empty
>>> round(clock.elapsed, 2)  # the wait took its 0.01 s
1.51
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any


class FakeClock:
    """A Clock (rag.models.calls.Clock) whose sleeps are instant and recorded."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    @property
    def elapsed(self) -> float:
        """Seconds on this clock since it was made."""
        return self._now - self.start

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += max(seconds, 0.0)

    def wait(self, items: queue.SimpleQueue[Any], seconds: float) -> Any:
        began = time.perf_counter()
        try:
            return items.get(timeout=seconds) if seconds > 0 else items.get_nowait()
        finally:
            with self._lock:
                self._now += min(time.perf_counter() - began, max(seconds, 0.0))
