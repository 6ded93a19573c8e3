"""Token-aware chunking on sentence boundaries, with overlap, that always fits the embedding window.

Chunk sizes are aimed in cl100k tokens (`target_tokens`, `overlap_tokens`); the hard limit is the embedding
model's own window counted with the model's own tokenizer, header included, because a model silently ignores
whatever lies past its window.

>>> from rag.types import Article
>>> art = Article(id="a1", title="Bridge", text="One sentence here. Another one there.")
>>> words = lambda s: len(s.split())
>>> [c.text for c in chunk_article(art, target_tokens=5, overlap_tokens=0, count_model_tokens=words,
...                                max_model_tokens=50)]
['One sentence here.', 'Another one there.']
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from rag.text.sentences import sentence_spans
from rag.text.tokens import count_tokens_batch
from rag.types import Article, Chunk

# Bump when chunk boundaries or ids would change for the same input: stores built otherwise are refused.
CHUNKER_VERSION = "1"
HEADER_MAX_MODEL_TOKENS = 32

_WORD = re.compile(r"\S+")


def chunk_id(article_id: str, start: int, end: int, text: str) -> str:
    """Stable id from the article and the chunk's offsets and text: re-chunking the same article gives the same ids."""
    digest = hashlib.sha1(f"{start}:{end}:{text}".encode()).hexdigest()[:12]
    return f"{article_id}-{digest}"


def _header(title: str, count_model_tokens: Callable[[str], int]) -> str:
    """The title, cut at a word boundary to HEADER_MAX_MODEL_TOKENS model tokens."""
    words = title.split()
    while words and count_model_tokens(" ".join(words)) > HEADER_MAX_MODEL_TOKENS:
        words = words[: max(1, len(words) * 3 // 4)] if len(words) > 1 else []
    return " ".join(words)


def _split_long(text: str, start: int, end: int, limit: int, count: Callable[[str], int]) -> list[tuple[int, int]]:
    """Cut one over-long sentence into word runs of at most `limit` tokens by `count`."""
    pieces: list[tuple[int, int]] = []
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)
        # Largest j with count(words[i:j]) <= limit, by binary search (count is monotone in j).
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count(text[words[i][0] : words[mid - 1][1]]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        pieces.append((words[i][0], words[lo - 1][1]))
        i = lo
    return pieces


def chunk_article(
    article: Article,
    *,
    target_tokens: int,
    overlap_tokens: int,
    count_model_tokens: Callable[[str], int],
    max_model_tokens: int,
) -> list[Chunk]:
    """Chunks of `article.text` whose text equals `article.text[start:end]` and whose header + text fit the model."""
    text = article.text
    header = _header(article.title, count_model_tokens)
    budget = max_model_tokens - (count_model_tokens(header) + 1 if header else 0)
    piece_limit = min(target_tokens, budget)

    spans: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        if count_model_tokens(text[s:e]) > budget or len(text[s:e]) > 6 * target_tokens:
            spans.extend(_split_long(text, s, e, piece_limit, count_model_tokens))
        else:
            spans.append((s, e))
    if not spans:
        return []
    sizes = count_tokens_batch([text[s:e] for s, e in spans])

    chunks: list[Chunk] = []
    i, n = 0, len(spans)
    while i < n:
        j, total = i, 0
        while j < n and (j == i or total + sizes[j] <= target_tokens):
            total += sizes[j]
            j += 1
        # The cl100k target is a guide; the model window is the law.
        while j - 1 > i and count_model_tokens(text[spans[i][0] : spans[j - 1][1]]) > budget:
            j -= 1
        start, end = spans[i][0], spans[j - 1][1]
        body = text[start:end]
        chunks.append(Chunk(id=chunk_id(article.id, start, end, body), article_id=article.id,
                            start=start, end=end, text=body, header=header))
        if j >= n:
            break
        # Step back over whole sentences worth at most `overlap_tokens`, always moving forward.
        k, carried = j, 0
        while k - 1 > i and carried + sizes[k - 1] <= overlap_tokens:
            k -= 1
            carried += sizes[k]
        i = k
    return chunks
