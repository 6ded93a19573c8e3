"""Readers: walking folders, decoding bytes, and turning files and records into RawArticles."""

from __future__ import annotations

import codecs
import gzip
import json
import os
from pathlib import Path

import pytest

from ingest.readers import FileError, FileItem, ReadResult, file_format, read_file, walk

FIXTURES = Path(__file__).parent / "fixtures"
BODY = "The council voted on Tuesday to rebuild the pier, ending months of debate about its future."


def _read(path: Path, rel: str | None = None) -> ReadResult:
    return read_file(FileItem(path, rel or path.name))


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _errors(result: ReadResult) -> list[str]:
    return [e.error for e in result.errors]


# --- walk -------------------------------------------------------------------------------------------------------


def test_walk__folder_is_recursive_sorted_and_rel_to_root(tmp_path: Path) -> None:
    for name in ["b.txt", "a/z.md", "a/b/c.json", "A.html"]:
        _write(tmp_path / name, BODY)
    items = list(walk([tmp_path]))
    assert [i.rel for i in items if isinstance(i, FileItem)] == ["A.html", "a/b/c.json", "a/z.md", "b.txt"]
    assert all(isinstance(i, FileItem) and i.path == tmp_path / i.rel for i in items)


def test_walk__file_given_directly_has_its_name_as_rel(tmp_path: Path) -> None:
    path = _write(tmp_path / "deep" / "story.txt", BODY)
    assert list(walk([path])) == [FileItem(path, "story.txt")]


def test_walk__hidden_files_and_folders_are_skipped(tmp_path: Path) -> None:
    _write(tmp_path / ".draft.txt", BODY)
    _write(tmp_path / ".git" / "notes.md", BODY)
    _write(tmp_path / "kept.txt", BODY)
    assert [i.rel for i in walk([tmp_path]) if isinstance(i, FileItem)] == ["kept.txt"]


def test_walk__unknown_file_type_is_reported_not_guessed(tmp_path: Path) -> None:
    _write(tmp_path / "photo.png", b"\x89PNG\r\n\x1a\n")
    _write(tmp_path / "README", BODY)
    _write(tmp_path / "archive.tar.gz", b"\x1f\x8b")
    errors = [i for i in walk([tmp_path]) if isinstance(i, FileError)]
    assert [Path(e.path).name for e in errors] == ["README", "archive.tar.gz", "photo.png"]
    assert "unsupported file type '.png'" in errors[2].error
    assert "no extension" in errors[0].error


def test_walk__missing_path_is_an_error(tmp_path: Path) -> None:
    [error] = list(walk([tmp_path / "nope"]))
    assert error == FileError(str(tmp_path / "nope"), "no such file or directory")


def test_walk__symlink_loop_is_reported_once(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "story.txt", BODY)
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    items = list(walk([tmp_path]))
    assert [i.rel for i in items if isinstance(i, FileItem)] == ["a/story.txt"]
    [error] = [i for i in items if isinstance(i, FileError)]
    assert "symlink loop" in error.error


def test_walk__same_file_reached_twice_is_yielded_once(tmp_path: Path) -> None:
    path = _write(tmp_path / "story.txt", BODY)
    assert len(list(walk([tmp_path, path]))) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every folder")
def test_walk__unreadable_folder_is_an_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    _write(locked / "story.txt", BODY)
    locked.chmod(0)
    try:
        [error] = list(walk([tmp_path]))
        assert isinstance(error, FileError) and "cannot read directory" in error.error
    finally:
        locked.chmod(0o755)


def test_file_format__compound_gzip_suffixes() -> None:
    assert file_format("a.json.gz") == ("json", True)
    assert file_format("a.ndjson") == ("jsonl", False)
    assert file_format("a.HTM") == ("html", False)
    assert file_format("a.gz") is None


# --- documents --------------------------------------------------------------------------------------------------


def test_read__txt_page_is_one_page_article_with_rel_origin() -> None:
    result = _read(FIXTURES / "pages" / "no-chrome.txt", "pages/no-chrome.txt")
    [article] = result.articles
    assert (article.kind, article.origin, result.errors) == ("page", "pages/no-chrome.txt", [])
    assert article.body.startswith("Volunteers map forgotten footpaths")


