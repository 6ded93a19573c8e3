"""Evaluation suites: JSONL cases plus an optional sidecar of gate thresholds.

A case is one line: `{"id", "question", "answers": [str], "gold_ids"?: [article_id], "history"?: [{"role",
"content"}], "filters"?: {"source"|"author"|"since"|"until": str}}`. `answers: []` means the corpus does not hold
the answer and the assistant should refuse. Unknown fields (choices, evidence, week, ...) are ignored.
Thresholds live next to the suite in `SUITE.thresholds.json` (`{"hit@5": 0.6}`); command-line ones win.

>>> import tempfile
>>> p = Path(tempfile.mkdtemp()) / "s.jsonl"
>>> _ = p.write_text('{"id": "q1", "question": "How long is the bridge?", "answers": ["100 meters"]}\\n')
>>> suite = load_suite(p)
>>> suite.name, suite.cases[0].answers, suite.cases[0].should_refuse
('s.jsonl', ('100 meters',), False)
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval.jsonl import read_jsonl
from rag.errors import UserError

__all__ = ["Case", "Suite", "load_suite", "load_thresholds", "parse_threshold_args", "sidecar_path"]

FILTER_KEYS = ("source", "author", "since", "until")
ROLES = ("user", "assistant")


@dataclass(frozen=True)
class Case:
    """One question with what a right answer contains; no answers means the right behaviour is refusing."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold_ids: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    filters: dict[str, str] = field(default_factory=dict, hash=False)
    line: int = 0

    @property
    def should_refuse(self) -> bool:
        return not self.answers


@dataclass(frozen=True)
class Suite:
    """The cases of one suite file; `sha1` identifies the exact file contents a run used."""

    path: Path
    cases: tuple[Case, ...]
    sha1: str = ""

    @property
    def name(self) -> str:
        return self.path.name


def _strings(value: Any, where: str, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise UserError(f"{where}: {name!r} must be a list of strings")
    return tuple(v for v in value if v.strip())


def _history(value: Any, where: str) -> tuple[dict[str, str], ...]:
    if not isinstance(value, list):
        raise UserError(f"{where}: 'history' must be a list of {{\"role\", \"content\"}} turns")
    turns = []
    for i, turn in enumerate(value, 1):
        if (not isinstance(turn, dict) or turn.get("role") not in ROLES
                or not isinstance(turn.get("content"), str)):
            raise UserError(f"{where}: history turn {i} must be {{\"role\": \"user\"|\"assistant\", "
                            "\"content\": str}")
        turns.append({"role": turn["role"], "content": turn["content"]})
    return tuple(turns)


def _filters(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise UserError(f"{where}: 'filters' must be an object with {', '.join(FILTER_KEYS)}")
    unknown = sorted(set(value) - set(FILTER_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown filter(s) {unknown}; use {', '.join(FILTER_KEYS)}")
    out: dict[str, str] = {}
    for key, v in value.items():
        if v is None:
            continue
        if not isinstance(v, str):
            raise UserError(f"{where}: filter {key!r} must be a string")
        if key in ("since", "until"):
            try:
                _dt.date.fromisoformat(v)
            except ValueError:
                raise UserError(f"{where}: filter {key!r} must be a date like 2023-09-28, not {v!r}") from None
        out[key] = v
    return out


def parse_case(record: Any, where: str, line: int = 0) -> Case:
    """One suite record -> Case; a malformed record raises UserError starting with `where` (file:line)."""
    if not isinstance(record, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(record).__name__}")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise UserError(f"{where}: 'question' must be a non-empty string")
    if "answers" not in record:
        raise UserError(f"{where}: 'answers' is missing (use [] for a question that should be refused)")
    case_id = record.get("id", f"line-{line}")
    if not isinstance(case_id, str | int) or isinstance(case_id, bool) or not str(case_id).strip():
        raise UserError(f"{where}: 'id' must be a non-empty string")
    return Case(
        id=str(case_id),
        question=question,
        answers=_strings(record["answers"], where, "answers"),
        gold_ids=tuple(dict.fromkeys(_strings(record.get("gold_ids") or [], where, "gold_ids"))),
        history=_history(record.get("history") or [], where),
        filters=_filters(record.get("filters") or {}, where),
        line=line,
    )


def load_suite(path: str | Path, limit: int | None = None) -> Suite:
    """Read a JSONL suite (blank lines skipped); the first bad line raises UserError naming file and line."""
    path = Path(path)
    data, records = read_jsonl(path, "suite")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for lineno, where, record in records:
        case = parse_case(record, where, lineno)
        if case.id in seen:
            raise UserError(f"{where}: duplicate id {case.id!r} (first on line {seen[case.id]})")
        seen[case.id] = lineno
        cases.append(case)
    if not cases:
        raise UserError(f"{path}: the suite has no cases")
    if limit is not None:
        if limit < 1:
            raise UserError(f"--limit must be at least 1, not {limit}")
        cases = cases[:limit]
    return Suite(path=path, cases=tuple(cases), sha1=hashlib.sha1(data).hexdigest())


def sidecar_path(suite_path: str | Path) -> Path:
    """Where a suite's thresholds live: `seed.jsonl` -> `seed.thresholds.json` in the same folder."""
    p = Path(suite_path)
    stem = p.name[: -len(".jsonl")] if p.name.endswith(".jsonl") else p.stem
    return p.with_name(f"{stem}.thresholds.json")


def _check_names(names: Iterable[str], known: Iterable[str] | None, origin: str) -> None:
    if known is None:
        return
    known = set(known)
    unknown = sorted(set(names) - known)
    if unknown:
        raise UserError(f"{origin}: unknown metric(s) {unknown}; known: {', '.join(sorted(known))}")


def load_thresholds(suite_path: str | Path, known: Iterable[str] | None = None) -> dict[str, float]:
    """The sidecar thresholds `{"metric": value}` of a suite, or {} when it has none."""
    path = sidecar_path(suite_path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read thresholds {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected an object {{\"metric\": min_value}}")
    out: dict[str, float] = {}
    for name, value in data.items():
        if name.startswith("_"):  # "_comment" and the like
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise UserError(f"{path}: threshold for {name!r} must be a number, not {value!r}")
        out[name] = float(value)
    _check_names(out, known, str(path))
    return out


def parse_threshold_args(items: Iterable[str], known: Iterable[str] | None = None) -> dict[str, float]:
    """`["hit@5=0.6", "token_f1=0.2"]` -> {"hit@5": 0.6, "token_f1": 0.2}; bad items raise UserError."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        try:
            if not sep or not name:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise UserError(f"--threshold {item!r}: expected METRIC=VALUE, e.g. hit@5=0.6") from None
    _check_names(out, known, "--threshold")
    return out


def merged_thresholds(suite_path: str | Path, cli: Mapping[str, float], known: Iterable[str] | None = None
                      ) -> dict[str, float]:
    """Sidecar thresholds overridden by command-line ones."""
    return {**load_thresholds(suite_path, known), **cli}
