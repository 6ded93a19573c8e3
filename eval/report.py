"""Reports of an eval run: a terminal table, and report.json / report.md / report.html in a folder.

One module (about 490 lines) on purpose: the three formats show the same figures, and keeping their
writers side by side keeps them in step.

The HTML page is self-contained: inline CSS and inline SVG plots drawn by the small functions below, no scripts,
no external resources. Every string that comes from the data is escaped.

>>> result = {"suite": "s.jsonl", "n": 1, "metrics": {"hit@5": 1.0}, "intervals": {"hit@5": [1.0, 1.0]},
...           "per_case": [], "settings": {}}
>>> "hit@5" in format_table(result)
True
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.runner import lower_is_better
from rag.errors import UserError

__all__ = ["compare_results", "format_compare", "format_table", "load_result", "svg_bars", "svg_histogram",
           "write_report"]

RATE_DIGITS = 3


# --------------------------------------------------------------------------------------------------------------
# Values


def is_latency(name: str) -> bool:
    return name.startswith("latency_")


def fmt(name: str, value: float | None) -> str:
    """A metric value for display: rates with 3 decimals, latencies in ms with 1; None is "—"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.1f}" if is_latency(name) else f"{value:.{RATE_DIGITS}f}"


def fmt_interval(name: str, interval: Sequence[float] | None) -> str:
    return f"[{fmt(name, interval[0])}, {fmt(name, interval[1])}]" if interval else ""


def applicable(result: Mapping[str, Any]) -> dict[str, int]:
    """How many cases each metric was computed over."""
    per_case = result.get("per_case") or []
    done = [r for r in per_case if not r.get("error")]
    counts: dict[str, int] = {}
    for name in result.get("metrics", {}):
        if is_latency(name):
            counts[name] = sum(1 for r in done if r.get("timings_ms"))
        elif name == "refusal_precision":
            counts[name] = sum(1 for r in done if r.get("refused"))
        elif name == "refusal_recall":
            counts[name] = sum(1 for r in done if r.get("should_refuse"))
        elif name == "error_rate":
            counts[name] = len(per_case)
        else:
            counts[name] = sum(1 for r in done if r.get("metrics", {}).get(name) is not None)
    return counts


# --------------------------------------------------------------------------------------------------------------
# Comparison with an earlier run


