"""Cleaning: scraped pages lose their site chrome, every kind gets metadata, stable ids and final text."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from itertools import islice
from pathlib import Path

import pytest

from ingest._dates import parse_date
from ingest._types import RawArticle
from ingest.clean import canonical_url, front_matter, to_article
from ingest.readers import FileItem, read_file
from rag.errors import InputError
from rag.types import Article

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[3] / "shared"
SEED = SHARED / "corpus" / "seed" / "azerbaijan-iran-normalization.txt"
RTQA = SHARED / "corpus" / "rtqa" / "articles.jsonl"


def _clean_file(path: Path) -> Article:
    result = read_file(FileItem(path, path.name))
    assert result.errors == []
    [raw] = result.articles
    return to_article(raw)


def _page(name: str) -> Article:
    return _clean_file(FIXTURES / "pages" / name)


def _record(body: str, **fields: object) -> Article:
    return to_article(RawArticle(origin="feed.jsonl#3", kind="record", body=body, fields=dict(fields)))


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _assert_final_layout(text: str) -> None:
    """The text chunk offsets point into: no indentation, no trailing spaces, one blank line between paragraphs."""
    assert text == text.strip()
    assert "\n\n\n" not in text and "\r" not in text and "\u00a0" not in text
    for paragraph in text.split("\n\n"):
        assert paragraph and "\n" not in paragraph and paragraph == paragraph.strip()
        assert "  " not in paragraph


# --- the seed page ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed() -> Article:
    if not SEED.exists():
        pytest.skip("seed page not present in ../shared")
    return _clean_file(SEED)


def test_seed__metadata_is_read_from_the_header(seed: Article) -> None:
    assert seed.title == "Azerbaijan – Iran normalization process may foster regional partnership"
    assert seed.subtitle == "Carrot and stick diplomacy is underway"
    assert seed.section == "ANALYTICS"
    assert seed.published == "2023-09-28"
    assert seed.author == "Fuad Shahbazov"


def test_seed__text_runs_from_the_first_to_the_last_body_paragraph(seed: Article) -> None:
    assert seed.text.startswith("After a long-term confrontation")
    assert seed.text.endswith("strategic partner of Azerbaijan.")
    assert seed.text.count("\n\n") == 14  # 15 body paragraphs
    _assert_final_layout(seed.text)


def test_seed__no_line_of_the_read_also_or_latest_news_lists_is_in_the_text(seed: Article) -> None:
    raw = SEED.read_text(encoding="utf-8")
    chrome = _lines(raw[raw.index("Subscribe to our Telegram channel"):])
    assert len(chrome) > 100
    leaked = [line for line in chrome if line in seed.text]
    assert leaked == []


def test_seed__id_comes_from_the_path_and_hash_covers_metadata(seed: Article) -> None:
    assert seed.id == hashlib.sha1(b"azerbaijan-iran-normalization.txt").hexdigest()[:16]
    assert len(seed.content_hash) == 40


# --- scraped pages of other shapes ------------------------------------------------------------------------------


def test_page__nav_menu_before_title_is_skipped_and_standfirst_becomes_subtitle() -> None:
    article = _page("nav-before-title.txt")
    assert article.title == "River barge operators brace for record low water on the Danube"
    assert article.subtitle.startswith("Shipping firms are cutting loads by half")
    assert (article.author, article.published) == ("Lena Varga", "2023-09-28")
    assert article.text.startswith("Barge operators along the middle Danube")


def test_page__ads_and_inline_links_inside_the_body_are_dropped_but_subheadings_kept() -> None:
    text = _page("nav-before-title.txt").text
    assert "What the forecasters say" in text
    assert "Advertisement" not in text and "Read more" not in text and "Farmers count" not in text
    _assert_final_layout(text)


def test_page__tags_comments_and_copyright_after_body_are_cut() -> None:
    text = _page("nav-before-title.txt").text
    assert text.endswith("The authority will publish new loading limits on Friday.")
    for chrome in ["Tags:", "Comments", "nobody ever invests", "Georg", "All rights reserved"]:
        assert chrome not in text


def test_page__share_buttons_author_bio_and_comments_after_body_are_cut() -> None:
    article = _page("comments-after-body.txt")
    assert (article.author, article.published) == ("Priya Raman", "2023-09-28")
    assert article.text.endswith("extend the scheme to other departments.")
    for chrome in ["Share this article", "WhatsApp", "About the author", "covers local government", "Finally!"]:
        assert chrome not in article.text


def test_page__without_any_chrome_keeps_every_paragraph() -> None:
    article = _page("no-chrome.txt")
    raw = (FIXTURES / "pages" / "no-chrome.txt").read_text()
    assert article.title == "Volunteers map forgotten footpaths before the registration deadline"
    assert _lines(article.text) == _lines(raw)[1:]
    assert article.published is None and article.author is None


def test_page__headline_list_after_body_is_cut() -> None:
    article = _page("headline-list-no-cue.txt")
    assert article.text.endswith("that people actually use every day.")
    assert "Coastal ferry fares" not in article.text and "28 September 2023" not in article.text


def test_page__section_line_and_published_date_win_over_updated_date() -> None:
    article = _page("headline-list-no-cue.txt")
    assert (article.section, article.published, article.author) == ("OPINION", "2023-09-28", "Jonas Ekdahl")
    assert article.subtitle == "Connections matter more than top speed"


def test_page__inline_promos_inside_the_body_do_not_end_it() -> None:
    article = _page("inline-interruptions.txt")
    assert (article.section, article.published) == ("WORLD", "2024-03-05")
    assert article.author == "Sofia Lindqvist and Arvid Holm"
    for body in ["Boat owners' associations", "Electric boats may be allowed", "The first fines are expected"]:
        assert body in article.text
    for chrome in ["Sign up", "morning briefing", "Anglers protest", "Story continues", "Ice fishing", "Read also"]:
        assert chrome not in article.text


def test_page__hard_wrapped_paragraphs_are_joined() -> None:
    article = _page("hard-wrapped.txt")
    paragraphs = article.text.split("\n\n")
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("The central library will extend") and paragraphs[0].endswith("in the evenings.")
    assert (article.author, article.published) == ("Karin Moss", "2024-03-03")


def test_page__cookie_banner_caption_and_related_list_are_dropped() -> None:
    article = _page("wire-style-short-paragraphs.txt")
    assert article.title == "Harbor pilots strike halts container traffic at two ports"
    assert article.published == "2023-09-28"
    assert article.author == "Dana Whitfield, Coastline Wire"
    assert article.text.startswith("Container traffic at two of the busiest ports")
    assert article.text.endswith("The port authority said talks would resume on Monday.")
    assert "The strike began at 6 a.m. local time." in article.text  # a short paragraph inside the body stays
    for chrome in ["cookies", "Photo:", "Listen to this article", "Dockworkers", "Most Read", "Storm knocks"]:
        assert chrome not in article.text


def test_page__date_above_title_and_browser_title_line_are_understood() -> None:
    article = _page("date-above-title.txt")
    assert article.title == "Harbour town votes to rebuild old pier"
    assert article.subtitle == "Council backs a two-year plan after storm damage"
    assert (article.published, article.author) == ("2023-09-28", "Mara Quill")
    assert "You might also like" not in article.text and "Privacy" not in article.text


def test_page__url_line_in_header_gives_url_source_and_id() -> None:
    body = ("https://www.Example.org/news/pier-vote/\nPier vote passes in the harbour town\n"
            "The council voted on Tuesday to rebuild the pier, ending months of debate about its future here.\n")
    article = to_article(RawArticle(origin="p.txt", kind="page", body=body))
    assert article.url == "https://www.Example.org/news/pier-vote/"
    assert article.source == "example.org"
    assert article.id == hashlib.sha1(b"https://www.example.org/news/pier-vote").hexdigest()[:16]


def test_page__with_only_chrome_is_an_input_error() -> None:
    with pytest.raises(InputError):
        to_article(RawArticle(origin="p.txt", kind="page", body="Menu\nSearch\nLatest news\n© 2024 Example\n"))


# --- HTML -------------------------------------------------------------------------------------------------------


def test_html__article_page_metadata_and_canonical_url_id() -> None:
    article = _clean_file(FIXTURES / "html" / "article-with-meta.html")
    assert article.title == "Harbour town votes to rebuild old pier"
    assert article.subtitle == "Council backs a two-year plan after storm damage."
    assert (article.author, article.published, article.source) == ("Mara Quill", "2024-03-05", "The Coastal Ledger")
    expected = hashlib.sha1(b"https://www.coastal-ledger.example/news/2024/03/05/pier-vote").hexdigest()[:16]
    assert article.id == expected


def test_html__article_page_text_keeps_paragraphs_and_drops_chrome() -> None:
    text = _clean_file(FIXTURES / "html" / "article-with-meta.html").text
    assert text.startswith("The town council of Westhaven voted on Tuesday")
    assert "\n\nObjections from fishermen\n\n" in text
    assert "4.2 million euros" in text  # &nbsp; became a plain space
    assert text.endswith("the mayor said after the vote.")
    for chrome in ["window.analytics", "font-family", "Home", "By Mara Quill", "Read also", "Latest news",
                   "Ferry timetable", "All rights reserved"]:
        assert chrome not in text
    _assert_final_layout(text)


def test_html__blog_layout_with_json_ld_drops_menu_related_posts_and_comments() -> None:
    article = _clean_file(FIXTURES / "html" / "blog-json-ld.html")
    assert (article.title, article.author, article.published) == (
        "Night trains return to the northern line", "Karin Moss", "2023-11-02")
    assert article.text.startswith("After an absence of eleven years")
    assert article.text.endswith("rather than the needs of travellers.")
    assert article.text.count("\n\n") == 3
    for chrome in ["Posted on", "Stations", "Share this post", "Related posts", "Henrik", "Copyright"]:
        assert chrome not in article.text


def test_html__legacy_charset_page_is_decoded_by_its_declaration() -> None:
    article = _clean_file(FIXTURES / "html" / "legacy-cp1251.html")
    assert article.title == "Новый мост через реку откроют весной"
    assert article.text.startswith("Строительство нового моста") and article.text.count("\n\n") == 2


def test_html__page_whose_extraction_is_empty_is_an_input_error() -> None:
    with pytest.raises(InputError):
        to_article(RawArticle(origin="x.html", kind="html", body="<html><body><nav><a>Home</a></nav></body></html>"))


# --- Markdown ---------------------------------------------------------------------------------------------------


def test_markdown__front_matter_gives_metadata_and_syntax_is_stripped() -> None:
    article = _clean_file(FIXTURES / "md" / "front-matter.md")
    assert article.title == "Wind farm approved off the southern cape"
    assert (article.published, article.author, article.source) == ("2024-02-14", "Ines Calder", "Coastal Energy Review")
    assert article.url == "https://energy.example.org/2024/02/14/wind-farm-cape/"
    assert article.text.split("\n\n") == [
        "Regulators have approved a 40-turbine wind farm off the southern cape, the energy ministry said on "
        "Wednesday, after a three-year review of its impact on shipping and seabirds.",
        "What happens next",
        "- Construction starts in 2025",
        "- The first power is expected in 2027",
        "The developer must still agree on a grid connection with the national operator.",
    ]


def test_markdown__underlined_heading_is_the_title_when_there_is_no_front_matter() -> None:
    article = _clean_file(FIXTURES / "md" / "heading-title.md")
    assert article.title == "Ferry fares to rise in spring"
    assert article.text.startswith("Ferry fares on the island routes will rise by eight percent in April")


def test_markdown__front_matter_lists_and_quotes() -> None:
    assert front_matter("---\nauthors:\n  - Ana Ruiz\n  - Li Wei\ntitle: 'Q'\n---\nText") == (
        {"authors": ["Ana Ruiz", "Li Wei"], "title": "Q"}, "Text")


# --- records ----------------------------------------------------------------------------------------------------


def test_record__own_id_wins_and_is_a_string() -> None:
    assert _record("Body.", id=42, url="https://example.org/a").id == "42"


def test_record__id_from_url_matches_the_corpus_normalisation() -> None:
    expected = hashlib.sha1(b"https://www.example.org/news/a").hexdigest()[:16]
    assert _record("Body.", url="https://WWW.Example.org/news/a/?utm=1#x").id == expected
    assert canonical_url("http://Example.ORG/A/B/") == "http://example.org/A/B"


def test_record__id_from_url_agrees_with_realtime_qa_ids() -> None:
    if not RTQA.exists():
        pytest.skip("RealTime QA corpus not present in ../shared")
    with RTQA.open(encoding="utf-8") as f:
        for line in islice(f, 50):
            rec = json.loads(line)
            assert _record(rec["text"], url=rec["url"]).id == rec["id"]


def test_record__id_from_path_when_no_id_or_url() -> None:
    assert _record("Body.").id == hashlib.sha1(b"feed.jsonl#3").hexdigest()[:16]


def test_record__whitespace_is_normalised_but_paragraphs_kept() -> None:
    article = _record("  Cafe\u0301 owners\u00a0 met.\r\n\r\n\r\n\tThe   mayor came.  \r\nShe left. \n")
    assert article.text == "Café owners met.\n\nThe mayor came.\n\nShe left."


@pytest.mark.parametrize(("value", "iso"), [
    ("2023-09-28T17:10:00Z", "2023-09-28"),
    ("2023-09-28T23:30:00-04:00", "2023-09-28"),
    ("Thu, 28 Sep 2023 17:10:00 +0000", "2023-09-28"),
    ("September 28, 2023", "2023-09-28"),
    ("Sep 28, 2023", "2023-09-28"),
    ("28 September 2023 - 17:10", "2023-09-28"),
    ("28.09.2023", "2023-09-28"),
    ("Published 3:12 PM EDT, Thu September 28, 2023", "2023-09-28"),
    (1695920000, "2023-09-28"),
    ("1695920000", "2023-09-28"),
    (1695920000000, "2023-09-28"),
])
def test_record__dates_are_normalised_to_iso(value: object, iso: str) -> None:
    assert _record("Body.", published=value).published == iso


@pytest.mark.parametrize("value", ["0023-01-01", "1700-05-05", "2999-01-01", "not a date", "", "2023-02-30", True])
def test_record__absurd_or_unparsable_date_becomes_none(value: object) -> None:
    article = _record("Body.", published=value)
    assert article.published is None and article.text == "Body."


def test_record__date_more_than_a_year_ahead_is_absurd() -> None:
    today = dt.date(2024, 1, 1)
    assert parse_date("2024-12-01", today=today) == "2024-12-01"
    assert parse_date("2025-06-01", today=today) is None


def test_record__title_falls_back_to_first_short_line_and_source_to_host() -> None:
    article = _record("Pier vote passes\n\nThe council voted.", url="https://www.example.org/a")
    assert (article.title, article.source) == ("Pier vote passes", "example.org")


def test_record__title_of_one_long_paragraph_is_its_first_sentence() -> None:
    body = "The council voted on Tuesday to rebuild the pier. " + "More words follow here. " * 20
    assert _record(body).title == "The council voted on Tuesday to rebuild the pier."


def test_record__metadata_values_are_tidied() -> None:
    article = _record("Body.", title="  Pier\n vote ", author=["By Ana Ruiz", "Li Wei"], source={"name": "Ledger"})
    assert (article.title, article.author, article.source) == ("Pier vote", "Ana Ruiz, Li Wei", "Ledger")


def test_record__content_hash_changes_with_text_or_metadata_only() -> None:
    base = _record("Body.", title="T", published="2023-09-28")
    assert _record("Body.", title="T", published="2023-09-28").content_hash == base.content_hash
    assert _record("Body!", title="T", published="2023-09-28").content_hash != base.content_hash
    assert _record("Body.", title="T", published="2023-09-29").content_hash != base.content_hash


def test_record__blank_text_is_an_input_error() -> None:
    with pytest.raises(InputError):
        _record(" \n\u00a0\t ")


def test_page__one_line_menu_labelled_byline_and_colon_cues_are_understood() -> None:
    body = """Main menu
Politics  Economy  Culture
Parliament passes budget after all-night session
Written by: Tomasz Nowak, Staff Reporter
Last updated: 28/09/2023 07:45

Lawmakers approved the national budget shortly before dawn on Thursday after a session that lasted more than
fourteen hours and saw dozens of amendments rejected by the majority.

The opposition said the spending plan underestimated inflation and would force the government to come back with a
supplementary budget before the summer.

Share:
Facebook Twitter LinkedIn
Related Articles:
Budget deficit widens in second quarter
Copyright © 2023 Daily Chronicle
""".replace("than\n", "than ").replace("with a\n", "with a ")
    article = to_article(RawArticle(origin="a.txt", kind="page", body=body))
    assert article.title == "Parliament passes budget after all-night session"
    assert (article.author, article.published) == ("Tomasz Nowak", "2023-09-28")
    assert article.text.startswith("Lawmakers approved") and article.text.endswith("before the summer.")
    assert article.text.count("\n\n") == 1
