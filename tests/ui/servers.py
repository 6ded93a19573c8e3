"""Starting newsdesk's own servers (HTTP API, MCP) for the tests: in a thread on a free port, or as the real command."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rag.testing import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve_in_thread(app: Any, timeout: float = 30.0) -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True, name="test-uvicorn")
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)


def newsdesk_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "HF_HUB_OFFLINE": "1"}
    env.pop("NEWSDESK_API_TOKEN", None)
    env.update(extra)
    return env


@contextlib.contextmanager
def newsdesk_process(args: list[str], url: str, *, env: dict[str, str] | None = None,
                     timeout: float = 120.0) -> Iterator[subprocess.Popen[str]]:
    """Start `newsdesk ARGS` and wait until `url` answers (any HTTP status); stop it afterwards."""
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env or newsdesk_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"newsdesk {' '.join(args)} exited {proc.returncode}: {proc.stderr.read()}")
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except urllib.error.HTTPError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"newsdesk {' '.join(args)} did not come up") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
