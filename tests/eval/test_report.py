"""Reports: the files, escaping, self-containment, failing cases first, and comparison with an earlier run."""

import json
import re
import xml.etree.ElementTree as ET

import pytest

from eval.judge import OfflineJudge
from eval.report import (
    compare_results,
    format_compare,
    format_table,
    load_result,
    render_html,
    svg_bars,
    svg_histogram,
    write_report,
)
from eval.runner import check_gate, run_suite
from eval.suite import load_suite
from rag.errors import UserError

EVIL = "<script>alert('x')</script> & how wide is the bridge?"
BRIDGE = "The bridge will be about 100 meters long with a width of 31 meters."


@pytest.fixture
def result(tmp_path, scripted_assistant, passage):
    cases = [
        {"id": "ok", "question": "How long is the bridge?", "answers": ["100 meters"], "gold_ids": ["az"]},
        {"id": "evil<b>", "question": EVIL, "answers": ["31 meters"], "gold_ids": ["az"]},
        {"id": "refuse", "question": "Who won the World Cup?", "answers": []},
    ]
    path = tmp_path / "suite.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in cases))
    az = passage("az", BRIDGE)
    assistant = scripted_assistant({
        "How long is the bridge?": ("The bridge will be about 100 meters long [1].", [az], [az]),
        EVIL: ("<img src=x onerror=alert(1)> is all I know [1].", [az], [passage("zz", "Unrelated text.")]),
    })
    return run_suite(assistant, load_suite(path), OfflineJudge())


def test_write_report__writes_json_markdown_and_html(tmp_path, result):
    gate = check_gate(result["metrics"], {"hit@5": 0.9})
    paths = write_report(tmp_path / "out", result, gate=gate, thresholds={"hit@5": 0.9})
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    data = json.loads(paths["json"].read_text())
    assert data["metrics"] == result["metrics"] and data["gate"]["passed"] is False
    md = paths["md"].read_text()
    assert "| hit@5 |" in md and "## Failing cases" in md and "FAILED" in md


def test_report_html__escapes_everything_from_the_data(result):
    page = render_html(result)
    assert "<script" not in page and "<img" not in page and "evil<b>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; how wide" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "evil&lt;b&gt;" in page


def test_report_html__is_self_contained(result):
    page = render_html(result, gate=[], thresholds={"hit@5": 0.5})
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)  # real tags only: escaped data has no "<"
    assert not [t for t in tags if re.match(r"<(script|link|img|iframe|object)\b", t) or re.search(r"\s(src|href)=", t)]
    assert "@import" not in page and "url(" not in page
    # the only URL is the SVG namespace, which browsers never fetch
    assert set(re.findall(r"https?://[^\"' ]+", page)) <= {"http://www.w3.org/2000/svg"}
    assert page.count("<svg") == 2  # metric bars and the latency histogram


def test_report_html__lists_failing_cases_first(result):
    page = render_html(result)
    rows = re.findall(r'<tr class="(pass|fail)"><td>([^<]*)</td>', page)
    assert [status for status, _ in rows] == ["fail", "pass", "pass"]
    assert rows[0][1] == "evil&lt;b&gt;"


def test_svg_plots__are_well_formed_xml():
    bars = svg_bars([("hit@5", 0.8, (0.6, 0.9)), ("<odd>", None, None)], thresholds={"hit@5": 0.7})
    hist = svg_histogram([12.0, 15.5, 15.7, 40.0, 41.0], bins=5, marks={"p50": 15.7})
    for svg in (bars, hist, svg_histogram([])):
        ET.fromstring(svg)
    assert "&lt;odd&gt;" in bars


def test_compare_results__reports_deltas_direction_and_flipped_cases(result):
    before = json.loads(json.dumps(result))
    before["metrics"]["hit@5"] = 0.25
    before["metrics"]["latency_p95_ms"] = result["metrics"]["latency_p95_ms"] - 5.0
    next(r for r in before["per_case"] if r["id"] == "ok")["passed"] = False
    next(r for r in before["per_case"] if r["id"] == "refuse")["passed"] = True
    next(r for r in before["per_case"] if r["id"] == "evil<b>")["passed"] = True
    c = compare_results(result, before, "before.json")
    assert c["metrics"]["hit@5"]["delta"] == pytest.approx(result["metrics"]["hit@5"] - 0.25)
    assert c["metrics"]["hit@5"]["better"] is True
    assert c["metrics"]["latency_p95_ms"]["better"] is False  # slower is worse
    assert c["metrics"]["token_f1"]["better"] is None  # unchanged
    assert c["cases"]["fixed"] == ["ok"] and c["cases"]["broken"] == ["evil<b>"]
    text = format_compare(c)
    assert "compared with before.json" in text and "hit@5" in text and "better" in text
    assert "now passing: ok" in text and "now failing: evil<b>" in text
    table = format_table(result, c)
    assert "vs before" in table and "+0.250" in table


def test_compare__in_the_html_report(result):
    before = json.loads(json.dumps(result))
    before["metrics"]["hit@5"] = 0.25
    page = render_html(result, compare_results(result, before, "old<run>.json"))
    assert "Compared with old&lt;run&gt;.json" in page and "+0.250" in page


def test_load_result__accepts_a_result_and_rejects_other_json(tmp_path, result):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(result))
    assert load_result(good)["metrics"] == result["metrics"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"n": 3}')
    with pytest.raises(UserError, match="not an eval result"):
        load_result(bad)
    with pytest.raises(UserError, match="cannot read"):
        load_result(tmp_path / "missing.json")


def test_format_table__shows_intervals_counts_failures_and_the_gate(result):
    table = format_table(result, gate=["hit@5 = 0.500 is below the threshold 0.900"])
    assert re.search(r"hit@5\s+\S+\s+\[\S+, \S+\]\s+2", table)
    assert "failing cases: 1 of 3" in table and "evil<b>" in table
    assert "gate: FAILED — hit@5" in table
