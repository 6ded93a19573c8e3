"""Cleaning: a RawArticle becomes an Article with final text, metadata and a stable id.

>>> raw = RawArticle(origin="a.jsonl#1", kind="record", body="  First line\\r\\n\\r\\nSecond  paragraph. ",
...                  fields={"url": "https://WWW.Example.com/news/story/?utm=x", "date": "Sep 28, 2023"})
>>> article = to_article(raw)
>>> article.id, article.title, article.text, article.published, article.source
('46e0a2aa4daeaf86', 'First line', 'First line\\n\\nSecond paragraph.', '2023-09-28', 'example.com')
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ingest._dates import date_stamp, parse_date
from ingest._page import BYLINE, DATE, JUNK, PROSE, SENT, classify, parse_page, trim_chrome
from ingest._text import join_paragraphs, normalize_text, paragraphs
from ingest._types import RawArticle
from rag.errors import InputError
from rag.types import Article

_TITLE_MAX = 200  # a first line longer than this is a paragraph, not a title (as in the corpus build)


def canonical_url(url: str) -> str:
    """The URL as the corpus ids hash it: host lowercased; query string, fragment and trailing slash removed.

    >>> canonical_url("https://WWW.Example.com/a/b/?x=1#top")
    'https://www.example.com/a/b'
    """
    url = url.strip()
    if "://" not in url and re.match(r"^[\w-]+(\.[\w-]+)+(/|$)", url):
        url = "https://" + url  # "www.example.com/story" written without its scheme
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1": a malformed URL must not take the whole ingest down; use it as written
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def url_source(url: str | None) -> str | None:
    """The publication a URL belongs to: its host without "www." ("https://www.cnn.com/x" -> "cnn.com")."""
    if not url:
        return None
    try:
        host = urlsplit(canonical_url(url)).hostname or ""
    except ValueError:  # a malformed URL names no publication
        return None
    host = host.removeprefix("www.")
    return host or None


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def article_id(own_id: Any, url: str | None, origin: str) -> str:
    """The record's own id; else a hash of the canonical URL; else a hash of where the article came from.

    >>> article_id(42, None, "x"), article_id(None, None, "news/a.txt")
    ('42', '0a6c1f9415751a41')
    """
    if own_id is not None and str(own_id).strip():
        return str(own_id).strip()
    if url:
        return _sha1(canonical_url(url))[:16]
    return _sha1(origin)[:16]


def _one_line(value: Any) -> str | None:
    """A metadata value as one clean line, or None: lists of names are joined, {"name": ...} objects unwrapped."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("title")
    if isinstance(value, list):
        value = ", ".join(filter(None, (_one_line(v) for v in value)))
    if value is None or isinstance(value, bool):
        return None
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def _author(value: Any) -> str | None:
    name = _one_line(value)
    if name:
        name = re.sub(r"^by\s+", "", name, flags=re.I)  # "By Jane Doe" in a record's author field
    return name or None


def _fallback_title(text: str, origin: str) -> str:
    """The first short line of the text; for a text that is one long paragraph, its first sentence."""
    first = text.split("\n", 1)[0]
    if len(first) < _TITLE_MAX:
        return first
    sentence = re.match(rf"(.{{20,{_TITLE_MAX}}}?[.!?])\s", first)
    if sentence:
        return sentence.group(1)
    cut = first[:120].rsplit(" ", 1)[0]
    return f"{cut}…" if cut else PurePosixPath(origin.split("#")[0]).stem


def _finish(raw: RawArticle, text: str, meta: dict[str, Any]) -> Article:
    """Fill gaps from the reader's fields, derive id, source and hash, and build the Article."""
    if not text:
        raise InputError("no article text left after cleaning")
    fields = raw.fields
    url = _one_line(meta.get("url") or fields.get("url"))
    title = _one_line(meta.get("title") or fields.get("title")) or _fallback_title(text, raw.origin)
    subtitle = _one_line(meta.get("subtitle") or fields.get("subtitle"))
    author = _author(meta.get("author") or fields.get("author"))
    section = _one_line(meta.get("section") or fields.get("section"))
    published = parse_date(meta.get("published") or fields.get("published") or fields.get("date"))
    source = _one_line(meta.get("source") or fields.get("source")) or url_source(url)
    # The hash covers the metadata too, so a corrected date or title is re-ingested like an edited text.
    digest = _sha1("\x1f".join([text, *(v or "" for v in (title, subtitle, author, section, published, source, url))]))
    return Article(id=article_id(fields.get("id"), url, raw.origin), title=title, text=text, subtitle=subtitle,
                   author=author, section=section, published=published, source=source, url=url, origin=raw.origin,
                   content_hash=digest)


# ---------------------------------------------------------------------------------------------------------------
# Per kind


def _clean_page(raw: RawArticle) -> Article:
    parts = parse_page(raw.body)
    meta = {"title": parts.title, "subtitle": parts.subtitle, "author": parts.author, "section": parts.section,
            "published": parts.published, "url": parts.url}
    return _finish(raw, join_paragraphs(parts.body), meta)


