"""ui.format: Answer/Citation/Article -> chat messages and HTML, tested without a server."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.types import Answer, Article, Citation
from ui import format as fmt

XSS_TITLE = "<script>alert('title')</script> Harbour <img src=x onerror=alert(1)>"
XSS_TEXT = 'Port <img src=x onerror=alert(1)> grew. See [here](javascript:alert(2)) and ![t](http://evil.test/t.png).'


def citation(n: int = 1, **kw) -> Citation:
    base = dict(n=n, article_id="a1", chunk_id=f"c{n}", title="Bridge talks", url="https://example.com/bridge",
                published="2023-09-28", source="azernews.az",
                passage="Talks began. The bridge will be 100 meters long and 31 meters wide. Work starts soon.",
                start=10, end=95, score=0.4424)
    base.update(kw)
    return Citation(**base)


def answer(text: str = "The bridge will be 100 meters long and 31 meters wide [1].", cites=None, **kw) -> Answer:
    base = dict(question="How long is the bridge?", text=text, refused=False,
                citations=tuple(cites if cites is not None else [citation()]),
                timings_ms={"retrieve": 10.0, "answer": 1.0, "verify": 2.0, "total": 431.4}, as_of="2023-09-28")
    base.update(kw)
    return Answer(**base)


# -- dates, urls, latency ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("iso, expected", [("2023-09-28", "28 September 2023"),
                                           ("2024-01-05T10:00:00", "5 January 2024"),
                                           (None, ""), ("", ""), ("sometime", "sometime")])
def test_human_date__day_month_name_year(iso, expected):
    assert fmt.human_date(iso) == expected


@pytest.mark.parametrize("url", ["https://example.com/a", "http://x.org/?q=1&r=2", " https://a.b/c "])
def test_safe_url__keeps_http_and_https(url):
    assert fmt.safe_url(url) == url.strip()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                                 "java\tscript:alert(1)", "data:text/html,<b>x</b>", "vbscript:x", "/relative/path",
                                 "ftp://example.com/f", "https://", "", None])
def test_safe_url__rejects_other_schemes(url):
    assert fmt.safe_url(url) is None


def test_url_html__javascript_url_is_plain_text_not_a_link():
    out = fmt.url_html("javascript:alert(1)")
    assert "<a" not in out and "href" not in out
    assert "javascript:alert(1)" in out


def test_url_html__http_url_is_an_escaped_link_opening_safely():
    out = fmt.url_html('https://example.com/?a=1&b="x"')
    assert out.startswith('<a class="nd-url" href="https://example.com/?a=1&amp;b=&quot;x&quot;"')
    assert 'rel="noopener noreferrer nofollow"' in out


def test_latency_text__ms_below_a_second_then_seconds():
    assert fmt.latency_text(answer(timings_ms={"total": 431.4})) == "answered in 431 ms"
    assert fmt.latency_text(answer(timings_ms={"total": 2449.0})) == "answered in 2.4 s"
    assert fmt.latency_text(answer(timings_ms={})) == ""


def test_filters_from_inputs__blank_means_any():
    assert fmt.filters_from_inputs("  ", None, "2023-01-01", "") == {
        "source": None, "author": None, "since": "2023-01-01", "until": None}


# -- escaping ---------------------------------------------------------------------------------------------------

def test_escape_markdown__html_becomes_entities():
    out = fmt.escape_markdown("<script>alert(1)</script> <img src=x onerror=alert(1)>")
    assert "<" not in out and ">" not in out
    assert "&lt;script&gt;" in out and "&lt;img src" in out


@pytest.mark.parametrize("text", ["[click](javascript:alert(1))", "![img](http://evil.test/x.png)", "**bold**",
                                  "# heading", "- item", "1. item", "`code`", "<https://evil.test>", "| a | b |",
                                  "$$x^2$$", "~~gone~~"])
def test_escape_markdown__markdown_syntax_is_neutralised(text):
    out = fmt.escape_markdown(text)
    # Every markdown-significant character is backslash-escaped or an entity, so nothing can form syntax.
    for ch in "[]()!*#-`|$~":
        assert re.search(rf"(?<!\\){re.escape(ch)}", out) is None, (text, out)


def test_escape_markdown__renders_back_to_the_original_text():
    """The escapes undo to the input: what the user sees is exactly the article text."""
    text = "A & B <c> [d](e) *f* 5.5% _g_ \\h"
    out = fmt.escape_markdown(text)
    import html as _html

    assert _html.unescape(re.sub(r"\\(.)", r"\1", out)) == text


def test_user_message__question_is_escaped():
    msg = fmt.user_message("<img src=x onerror=alert(1)> **hi**")
    assert msg["role"] == "user"
    assert "<img" not in msg["content"] and "\\*\\*hi\\*\\*" in msg["content"]


def test_answer_message__article_payload_in_answer_text_is_inert():
    a = answer(text=f"{XSS_TEXT} [1]")
    content = fmt.answer_message(a, 0)["content"]
    assert "<img" not in content and "](javascript" not in content and "![t]" not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content.replace("\\", "")


def test_sources_html__title_passage_url_source_are_escaped():
    c = citation(title=XSS_TITLE, passage=XSS_TEXT, url="javascript:alert(3)", source="<b>evil</b>")
    out = fmt.sources_html(answer(text="Port grew [1].", cites=[c]), turn=0)
    assert "<script" not in out and "<img" not in out and "<b>evil" not in out
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(1)&gt;" in out
    assert 'href="javascript' not in out.lower()
    assert '<span class="nd-url-text">javascript:alert(3)</span>' in out


def test_context_html__article_text_is_escaped():
    text = "Intro.\n\n" + XSS_TEXT + "\n\n<script>alert(4)</script>"
    start = text.index("Port")
    c = citation(passage=XSS_TEXT, start=start, end=start + len(XSS_TEXT), title=XSS_TITLE)
    out = fmt.context_html(c, Article(id="a1", title=XSS_TITLE, text=text))
    assert "<script" not in out and "<img" not in out
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in out


# -- markers and references -------------------------------------------------------------------------------------

def test_render_answer_text__cited_markers_become_reference_links():
    out = fmt.render_answer_text("Long [1]. Wide [2].", turn=3, cited={1, 2})
    assert out.count('class="nd-ref"') == 2
    assert 'href="#nd-cite-3-1"' in out and 'href="#nd-cite-3-2"' in out
    assert "<sup" in out


def test_render_answer_text__grouped_markers_each_get_a_link():
    out = fmt.render_answer_text("Long [1, 2].", turn=0, cited={1, 2})
    assert re.findall(r'href="#nd-cite-0-(\d)"', out) == ["1", "2"]


def test_render_answer_text__unknown_or_streaming_markers_are_not_links():
    assert "nd-ref" not in fmt.render_answer_text("Long [7].", turn=0, cited={1})
    assert "nd-ref" not in fmt.render_answer_text("Long [1].")  # while streaming


def test_parse_ref_href__round_trips_ref_href():
    assert fmt.parse_ref_href(fmt.ref_href(12, 3)) == (12, 3)
    assert fmt.parse_ref_href("#elsewhere") is None


def test_answer_message__has_links_as_of_one_latency_and_plain_notes():
    a = answer(notes=("the LLM failed (timeout); this is the extractive answer instead",
                      "2 unsupported sentence(s) removed"), answerer="extractive (fallback)")
    content = fmt.answer_message(a, 5)["content"]
    assert 'href="#nd-cite-5-1"' in content
    assert "as of 28 September 2023" in content
    assert content.count("answered in") == 1 and "answered in 431 ms" in content
    shown = content.replace("\\", "")
    assert "The language model did not answer, so this answer quotes the articles directly." in shown
    assert "2 sentences the articles do not back up were left out." in shown
    assert "timeout" not in shown and "unsupported sentence(s)" not in shown


@pytest.mark.parametrize("note", ["best sentence covers 0.17 of the question (< 0.4)",
                                  "no sentence shares a word with the question",
                                  "nothing relevant enough was retrieved", "verification removed every sentence",
                                  "the LLM found no answer in the passages", "some future diagnostic 0.93 < 1.2"])
def test_answer_message__refusal_tells_what_was_missing_without_internal_numbers(note):
    a = answer(text="The articles don't say: nothing in the store answers this question.", cites=[], refused=True,
               as_of=None, notes=(note,), timings_ms={})
    shown = fmt.answer_message(a, 0)["content"].replace("\\", "")
    assert "The articles don't say." in shown and "Try:" in shown
    assert not re.search(r"\d\.\d|<\s*\d|covers|relevance|verification|LLM", shown), shown
    assert "broader question" in shown and "pick dates" in shown


def test_refusal_suggestions__active_filters_come_first_and_dates_only_when_unset():
    tips = fmt.refusal_suggestions({"source": "cnn.com", "since": "2023-01-01", "author": None})
    assert tips[0] == "Remove or widen the filters (source cnn.com · since 2023-01-01): the answer may be elsewhere."
    assert not any("pick dates" in t for t in tips)
    assert any("pick dates" in t for t in fmt.refusal_suggestions({}))
    assert not any("pick dates" in t for t in fmt.refusal_suggestions({}, as_of="2023-01-01"))


def test_answer_message__searched_for_shows_only_when_the_query_differs():
    follow = answer(question="And how wide?", query="How wide will the Astarachay bridge be?")
    shown = fmt.answer_message(follow, 1)["content"].replace("\\", "")
    assert "searched for “How wide will the Astarachay bridge be?”" in shown
    long = answer(question="And then?", query="And then? (" + "bridge river border " * 20 + ")")
    small = fmt.answer_message(long, 0)["content"].replace("\\", "")
    assert "searched for “And then? (bridge river border bridge" in small and "…”" in small
    assert len(re.search(r"searched for “[^”]*”", small).group(0)) < 120
    same = answer(question="How long is the bridge?", query="how long is the bridge")
    assert "searched for" not in fmt.answer_message(same, 0)["content"]


def test_answer_message__reference_title_previews_the_cited_sentence_escaped():
    a = answer(cites=[citation(title='Bridge "<b>" talks',
                               passage='Talks began. The bridge will be 100 meters long and 31 meters wide. Soon.')])
    content = fmt.answer_message(a, 0)["content"]
    m = re.search(r'title="([^"]*)"', content)
    assert m and html.unescape(m.group(1)) == ('[1] Bridge "<b>" talks — “The bridge will be 100 meters long and 31 '
                                               'meters wide.”')
    assert "<b>" not in content


def test_citation_previews__long_sentences_are_shortened_on_a_word():
    long = "The bridge " + "very " * 60 + "long."
    a = answer(text=f"{long} [1]", cites=[citation(passage=long)])
    preview = fmt.citation_previews(a)[1]
    assert preview.endswith("…”") and len(preview) < 230 and "very ver…" not in preview


def test_metadata_citation__compact_line_card_and_details_view_without_a_span():
    # The answerer's metadata citations quote "field: value" and have no offsets.
    meta = citation(2, kind="metadata", field="author", passage="author: Leyla Mammadova", start=None, end=None)
    a = answer(text="It is long [1]. The article is by Leyla Mammadova [2].", cites=[citation(), meta])
    content = fmt.answer_message(a, 3)["content"].replace("\\", "")
    assert 'href="#nd-cite-3-2"' in content and "author of “Bridge talks”: Leyla Mammadova" in content
    card = fmt.sources_html(a, turn=3)
    assert 'id="nd-card-3-2"' in card and "From the article's details: author" in card
    assert '<mark class="nd-support">Leyla Mammadova</mark>' in card
    art = Article(id="a1", title="Bridge talks", text="First paragraph.\n\nSecond.", author="Leyla Mammadova",
                  published="2023-09-28")
    view = fmt.context_html(meta, art, turn=3)
    assert 'id="nd-ctx-3-2"' in view and "nd-span" not in view
    assert 'author: <mark class="nd-support">Leyla Mammadova</mark>' in view and "First paragraph." in view
    assert "date: 28 September 2023" in view


def test_metadata_citation__a_date_reads_as_a_day_in_the_line_and_the_preview():
    meta = citation(1, kind="metadata", field="published", passage="published: 2023-09-28", start=None, end=None)
    a = answer(text="“Bridge talks” was published on 28 September 2023 [1].", cites=[meta])
    assert "date of “Bridge talks”: 28 September 2023" in fmt.answer_message(a, 0)["content"].replace("\\", "")
    assert fmt.citation_previews(a)[1] == "[1] Bridge talks — “date: 28 September 2023”"


def test_answer_message__a_specific_refusal_keeps_what_it_says_is_missing():
    a = answer(text="The articles don't say: the catalog has no author for “Bridge talks”.", cites=[], refused=True,
               notes=("the catalog has no author for a1",))
    shown = fmt.answer_message(a, 0)["content"].replace("\\", "")
    assert "The articles don't say." in shown and "The catalog has no author for “Bridge talks”." in shown
    assert "for a1" not in shown


@pytest.mark.parametrize("score, label", [(0.72, "High"), (0.55, "High"), (0.44, "Medium"), (0.2, "Low")])
def test_relevance_html__a_level_with_the_number_only_in_the_tooltip(score, label):
    out = fmt.relevance_html(score)
    assert f"{label} match" in out and f'title="relevance {score:.2f}' in out
    assert re.sub(r'title="[^"]*"', "", out).count(f"{score:.2f}") == 0


# -- refusals and errors ----------------------------------------------------------------------------------------

def test_answer_message__refusal_is_plain_with_no_references():
    a = answer(text="The articles don't say: nothing in the store answers this question.", cites=[], refused=True,
               as_of=None, notes=("nothing relevant enough was retrieved",))
    content = fmt.answer_message(a, 0)["content"]
    assert 'class="nd-ref"' not in content and "<sup" not in content
    assert "nd-refusal" in content and "No article in the store is about this" in content.replace("\\", "")
    assert "as of" not in content


def test_sources_html__refusal_shows_no_cards():
    a = answer(text="The articles don't say.", cites=[], refused=True)
    out = fmt.sources_html(a, turn=0)
    assert "nd-card" not in out and "nd-ref" not in out
    assert "No passage" in out


def test_sources_html__before_any_answer_is_a_placeholder():
    assert "appear here" in fmt.sources_html(None)


def test_error_message__escaped_and_from_the_assistant():
    msg = fmt.error_message(ValueError("bad <b>filter</b>"))
    assert msg["role"] == "assistant" and "Could not answer" in msg["content"] and "<b>" not in msg["content"]


# -- sources panel and context ----------------------------------------------------------------------------------

def test_sources_html__card_has_title_source_date_url_score_and_highlight():
    out = fmt.sources_html(answer(), turn=2, selected=1)
    assert "Bridge talks" in out and "azernews.az" in out and "28 September 2023" in out
    assert 'title="relevance 0.44' in out and "Medium match" in out and 'href="https://example.com/bridge"' in out
    assert '<mark class="nd-support">The bridge will be 100 meters long and 31 meters wide.</mark>' in out
    assert "nd-selected" in out and 'href="#nd-cite-2-1"' in out


def test_supporting_sentences__maps_each_number_to_its_sentences():
    a = answer(text="It is long [1]. It is wide [1][2]. Opens soon [2].")
    assert fmt.supporting_sentences(a) == {1: ["It is long.", "It is wide."], 2: ["It is wide.", "Opens soon."]}


def test_locate__paraphrase_finds_the_closest_sentence_or_nothing():
    text = "Talks began. The bridge will be 100 meters long. Work starts soon."
    s, e = fmt.locate("The new bridge is to be 100 meters long", text)
    assert text[s:e] == "The bridge will be 100 meters long."
    assert fmt.locate("Elections were held in Spain", text) is None


def test_context_html__shows_neighbour_paragraphs_and_marks_the_span():
    paragraphs = [f"Paragraph {i} says something." for i in range(6)]
    text = "\n\n".join(paragraphs)
    start = text.index("Paragraph 3")
    end = start + len(paragraphs[3])
    c = citation(passage=text[start:end], start=start, end=end)
    out = fmt.context_html(c, Article(id="a1", title="T", text=text), ["Paragraph 3 says something."])
    assert "Paragraph 2" in out and "Paragraph 4" in out  # one paragraph either side
    assert "Paragraph 0" not in out and "Paragraph 5" not in out
    assert '<mark class="nd-support">Paragraph 3 says something.</mark>' in out
    assert out.count('class="nd-gap"') == 2


def test_context_html__article_changed_falls_back_to_the_passage():
    c = citation(passage="The bridge will be long.", start=0, end=24)
    out = fmt.context_html(c, Article(id="a1", title="T", text="Completely different text now."))
    assert "no longer in the store" in out and "The bridge will be long." in out
    assert "no longer in the store" in fmt.context_html(c, None)


def test_context_html__nothing_selected_is_a_hint():
    assert "Click a reference" in fmt.context_html(None, None)


# -- stats ------------------------------------------------------------------------------------------------------

def test_stats_html__empty_store_says_how_to_ingest():
    out = fmt.stats_html({"articles": 0, "chunks": 0, "sources": {}, "date_range": None})
    assert "newsdesk ingest PATH" in out and "empty" in out


def test_stats_html__counts_dates_model():
    out = fmt.stats_html({"articles": 1234, "chunks": 5678, "sources": {"cnn.com": 3, "<b>x</b>": 1},
                          "date_range": ["2023-01-02", "2023-09-28"], "embedding_model": "all-MiniLM-L6-v2"})
    assert "1,234" in out and "5,678" in out and "<b>2</b> sources" in out
    assert "2 January 2023 – 28 September 2023" in out and "all-MiniLM-L6-v2" in out


def test_source_choices__any_then_named_sources_with_counts():
    assert fmt.source_choices({"sources": {"cnn.com": 3, "": 2, "bbc.co.uk": 1}}) == [
        ("Any source", ""), ("cnn.com (3)", "cnn.com"), ("bbc.co.uk (1)", "bbc.co.uk")]
    assert fmt.author_choices([("Ann Lee", 1200), ("", 3)]) == [("Any author", ""), ("Ann Lee (1,200)", "Ann Lee")]


def test_example_questions__from_titles_deduplicated_at_most_four():
    titles = ["Typhoon Maysak heads for the Philippines", None, "Short", "typhoon maysak heads for the philippines",
              "x" * 200, "Pluto image sent back", "Cambridge may bring back tests", "Curry breaks his record",
              "MH370 search area doubles"]
    got = fmt.example_questions(titles)
    assert got == ["What do the articles say about “Typhoon Maysak heads for the Philippines”?",
                   "What do the articles say about “Pluto image sent back”?",
                   "What do the articles say about “Cambridge may bring back tests”?",
                   "What do the articles say about “Curry breaks his record”?"]
    assert fmt.example_questions([]) == [] and "Ask a question" in fmt.question_placeholder({})
    assert fmt.question_placeholder({"articles": 1}) == "Ask about the 1 article…"


# -- layering ---------------------------------------------------------------------------------------------------

def test_format_and_cli_do_not_import_gradio():
    root = Path(__file__).resolve().parents[2]
    code = "import sys, ui.format, ui.cli; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_filters_text__active_filters_and_as_of_no_latency():
    filters = {"source": "cnn.com", "author": None, "since": "2023-01-01"}
    out = fmt.filters_text(filters, "2023-06-01")
    assert out.replace("\\", "") == "filtered: source cnn.com · since 1 January 2023 · as of 1 June 2023"
    assert fmt.filters_text({"source": None}) == ""


@pytest.mark.parametrize("value, expected", [("2023-09-28", "2023-09-28"), ("2023-09-28 00:00:00", "2023-09-28"),
                                             (1695859200.0, "2023-09-28"), ("", None), (None, None), ("  ", None),
                                             ("28/09/2023", "28/09/2023")])
def test_date_input__picker_values_become_iso_days_and_garbage_passes_through(value, expected):
    assert fmt.date_input(value) == expected
