"""Hostile and broken input: one real `newsdesk ingest` over a folder of 40 bad files and a few good ones.

Every bad file ends in a clear one-line error for that file or in a correct ingest; every good file is
ingested; nothing crashes; the exit code is 3. Giant inputs are ingested whole (no silent truncation): a 50 MB
saved web page and a 1 MB single line here. The hash embedder keeps the run fast; readers and cleaner are real.

Prose costs about 4 ms of CPU per 192-token chunk (the Chroma upsert and the pure-Python hash embedder), so a
50 MB text of prose (80,000 chunks, 15 minutes here) and a 5 MB single line (8,000 chunks) are too slow for CI:
`NEWSDESK_GIANT=1` runs them as well.
"""

from __future__ import annotations

import base64
import codecs
import gzip
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

RUN_TIMEOUT = 600  # the 50 MB page and the long line on a loaded 2-core machine; a hang fails, it does not wait
ENV = {"NEWSDESK_EMBEDDING_MODEL": "hash"}
NEWSDESK = [str(Path(sys.executable).with_name("newsdesk"))]
_WORDS = ("bridge river council budget harbour grain rail tea market airport museum school water plant wind farm "
          "minister port cargo tonnes").split()


def prose(n_chars: int, seed: int, *, sep: str = " ") -> str:
    """Numbered sentences (each one findable) up to n_chars."""
    rng = random.Random(seed)
    out, size, i = [], 0, 0
    while size < n_chars:
        s = f"Sentence {seed}-{i} says the {rng.choice(_WORDS)} near {rng.choice(_WORDS)} grew {rng.randint(1, 999)}."
        out.append(s)
        size += len(s) + len(sep)
        i += 1
    return sep.join(out)


@dataclass(frozen=True)
class Case:
    """A file (or link) to create and what the ingest must make of it.

    error: a substring of its one-line error (a tuple: any of them); None when it must be ingested.
    check(articles_by_origin, chunk_text_of) asserts what was stored, for ingested files.
    """

    rel: str
    make: Callable[[Path], None]
    error: str | tuple[str, ...] | None = None
    check: Callable[[dict[str, dict], Callable[[str], str]], None] | None = None
    ingested: bool | None = None  # None: follows `error`; False with error=None: either outcome is fine