def _element_text(element: Any) -> str:
    """Text of a trafilatura XML element; <lb/>, list items and table rows become line breaks."""
    out = [element.text or ""]
    for child in element:
        if child.tag == "lb":
            out.append("\n")
        elif child.tag in ("item", "row"):
            out.append("\n" + _element_text(child) + "\n")
        elif child.tag == "cell":
            out.append(_element_text(child) + " | ")
        else:
            out.append(_element_text(child))
        out.append(child.tail or "")
    return "".join(out)


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.casefold().strip(" .") == b.casefold().strip(" .") != ""


def _drop_repeated_header(parts: list[str], title: str | None, author: str | None) -> list[str]:
    """Leading lines that repeat the header (the title, a byline, a date stamp) are metadata, not body."""
    kinds = classify(parts)
    start = 0
    while start < len(parts) and kinds[start] not in (PROSE, SENT):
        line = parts[start]
        if not (_same(line, title) or _same(line, author) or kinds[start] in (BYLINE, DATE, JUNK)):
            break
        start += 1
    return parts[start:]


# libxml2 stops reading a document after about 10 MB unless told not to, and trafilatura's parser does not tell
# it: everything past that point of a bigger page (a saved page with inline images) was dropped without a word.
_LIBXML2_DEFAULT_LIMIT = 9_000_000


def _parse_huge(html: str) -> Any:
    """The page parsed as trafilatura parses it, with libxml2's size limit lifted."""
    import lxml.html
    from trafilatura.utils import repair_faulty_html

    parser = lxml.html.HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                                  remove_pis=True, huge_tree=True)
    html = repair_faulty_html(html, html[:50].lower())
    return lxml.html.fromstring(html.encode("utf-8", "surrogatepass"), parser=parser)


def _extract(html: str, url: str | None, *, favor_recall: bool = False) -> Any:
    """Trafilatura's main-text extraction with metadata; it only parses the string it is given, never fetches."""
    import trafilatura  # heavy import, only needed for HTML input

    return trafilatura.bare_extraction(
        _parse_huge(html) if len(html) > _LIBXML2_DEFAULT_LIMIT else html, url=url, with_metadata=True,
        include_comments=False, include_tables=True, include_images=False, include_links=False, deduplicate=False,
        favor_recall=favor_recall,
        # No guessing from dates printed in the text: only the page's own metadata and URL.
        date_extraction_params={"extensive_search": False, "original_date": True})


def _clean_html(raw: RawArticle) -> Article:
    url = _one_line(raw.fields.get("url"))
    doc = _extract(raw.body, url)
    if doc is None or doc.body is None or not "".join(doc.body.itertext()).strip():
        # Short pages fall below the precision thresholds; ask again favouring recall.
        doc = _extract(raw.body, url, favor_recall=True)
    if doc is None or doc.body is None:
        raise InputError("no article text found in the HTML page")
    extracted = paragraphs("\n".join(_element_text(child) for child in doc.body), rewrap=False)
    text = join_paragraphs(trim_chrome(_drop_repeated_header(extracted, doc.title, doc.author)))
    published = doc.date
    if not published:  # a date stamp printed at the top of the text
        published = next((stamp[0] for line in extracted[:5] if (stamp := date_stamp(line))), None)
    meta = {"title": doc.title, "subtitle": doc.description, "author": doc.author and doc.author.replace("; ", ", "),
            "section": (doc.categories or [None])[0], "published": published, "source": doc.sitename,
            "url": doc.url}
    return _finish(raw, text, meta)


_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_KEYS = {  # our field <- front-matter keys, first present wins
    "title": ("title",), "subtitle": ("subtitle", "description", "summary"), "published": ("date", "published"),
    "author": ("author", "authors", "byline"), "source": ("source", "site", "publisher"),
    "url": ("url", "link", "canonical", "canonical_url"), "section": ("section", "category", "categories"),
    "id": ("id",),
}


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split "---\\nkey: value\\n---" off the top of a Markdown file: (fields, rest). Lists become lists.

    >>> front_matter("---\\ntitle: 'Pier vote'\\ntags: [a, b]\\n---\\nBody")
    ({'title': 'Pier vote', 'tags': ['a', 'b']}, 'Body')
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    fields: dict[str, Any] = {}
    key = None
    for line in match.group(1).split("\n"):
        item = re.match(r"^\s+-\s+(.*)$", line)
        if item and key:  # a YAML block list under the previous key
            fields[key] = [*(fields[key] if isinstance(fields[key], list) else []), _unquote(item.group(1))]
            continue
        pair = re.match(r"^([\w-]+)\s*:\s*(.*)$", line)
        if not pair:
            continue
        key, value = pair.group(1).lower(), pair.group(2).strip()
        if value.startswith("[") and value.endswith("]"):
            fields[key] = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
        else:
            fields[key] = _unquote(value) if value else []
    return fields, text[match.end():]


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


