"""Readers: files and folders in, `RawArticle`s out, with one clear error line for whatever cannot be read.

One module (about 500 lines) on purpose: one reader per input format (text, Markdown, HTML, JSON, JSONL,
gzip) and the walk over folders, sharing one error style.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> _ = (root / "a.jsonl").write_text('{"id": "x", "text": "Body."}\\n{"title": "no text"}\\n')
>>> [item] = walk([root])
>>> result = read_file(item)
>>> [a.origin for a in result.articles], [e.error for e in result.errors]
(['a.jsonl#1'], ['line 2: record has no text field (text, body or content)'])
"""

from __future__ import annotations

import codecs
import errno
import gzip
import io
import json
import os
import re
import unicodedata
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ingest._types import RawArticle
from rag.errors import InputError

# The last suffix decides the format; ".gz" wraps any of them and is read transparently.
_FORMATS = {".txt": "page", ".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown",
            ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl"}
SUPPORTED = tuple([*_FORMATS, ".json.gz", ".jsonl.gz"])
TEXT_FIELDS = ("text", "body", "content")
_RECORD_FIELDS = {  # our field name <- the names records use for it
    "id": ("id",), "title": ("title", "headline"), "subtitle": ("subtitle",), "url": ("url", "link"),
    "published": ("published", "date", "published_at", "publishedAt"), "author": ("author", "authors"),
    "source": ("source",), "section": ("section",),
}
_WRAPPER_KEYS = ("articles", "records", "items", "documents")
_MAX_LINE_ERRORS = 20  # a file that is not JSONL at all should not flood the report

_MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"), (b"%PDF-", "PDF document"), (b"PK\x03\x04", "ZIP archive or Office document"),
    (b"\x1f\x8b", "gzip data"), (b"7z\xbc\xaf\x27\x1c", "7z archive"), (b"\x7fELF", "executable"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document"), (b"SQLite format 3\x00", "SQLite database"),
    (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"), (b"BZh", "bzip2 data"), (b"\xfd7zXZ\x00", "xz data"),
]
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")]
# Legacy encodings a news file may come in when it is not UTF-8. Near-twins of Windows-1252 (1250, 1254, 8859-2)
# are left out on purpose: on Western text the detector picks them about as often as the right one and turns
# "España" into "Espańa"; Western text is far more common in a news corpus than Central European or Turkish.
_LEGACY_ENCODINGS = ("cp1252", "cp1251", "koi8_r", "cp1253", "cp1255", "cp1256", "shift_jis", "gb18030", "euc_kr",
                     "big5")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


@dataclass(frozen=True)
class FileItem:
    """A file to read: its path, and the path relative to the root it was found under (its name if given itself)."""

    path: Path
    rel: str


@dataclass(frozen=True)
class FileError:
    """A file or record that could not be read, with a one-line reason."""

    path: str
    error: str


@dataclass
class ReadResult:
    """What one file gave: its articles, and errors for the parts (or the whole) that could not be read."""

    articles: list[RawArticle] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)


def file_format(name: str) -> tuple[str, bool] | None:
    """(format, gzipped) from a file name, or None when the type is not supported.

    >>> file_format("news.JSONL.gz"), file_format("page.txt"), file_format("photo.png")
    (('jsonl', True), ('page', False), None)
    """
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    fmt = _FORMATS.get(os.path.splitext(lower)[1])
    # Compressed pages are fine too, but a bare ".gz" with no known inner type is not guessed.
    return (fmt, gz) if fmt else None


def _unsupported(path: Path) -> FileError:
    suffix = "".join(path.suffixes[-2:]) if path.name.lower().endswith(".gz") else path.suffix
    kind = f"'{suffix}'" if suffix else "(no extension)"
    return FileError(str(path), f"unsupported file type {kind}; supported: {', '.join(SUPPORTED)}")


def walk(paths: Sequence[Path | str]) -> Iterator[FileItem | FileError]:
    """Files under the given files and folders, recursively, in sorted order; hidden names are skipped.

    Yields a FileItem per supported file and a FileError per problem (missing path, unknown type, unreadable
    folder, symlink loop). A file reached twice (two roots, a symlink) is yielded once.
    >>> list(walk([Path("/nonexistent/x.txt")]))
    [FileError(path='/nonexistent/x.txt', error='no such file or directory')]
    """
    seen: set[Path] = set()
    for given in paths:
        root = Path(given)
        if not root.exists():
            reason = "broken symlink" if root.is_symlink() else "no such file or directory"
            yield FileError(str(root), reason)
        elif root.is_dir():
            st = root.stat()
            yield from _walk_dir(root, root, frozenset({(st.st_dev, st.st_ino)}), seen)
        else:
            yield from _file(root, root.name, seen)


def _file(path: Path, rel: str, seen: set[Path]) -> Iterable[FileItem | FileError]:
    if not path.is_file():
        # A file listed a moment ago may be gone by now (deleted while the ingest runs).
        gone = not path.exists() and not path.is_symlink()
        return [FileError(str(path), "no such file (it vanished during the run)" if gone else "not a regular file")]
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    return [FileItem(path, rel)] if file_format(path.name) else [_unsupported(path)]


def _walk_dir(folder: Path, root: Path, parents: frozenset[tuple[int, int]],
              seen: set[Path]) -> Iterator[FileItem | FileError]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield FileError(str(folder), f"cannot read directory: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            if entry.is_dir():
                st = path.stat()
                key = (st.st_dev, st.st_ino)
                if key in parents:
                    yield FileError(str(path), "symlink loop: the folder links back to one of its parents")
                    continue
                yield from _walk_dir(path, root, parents | {key}, seen)
            elif entry.is_symlink() and not path.exists():
                yield FileError(str(path), "broken symlink")
            else:
                yield from _file(path, path.relative_to(root).as_posix(), seen)
        except OSError as exc:  # a symlink loop on a file, a permission problem on stat
            reason = "symlink loop" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
            yield FileError(str(path), reason)


# ---------------------------------------------------------------------------------------------------------------
# Bytes to text


def _binary_reason(head: bytes) -> str | None:
    """Why a file's first bytes show it is not text, or None."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"binary file ({what}), not an article"
    if head[4:8] == b"ftyp":
        return "binary file (MP4/MOV media), not an article"
    if b"\x00" in head and not _utf16_without_bom(head):
        return "binary file (contains NUL bytes), not an article"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when the bytes look like UTF-16 text written without a BOM (NUL every other byte)."""
    sample = head[: len(head) // 2 * 2][:4096]
    if len(sample) < 4:
        return None
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd >= 0.4 * half and even <= 0.05 * half:
        return "utf-16-le"
    if even >= 0.4 * half and odd <= 0.05 * half:
        return "utf-16-be"
    return None


def _mostly_utf8(data: bytes) -> str | None:
    """Decode UTF-8 text with a few stray legacy bytes (a pasted Windows-1252 quote): those bytes are read as
    Windows-1252 instead of failing the whole file. None when the bytes are not mostly UTF-8.
    """
    text = data.decode("utf-8", "surrogateescape")
    stray = sum(1 for c in text if "\udc80" <= c <= "\udcff")
    multibyte = sum(1 for c in text if ord(c) > 0x7F) - stray
    if multibyte < 2 * stray:
        return None
    return re.sub("[\udc80-\udcff]+",
                  lambda m: m.group().encode("utf-8", "surrogateescape").decode("cp1252", "replace"), text)


def decode(data: bytes, *, declared: str | None = None) -> str:
    """Text from bytes: BOMs first, then UTF-8, the page's declared charset, then a guess (Latin-1, Windows-1252,
    Windows-1251 ...). Raises InputError for binary, empty or whitespace-only content.

    >>> decode("El niño comió jamón en España.".encode("latin-1"))
    'El niño comió jamón en España.'
    >>> decode(codecs.BOM_UTF16_LE + "Кофе".encode("utf-16-le"))
    'Кофе'
    """
    if not data:
        raise InputError("empty file")
    text: str | None = None
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputError(f"invalid {encoding.upper()} text ({exc.reason} at byte {exc.start})") from None
            break
    if text is None:
        if reason := _binary_reason(data[:8192]):
            raise InputError(reason)
        text = _decode_unmarked(data, declared)
    if not text.strip(" \t\r\n\f\v\u00a0\ufeff\u200b"):
        raise InputError("file holds only whitespace")
    controls = sum(1 for c in text[:20000] if unicodedata.category(c) == "Cc" and c not in "\t\n\r\f\v")
    if controls > max(3, len(text[:20000]) // 100):
        raise InputError("binary file (control characters), not an article")
    return text


def _decode_unmarked(data: bytes, declared: str | None) -> str:
    if encoding := _utf16_without_bom(data[:8192]):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            raise InputError("binary file (contains NUL bytes), not an article") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(codecs.lookup(declared).name)
        except (LookupError, UnicodeDecodeError):
            pass
    if (text := _mostly_utf8(data)) is not None:
        return text
    import charset_normalizer  # only needed for the rare legacy-encoded file

    best = charset_normalizer.from_bytes(data, cp_isolation=list(_LEGACY_ENCODINGS)).best()
    if best is None:
        raise InputError("cannot tell the text encoding (not UTF-8, and no other encoding fits)")
    return str(best)


def _read_bytes(path: Path, gz: bool) -> bytes:
    if not gz:
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except gzip.BadGzipFile:
        raise InputError("not a gzip file, despite its .gz name") from None
    except (EOFError, zlib.error) as exc:
        raise InputError(f"corrupt or truncated gzip file ({exc})") from None


# ---------------------------------------------------------------------------------------------------------------
# Records


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: Any) -> Any:
    """`value` with lone surrogates (JSON's "\\ud800" escapes half a character) replaced by U+FFFD: text that
    cannot be written as UTF-8 fails hashing and storage later, and took the whole ingest down with it.

    >>> _scrub({"text": ["ok", "half " + chr(0xD800)]}) == {"text": ["ok", "half " + chr(0xFFFD)]}
    True
    """
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def _record(obj: Any, origin: str) -> RawArticle | str:
    """A RawArticle from one JSON record, or the one-line reason it is not one."""
    if not isinstance(obj, dict):
        return f"expected a JSON object, got {_json_type(obj)}"
    obj = _scrub(obj)
    text = None
    for key in TEXT_FIELDS:
        value = obj.get(key)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            value = "\n\n".join(value)  # a text given as a list of paragraphs
        if isinstance(value, str) and value.strip():
            text = value
            break
    if text is None:
        if any(obj.get(key) is not None for key in TEXT_FIELDS):
            return "record's text field is empty or not a string"
        return "record has no text field (text, body or content)"
    fields: dict[str, Any] = {}
    for name, keys in _RECORD_FIELDS.items():
        for key in keys:
            if obj.get(key) not in (None, "", []):
                fields[name] = obj[key]
                break
    return RawArticle(origin=origin, kind="record", body=text, fields=fields)


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _records_of(data: Any) -> tuple[list[Any], bool]:
    """The records inside a parsed JSON document and whether they are numbered (a list) or alone."""
    if isinstance(data, list):
        return data, True
    if isinstance(data, dict):
        if any(key in data for key in TEXT_FIELDS):
            return [data], False
        for key in _WRAPPER_KEYS:
            if isinstance(data.get(key), list):
                return data[key], True
        raise InputError(f"JSON object has no text field ({', '.join(TEXT_FIELDS)}) and no \"articles\" list")
    raise InputError(f"JSON holds {_json_type(data)}, not an article record or a list of them")


def _read_json(item: FileItem, text: str) -> ReadResult:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":  # one record per line in a file named .json
            return _parse_lines(item, enumerate(io.StringIO(text), 1))
        raise InputError(f"invalid JSON (line {exc.lineno}: {exc.msg})") from None
    records, numbered = _records_of(data)
    if not records:
        raise InputError("no records in the file")
    result = ReadResult()
    for index, obj in enumerate(records):
        origin = f"{item.rel}#{index}" if numbered else item.rel
        got = _record(obj, origin)
        if isinstance(got, str):
            result.errors.append(FileError(str(item.path), f"record {index}: {got}" if numbered else got))
        else:
            result.articles.append(got)
    return result


def _parse_lines(item: FileItem, lines: Iterable[tuple[int, str]]) -> ReadResult:
    """Records from numbered JSONL lines; each bad line gives an error naming its number."""
    result = ReadResult()
    extra = lineno = 0
    try:
        for lineno, line in lines:
            if not line.strip():
                continue
            try:
                got = _record(json.loads(line), f"{item.rel}#{lineno}")
            except json.JSONDecodeError as exc:
                got = f"invalid JSON ({exc.msg})"
            if isinstance(got, str):
                if len(result.errors) < _MAX_LINE_ERRORS:
                    result.errors.append(FileError(str(item.path), f"line {lineno}: {got}"))
                else:
                    extra += 1
            else:
                result.articles.append(got)
    except gzip.BadGzipFile:
        raise InputError("not a gzip file, despite its .gz name") from None
    except (EOFError, zlib.error) as exc:
        # The lines read so far are good; only the rest of a truncated download is lost.
        result.errors.append(FileError(str(item.path), f"corrupt or truncated gzip data after line {lineno} ({exc})"))
    if extra:
        result.errors.append(FileError(str(item.path), f"{extra} more bad lines not listed"))
    if not result.articles and not result.errors:
        raise InputError("file holds only whitespace")
    return result


def _decoded_lines(stream: BinaryIO) -> Iterator[tuple[int, str]]:
    """Numbered text lines of a JSONL stream, decoded one at a time so a big file is never one string."""
    head = stream.peek(8192)[:8192]  # type: ignore[attr-defined]
    if not head:
        raise InputError("empty file")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            if encoding != "utf-8-sig":
                yield from enumerate(io.TextIOWrapper(stream, encoding=encoding, newline=None), 1)
                return
            stream.read(len(bom))
            break
    else:
        if reason := _binary_reason(head):
            raise InputError(reason)
    for lineno, raw in enumerate(stream, 1):
        try:
            yield lineno, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield lineno, _mostly_utf8(raw) or raw.decode("cp1252", "replace")


def _read_jsonl(item: FileItem, gz: bool) -> ReadResult:
    stream: BinaryIO
    with (gzip.open(item.path, "rb") if gz else open(item.path, "rb")) as stream:  # type: ignore[assignment]
        return _parse_lines(item, _decoded_lines(stream))


# ---------------------------------------------------------------------------------------------------------------
# Documents


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _html_has_text(html: str) -> bool:
    """Whether an HTML page shows any text outside scripts, styles and the head."""
    import lxml.html
    from lxml import etree

    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)  # lxml refuses str input with an encoding declaration
    # Control characters XML forbids (a stray form feed) make lxml's drop_tree() raise; they are not text anyway.
    html = _XML_FORBIDDEN.sub(" ", html)
    # Past about 10 MB libxml2 stops reading unless told otherwise (ingest.clean lifts the limit the same way).
    parser = lxml.html.HTMLParser(huge_tree=len(html) > 9_000_000)
    try:
        tree = lxml.html.document_fromstring(html, parser=parser)
    except (etree.ParserError, ValueError):
        return False
    if any("Excessive depth" in e.message for e in parser.error_log):
        # libxml2 gives up past 255 nested elements and keeps none of the page: "no body text" would mislead.
        raise InputError("HTML nested too deeply to parse (more than 255 levels of elements)")
    for bad in tree.xpath("//script|//style|//noscript|//template|//head"):
        bad.drop_tree()
    return bool(tree.text_content().strip())


def _looks_like_html(text: str) -> bool:
    start = text.lstrip("\ufeff \t\r\n")[:200].lower()
    return start.startswith(("<!doctype html", "<html")) or (start.startswith("<?xml") and "<html" in start)


def read_file(item: FileItem) -> ReadResult:
    """Read one file into RawArticles; every problem becomes a one-line FileError instead of an exception.

    Plain text is a scraped page ("page"), .html an HTML page, .md Markdown; JSON holds a record, a list of
    records or {"articles": [...]}; JSONL one record per line (origins "rel#<line>", JSON lists "rel#<index>").
    """
    found = file_format(item.path.name)
    if found is None:
        return ReadResult(errors=[_unsupported(item.path)])
    fmt, gz = found
    try:
        if fmt == "jsonl":
            return _read_jsonl(item, gz)
        data = _read_bytes(item.path, gz)
        declared = None
        if fmt == "html" and (meta := _META_CHARSET.search(data[:4096])):
            declared = meta.group(1).decode("ascii", "replace")
        text = decode(data, declared=declared)
        if fmt == "json":
            return _read_json(item, text)
        if fmt == "page" and _looks_like_html(text):
            fmt = "html"  # a saved web page with the wrong extension is still a web page
        if fmt == "html":
            if not _html_has_text(text):
                raise InputError("HTML page has no body text")
            return ReadResult(articles=[RawArticle(origin=item.rel, kind="html", body=text)])
        if fmt == "markdown":
            return ReadResult(articles=[RawArticle(origin=item.rel, kind="markdown", body=text)])
        return ReadResult(articles=[RawArticle(origin=item.rel, kind="page", body=text)])
    except InputError as exc:
        return ReadResult(errors=[FileError(str(item.path), str(exc))])
    except OSError as exc:
        return ReadResult(errors=[FileError(str(item.path), f"cannot read file: {exc.strerror or exc}")])
    except Exception as exc:  # noqa: BLE001 - the promise above: one bad file never ends the whole run
        reason = " ".join(str(exc).split())[:200]
        return ReadResult(errors=[FileError(str(item.path), f"cannot parse the file ({type(exc).__name__}: {reason})")])