def load_result(path: str | Path) -> dict[str, Any]:
    """An earlier run's result (`eval run --json` output or report.json); UserError when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        raise UserError(f"{path}: not an eval result (expected an object with \"metrics\", as `eval run --json` "
                        "prints)")
    return data


def compare_results(now: Mapping[str, Any], before: Mapping[str, Any], before_name: str = "") -> dict[str, Any]:
    """The difference between two runs: per metric (now, before, delta, better?), and the cases that changed.

    >>> c = compare_results({"metrics": {"hit@5": 0.8}}, {"metrics": {"hit@5": 0.6}})
    >>> round(c["metrics"]["hit@5"]["delta"], 3), c["metrics"]["hit@5"]["better"]
    (0.2, True)
    """
    rows: dict[str, dict[str, Any]] = {}
    for name in list(now.get("metrics", {})) + [n for n in before.get("metrics", {}) if n not in now["metrics"]]:
        a, b = now.get("metrics", {}).get(name), before.get("metrics", {}).get(name)
        delta = a - b if isinstance(a, int | float) and isinstance(b, int | float) else None
        better = None
        if delta is not None and abs(delta) > 1e-12:
            better = (delta < 0) if lower_is_better(name) else (delta > 0)
        rows[name] = {"now": a, "before": b, "delta": delta, "better": better}
    passed_before = {r.get("id"): r.get("passed") for r in before.get("per_case") or [] if "id" in r}
    fixed, broken, new = [], [], []
    for r in now.get("per_case") or []:
        if r.get("id") not in passed_before:
            new.append(r.get("id"))
        elif r.get("passed") and passed_before[r["id"]] is False:
            fixed.append(r["id"])
        elif not r.get("passed") and passed_before[r["id"]]:
            broken.append(r["id"])
    return {"other": before_name or str(before.get("suite", "")), "other_suite": before.get("suite"),
            "metrics": rows, "cases": {"fixed": fixed, "broken": broken, "new": new}}


def format_compare(compare: Mapping[str, Any]) -> str:
    """Terminal lines for a comparison: the metrics that moved, then the cases that flipped."""
    lines = [f"compared with {compare['other']}:"]
    moved = [(n, r) for n, r in compare["metrics"].items() if r["delta"] is not None and abs(r["delta"]) > 1e-12]
    if not moved:
        lines.append("  no metric changed")
    for name, r in moved:
        tag = "better" if r["better"] else "worse"
        lines.append(f"  {name:<26} {fmt(name, r['before']):>9} -> {fmt(name, r['now']):>9}  "
                     f"({'+' if r['delta'] > 0 else ''}{fmt(name, r['delta'])}, {tag})")
    cases = compare["cases"]
    if cases["fixed"]:
        lines.append("  now passing: " + ", ".join(map(str, cases["fixed"])))
    if cases["broken"]:
        lines.append("  now failing: " + ", ".join(map(str, cases["broken"])))
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# Terminal


def format_table(result: Mapping[str, Any], compare: Mapping[str, Any] | None = None,
                 gate: Sequence[str] | None = None, max_failing: int = 10) -> str:
    """A readable metrics table with 95% intervals, the number of cases behind each, and the failing cases."""
    s = result.get("settings", {})
    errors = sum(1 for r in result.get("per_case", []) if r.get("error"))
    head = (f"{Path(str(result.get('suite', ''))).name}: {result.get('n', 0)} cases"
            + (f" ({errors} raised errors)" if errors else ""))
    bits = [f"{key} {s[key]}" for key in ("answerer", "top_k", "judge") if s.get(key) is not None]
    lines = [head + ("  —  " + ", ".join(bits) if bits else ""), ""]
    counts = applicable(result)
    delta_col = compare is not None
    lines.append(f"{'metric':<26} {'value':>9}  {'95% interval':<22} {'n':>4}" + ("  vs before" if delta_col else ""))
    for name, value in result.get("metrics", {}).items():
        line = (f"{name:<26} {fmt(name, value):>9}  {fmt_interval(name, result.get('intervals', {}).get(name)):<22} "
                f"{counts.get(name, 0):>4}")
        if compare is not None:
            row = compare["metrics"].get(name, {})
            if row.get("delta") is not None:
                line += f"  {'+' if row['delta'] > 0 else ''}{fmt(name, row['delta'])}"
        lines.append(line.rstrip())
    failing = [r for r in result.get("per_case", []) if not r.get("passed", True)]
    if failing:
        lines += ["", f"failing cases: {len(failing)} of {result.get('n', 0)}"]
        for r in failing[:max_failing]:
            first = (r.get("failures") or ["?"])[0]
            more = len(r.get("failures") or []) - 1
            lines.append(f"  {r.get('id')}: {first}" + (f" (+{more} more)" if more > 0 else ""))
        if len(failing) > max_failing:
            lines.append(f"  … and {len(failing) - max_failing} more (see --report DIR)")
    if compare is not None:
        lines += ["", format_compare(compare)]
    if gate is not None:
        lines += [""] + ([f"gate: FAILED — {g}" for g in gate] if gate else ["gate: passed"])
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------------------
# SVG plots

_E = html.escape
PALETTE = {"bar": "#4878a8", "bar_low": "#c0504d", "whisker": "#222", "grid": "#ddd", "text": "#222",
           "threshold": "#e08a00"}


def svg_bars(items: Sequence[tuple[str, float | None, Sequence[float] | None]], *, width: int = 640,
             row: int = 22, label_width: int = 170, maximum: float = 1.0,
             thresholds: Mapping[str, float] | None = None, failing: set[str] | None = None) -> str:
    """Horizontal bars from 0 to `maximum` with interval whiskers and optional threshold ticks.

    items: (label, value, (lo, hi) or None); a None value draws an empty row marked "n/a".

    >>> svg_bars([("hit@5", 0.8, (0.6, 0.9))]).startswith("<svg")
    True
    """
    thresholds = thresholds or {}
    failing = failing or set()
    plot = width - label_width - 60
    height = row * len(items) + 28

    def x(v: float) -> float:
        return label_width + plot * max(0.0, min(v, maximum)) / maximum

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="metric bars" font-family="sans-serif" '
             'font-size="12">']
    for tick in range(0, 11, 2):
        v = maximum * tick / 10
        parts.append(f'<line x1="{x(v):.1f}" y1="4" x2="{x(v):.1f}" y2="{height - 20}" stroke="{PALETTE["grid"]}"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{height - 6}" text-anchor="middle" fill="#666">{v:g}</text>')
    for i, (label, value, interval) in enumerate(items):
        y = 6 + i * row
        parts.append(f'<text x="{label_width - 8}" y="{y + row * 0.62:.1f}" text-anchor="end" '
                     f'fill="{PALETTE["text"]}">{_E(label)}</text>')
        if value is None:
            parts.append(f'<text x="{label_width + 4}" y="{y + row * 0.62:.1f}" fill="#999">n/a</text>')
            continue
        color = PALETTE["bar_low"] if label in failing else PALETTE["bar"]
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{x(value) - label_width:.1f}" '
                     f'height="{row - 8}" fill="{color}"><title>{_E(label)} = {value:.3f}</title></rect>')
        if interval:
            lo, hi, mid = x(interval[0]), x(interval[1]), y + row / 2 - 1
            parts.append(f'<line x1="{lo:.1f}" y1="{mid:.1f}" x2="{hi:.1f}" y2="{mid:.1f}" '
                         f'stroke="{PALETTE["whisker"]}" stroke-width="1.5"/>')
            for end in (lo, hi):
                parts.append(f'<line x1="{end:.1f}" y1="{mid - 5:.1f}" x2="{end:.1f}" y2="{mid + 5:.1f}" '
                             f'stroke="{PALETTE["whisker"]}" stroke-width="1.5"/>')
        if label in thresholds:
            tx = x(thresholds[label])
            parts.append(f'<line x1="{tx:.1f}" y1="{y + 1}" x2="{tx:.1f}" y2="{y + row - 3}" '
                         f'stroke="{PALETTE["threshold"]}" stroke-width="3"><title>threshold '
                         f'{thresholds[label]:g}</title></line>')
        parts.append(f'<text x="{width - 52}" y="{y + row * 0.62:.1f}" fill="{PALETTE["text"]}">{value:.3f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def svg_histogram(values: Sequence[float], *, bins: int = 20, width: int = 640, height: int = 200,
                  label: str = "ms", marks: Mapping[str, float] | None = None) -> str:
    """A histogram of the values with labelled vertical marks (e.g. p50, p95); empty input draws a note.

    >>> "<rect" in svg_histogram([1.0, 2.0, 2.5, 9.0], bins=4)
    True
    """
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="histogram" font-family="sans-serif" '
            'font-size="12">')
    vals = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    if not vals:
        return head + f'<text x="10" y="{height / 2}" fill="#999">no timings</text></svg>'
    lo, hi = min(vals), max(vals)
    if hi <= lo:
        hi = lo + 1.0
    counts = [0] * bins
    for v in vals:
        counts[min(int((v - lo) / (hi - lo) * bins), bins - 1)] += 1
    left, right, top, bottom = 40, 16, 18, 34
    pw, ph = width - left - right, height - top - bottom
    peak = max(counts)
    parts = [head]
    parts.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#999"/>')
    for i, c in enumerate(counts):
        if not c:
            continue
        bh = ph * c / peak
        bx = left + pw * i / bins
        parts.append(f'<rect x="{bx + 1:.1f}" y="{top + ph - bh:.1f}" width="{pw / bins - 2:.1f}" height="{bh:.1f}" '
                     f'fill="{PALETTE["bar"]}"><title>{lo + (hi - lo) * i / bins:.0f}–'
                     f'{lo + (hi - lo) * (i + 1) / bins:.0f} {_E(label)}: {c}</title></rect>')
    for frac in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left + pw * frac:.1f}" y="{height - 16}" text-anchor="middle" fill="#666">'
                     f'{lo + (hi - lo) * frac:.0f}</text>')
    parts.append(f'<text x="{left + pw / 2:.1f}" y="{height - 2}" text-anchor="middle" fill="#666">{_E(label)}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" fill="#666">{peak}</text>')
    for i, (name, v) in enumerate((marks or {}).items()):
        mx = left + pw * (min(max(v, lo), hi) - lo) / (hi - lo)
        parts.append(f'<line x1="{mx:.1f}" y1="{top - 4}" x2="{mx:.1f}" y2="{top + ph}" '
                     f'stroke="{PALETTE["threshold"]}" stroke-dasharray="4 3"/>')
        # labels step down one line each so that close marks (p50 near p95) stay readable
        parts.append(f'<text x="{mx + 3:.1f}" y="{top + 6 + 13 * i}" fill="{PALETTE["threshold"]}">'
                     f'{_E(name)} {v:.0f}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------------------------------
# Files


def _failing_first(per_case: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # Errors first, then failures by how much went wrong, then passing cases in suite order.
    return sorted(per_case, key=lambda r: (bool(r.get("passed")), not r.get("error"),
                                           -len(r.get("failures") or [])))


def _markdown_cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(result: Mapping[str, Any], compare: Mapping[str, Any] | None = None,
                    gate: Sequence[str] | None = None, thresholds: Mapping[str, float] | None = None) -> str:
    """report.md: settings, gate, metrics with intervals, comparison, then every failing case."""
    thresholds = thresholds or {}
    counts = applicable(result)
    s = result.get("settings", {})
    lines = [f"# Eval report: {_markdown_cell(Path(str(result.get('suite', ''))).name)}", "",
             f"{result.get('n', 0)} cases. "
             + ", ".join(f"{k}: `{_markdown_cell(v)}`" for k, v in s.items() if not isinstance(v, dict | list)), ""]
    if gate is not None:
        lines += ["## Gate", "", *(f"- FAILED: {_markdown_cell(g)}" for g in gate)] if gate else ["## Gate", "",
                                                                                                   "passed"]
        lines.append("")
    lines += ["## Metrics", "", "| metric | value | 95% interval | n | threshold |" + (" Δ |" if compare else ""),
              "|---|---:|---|---:|---:|" + ("---:|" if compare else "")]
    for name, value in result.get("metrics", {}).items():
        row = (f"| {name} | {fmt(name, value)} | {fmt_interval(name, result.get('intervals', {}).get(name))} | "
               f"{counts.get(name, 0)} | {thresholds[name]:g} |" if name in thresholds else
               f"| {name} | {fmt(name, value)} | {fmt_interval(name, result.get('intervals', {}).get(name))} | "
               f"{counts.get(name, 0)} |  |")
        if compare:
            d = compare["metrics"].get(name, {}).get("delta")
            row += f" {'' if d is None else ('+' if d > 0 else '') + fmt(name, d)} |"
        lines.append(row)
    if compare:
        lines += ["", "## Compared with an earlier run", "", "```", format_compare(compare), "```"]
    failing = [r for r in _failing_first(result.get("per_case", [])) if not r.get("passed")]
    lines += ["", f"## Failing cases ({len(failing)} of {result.get('n', 0)})", ""]
    for r in failing:
        lines += [f"### {_markdown_cell(r.get('id'))}", "", f"**Q:** {_markdown_cell(r.get('question'))}", ""]
        if r.get("answers"):
            lines.append("**Expected:** " + "; ".join(_markdown_cell(a) for a in r["answers"]))
        else:
            lines.append("**Expected:** a refusal")
        lines += ["", f"**A:** {_markdown_cell(r.get('answer', ''))}", ""]
        for c in r.get("citations", []):
            lines.append(f"- [{c['n']}] {_markdown_cell(c.get('title') or 'Untitled')} (`{c.get('article_id')}`)")
        lines += ["", *(f"- ✗ {_markdown_cell(f)}" for f in r.get("failures", [])), ""]
    return "\n".join(lines) + "\n"


_KEY_SETTINGS = ("answerer", "top_k", "judge", "embedding_model", "store", "articles", "errors")
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1150px;color:#222;
line-height:1.4;padding:0 16px}
h1{font-size:1.5em;margin-bottom:4px}h2{font-size:1.2em;margin-top:28px;border-bottom:1px solid #ddd}
.meta{color:#555;font-size:.9em}.gate{padding:8px 12px;border-radius:4px;margin:12px 0;font-weight:600}
.gate.pass{background:#e6f4ea;color:#1e6b34}.gate.fail{background:#fbe9e7;color:#a0281e}
table{border-collapse:collapse;width:100%;font-size:.88em}th,td{border:1px solid #ddd;padding:4px 6px;
vertical-align:top;text-align:left}th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.fail td:first-child{border-left:4px solid #c0504d}tr.pass td:first-child{border-left:4px solid #4f9a5f}
.better{color:#1e6b34}.worse{color:#a0281e}ul.why{margin:0;padding-left:16px;color:#a0281e}
.cite{color:#555;font-size:.92em}details summary{cursor:pointer;color:#4878a8}.small{font-size:.85em;color:#666}
.plots{display:flex;flex-wrap:wrap;gap:24px}
"""