@pytest.mark.parametrize("name", ["article-with-meta.html", "blog-json-ld.html", "legacy-cp1251.html"])
def test_read__html_page_is_an_html_article(name: str) -> None:
    [article] = _read(FIXTURES / "html" / name).articles
    assert article.kind == "html" and "<p>" in article.body


def test_read__html_with_no_body_text_is_refused() -> None:
    result = _read(FIXTURES / "html" / "script-only.html")
    assert result.articles == [] and _errors(result) == ["HTML page has no body text"]


def test_read__html_saved_as_txt_is_read_as_html(tmp_path: Path) -> None:
    path = _write(tmp_path / "saved.txt", f"<!DOCTYPE html><html><body><p>{BODY}</p></body></html>")
    assert _read(path).articles[0].kind == "html"


def test_read__markdown_is_a_markdown_article() -> None:
    [article] = _read(FIXTURES / "md" / "front-matter.md").articles
    assert article.kind == "markdown" and article.body.startswith("---\ntitle:")


# --- encodings and refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "text"), [
    ("latin-1", "El niño comió jamón en la mañana, según el señor Muñoz, y después visitó a su familia en España."),
    ("cp1251", "Строительство нового моста через реку в центре города завершится к весне, сообщили в администрации."),
    ("cp1252", "The café’s owner said “no” to the offer – again – and the town’s council was not amused at all."),
])
def test_read__legacy_encodings_are_detected(tmp_path: Path, encoding: str, text: str) -> None:
    path = _write(tmp_path / "page.txt", text.encode(encoding))
    assert _read(path).articles[0].body == text


@pytest.mark.parametrize("bom_encoding", ["utf-16", "utf-8-sig", "utf-16-be"])
def test_read__bom_decides_the_encoding(tmp_path: Path, bom_encoding: str) -> None:
    data = "Köln: Brücke gesperrt".encode(bom_encoding)
    if bom_encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    [article] = _read(_write(tmp_path / "page.txt", data)).articles
    assert article.body == "Köln: Brücke gesperrt"


def test_read__utf8_with_a_stray_windows_byte_decodes_the_rest_correctly(tmp_path: Path) -> None:
    data = "Zürich und Genève: ".encode() + b"the mayor\x92s plan"
    [article] = _read(_write(tmp_path / "page.txt", data)).articles
    assert article.body == "Zürich und Genève: the mayor’s plan"


@pytest.mark.parametrize(("data", "reason"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (PNG image), not an article"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary file (gzip data), not an article"),
    (b"%PDF-1.7\n%\xe2\xe3", "binary file (PDF document), not an article"),
    (b"text\x00with\x00\x00\x01nul bytes in the middle\x00\x00", "binary file (contains NUL bytes), not an article"),
    (b"", "empty file"),
    (b" \n\t\r\n  \n", "file holds only whitespace"),
])
def test_read__binary_and_empty_files_are_refused_with_a_reason(tmp_path: Path, data: bytes, reason: str) -> None:
    result = _read(_write(tmp_path / "page.txt", data))
    assert result.articles == [] and _errors(result) == [reason]


def test_read__gzip_named_file_that_is_not_gzip_is_refused(tmp_path: Path) -> None:
    result = _read(_write(tmp_path / "a.json.gz", b'{"text": "plain"}'))
    assert _errors(result) == ["not a gzip file, despite its .gz name"]


# --- JSON and JSONL --------------------------------------------------------------------------------------------


def test_read__json_list_gives_records_with_index_origins(tmp_path: Path) -> None:
    records = [{"id": 7, "title": "A", "text": BODY, "date": "2023-09-28", "extra": 1}, {"body": BODY}]
    result = _read(_write(tmp_path / "list.json", json.dumps(records)), "sub/list.json")
    assert [a.origin for a in result.articles] == ["sub/list.json#0", "sub/list.json#1"]
    assert result.articles[0].kind == "record"
    assert result.articles[0].fields == {"id": 7, "title": "A", "published": "2023-09-28"}


