"""Offline support scoring: do these passages support this sentence?

Answer verification calls this on every answer sentence, so it is plain Python over token sets, with no model
download and no network. A sentence is read into facts -- content words, numbers, names, dates and negations --
and each fact is looked up in an index of the passages (built once per passage tuple and cached).

The pieces, in the order a score is made: rag.verify.facts reads a sentence into facts, rag.verify.index holds
the passages' facts, rag.verify.scorer checks one against the other, rag.verify.model turns the result into a
probability. This module is the public face: import from here.

The score has two parts:
- agreement of words: the rarity-weighted share of content words found in the passages (stemmed, with British
  and irregular forms folded), and the share of neighbouring word pairs found in one passage sentence. A small
  logistic model turns these shares into a probability; its numbers live in `support_model.json`, trained by
  `python -m eval.train_judge`. Shares, not counts, so the score does not reward short or long claims.
- hard checks: a number, name, date or negation that contradicts the passages pushes the score below the
  threshold, whatever the word overlap.
A multi-sentence claim is scored as a whole: words pooled over its sentences, and every sentence must pass the
hard checks.

>>> scorer = OfflineSupportScorer()
>>> passage = "The bridge will be about 100 meters long with a width of 31 meters."
>>> scorer.support([passage], "The bridge will be 100 metres long [1].") >= scorer.threshold
True
>>> report = scorer.explain([passage], "The bridge will be 400 meters long.")
>>> report.supported, report.reasons[0]
(False, 'number 400 not in passage')
"""

from rag.text.markers import strip_markers as strip_citations
from rag.text.sentences import split_sentences
from rag.verify.facts import claim_part
from rag.verify.model import DEFAULT_MODEL_PATH, FEATURE_NAMES, HARD_CHECKS, MODEL_FORMAT, MODEL_VERSION, SupportModel
from rag.verify.scorer import OfflineSupportScorer, SupportReport, SupportScorer

__all__ = [
    "DEFAULT_MODEL_PATH",
    "FEATURE_NAMES",
    "HARD_CHECKS",
    "MODEL_FORMAT",
    "MODEL_VERSION",
    "OfflineSupportScorer",
    "SupportModel",
    "SupportReport",
    "SupportScorer",
    "claim_sentences",
    "split_sentences",
    "strip_citations",
]


def claim_sentences(claim: str, question: str | None = None) -> list[str]:
    """The sentences of a claim the judge reads. A one-sentence answer is read after its question ("Who won?
    Smith"), which says what it claims; an answer of several sentences is read sentence by sentence like any
    claim, since each may be the one that is wrong.

    >>> claim_sentences("Sure! The bridge opened. It cost $5 [2].")
    ['The bridge opened.', 'It cost $5.']
    >>> claim_sentences("Smith", "Who won?")
    ['Who won? Smith']
    >>> claim_sentences("Based on the passages, Smith won. He beat Jones in May.", "Who won?")
    ['Smith won.', 'He beat Jones in May.']
    >>> claim_sentences("Based on the given passages, Smith.", "Who won?")
    ['Who won? Smith.']
    """
    out = []
    for s in split_sentences(strip_citations(claim)):
        s = claim_part(s)
        if s and any(ch.isalnum() for ch in s):
            out.append(s)
    if question and question.strip() and len(out) <= 1:
        return [f"{question.strip()} {out[0] if out else strip_citations(claim).strip()}"]
    return out
