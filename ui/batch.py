"""`newsdesk ask --batch FILE`: answer a file of questions, one `ask --json` object per line, in input order.

FILE holds a question per line, or JSONL records {"question", "as_of"?, "filters"?, "history"?} (a suite file
works as it is: other fields are ignored, an "id" is echoed back). Blank lines are skipped. A line that cannot be
answered gives {"line": N, "error": "..."} in its place and the run goes on; the exit code is then 3.

>>> [parse_line(1, "Who won?"), parse_line(2, '{"question": "When?", "id": "q2"}')[0]]
[(1, 'Who won?'), 2]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from rag.console import Progress
from rag.errors import NewsdeskError, UserError
from rag.types import Answer


class _BadLine:
    def __init__(self, error: str) -> None:
        self.error = error


def parse_line(number: int, line: str) -> tuple[int, str | dict[str, Any] | _BadLine]:
    """(line number, the question or record, or the reason the line is not one)."""
    text = line.strip()
    if text.startswith("{"):
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            return number, _BadLine(f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})")
        return number, record
    return number, text


def read_questions(path: str | Path, stream: TextIO | None = None) -> list[tuple[int, Any]]:
    """The non-blank lines of `path` ("-" reads `stream`, standard input by default), parsed."""
    if str(path) == "-":
        lines = (stream or sys.stdin).read().splitlines()
    else:
        try:
            lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise UserError(f"no such questions file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read the questions file {path}: {exc}") from None
    return [parse_line(i, line) for i, line in enumerate(lines, start=1) if line.strip()]


def run_batch(assistant: Any, items: list[tuple[int, Any]], out: TextIO, *, workers: int = 4,
              top_k: int | None = None, answerer: str | None = None, defaults: dict[str, Any] | None = None,
              progress: Progress | None = None) -> int:
    """Write one JSON line per item to `out`, in order; return the number of lines that failed.

    `defaults` (filters, as_of from the command line) apply to every question that does not set its own.
    """
    defaults = {k: v for k, v in (defaults or {}).items() if v}
    good = [(n, _with_defaults(item, defaults)) for n, item in items if not isinstance(item, _BadLine)]
    answers: Iterator[Answer | NewsdeskError] = assistant.ask_many([q for _, q in good], workers=workers,
                                                                    top_k=top_k, answerer=answerer)
    failed = 0
    for done, (number, item) in enumerate(items, start=1):
        if isinstance(item, _BadLine):
            result: Answer | NewsdeskError | str = item.error
        else:
            result = next(answers)
        if isinstance(result, Answer):
            obj = result.to_dict()
            if isinstance(item, dict) and item.get("id") is not None:
                obj = {"id": item["id"], **obj}
        else:
            failed += 1
            obj = {"line": number, "error": str(result)}
            if isinstance(item, dict) and item.get("id") is not None:
                obj["id"] = item["id"]
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()
        if progress is not None:
            progress.update(questions=done, errors=failed)
    return failed


def _with_defaults(item: Any, defaults: dict[str, Any]) -> Any:
    if not defaults:
        return item
    record = {"question": item} if isinstance(item, str) else item
    if not isinstance(record, dict):
        return item
    return {**{k: v for k, v in defaults.items() if k not in record}, **record}