def test_read__json_single_object_is_one_record_with_plain_origin(tmp_path: Path) -> None:
    [article] = _read(_write(tmp_path / "one.json", json.dumps({"content": BODY, "url": "https://x.org/a"}))).articles
    assert (article.origin, article.body, article.fields) == ("one.json", BODY, {"url": "https://x.org/a"})


def test_read__json_articles_wrapper_is_unwrapped(tmp_path: Path) -> None:
    data = {"source": "feed", "articles": [{"text": BODY}, {"text": BODY + " More."}]}
    result = _read(_write(tmp_path / "feed.json", json.dumps(data)))
    assert [a.origin for a in result.articles] == ["feed.json#0", "feed.json#1"]


def test_read__json_record_without_text_is_an_error_for_that_record(tmp_path: Path) -> None:
    result = _read(_write(tmp_path / "list.json", json.dumps([{"title": "no text"}, {"text": BODY}])))
    assert len(result.articles) == 1
    assert _errors(result) == ["record 0: record has no text field (text, body or content)"]


def test_read__invalid_json_is_one_clear_error(tmp_path: Path) -> None:
    result = _read(_write(tmp_path / "bad.json", '[{"text": "a"},'))
    assert result.articles == [] and _errors(result)[0].startswith("invalid JSON (line 1:")


def test_read__jsonl_bad_line_is_named_and_good_lines_are_kept(tmp_path: Path) -> None:
    good = json.dumps({"text": BODY})
    lines = [good, "", '{"text": "oops" "x"}', json.dumps({"title": "t"}), good]
    result = _read(_write(tmp_path / "a.jsonl", "\n".join(lines) + "\n"))
    assert [a.origin for a in result.articles] == ["a.jsonl#1", "a.jsonl#5"]
    assert _errors(result) == ["line 3: invalid JSON (Expecting ',' delimiter)",
                               "line 4: record has no text field (text, body or content)"]


def test_read__jsonl_gz_is_read_transparently(tmp_path: Path) -> None:
    data = "".join(json.dumps({"id": f"r{i}", "text": f"{BODY} {i}"}) + "\n" for i in range(3))
    result = _read(_write(tmp_path / "a.jsonl.gz", gzip.compress(data.encode())))
    assert [a.fields["id"] for a in result.articles] == ["r0", "r1", "r2"] and result.errors == []


def test_read__truncated_jsonl_gz_keeps_the_lines_before_the_damage(tmp_path: Path) -> None:
    data = "".join(json.dumps({"text": f"{BODY} {i}" * 20}) + "\n" for i in range(200))
    packed = gzip.compress(data.encode())
    result = _read(_write(tmp_path / "a.jsonl.gz", packed[: len(packed) // 2]))
    assert 0 < len(result.articles) < 200
    assert "truncated" in _errors(result)[-1]


def test_read__json_gz_is_read_transparently(tmp_path: Path) -> None:
    result = _read(_write(tmp_path / "a.json.gz", gzip.compress(json.dumps([{"text": BODY}]).encode())))
    assert [a.origin for a in result.articles] == ["a.json.gz#0"]


def test_read__json_file_holding_jsonl_is_read_line_by_line(tmp_path: Path) -> None:
    data = json.dumps({"text": BODY}) + "\n" + json.dumps({"text": BODY}) + "\n"
    assert [a.origin for a in _read(_write(tmp_path / "a.json", data)).articles] == ["a.json#1", "a.json#2"]


def test_read__jsonl_with_invalid_utf8_still_reads_the_line(tmp_path: Path) -> None:
    data = b'{"text": "Caf\xe9 owners met the mayor on Tuesday."}\n'
    [article] = _read(_write(tmp_path / "a.jsonl", data)).articles
    assert article.body == "Café owners met the mayor on Tuesday."


def test_read__jsonl_in_utf16_with_bom_is_decoded(tmp_path: Path) -> None:
    data = (json.dumps({"text": "Köln"}, ensure_ascii=False) + "\n").encode("utf-16")
    assert _read(_write(tmp_path / "a.jsonl", data)).articles[0].body == "Köln"


def test_read__text_given_as_list_of_paragraphs_is_joined(tmp_path: Path) -> None:
    [article] = _read(_write(tmp_path / "a.json", json.dumps({"text": ["One.", "Two."]}))).articles
    assert article.body == "One.\n\nTwo."