_MD_INLINE = [
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images
    (re.compile(r"!\[[^\]]*\]\[[^\]]*\]"), ""),
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote markers
    (re.compile(r"\[([^\]]+)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)"), r"\1"),  # [text](url "title")
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),  # [text][ref]
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>\n]*>"), ""),  # inline HTML tags
    (re.compile(r"`([^`\n]+)`"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?![\w_])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|])"), r"\1"),  # backslash escapes
]
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_LIST = re.compile(r"^(?:[-*+]|\d{1,3}[.)])\s+")
_MD_RULE = re.compile(r"^(?:[-*_]\s*){3,}$")


def markdown_paragraphs(text: str) -> tuple[str | None, list[str]]:
    """(first level-1 heading, paragraphs) of Markdown with its syntax stripped: links keep their text, images,
    comments and emphasis markers go, soft-wrapped lines are joined, list items stay one per line.

    >>> markdown_paragraphs("# Pier *vote*\\n\\nThe [council](http://x) voted\\non **Tuesday**.\\n\\n- one\\n- two")
    ('Pier vote', ['The council voted on Tuesday.', '- one', '- two'])
    """
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    title: str | None = None
    out: list[str] = []
    para: list[str] = []
    fence = False

    def flush() -> None:
        if para:
            out.append(" ".join(para))
            para.clear()

    for n, raw_line in enumerate(lines):
        line = raw_line.strip()
        if line.startswith(("```", "~~~")):
            flush()
            fence = not fence
            continue
        if fence:
            out.append(line)
            continue
        nxt = lines[n + 1].strip() if n + 1 < len(lines) else ""
        if not line or (_MD_RULE.match(line) and not para):
            flush()
            continue
        if re.match(r"^\[[^\]]+\]:\s*\S+", line):  # reference link definition
            continue
        line = re.sub(r"^(?:>\s?)+", "", line)
        heading = _MD_HEADING.match(line)
        if heading or (para == [] and re.fullmatch(r"=+|-+", nxt) and nxt):
            flush()
            level1 = (heading and len(heading.group(1)) == 1) or (not heading and nxt.startswith("="))
            content = _md_inline(heading.group(2) if heading else line)
            if level1 and title is None and not out:
                title = content
            else:
                out.append(content)
            continue
        if re.fullmatch(r"=+|-+", line):  # the underline of a heading handled above
            continue
        if _MD_LIST.match(line):
            flush()
            para.append("- " + _md_inline(_MD_LIST.sub("", line)))
            continue
        if re.fullmatch(r"\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?", line):  # table separator row
            continue
        if line.startswith("|"):
            flush()
            out.append(_md_inline(line.strip("|").strip()))
            continue
        hard_break = raw_line.endswith("  ") or line.endswith("\\")
        para.append(_md_inline(line.rstrip("\\")))
        if hard_break:
            flush()
    flush()
    return title, [p for p in out if p.strip()]


def _md_inline(text: str) -> str:
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return text.strip()


def _clean_markdown(raw: RawArticle) -> Article:
    fields, body = front_matter(raw.body)
    heading, parts = markdown_paragraphs(body)
    meta = {name: next((fields[k] for k in keys if fields.get(k) not in (None, "", [])), None)
            for name, keys in _FRONT_KEYS.items()}
    if isinstance(meta["section"], list):
        meta["section"] = meta["section"][0] if meta["section"] else None
    if not meta["title"]:
        meta["title"] = heading
    elif heading and heading.casefold() != str(meta["title"]).casefold():
        parts.insert(0, heading)  # a heading that is not the title is part of the text
    if meta.get("id") is not None:
        raw = RawArticle(origin=raw.origin, kind=raw.kind, body=raw.body, fields={**raw.fields, "id": meta["id"]})
    text = join_paragraphs(trim_chrome(paragraphs("\n".join(parts), rewrap=False)))
    return _finish(raw, text, meta)


def _clean_record(raw: RawArticle) -> Article:
    # Records come already separated from their page; only whitespace and unicode are normalised.
    return _finish(raw, normalize_text(raw.body), {})


_CLEANERS = {"page": _clean_page, "html": _clean_html, "markdown": _clean_markdown, "record": _clean_record}


def to_article(raw: RawArticle) -> Article:
    """Clean one RawArticle into an Article; raises InputError when no article text is left.

    Pages lose their site chrome and give up title, subtitle, section, date and author; HTML goes through
    trafilatura; Markdown loses its syntax; records are only normalised. Every text ends up NFC, with plain
    spaces, no indentation and paragraphs separated by one blank line.
    """
    cleaner = _CLEANERS.get(raw.kind)
    if cleaner is None:
        raise InputError(f"unknown article kind {raw.kind!r}")
    try:
        return cleaner(raw)
    except InputError:
        raise
    except Exception as exc:
        reason = " ".join(str(exc).split())[:200]
        raise InputError(f"cannot clean the article ({type(exc).__name__}: {reason})") from exc