def render_html(result: Mapping[str, Any], compare: Mapping[str, Any] | None = None,
                gate: Sequence[str] | None = None, thresholds: Mapping[str, float] | None = None) -> str:
    """report.html: one self-contained page (inline CSS and SVG, no scripts), every data string escaped."""
    thresholds = thresholds or {}
    metrics = result.get("metrics", {})
    intervals = result.get("intervals", {})
    counts = applicable(result)
    s = result.get("settings", {})
    failing_metrics = {g.split(" ", 1)[0] for g in gate or []}
    suite = Path(str(result.get("suite", ""))).name
    out = ["<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
           f"<title>Eval report: {_E(suite)}</title><style>{_CSS}</style></head><body>",
           f"<h1>Eval report: {_E(suite)}</h1>",
           f"<div class=\"meta\">{result.get('n', 0)} cases · "
           + " · ".join(f"{_E(k)}: {_E(str(s[k]))}" for k in _KEY_SETTINGS if s.get(k) is not None)
           + f" · written {_E(_dt.datetime.now().strftime('%Y-%m-%d %H:%M'))}</div>",
           "<details class=\"small\"><summary>all settings</summary><table style=\"width:auto\">"
           + "".join(f"<tr><td>{_E(str(k))}</td><td>{_E(json.dumps(v, ensure_ascii=False))}</td></tr>"
                     for k, v in s.items()) + "</table></details>"]
    if gate is not None:
        if gate:
            out.append("<div class=\"gate fail\">Gate FAILED<ul>" + "".join(f"<li>{_E(g)}</li>" for g in gate)
                       + "</ul></div>")
        else:
            out.append(f"<div class=\"gate pass\">Gate passed ({len(thresholds)} thresholds)</div>")

    rates = [(n, v, intervals.get(n)) for n, v in metrics.items() if not is_latency(n) and n != "error_rate"]
    out += ["<h2>Metrics</h2>", "<p class=\"small\">Bars show the value, whiskers the 95% bootstrap interval "
            "(cases resampled), orange ticks the gate thresholds. Retrieval metrics are article-level.</p>",
            "<div class=\"plots\">",
            svg_bars(rates, thresholds={n: t for n, t in thresholds.items() if not is_latency(n)},
                     failing=failing_metrics), "</div>"]
    out.append("<table style=\"width:auto\"><tr><th>metric</th><th>value</th><th>95% interval</th><th>n</th>"
               "<th>threshold</th>"
               + ("<th>before</th><th>Δ</th>" if compare else "") + "</tr>")
    for name, value in metrics.items():
        row = (f"<tr><td>{_E(name)}</td><td class=\"num\">{fmt(name, value)}</td>"
               f"<td class=\"num\">{_E(fmt_interval(name, intervals.get(name)))}</td>"
               f"<td class=\"num\">{counts.get(name, 0)}</td>"
               f"<td class=\"num\">{'' if name not in thresholds else f'{thresholds[name]:g}'}</td>")
        if compare:
            c = compare["metrics"].get(name, {})
            d = c.get("delta")
            cls = "" if c.get("better") is None else ("better" if c["better"] else "worse")
            row += (f"<td class=\"num\">{fmt(name, c.get('before'))}</td><td class=\"num {cls}\">"
                    f"{'' if d is None else ('+' if d > 0 else '') + fmt(name, d)}</td>")
        out.append(row + "</tr>")
    out.append("</table>")

    done = [r for r in result.get("per_case", []) if not r.get("error") and r.get("timings_ms")]
    totals = [float(r["timings_ms"]["total"]) for r in done if "total" in r["timings_ms"]]
    marks = {k: v for k, v in (("p50", metrics.get("latency_p50_ms")), ("p95", metrics.get("latency_p95_ms")))
             if v is not None}
    out += ["<h2>Latency</h2>", "<p class=\"small\">Total time per question (retrieve + answer + verify).</p>",
            svg_histogram(totals, label="total ms per question", marks=marks)]
    stage_rows = []
    for stage in ("retrieve", "answer", "verify", "total"):
        p50 = metrics.get("latency_p50_ms" if stage == "total" else f"latency_{stage}_p50_ms")
        p95 = metrics.get("latency_p95_ms" if stage == "total" else f"latency_{stage}_p95_ms")
        stage_rows.append(f"<tr><td>{stage}</td><td class=\"num\">{fmt('latency_', p50)}</td>"
                          f"<td class=\"num\">{fmt('latency_', p95)}</td></tr>")
    out.append("<table style=\"width:auto\"><tr><th>stage</th><th>p50 ms</th><th>p95 ms</th></tr>"
               + "".join(stage_rows) + "</table>")

    if compare:
        cases = compare["cases"]
        out += [f"<h2>Compared with {_E(str(compare.get('other', '')))}</h2>",
                "<p>Now passing: " + (_E(", ".join(map(str, cases["fixed"]))) or "none") + "<br>Now failing: "
                + (_E(", ".join(map(str, cases["broken"]))) or "none") + "</p>"]

    per_case = _failing_first(result.get("per_case", []))
    n_fail = sum(1 for r in per_case if not r.get("passed"))
    out += [f"<h2>Cases ({n_fail} failing of {len(per_case)})</h2>",
            "<table><tr><th>case</th><th>question</th><th>answer and citations</th><th>retrieval</th>"
            "<th>scores</th><th>what failed</th></tr>"]
    for r in per_case:
        out.append(_case_row(r))
    out += ["</table>", "</body></html>"]
    return "\n".join(out) + "\n"


