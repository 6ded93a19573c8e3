"""The cross-encoder grounding judge as shipped: the int8 ONNX model in the package, run without torch or network."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.testing import no_network
from rag.text.sentences import split_sentences
from rag.verify.cross_judge import (
    DEFAULT_MODEL_DIR,
    MAX_TOKENS,
    MODEL_FILE,
    CrossJudgeModel,
    CrossSupportScorer,
    claim_sentences,
    load_cross_model,
    pair_ids,
)
from tests.rag.test_judge_files import ARTICLE

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def model() -> CrossJudgeModel:
    with no_network():
        return load_cross_model()


def test_model_loads_offline_from_the_package_with_its_card(model: CrossJudgeModel):
    assert (DEFAULT_MODEL_DIR / MODEL_FILE).stat().st_size < 30 * 2**20
    card = model.card
    assert card["training_command"].startswith("python -m eval.train_cross_judge")
    assert len(card["data"]["sha256"]) == 64
    assert 0.0 < model.threshold < 1.0
    assert "held_out_training_split" in card["metrics"]



def test_model_ranks_a_supported_claim_above_changed_ones(model: CrossJudgeModel):
    good = "The foreign ministers met in Baku to sign the bridge agreement."
    contradicted = "Azerbaijan and Iran refused to build a bridge over the river."
    with no_network():
        bare = CrossSupportScorer(model=model, hard=())  # the stacked model's own judgement, no vetoes
        off_topic = bare.support([ARTICLE], "The actor won an Oscar for his role in the war film.")
        assert bare.support([ARTICLE], good) >= bare.threshold > off_topic
        # a reversed fact in the passage's own words is the negation check's to catch: the shares see every
        # word of it in the passage
        scorer = CrossSupportScorer(model=model)
        assert scorer.support([ARTICLE], good) >= scorer.threshold > scorer.support([ARTICLE], contradicted)


def test_scorer_supports_a_claim_and_vetoes_a_contradicted_number(model: CrossJudgeModel):
    scorer = CrossSupportScorer(model=model)
    assert scorer.support([ARTICLE], "The bridge will be about 100 meters long [1].") >= scorer.threshold
    assert scorer.support([ARTICLE], "The bridge will be about 400 meters long [1].") < scorer.threshold
    # a claim is as supported as its weakest sentence
    two = "The bridge will be about 100 meters long. Trade grew to $900 million."
    assert scorer.support([ARTICLE], two) < scorer.threshold


def test_model_supports_a_reordered_attribution_the_lexical_scorer_misses(model: CrossJudgeModel):
    passage = ("Azerbaijan and Iran agreed on Monday to build a new road bridge over the Astarachay river. "
               "Construction is expected to cost $608 million and to finish in March 2025, officials said. "
               "Iran has not approved the final design yet.")
    claim = "According to officials, the bridge over the Astarachay will cost $608 million."
    scorer = CrossSupportScorer(model=model)
    assert scorer.support([passage], claim) >= scorer.threshold
    assert scorer.lexical.support([passage], claim) < scorer.lexical.threshold
    assert scorer.support([passage], "The bridge will be built by a French company.") < scorer.threshold


def test_a_sentence_quoted_word_for_word_is_supported(model: CrossJudgeModel):
    scorer = CrossSupportScorer(model=model, hard=())
    quoted = "Trade between the two countries grew to $688 million in the year to March 2023."
    assert scorer.sentence_logits([ARTICLE], [quoted]) == [10.0]
    assert scorer.support([ARTICLE], quoted.upper()) >= scorer.threshold
    assert scorer.sentence_logits([ARTICLE], ["Trade between the two countries grew to $900 million."]) != [10.0]


def test_preamble_sentences_make_no_claim(model: CrossJudgeModel):
    scorer = CrossSupportScorer(model=model)
    assert scorer.sentence_scores([ARTICLE], ["Sure! Here's the summary within 74 words:"]) == []
    assert claim_sentences("Sure! Here's the summary within 74 words: The bridge opened.") == [
        "Here's the summary within 74 words: The bridge opened."]


def test_a_preamble_s_figure_is_no_claim_to_check(model: CrossJudgeModel):
    """"Here's the summary in 200 words:" on a line of its own: its 200 is not a number the passage must hold,
    for the hard checks as for the encoder (the claim is read sentence by sentence, not rejoined)."""
    scorer = CrossSupportScorer(model=model)
    claim = "Sure! Here's the summary within 200 words:\n\nThe bridge will be about 100 meters long."
    _, vetoed = scorer.features([ARTICLE], split_sentences(claim))
    assert not vetoed and scorer.support([ARTICLE], claim) >= scorer.threshold
    assert scorer.lexical.sentence_features([ARTICLE], split_sentences(claim))["number"] == 0.0


def test_pairs_are_cut_to_the_token_limit_and_keep_the_claim():
    ids = pair_ids([ARTICLE * 20], "The bridge will be about 100 meters long.")
    assert len(ids) <= MAX_TOKENS and ids.count(102) == 2  # [SEP] after the claim and after the evidence
    long_claim = pair_ids([ARTICLE], "word " * 300)
    assert len(long_claim) <= MAX_TOKENS
    assert pair_ids([""], "The bridge.")[-2:] == [102, 102]  # no evidence: an empty second segment