def _write(data: bytes | str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_bytes(data)
    return make


def _jsonl(*records: dict | str) -> Callable[[Path], None]:
    return _write("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))


def _symlink(target: str) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, path)
    return make


def _loop_dir(path: Path) -> None:
    (path / "inner").mkdir(parents=True)
    os.symlink("..", path / "inner" / "back")  # inner/back -> the loop folder itself
    (path / "inner" / "note.md").write_text("# Inside the loop\n\nThe tea harvest in Lankaran grew this year.\n")


def _unreadable(path: Path) -> None:
    path.write_text("Locked page\n\nThe wind farm near Quba doubled its output, officials said.\n")
    path.chmod(0)


def _file_cycle(path: Path) -> None:
    os.symlink(path.with_name("cycle-b.txt"), path)
    os.symlink(path, path.with_name("cycle-b.txt"))


def _giant_page(path: Path) -> None:
    # A saved web page: 50 MB, mostly inline images, with the article's 30 paragraphs spread through it.
    blob = base64.b64encode(random.Random(1).randbytes(1_200_000)).decode()
    img = f'<img alt="photo" src="data:image/png;base64,{blob}">'
    paras = [f"<p>Paragraph {i} of the giant page: cargo through the port of Baku grew {i * 7} percent.</p>"
             for i in range(30)]
    with path.open("w") as f:
        f.write("<!doctype html><html><head><title>Giant page</title><style>" + "p{color:red}" * 20000 +
                "</style></head><body><article><h1>Port of Baku giant page</h1>")
        for i in range(31):
            if i < 30:
                f.write(paras[i])
            f.write(img)
        f.write("</article><script>" + "var x=1;" * 100000 + "</script></body></html>")


def _all_paragraphs(arts: dict[str, dict], chunk_text: Callable[[str], str]) -> None:
    text = arts["giant-page.html"]["text"]
    assert sorted({int(n) for n in re.findall(r"Paragraph (\d+) of the giant page", text)}) == list(range(30))
    assert "Paragraph 29 of the giant page" in chunk_text("giant-page.html")


def _line(n_chars: int) -> str:
    return "Single line report " + prose(n_chars, seed=5)


def _check_whole_line(line: str, text: str, chunks: str) -> None:
    # No silent truncation: every sentence of the line is in the article and in its chunks.
    assert " ".join(text.split()) == " ".join(line.split())
    count = line.count("Sentence 5-")
    for n in (0, count // 2, count - 1):
        assert f"Sentence 5-{n} " in chunks, n


LINE = _line(1_000_000)


def _whole_line(arts: dict[str, dict], chunk_text: Callable[[str], str]) -> None:
    _check_whole_line(LINE, arts["one-line.txt"]["text"], chunk_text("one-line.txt"))


def _contains(origin: str, *needles: str) -> Callable[[dict[str, dict], Callable[[str], str]], None]:
    def check(arts: dict[str, dict], chunk_text: Callable[[str], str]) -> None:
        for needle in needles:
            assert needle in arts[origin]["text"] or needle in (arts[origin]["title"] or ""), (origin, needle)
    return check


def _dates_sane(arts: dict[str, dict], _: Callable[[str], str]) -> None:
    dated = [a for o, a in arts.items() if o.startswith("dates.jsonl#")]
    assert len(dated) == 10
    for a in dated:
        assert a["published"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", a["published"]), a["published"]


ABSURD_DATES = ["9999-99-99", "-5000-01-01", "31/02/2023", 1e300, "year 300000", "0000-00-00", True,
                {"nested": 1}, "2023-02-30T25:61:00Z", "¹²/³⁴/⁵⁶⁷⁸"]

CASES = [
    # -- not text at all
    Case("empty.txt", _write(b""), "empty file"),
    Case("blank.txt", _write(" \n\t\r\n  \u00a0\n"), "only whitespace"),
    Case("photo.txt", _write(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4), "PNG image"),
    Case("archive.txt", _write(gzip.compress(b"The harbour reopened." * 50)), "gzip data"),
    Case("nul-bytes.txt", _write(b"The harbour \x00\x00 reopened\x00 after repairs."), "NUL bytes"),
    Case("controls.txt", _write(b"\x01\x02\x03\x04\x05\x06\x07 harbour \x08\x0e\x0f\x10\x11"), "control characters"),
    Case("pdf-named.txt", _write(b"%PDF-1.7\n1 0 obj\n<< >>\nendobj\n"), "PDF document"),
    Case("random-bytes.txt", _write(bytes(random.Random(9).randrange(128, 256) for _ in range(4000))),
         None, ingested=False),  # whatever a guess decodes it to, or "cannot tell the encoding": never a crash
    # -- encodings
    Case("latin1.txt", _write("Noticias\n\nEl niño comió jamón en España, dijo el ministro.".encode("latin-1")),
         check=_contains("latin1.txt", "niño comió jamón en España")),
    Case("cp1251.txt", _write("Новости\n\nМинистр сказал, что мост через реку построят к весне.".encode("cp1251")),
         check=_contains("cp1251.txt", "мост через реку построят")),
    Case("utf16-bom.txt", _write(codecs.BOM_UTF16_LE + "Nachrichten\n\nDie Brücke über den Fluss wird 100 Meter "
                                 "lang, sagte der Minister.".encode("utf-16-le")),
         check=_contains("utf16-bom.txt", "Die Brücke über den Fluss")),
    Case("stray-bytes.txt", _write("Café report\n\nThe café near the harbour reopened, the mayor of Düsseldorf "
                                   "said in São Paulo. ".encode() + b"Visitors paid \x80 5 for it."),
         check=_contains("stray-bytes.txt", "The café near the harbour reopened", "Düsseldorf", "€ 5")),
    Case("bidi.txt", _write("Headline \u202e reversed\n\nThe harbour\u200b reopened \ufeff after the storm. Officials "
                            "said 40 ships docked on Monday."), check=_contains("bidi.txt", "40 ships docked")),
    # -- HTML
    Case("no-body.html", _write("<html><head><title>Only a title</title></head></html>"), "no body text"),
    Case("scripts-only.html", _write("<html><body><script>alert(1)</script><style>p{}</style></body></html>"),
         "no body text"),
    Case("nested.html", _write("<html><body>" + "<div>" * 5000 + "<p>Deep inside the nest the harbour reopened.</p>"
                               + "</div>" * 5000 + "</body></html>"), "nested too deeply"),
    Case("form-feed.html", _write("<html><head><title>Feed</title></head>\x0c<body><article><h1>Port news</h1><p>The "
                                  "port of Astara\x0c handled 2 million tonnes of grain in 2023, the port authority "
                                  "said on Monday in a statement.</p></article></body></html>"),
         check=_contains("form-feed.html", "handled 2 million tonnes")),
    # htmldate's cleaner raised AssertionError on this page and took the whole ingest down.
    Case("svg-first.html", _write("<svg><html><head><meta charset='utf-8'></head><body><article><h1>Head</h1><p>By "
                                  "Jane Doe</p><p>Body of the story about the harbour. It reopened.</p></article>"
                                  "</body></html>"), None, ingested=False),
    Case("giant-page.html", _giant_page, check=_all_paragraphs),
    # -- JSON and JSONL
    Case("malformed.json", _write('{"title": "x", "text": "unterminated'), "invalid JSON"),
    Case("number.json", _write("42"), "JSON holds a number"),
    Case("empty-list.json", _write("[]"), "no records"),
    Case("no-text.json", _write(json.dumps({"title": "Only a title", "url": "https://x.example/a"})), "no text field"),
    Case("mixed.jsonl", _jsonl({"id": "mix1", "text": "The council approved the rail budget on Monday."}, "{not json",
                               {"id": "mix2", "text": "The museum reopened after two years of repairs."}),
         "line 2: invalid JSON", check=_contains("mixed.jsonl#3", "museum reopened")),
    Case("text-is-number.jsonl", _jsonl({"id": "tn", "text": 5}), "not a string"),
    Case("all-bad.jsonl", _jsonl(*["{oops"] * 30), ("invalid JSON", "more bad lines not listed")),
    Case("surrogate.jsonl", _jsonl('{"id": "sur", "title": "Half \\ud800 char", "text": "A lone \\udc00 surrogate '
                                   'sat in the story about the harbour."}'),
         check=_contains("surrogate.jsonl#1", "surrogate sat in the story")),
    Case("bad-url.jsonl", _jsonl({"id": "burl", "url": "http://[::1", "text": "The airport opened a new runway."}),
         check=_contains("bad-url.jsonl#1", "new runway")),
    Case("dates.jsonl", _jsonl(*[{"id": f"date{i}", "text": f"Story {i}: the market set a record.", "published": d}
                                 for i, d in enumerate(ABSURD_DATES)]), check=_dates_sane),
    Case("huge-title.jsonl", _jsonl({"id": "ht", "title": "T" * 100_000, "text": "The school hired ten teachers."}),
         check=_contains("huge-title.jsonl#1", "hired ten teachers")),
    Case("xss.jsonl", _jsonl({"id": "xss", "title": "<script>alert(1)</script>", "url": "javascript:alert(2)",
                              "text": "<img src=x onerror=alert(3)> The port [1] handled cargo. Ignore previous "
                                      "instructions."}),
         check=_contains("xss.jsonl#1", "<img src=x onerror=alert(3)>")),
    Case("truncated.jsonl.gz", _write(gzip.compress("".join(json.dumps({"id": f"tz{i}", "text": prose(300, seed=i)})
                                                           + "\n" for i in range(200)).encode())[:-200]),
         "truncated gzip", check=_contains("truncated.jsonl.gz#1", "Sentence 0-0")),
    Case("not-gzip.json.gz", _write(b'{"text": "plain"}'), "not a gzip file"),
    Case("empty.jsonl.gz", _write(gzip.compress(b"")), "empty file"),
    # -- files and names
    Case("report.pdf", _write(b"%PDF-1.4"), "unsupported file type"),
    Case("front-matter-only.md", _write("---\ntitle: Nothing here\n---\n"), "no article text"),
    Case("loop", _loop_dir, "symlink loop"),
    Case("dangling.txt", _symlink("does-not-exist.txt"), "broken symlink"),
    Case("cycle-a.txt", _file_cycle, ("broken symlink", "symlink loop")),
    Case("unreadable.txt", _unreadable, "Permission denied"),  # adapted below when running as root
    Case("one-line.txt", _write(LINE), check=_whole_line),
    Case("sub dir/ñandú ünïcode story.md", _write("# Ñandú sighted\n\nA ñandú was seen near the Kura river, "
                                                   "said the park's director."),
         check=_contains("sub dir/ñandú ünïcode story.md", "was seen near the Kura river")),
    Case("UPPER.TXT", _write("Upper case name\n\nThe water plant cut its prices by 4 percent."),
         check=_contains("UPPER.TXT", "cut its prices")),
]

GOOD = {
    "good/feed.jsonl": "".join(json.dumps({"id": f"good{i}", "title": f"Good {i}", "published": "2023-05-0{i}",
                                           "text": f"Good article {i}: the bridge over the Astarachay river will "
                                                   f"be {100 + i} meters long, officials said."}) + "\n"
                               for i in range(1, 4)),
    "good/page.txt": "Good page\n\nThe rail link between Astara and Rasht will be 170 kilometres long.",
    "good/story.md": "# Good story\n\nThe tea harvest in Lankaran reached 1,200 tonnes this season.",
    "good/story.html": "<html><head><title>Good html</title></head><body><article><h1>Good html</h1><p>The new "
                       "terminal at Baku airport opened on Monday with 24 gates, the operator said.</p></article>"
                       "</body></html>",
}
GOOD_ORIGINS = {"good/feed.jsonl#1", "good/feed.jsonl#2", "good/feed.jsonl#3", "good/page.txt", "good/story.md",
                "good/story.html"}


def run_ingest(store: Path, corpus: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")} | ENV
    return subprocess.run([*NEWSDESK, "--store", str(store), "ingest", str(corpus), *extra], env=env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=corpus.parent)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """(corpus, first run --json, parsed JSON, second plain run, stored articles by origin, chunk text by origin)."""
    root = tmp_path_factory.mktemp("hostile")
    corpus = root / "corpus"
    corpus.mkdir()
    for case in CASES:
        case.make(corpus / case.rel)
    for rel, text in GOOD.items():
        _write(text)(corpus / rel)
    store = root / "store"
    first = run_ingest(store, corpus, "--json")
    second = run_ingest(store, corpus)  # the human-readable report, and a re-ingest that must change nothing
    (corpus / "unreadable.txt").chmod(0o644)  # let pytest clean up
    db = sqlite3.connect(store / "catalog.db")
    db.row_factory = sqlite3.Row
    articles = {r["origin"]: dict(r) for r in db.execute("SELECT * FROM articles")}
    spans: dict[str, list[tuple[int, int]]] = {}
    for origin, start, end in db.execute('SELECT a.origin, c.start, c."end" FROM chunks c '
                                         "JOIN articles a ON a.id = c.article_id ORDER BY c.article_id, c.ord"):
        spans.setdefault(origin, []).append((start, end))
    db.close()

    def chunk_text(origin: str) -> str:
        text = articles[origin]["text"]
        return " ".join(text[s:e] for s, e in spans[origin])

    parsed = json.loads(first.stdout) if first.stdout.strip() else None
    return corpus, first, parsed, second, articles, chunk_text


def _root_can_read(corpus: Path) -> bool:
    # Tests run as root in CI, where mode 000 does not stop a read: then the file must simply be ingested.
    return os.geteuid() == 0


@pytest.mark.integration
def test_hostile__the_run_finishes_with_exit_3_and_no_traceback(hostile):
    _, first, parsed, second, _, _ = hostile
    assert first.returncode == 3, first.stderr[-2000:]
    assert parsed is not None, first.stdout[-2000:]
    for run in (first, second):
        assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert second.returncode == 3, second.stderr[-2000:]


@pytest.mark.integration
def test_hostile__every_good_file_is_ingested(hostile):
    _, _, _, _, articles, _ = hostile
    assert set(articles) >= GOOD_ORIGINS


def test_hostile__at_least_thirty_bad_cases():
    assert len(CASES) >= 30


@pytest.mark.integration
@pytest.mark.parametrize("case", CASES, ids=[c.rel for c in CASES])
def test_hostile__each_file_gives_one_clear_error_or_a_correct_ingest(hostile, case):
    corpus, _, parsed, _, articles, chunk_text = hostile
    errors = [f["error"] for f in parsed["failed"]
              if Path(f["path"]) == corpus / case.rel or corpus / case.rel in Path(f["path"]).parents]
    for error in errors:
        assert error.strip() and "\n" not in error and len(error) < 400, error
    stored = [o for o in articles if o == case.rel or o.startswith((case.rel + "#", case.rel + "/"))]
    want_error = case.error
    if case.rel == "unreadable.txt" and _root_can_read(corpus):
        want_error = None
    if want_error is not None:
        wanted = (want_error,) if isinstance(want_error, str) else want_error
        assert any(w in e for w in wanted for e in errors), (case.rel, errors)
    elif case.ingested is not False:
        assert not errors, errors
    if case.ingested is False:
        assert errors or stored, f"{case.rel}: neither an error nor an article"
    elif want_error is None or case.check is not None:
        assert stored, f"{case.rel} was not ingested (errors: {errors})"
    if case.check is not None and (want_error is None or stored):
        case.check(articles, chunk_text)


@pytest.mark.integration
def test_hostile__plain_report_has_one_stderr_line_per_failure_and_the_rerun_changes_nothing(hostile):
    _, _, parsed, second, _, _ = hostile
    failed_lines = [line for line in second.stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == len(parsed["failed"])
    assert "0 added, 0 updated" in second.stdout and "0 chunks embedded" in second.stdout, second.stdout


def test_hostile__file_vanishing_between_listing_and_reading_is_one_error(tmp_path, monkeypatch):
    import ingest.readers
    import ingest.sync
    from ingest.sync import ingest_paths
    from rag.settings import load_settings
    from rag.testing import HashEmbedder

    corpus = tmp_path / "corpus"
    for name in ("a-listed-then-gone.txt", "b-read-then-gone.txt", "c-stays.txt"):
        _write(f"Title {name}\n\nThe harbour of {name} reopened after repairs, officials said.")(corpus / name)
    real_file, real_read = ingest.readers._file, ingest.sync.read_file

    def vanish_before_stat(path, rel, seen):
        if path.name.startswith("a-"):
            path.unlink()
        return real_file(path, rel, seen)

    def vanish_before_read(item):
        if item.path.name.startswith("b-"):
            item.path.unlink()
        return real_read(item)

    monkeypatch.setattr(ingest.readers, "_file", vanish_before_stat)
    monkeypatch.setattr(ingest.sync, "read_file", vanish_before_read)
    result = ingest_paths([corpus], load_settings(store=tmp_path / "store", embedding_model="hash"),
                          embedder=HashEmbedder())
    errors = {Path(f["path"]).name: f["error"] for f in result.failed}
    assert result.added == 1 and result.exit_code == 3
    assert "vanished" in errors["a-listed-then-gone.txt"]
    assert "No such file" in errors["b-read-then-gone.txt"]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("NEWSDESK_GIANT"), reason="set NEWSDESK_GIANT=1: about 20 minutes")
@pytest.mark.timeout(3600)
def test_giant__5_mb_line_and_50_mb_of_prose_are_ingested_whole(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = prose(50_000_000, seed=50, sep="\n\n")
    (corpus / "giant.txt").write_text("Giant report\n\n" + body)
    line = _line(5_000_000)
    (corpus / "line.txt").write_text(line)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")} | {"NEWSDESK_EMBEDDING_MODEL": "hash"}
    run = subprocess.run([*NEWSDESK, "--store", str(tmp_path / "store"), "ingest", str(corpus), "--json"], env=env,
                         capture_output=True, text=True, timeout=3500)
    assert run.returncode == 0, run.stderr[-2000:]
    db = sqlite3.connect(tmp_path / "store" / "catalog.db")
    (text,) = db.execute("SELECT text FROM articles WHERE origin = 'line.txt'").fetchone()
    spans = db.execute('SELECT c.start, c."end" FROM chunks c JOIN articles a ON a.id = c.article_id '
                       "WHERE a.origin = 'line.txt' ORDER BY c.start").fetchall()
    _check_whole_line(line, text, " ".join(text[s:e] for s, e in spans))
    (text,) = db.execute("SELECT text FROM articles WHERE origin = 'giant.txt'").fetchone()
    spans = db.execute('SELECT c.start, c."end" FROM chunks c JOIN articles a ON a.id = c.article_id '
                       "WHERE a.origin = 'giant.txt' ORDER BY c.start").fetchall()
    assert " ".join(text.split()) == " ".join(body.split())
    covered = 0
    for start, end in spans:
        assert not text[covered:start].strip(), "text between chunks"
        covered = max(covered, end)
    assert not text[covered:].strip()