def _case_row(r: Mapping[str, Any]) -> str:
    cls = "pass" if r.get("passed") else "fail"
    q = _E(str(r.get("question", "")))
    if r.get("history"):
        q += "<div class=\"small\">after: " + " / ".join(
            f"{_E(t['role'])}: {_E(t['content'])}" for t in r["history"]) + "</div>"
    if r.get("filters"):
        q += "<div class=\"small\">filters: " + _E(json.dumps(r["filters"], ensure_ascii=False)) + "</div>"
    expected = ("; ".join(r.get("answers") or []) or "(should refuse)")
    q += f"<div class=\"small\">expected: {_E(expected)}</div>"
    if r.get("error"):
        answer = f"<em>error</em>: {_E(str(r['error']))}"
    else:
        answer = _E(str(r.get("answer", ""))) + (" <em>(refused)</em>" if r.get("refused") else "")
        cites = r.get("citations") or []
        if cites:
            answer += "<details><summary>" + f"{len(cites)} citation(s)</summary>" + "".join(
                f"<div class=\"cite\">[{int(c['n'])}] <b>{_E(str(c.get('title') or 'Untitled'))}</b> "
                f"<code>{_E(str(c.get('article_id')))}</code><br>{_E(str(c.get('passage', '')))}</div>"
                for c in cites) + "</details>"
    m = r.get("metrics") or {}
    retrieval = ""
    if r.get("gold_ids"):
        rank = r.get("gold_rank")
        retrieval = f"gold rank: {rank if rank else 'not retrieved'}"
        retrieval += f"<div class=\"small\">gold: {_E(', '.join(r['gold_ids']))}</div>"
    scores = "<br>".join(f"{_E(k)} {v:.2f}" for k, v in m.items()
                         if v is not None and k in ("answer_contains", "token_f1", "citation_recall",
                                                    "citation_precision", "groundedness"))
    total = (r.get("timings_ms") or {}).get("total")
    if total is not None:
        scores += f"<br>{float(total):.0f} ms"
    items = "".join(f"<li>{_E(str(f))}</li>" for f in r.get("failures") or [])
    why = f'<ul class="why">{items}</ul>' if items else "✓"
    return (f"<tr class=\"{cls}\"><td>{_E(str(r.get('id')))}</td><td>{q}</td><td>{answer}</td>"
            f"<td>{retrieval}</td><td class=\"small\">{scores}</td><td>{why}</td></tr>")


def write_report(directory: str | Path, result: Mapping[str, Any], *, compare: Mapping[str, Any] | None = None,
                 gate: Sequence[str] | None = None, thresholds: Mapping[str, float] | None = None) -> dict[str, Path]:
    """Write report.json, report.md and report.html into `directory` (created if needed); returns their paths."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create report folder {directory}: {exc.strerror or exc}") from exc
    data = dict(result)
    if compare is not None:
        data["compare"] = compare
    if gate is not None:
        data["gate"] = {"thresholds": dict(thresholds or {}), "failures": list(gate), "passed": not gate}
    paths = {"json": directory / "report.json", "md": directory / "report.md", "html": directory / "report.html"}
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    paths["md"].write_text(render_markdown(result, compare, gate, thresholds), encoding="utf-8")
    paths["html"].write_text(render_html(result, compare, gate, thresholds), encoding="utf-8")
    return paths
