"""JSON Lines input for the harness (suites, labelled judge data): one reader, one set of error messages.

Blank lines are skipped; a UTF-8 byte-order mark is allowed; the first bad line raises a UserError that names the
file and the line.

>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "cases.jsonl"
>>> _ = p.write_text('{"id": "a"}\\n\\n{"id": "b"\\n', encoding="utf-8")
>>> read_jsonl(p, "suite")
Traceback (most recent call last):
...
rag.errors.UserError: .../cases.jsonl:3: not valid JSON (Expecting ',' delimiter at column 11)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rag.errors import UserError


def read_jsonl(path: Path, what: str) -> tuple[bytes, list[tuple[int, str, Any]]]:
    """The file's bytes and its records as (line number, "path:line", parsed JSON); `what` names the file kind."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    records: list[tuple[int, str, Any]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            records.append((lineno, where, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise UserError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from exc
    return data, records
