"""The layout of a news page as text: header (title, subtitle, section, date, author), body, and site chrome.

One module (about 530 lines) on purpose: the line classifier and the rules that read its output are one
heuristic, tuned together; split, each half would make no sense alone.

A scraped page is a column of lines. The article body is the first big run of prose lines (long lines that end
like sentences); everything that is not prose is judged by its shape and by its position relative to that run:
- above the body: the header, read bottom-up until navigation starts;
- inside the body: subheadings and short paragraphs are kept, ads and "Read more: ..." links dropped;
- after the body: navigation cues ("Read also", "Latest news", "Share", copyright ...) and headline lists (short
  lines interleaved with date stamps) end the article.

>>> parts = parse_page("Pier vote passes\\nBy Mara Quill\\n"
...     "The council voted on Tuesday to rebuild the pier, ending months of debate about its future.\\n"
...     "Work will start in the autumn and last two years, the mayor said after the vote on Tuesday.\\n"
...     "Share this article\\nTop stories\\nFerry timetable changes\\n")
>>> parts.title, parts.author, len(parts.body)
('Pier vote passes', 'Mara Quill', 2)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest._dates import date_stamp, find_date
from ingest._text import BULLET, ends_sentence, paragraphs

PROSE, SENT, SHORT, DATE, BYLINE, JUNK, END, PROMO, CUE, LIST = (
    "prose", "sentence", "short", "date", "byline", "junk", "end", "promo", "cue", "list")
_BREAKS = {END, LIST}
_MAX_GAP = 6  # non-prose lines a body may hold in a row (subheadings, captions, pull quotes)

# Lines dropped wherever they are: ads, inline links to other stories, captions' credits, reading-time widgets.
_JUNK = re.compile(r"""^(?:
    advertisements?|advertising|ads?|sponsored(?:\ content)?|paid\ (?:content|post)|promoted(?:\ content)?
  | (?:skip|close)\ (?:advertisement|ad)
  | (?:story|article|content|text)\ continues\ (?:below|after).* | continue\ reading(?:\ below|\ the\ main\ story)?
  | scroll\ (?:down\ )?to\ continue.* | (?:click|tap)\ here\ to\ .*
  | listen\ to\ (?:this\ )?(?:article|story).* | \d+\s*min(?:ute)?s?\.?\ read | reading\ time\b.*
  | (?:photo|image|picture|video|graphic|illustration|caption|credit|source)s?(?:\ credit|\ caption|\ source)?
        \s*(?:[:©]|by\b).{0,150}
  | [(\[](?:photo|image|picture|file\ photo|video)s?\b.{0,150}[)\]]
  | (?:read\ (?:more|also|next)|also\ read|see\ also|related|recommended)\s*[:>»|–—-]\s*.{1,200}
  | (?:more|watch|listen)\s*:\s*.{1,200}
  | image\ \d+\ of\ \d+ | loading(?:\.\.\.|…)?
)$""", re.I | re.X)

# A picture caption ending in its credit: "A ship waits outside the harbour. Photo: Coastline Wire".
_CAPTION = re.compile(r"(?:\b(?:photo|image|picture|credit|illustration|video)s?\s*(?:by\s|:|©)[^.!?]{1,60}"
                      r"|[(\[](?:getty images|afp|ap|reuters|epa|file)[^)\]]{0,40}[)\]])$", re.I)

# Cues that end the article when they come after the body (and never hold body text themselves).
_END = re.compile(r"""^(?:
    (?:the\ )?latest(?:\ news|\ stories|\ articles|\ headlines|\ updates|\ videos)? | news\ ?feed | all\ news
  | (?:more|other)\ news | top\ (?:stories|news|headlines|reads)
  | (?:most|more)\ (?:read|popular|viewed|shared|commented|watched)(?:\ (?:stories|articles|news|today))?
  | popular(?:\ now|\ stories|\ articles|\ posts|\ today)? | trending(?:\ now|\ stories|\ topics|\ today)?
  | recommended(?:\ for\ you|\ stories|\ articles|\ reading|\ videos)?
  | (?:you|we\ think\ you)\ (?:may|might|will|would)\ (?:also\ )?(?:like|enjoy|be\ interested\ in|want\ to\ read).*
  | (?:don'?t|do\ not)\ miss.* | editor'?s?\ (?:picks?|choice) | what\ to\ read\ next | up\ next
  | (?:next|previous)\ (?:article|story|post) | further\ reading | in\ (?:other|case\ you\ missed|related)\ news
  | more\ (?:from|on|in|about|by|stories|news|articles|headlines|coverage|to\ read|to\ explore|like\ this)\b.{0,60}
  | related\ (?:articles|stories|news|content|coverage|posts|topics|links|reading|videos|items)
  | (?:tags?|topics?|filed\ under|keywords?|categories)(?:\s*:.*)?
  | comments?|\d+\ comments?|(?:leave|post|add|write|submit)\ a\ (?:comment|reply|response)
  | join\ the\ (?:conversation|discussion|debate) | (?:show|view|load|read)\ (?:all\ )?comments
  | about\ the\ (?:authors?|writer) | about\ us | contact(?:\ us)? | privacy(?:\ policy|\ notice|\ settings)?
  | cookies?(?:\ policy|\ settings)? | terms\ (?:of\ use|of\ service|and\ conditions|&\ conditions)
  | back\ to\ top | site\ ?map | advertise(?:\ with\ us)? | careers | newsletters?
  | share(?:\ this|\ the)?(?:\ article|\ story|\ post|\ page)?(?:\ on|\ via)?(?:\ \w+)?
  | follow\ us(?:\ on)?.{0,40} | connect\ with\ us | stay\ connected
  | menu | search | sign\ in | log\ ?in | log\ out | my\ account | home(?:\ ?page)?
  | skip\ to\ (?:main\ )?content | toggle\ navigation
)$""", re.I | re.X)
# Whatever their length: copyright lines, tag lists and cookie notices.
_END_ANY = re.compile(r"^(?:©|\(c\)\s|copyright\s*(?:©|\(c\)|\d{4}))|\ball rights reserved\b"
                      r"|^(?:tags?|topics?|filed under|keywords?)\s*:"
                      r"|\bcookies?\b.*\b(?:use|accept|consent|agree|policy|settings)\b", re.I)
# One-word navigation labels that are also plausible subheadings ("Privacy", "Search"): a subheading when prose
# follows right after, navigation otherwise.
_AMBIGUOUS = re.compile(r"^(?:privacy|contact|careers|search|home|newsletters?|tags|topics|categories|keywords"
                        r"|popular|trending|recommended|latest)$", re.I)
# A newsletter pitch inside the text: "Get our weekly newsletter. Sign up here to ...".
_PITCH = re.compile(r"\bnewsletters?\b.*\b(?:sign up|subscribe)\b|\b(?:sign up|subscribe)\b.*\bnewsletters?\b", re.I)
# Cues that usually end the article but may also interrupt it (an inline newsletter pitch, a "Read also" link):
# they end it unless prose clearly goes on right after them.
_PROMO = re.compile(r"""^(?:
    read\ (?:also|more|next)|also\ read|see\ also|related
  | (?:subscribe|sign\ ?-?up|join\ (?:us|our)|register|become\ a\ (?:member|subscriber|supporter)
     |get\ (?:our|the)\ (?:free\ )?(?:newsletter|app|daily|briefing)|download\ (?:our|the)\ app
     |support\ (?:our|independent|quality)\ journalism)\b.*
)$""", re.I | re.X)
_BREADCRUMB = re.compile(r"^[\w&'’ ]{1,30}(?:\s[>»/›]\s[\w&'’ ]{1,40}){1,6}$")
# Buttons that sit between the byline and the body; skipped when reading the header.
_WIDGET = re.compile(r"""^(?:
    share|tweet|e-?mail|facebook|twitter|x|whatsapp|linkedin|telegram|reddit|pinterest|print|copy(?:\ link)?
  | link\ copied|save|bookmark|gift(?:\ this)?\ article|\d+\ comments?|comments?|listen|font\ size|text\ size
  | a\+|a-|share\ (?:this\ )?(?:article|story)|share\ on\ \w+|\d+\s*min(?:ute)?s?\.?\ read|follow
)$""", re.I | re.X)
_BYLINE = re.compile(
    r"^(?:(?:written|reported|words|text|story|analysis|commentary|opinion|review|article|interview|reporting)\s+)?"
    r"by[:\s]\s*(?P<name>\S.*)$|^(?:author|authors|written by|byline)\s*:\s*(?P<name2>\S.*)$", re.I)
_URL_LINE = re.compile(r"^(?:(?:source|url|link|original(?: article)?|canonical)\s*:\s*)?(?P<url>https?://\S+)$", re.I)
_PARTICLES = {"de", "da", "di", "del", "della", "der", "den", "van", "von", "la", "le", "du", "dos", "das", "al",
              "el", "bin", "ibn", "ter", "zu", "y"}
_SMALL_WORDS = {"a", "an", "the", "of", "to", "in", "on", "for", "and", "at", "by", "with", "as", "is", "from",
                "after", "over", "into", "up"}
_ROLE = re.compile(r",\s*(?:[\w-]+\s+){0,3}(?:reporter|correspondent|editor|writer|contributor|columnist|staff|"
                   r"journalist|analyst)s?$", re.I)
# A sentence boundary inside a line: "...on Monday. The council..."
_SENTENCE_INSIDE = re.compile(r"[a-z0-9%)][.!?][\"”’]?\s+[\"“‘]?[A-Z]")


@dataclass
class PageParts:
    """What `parse_page` found: body paragraphs plus the header's metadata (None when not found)."""

    body: list[str] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    section: str | None = None
    published: str | None = None
    url: str | None = None


def _words(line: str) -> int:
    return len(line.split())


def is_prose(line: str) -> bool:
    """A body paragraph: a long line that ends like a sentence, or a very long line of running text."""
    n = _words(line)
    if len(line) >= 80 and n >= 12 and ends_sentence(line):
        return True
    # Running text that does not end in punctuation: a trailing link, or a paragraph cut off by the scraper.
    return (len(line) >= 200 and n >= 30) or (len(line) >= 100 and n >= 15 and bool(_SENTENCE_INSIDE.search(line)))


def _kind(line: str) -> str:
    if len(line) <= 220 and (_JUNK.match(line) or _CAPTION.search(line)):
        return JUNK
    short = len(line) <= 80
    bare = re.sub(r"[\s:›»>→|.…]+$|\s*\(\d+\)$", "", line)  # "Latest news »", "Comments (12)"
    if short and _AMBIGUOUS.match(bare):
        return CUE
    breadcrumb = _BREADCRUMB.match(line) and not re.search(r"\d", line)
    if (short and (_END.match(bare) or breadcrumb)) or (len(line) <= 300 and _END_ANY.search(line)):
        return END
    if _words(line) <= 30 and _PROMO.match(bare):
        return PROMO
    if len(line) <= 300 and _PITCH.search(line):
        return JUNK
    byline = _BYLINE.match(line) if short else None
    if byline and (byline.group("name") or byline.group("name2"))[0].isupper() and not ends_sentence(line.rstrip(".")):
        return BYLINE  # "By Jane Doe", but not a "By the numbers" subheading
    if short and date_stamp(line):
        return DATE
    if is_prose(line):
        return PROSE
    if _words(line) >= 3 and ends_sentence(line):
        return SENT
    return SHORT


def _next_lines(kinds: list[str], i: int, count: int) -> list[int]:
    """Indices of the next `count` lines after i that are not junk."""
    out = []
    for j in range(i + 1, len(kinds)):
        if kinds[j] != JUNK:
            out.append(j)
            if len(out) == count:
                break
    return out


def _mark_headline_lists(kinds: list[str]) -> None:
    """Mark runs of short lines interleaved with date stamps ("Headline / 28 Nov 2023 - 16:41" repeated) as LIST.

    A run needs two stamps at most 3 lines apart; the lines between stamps must be mostly non-prose (a live blog's
    timestamps separate paragraphs, a headline list's separate headlines). A stamp followed by prose opens an
    article, so it does not extend a run.
    """
    stamps = [i for i, k in enumerate(kinds) if k == DATE]
    n = 0
    while n < len(stamps) - 1:
        run = [stamps[n]]
        for nxt in stamps[n + 1:]:
            between = [j for j in range(run[-1] + 1, nxt) if kinds[j] != JUNK]
            ahead = _next_lines(kinds, nxt, 2)
            # Adjacent stamps are one story's "Published" and "Updated" lines, not two items.
            if not between or len(between) > 3 or sum(kinds[j] == PROSE for j in between) > len(between) / 2:
                break
            if any(kinds[j] == PROSE for j in ahead):
                break
            run.append(nxt)
        if len(run) >= 2:
            per_item = len([j for j in range(run[0] + 1, run[1]) if kinds[j] != JUNK])
            first = run[0]
            for j in range(run[0] - 1, -1, -1):  # the first item's headline sits above the first stamp
                if per_item <= 0 or kinds[j] in (PROSE, END, LIST, PROMO, CUE):
                    break
                if kinds[j] != JUNK:
                    per_item -= 1
                first = j
            for j in range(first, run[-1] + 1):
                if kinds[j] != JUNK:
                    kinds[j] = LIST
        n += len(run)


def _inline_promo(kinds: list[str], i: int) -> list[int] | None:
    """The lines an interrupting cue spans (itself plus up to two short lines) when prose resumes after it."""
    ahead = _next_lines(kinds, i, 4)
    span = [i]
    for j in ahead:
        if kinds[j] == PROSE:
            following = _next_lines(kinds, j, 1)
            return span if following and kinds[following[0]] == PROSE else None
        if kinds[j] not in (SHORT, SENT) or len(span) > 2:
            return None
        span.append(j)
    return None


def classify(lines: list[str]) -> list[str]:
    """The kind of each line: prose, sentence, short, date, byline, junk, end, promo, cue or list."""
    kinds = [_kind(line) for line in lines]
    _mark_headline_lists(kinds)
    return kinds


def _dense(gap: list[str], kinds: list[str]) -> bool:
    """Whether non-prose lines between two prose runs read as content (list items, long entries, short sentences)
    rather than as navigation or headlines: at least a quarter of them are.
    """
    content = sum(len(line) >= 80 or kind == SENT or bool(BULLET.match(line))
                  for line, kind in zip(gap, kinds, strict=True))
    return content * 4 >= len(gap)


def _clusters(kinds: list[str], lines: list[str]) -> list[tuple[int, int, int]]:
    """Runs of prose as (first, last, characters), split by chrome cues or by long stretches of short lines.

    A date or byline before a run's second prose line also splits it: that is a header between a standfirst and
    the body. Three or more runs split only that way are one text after all (a list of reviews, each with its
    "By ..." line) and are joined again. Promo cues that prose resumes after are turned into junk in `kinds`.
    """
    found: list[tuple[int, int, int, bool]] = []  # (first, last, characters, joined to the previous by a soft split)
    start = end = -1
    mass = prose = 0
    gap: list[int] = []  # non-prose lines since the last prose line
    linked = soft = False  # soft: the last split was only a date or byline

    def close() -> None:
        nonlocal start, mass, prose
        if start >= 0:
            found.append((start, end, mass, linked))
        start, mass, prose = -1, 0, 0
        gap.clear()

    for i, k in enumerate(kinds):
        if k == JUNK:
            continue
        if k == PROMO and start >= 0 and (span := _inline_promo(kinds, i)):
            for j in span:
                kinds[j] = JUNK
            continue
        if k == CUE and start >= 0 and _inline_promo(kinds, i):
            kinds[i] = k = SHORT  # a subheading that happens to be a navigation word
        if k in _BREAKS or k in (PROMO, CUE):
            close()
            soft = False
        elif k in (DATE, BYLINE) and prose < 2:
            if start >= 0:
                close()
                soft = True
        elif k == PROSE:
            # A long stretch without prose splits the runs, unless it reads as content or a paragraph announced
            # it ("...by age group:").
            announced = lines[end].endswith(":") or lines[gap[0]].endswith(":") if gap else False
            if len(gap) > _MAX_GAP and not announced \
                    and not _dense([lines[j] for j in gap], [kinds[j] for j in gap]):
                close()
                soft = False
            if start < 0:
                start, linked, soft = i, soft, False
            end = i
            gap.clear()
            mass += len(lines[i])
            prose += 1
        elif start >= 0:
            gap.append(i)
    close()

    merged: list[tuple[int, int, int]] = []
    group: list[tuple[int, int, int, bool]] = []
    for run in [*found, (0, 0, 0, False)]:
        if group and not run[3]:
            if len(group) >= 3:
                merged.append((group[0][0], group[-1][1], sum(g[2] for g in group)))
            else:
                merged.extend(g[:3] for g in group)
            group = []
        group.append(run)
    return merged


def _looks_like_name(line: str) -> bool:
    """A short line of one or two personal names: "Fuad Shahbazov", "Ana de la Cruz and Li Wei"."""
    if len(line) > 60 or re.search(r"[\d@:!?;\"“”]", line) or ends_sentence(line):
        return False
    for name in re.split(r"\s*(?:,|&|\band\b)\s*", line):
        tokens = name.split()
        capitals = 0
        for token in tokens:
            if token.lower() in _PARTICLES:
                continue
            if not (token[0].isupper() and re.fullmatch(r"[^\W\d_]+(?:['’.-][^\W\d_]*)*\.?", token)):
                return False
            capitals += 1
        if not 2 <= capitals <= 4:
            return False
    return not line.isupper()


def _clean_name(text: str) -> str | None:
    """The author out of a byline's tail: "Jane Doe | 3 March 2024" -> "Jane Doe"."""
    text = re.split(r"\s+[|•·–—-]\s+|\s*[|•·]\s*|,\s*(?=\d)|\s+(?:on|published|updated|posted)\b", text, flags=re.I)[0]
    text = _ROLE.sub("", text.strip(" ,.;:"))  # "Jane Doe, Staff Reporter" -> "Jane Doe"
    found = date_stamp(text)
    if found:
        text = found[1]
    return text if text and _words(text) <= 10 else None


def _is_section(line: str) -> bool:
    """A section label in capitals: "ANALYTICS", "WORLD NEWS"."""
    return line.isupper() and _words(line) <= 3 and len(line) <= 30 and bool(re.fullmatch(r"[^\W\d_][\w &/-]*", line))


def _is_meta_line(line: str, kind: str) -> bool:
    return kind in (DATE, BYLINE) or _looks_like_name(line) or _is_section(line) or bool(_URL_LINE.match(line))


def _nav_like(line: str) -> bool:
    """A menu on one line ("Politics Economy Culture"): a few capitalised words, none of them a small word."""
    words = line.split()
    return len(words) <= 5 and all(w[0].isupper() or w in "&|/·•" for w in words) \
        and not any(w.lower() in _SMALL_WORDS for w in words) and not re.search(r"[,.:;!?'’\d]", line)


def _title_worthy(line: str) -> bool:
    return 3 <= _words(line) <= 40 and len(line) <= 300 and any(c.islower() for c in line) \
        and not line.endswith(":") and not _URL_LINE.match(line) and not _nav_like(line)


@dataclass
class _Header:
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    section: str | None = None
    dates: list[tuple[str, str]] = field(default_factory=list)  # (iso, "published" | "updated" | "")
    url: str | None = None
    lede: list[int] = field(default_factory=list)  # header lines that are really the body's first paragraphs

    def published(self) -> str | None:
        for wanted in (("published", "posted", "created"), ("",), ("updated", "modified")):
            for iso, prefix in self.dates:
                if prefix in wanted:
                    return iso
        return None


def _read_header(lines: list[str], kinds: list[str], body_start: int) -> _Header:
    """Read the lines above the body bottom-up until navigation, chrome or another story's prose begins."""
    collected: list[int] = []
    for i in range(body_start - 1, -1, -1):
        k, line = kinds[i], lines[i]
        if k == JUNK or _WIDGET.match(line):
            continue
        if k in (END, LIST, PROMO, CUE) or len(collected) >= 12:
            break
        # Prose right above the byline block is a standfirst; prose above a headline is another story.
        if k == PROSE and not (collected and all(_is_meta_line(lines[c], kinds[c]) for c in collected)):
            break
        collected.append(i)
    collected.reverse()

    head = _Header()
    role: dict[int, str] = {}
    for i in collected:
        line, k = lines[i], kinds[i]
        if url := _URL_LINE.match(line):
            head.url = head.url or url.group("url")
            role[i] = "meta"
        elif k == BYLINE:
            byline = _BYLINE.match(line)
            assert byline
            head.author = head.author or _clean_name(byline.group("name") or byline.group("name2"))
            if found := find_date(line):
                head.dates.append((found[0], ""))
            role[i] = "meta"
        elif k == DATE and (stamp := date_stamp(line)):
            head.dates.append((stamp[0], stamp[2]))
            if stamp[1] and not head.section and (stamp[1].isupper() or _words(stamp[1]) <= 2):
                head.section = stamp[1]
            role[i] = "meta"
        elif _is_section(line):
            head.section = head.section or line
            role[i] = "section"
        else:
            role[i] = "candidate"

    candidates = [i for i in collected if role[i] == "candidate"]
    metas = [i for i in collected if role[i] == "meta"]
    def has_title_above(i: int) -> bool:
        return any(_title_worthy(lines[c]) for c in candidates if c < i)

    if not head.author:
        # A name line next to the date or byline, or right above the body, below something headline-like.
        for n, i in enumerate(collected):
            nearby = [collected[m] for m in (n - 1, n + 1) if 0 <= m < len(collected)]
            if role[i] == "candidate" and _looks_like_name(lines[i]) and has_title_above(i) \
                    and (any(role[j] == "meta" for j in nearby) or i == collected[-1]):
                head.author, role[i] = lines[i], "meta"
                metas.append(i)
                break
    candidates = [i for i in candidates if role[i] == "candidate"]
    if metas:
        # Sentences between the last header stamp and the body are the body's lede, not a standfirst.
        last_meta = max(metas)
        for i in reversed(collected):
            if i <= last_meta or role[i] != "candidate" or kinds[i] not in (PROSE, SENT):
                break
            head.lede.insert(0, i)
        candidates = [i for i in candidates if i not in head.lede]
    text = _drop_title_bars(candidates, lines)
    candidates = list(text)
    first_meta = min(metas) if metas else body_start
    worthy = [i for i in candidates if _title_worthy(text[i])]
    above = [i for i in worthy if i < first_meta]
    if len(above) >= 2:
        # "Title / Standfirst / By ..." with maybe navigation above: the last two before the byline block.
        head.title, head.subtitle = text[above[-2]], text[above[-1]]
    elif worthy:
        # "Title / By ... / Standfirst", or a date above the title: the first headline-like line, and the next
        # one as its standfirst.
        head.title = text[worthy[0]]
        head.subtitle = text[worthy[1]] if len(worthy) > 1 else None
    elif candidates:
        before = [i for i in candidates if i < first_meta]
        head.title = text[before[-1] if before else candidates[0]]
    return head


def _drop_title_bars(candidates: list[int], lines: list[str]) -> dict[int, str]:
    """Candidates as {index: text}, without a browser-title line ("Pier vote passes | The Ledger") when the
    headline itself is also there, and with the site name cut off when it is the only one.
    """
    texts = {lines[i].casefold() for i in candidates}
    kept = {}
    for i in candidates:
        bar = re.match(r"^(.{10,}?)\s+[|–—-]\s+[^|–—-]{2,40}$", lines[i])
        if bar and bar.group(1).casefold() in texts:
            continue
        kept[i] = bar.group(1) if bar and "|" in lines[i] else lines[i]
    return kept


def parse_page(text: str) -> PageParts:
    """Split a scraped page into its header metadata and its body paragraphs, dropping the site chrome."""
    lines = paragraphs(text)
    if not lines:
        return PageParts()
    kinds = classify(lines)
    clusters = _clusters(kinds, lines)
    if not clusters:
        # No running prose at all (a list or a very short note): keep every line that is not chrome.
        kept = [line for line, k in zip(lines, kinds, strict=True) if k not in (JUNK, END, LIST, PROMO, CUE)]
        return PageParts(body=kept[1:], title=kept[0] if kept else None)
    biggest = max(mass for _, _, mass in clusters)
    # The article is the first large run: comments or teasers further down may be long too, but come later.
    start, end, _ = next(c for c in clusters if c[2] >= biggest / 2)

    # Short closing sentences ("The talks resume on Monday.") and a closing list still belong to the body.
    for j in _next_lines(kinds, end, 50):
        if not (BULLET.match(lines[j]) and kinds[j] in (SHORT, SENT)) \
                and (kinds[j] != SENT or not lines[j].rstrip("\"'”’)").endswith(".")):
            break
        end = j

    head = _read_header(lines, kinds, start)
    if head.lede:
        start = head.lede[0]
    body = [lines[i] for i in range(start, end + 1) if kinds[i] != JUNK]
    if not head.dates:
        # Some sites print the date under the body instead of above it.
        for j in _next_lines(kinds, end, 3):
            if kinds[j] == DATE and (stamp := date_stamp(lines[j])):
                head.dates.append((stamp[0], stamp[2]))
                break
            if kinds[j] != SHORT:
                break
    return PageParts(body=body, title=head.title, subtitle=head.subtitle, author=head.author,
                     section=head.section, published=head.published(), url=head.url)


def trim_chrome(parts: list[str]) -> list[str]:
    """Drop site chrome from already-extracted paragraphs (HTML or Markdown): junk lines anywhere, cues before the
    text starts, and everything from the first end-of-article cue or headline list that follows a sentence.

    >>> trim_chrome(["Advertisement", "The council voted to rebuild the pier.", "Related articles", "Another story"])
    ['The council voted to rebuild the pier.']
    """
    kinds = classify(parts)
    out: list[str] = []
    seen_prose = False
    skip: set[int] = set()
    for i, (part, k) in enumerate(zip(parts, kinds, strict=True)):
        if k == JUNK or i in skip:
            continue
        if k in (END, LIST, PROMO, CUE):
            if not seen_prose:
                continue
            if k == PROMO and (span := _inline_promo(kinds, i)):
                skip.update(span)
                continue
            if not (k == CUE and _inline_promo(kinds, i)):
                break
        seen_prose = seen_prose or k in (PROSE, SENT)
        out.append(part)
    return out
