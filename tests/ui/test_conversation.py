"""ui.conversation: conversations as the browser keeps them, and the Markdown export, tested without a server."""

import json
import re

import pytest

from rag.types import Answer, Citation
from ui import conversation as conv

XSS = "<img src=x onerror=alert(1)> [click](javascript:alert(2)) ![i](http://evil.test/i.png) *b* `c` | d &lt;e&gt;"


def citation(n=1, **kw):
    base = dict(n=n, article_id=f"a{n}", chunk_id=f"c{n}", title=f"Title {n}", url=f"https://example.com/{n}",
                published="2023-09-28", source="example.com", passage=f"Passage {n} says the bridge is long.",
                start=0, end=30, score=0.5)
    base.update(kw)
    return Citation(**base)


def answer(text="The bridge is long [1]. It is wide [2].", cites=None, **kw):
    base = dict(question="How long is the bridge?", text=text, refused=False,
                citations=tuple(cites if cites is not None else [citation(1), citation(2)]),
                timings_ms={"retrieve": 3.0, "total": 120.0}, as_of="2023-09-28", query="")
    base.update(kw)
    return Answer(**base)


# -- answers through the browser --------------------------------------------------------------------------------

def test_answer_from_json__round_trips_through_json_text_with_metadata_citations():
    meta = citation(2, kind="metadata", field="author", passage="Leyla", start=None, end=None)
    a = answer(cites=[citation(1), meta], notes=("1 unsupported sentence(s) removed",),
               query="How long is the Astarachay bridge?")
    back = conv.answer_from_json(json.loads(json.dumps(conv.answer_to_json(a))))
    assert back == Answer(**{**a.__dict__, "timings_ms": {"total": 120.0}})
    assert back.citations[1].kind == "metadata" and back.citations[1].start is None


@pytest.mark.parametrize("bad", [None, "x", [], {"answer": 3, "question": "q"}, {"question": "q"},
                                 {"answer": "a", "question": "q", "citations": [{"n": "one"}]},
                                 {"answer": "a", "question": "q", "timings_ms": "fast"}])
def test_answer_from_json__anything_malformed_is_none_not_an_error(bad):
    assert conv.answer_from_json(bad) is None


def test_conversations__malformed_entries_from_the_browser_are_dropped():
    good = conv.upsert(None, "abc123", [("How long?", answer())])
    stored = {"conversations": [*good["conversations"], {"id": "../../etc"}, {"id": "ff", "turns": "x"}, 7,
                                {"id": "ee", "turns": [{"question": "q", "answer": {"bad": 1}}, "x"]}]}
    assert [c["id"] for c in conv.conversations(stored)] == ["abc123", "ee"]
    assert conv.turns_of(conv.find(stored, "ee")) == []
    assert conv.conversations("garbage") == [] and conv.find(stored, "nope") is None


def test_upsert__newest_first_failed_turns_left_out_and_capped():
    stored = None
    for i in range(conv.MAX_CONVERSATIONS + 3):
        stored = conv.upsert(stored, f"{i:x}", [(f"Question {i}?", answer()), None])
    ids = [c["id"] for c in stored["conversations"]]
    assert len(ids) == conv.MAX_CONVERSATIONS and ids[0] == f"{conv.MAX_CONVERSATIONS + 2:x}"
    again = conv.upsert(stored, "5", [("Question 5?", answer()), ("And then?", answer())])
    assert again["conversations"][0]["id"] == "5" and len(again["conversations"][0]["turns"]) == 2
    assert [q for q, _ in conv.turns_of(again["conversations"][0])] == ["Question 5?", "And then?"]
    assert conv.remove(again, "5")["conversations"][0]["id"] != "5"
    assert len(json.dumps(again)) < 1_000_000  # well inside a browser's localStorage


def test_choices__title_count_and_day():
    stored = conv.upsert(None, "ab", [("  How long   is the bridge? ", answer()), ("And wide?", answer())])
    [(label, value)] = conv.choices(stored)
    assert value == "ab" and label.startswith("How long is the bridge? · 2 questions · ")


# -- export ------------------------------------------------------------------------------------------------------

def _sections(md: str) -> list[tuple[str, list[int], list[int]]]:
    """(question, markers in the answer, numbers of the listed sources) per answer of an exported conversation."""
    out = []
    for block in md.split("\n## ")[1:]:
        question, _, rest = block.partition("\n")
        body, _, sources = rest.partition("### Sources")
        out.append((question, [int(x) for x in re.findall(r"\[(\d+)\]", body)],
                    [int(x) for x in re.findall(r"^\*\*\[(\d+)\]\*\*", sources, flags=re.MULTILINE)]))
    return out


def test_export_markdown__each_answer_with_its_numbered_sources():
    turns = [("How long is the bridge?", answer()),
             ("Who won the cup?", Answer(question="Who won the cup?", text="The articles don't say.", refused=True)),
             None,
             ("And how wide?", answer("It is 31 m wide [1].", cites=[citation(1, title="Wide")],
                                      query="How wide is the bridge?"))]
    md = conv.export_markdown(turns, exported="2026-12-01")
    assert md.startswith("# How long is the bridge?\n\n*Exported from newsdesk on 1 December 2026.*")
    assert _sections(md) == [("How long is the bridge?", [1, 2], [1, 2]), ("Who won the cup?", [], []),
                             ("And how wide?", [1], [1])]
    assert "The bridge is long [1]. It is wide [2]." in md
    assert "**[1]** Title 1 — example.com · 28 September 2023  \n    <https://example.com/1>" in md
    assert "\n> Passage 1 says the bridge is long." in md and "    > " not in md  # a quote, not code
    assert "searched for “How wide is the bridge?”" in md and "answered in 120 ms" in md
    assert conv.export_markdown([]) == "" and conv.export_markdown([None]) == ""
    meta = citation(1, kind="metadata", field="author", passage="author: Leyla Mammadova", start=None, end=None)
    by = conv.export_markdown([("Who wrote it?", answer("It was written by Leyla Mammadova [1].", cites=[meta]))])
    assert "**[1]** Title 1" in by and "    author: Leyla Mammadova (from the article's details)" in by


def test_export_markdown__article_markup_is_escaped_and_only_http_urls_link():
    bad = citation(1, title=XSS, passage=XSS + "\n\n# heading\n- item", url="javascript:alert(3)")
    md = conv.export_markdown([(XSS, answer(f"{XSS} [1].", cites=[bad], query=XSS))])
    unescaped = re.compile(r"(?<!\\)(<img|\]\(javascript|!\[i|\*b\*|`c`)")
    assert not unescaped.search(md) and "javascript:alert(3)" not in md
    assert "\\<img src=x onerror=alert(1)\\>" in md and "\\[click\\](javascript:alert(2))" in md
    assert "\\*b\\*" in md and "\\`c\\`" in md and "\\&lt;e\\&gt;" in md
    assert "\n> \\# heading - item" in md
    assert _sections(md)[0][1:] == ([1], [1])


def test_export_filename__safe_slug():
    assert conv.export_filename("ab", [("../../etc/passwd <x>?", answer())]) == "newsdesk-etc-passwd-x.md"
    assert conv.export_filename("ab", []) == "newsdesk-ab.md"
