"""The cross-encoder judge's training examples (no torch needed to build them): support-removed pairs and the
count of supported summaries the examples use, which keeps the stack's fitting records unseen."""

from __future__ import annotations

from eval.train_cross_judge import (
    REMOVE_TO,
    _coverage,
    build_examples,
    edited_record,
    removed_pairs,
    removed_record,
    support_removed,
    synthetic_records,
)
from rag.verify.cross_judge import pair_ids
from tests.rag.test_judge_files import ARTICLE

BRIDGE = "The bridge will be about 100 meters long with a width of 31 meters."


def _summary(i: int, label: str = "supported", claim: str = BRIDGE + " The foreign ministers met in Baku.") -> dict:
    return {"id": f"s{i}", "context": ARTICLE, "question": None, "claim": claim, "label": label,
            "source": "halueval", "task": "summary"}


def test_support_removed_takes_out_the_evidence_and_nothing_else():
    rest = support_removed(ARTICLE, BRIDGE)
    assert rest is not None and BRIDGE not in rest
    assert "Officials said construction would start in October" in rest and "Baku" in rest
    assert _coverage(ARTICLE, BRIDGE) == 1.0 and _coverage(rest, BRIDGE) < REMOVE_TO


def test_no_example_when_the_support_is_not_known_or_nothing_would_be_left():
    # a paraphrase the lexical shares cannot follow: whether its support is gone is not known
    assert support_removed(ARTICLE, "A crossing spanning the waterway is planned by Tehran and Baku.") is None
    assert support_removed(BRIDGE, BRIDGE) is None  # the context is the evidence alone


def test_removed_pairs_read_the_same_sentence_with_and_without_its_support():
    sentences = (BRIDGE, "The foreign ministers met in Baku.")
    (pos, pos_label), (neg, neg_label) = removed_pairs(_summary(1))
    assert (pos_label, neg_label) == (1.0, 0.0)
    assert pos in [pair_ids([ARTICLE], s) for s in sentences]  # the positive: a sentence with its whole context
    assert neg != pos and neg[: neg.index(102)] == pos[: pos.index(102)]  # the same claim tokens first
    made = removed_record(_summary(1))
    assert made is not None and made["label"] == "hallucinated" and made["claim"] == _summary(1)["claim"]
    assert min(_coverage(made["context"], s) for s in sentences) < REMOVE_TO


def test_synthetic_records_give_each_made_record_beside_its_original():
    pool = [_summary(i) for i in range(5)]
    out, used = synthetic_records(pool, 4, "removed")
    assert [r["label"] for r in out] == ["supported", "hallucinated"] * 2
    assert all(r["task"] == "removed" for r in out) and out[0]["claim"] == out[1]["claim"]
    assert out[0]["context"] == ARTICLE and out[1]["context"] != ARTICLE
    assert used == 2 and synthetic_records(pool, 0, "removed") == ([], 0)
    edited, _ = synthetic_records(pool[2:], 2, "edited")
    assert [r["task"] for r in edited] == ["edited"] * 2 and edited[1]["context"] == ARTICLE
    assert edited[1]["claim"] != edited[0]["claim"] and edited[1]["label"] == "hallucinated"


def test_an_edited_record_changes_one_sentence_and_keeps_the_rest():
    made = edited_record(_summary(3), "The mayor of Paris opened a museum on Friday.")
    assert made is not None
    kept = [s for s in (BRIDGE, "The foreign ministers met in Baku.") if s in made["claim"]]
    assert len(kept) == 1


def test_build_examples_counts_the_supported_summaries_it_uses():
    records = ([_summary(i) for i in range(20)]
               + [_summary(100 + i, "hallucinated", "Trade fell to $5 million.") for i in range(4)])
    examples, used = build_examples(records, 0, 4, 2, 4)
    kinds = [e[2] for e in examples]
    assert kinds.count("summary") == 4 and kinds.count("removed") == 4 and kinds.count("edit") >= 2
    # two bags, at least one record for the edits, then two for the removed pairs
    assert 2 + 1 + 2 <= used["supported"] <= 20 and used["hallucinated"] == 2
    assert {e[1] for e in examples if e[2] == "removed"} == {0.0, 1.0}


def test_length_matched_bags_give_length_no_say():
    long_ = "The new bridge across the river will be about 100 meters long and 31 meters wide."
    records = ([_summary(i, claim="Trade rose.") for i in range(6)]
               + [_summary(10 + i, claim=long_) for i in range(2)]
               + [_summary(100 + i, "hallucinated", long_.replace("100", "400")) for i in range(6)])
    examples, used = build_examples(records, 0, 4, 0, 0, matched=True)
    bags = [e for e in examples if e[2] == "summary"]
    assert sorted(e[1] for e in bags) == [0.0, 0.0, 1.0, 1.0]
    # every bag is one long sentence: the short supported summaries found no partner
    assert {len(e[0]) for e in bags} == {1} and len({len(e[0][0]) for e in bags}) == 1
    assert used["supported"] == used["hallucinated"] and used["supported"] >= 8
