"""The learned grounding judge as shipped: the int8 ONNX model in the package, run without torch or network."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.testing import no_network
from rag.verify.judge_model import (
    DEFAULT_MODEL_DIR,
    FEATURES,
    MODEL_FILE,
    JudgeModel,
    ModelSupportScorer,
    load_model,
    select_evidence,
)
from tests.rag.test_judge_files import ARTICLE

ROOT = Path(__file__).resolve().parents[2]



@pytest.fixture(scope="module")
def model() -> JudgeModel:
    with no_network():
        return load_model()


def test_model_loads_offline_from_the_package_with_its_card(model: JudgeModel):
    assert (DEFAULT_MODEL_DIR / MODEL_FILE).stat().st_size < 30 * 2**20
    card = model.card
    assert card["training_command"].startswith("python -m eval.train_grounding")
    assert len(card["data"]["sha256"]) == 64
    assert 0.0 < model.threshold < 1.0
    assert "held_out_training_split" in card["metrics"]
    assert card["features"] == list(FEATURES)



def test_model_alone_ranks_a_supported_claim_above_a_contradicted_one(model: JudgeModel):
    with no_network():
        scorer = ModelSupportScorer(model=model, hard=())  # the network's own judgement, no vetoes
        good = scorer.support([ARTICLE], "The foreign ministers signed the bridge agreement in Baku.")
        off_topic = scorer.support([ARTICLE], "The actor won an Oscar for his role in the war film.")
        added = scorer.support([ARTICLE], "The bridge was paid for by a loan from the World Bank.")
    assert good > off_topic
    assert good > added


def test_scorer_supports_a_paraphrase_and_vetoes_a_contradicted_number(model: JudgeModel):
    scorer = ModelSupportScorer(model=model)
    assert scorer.support([ARTICLE], "The bridge will be about 100 meters long [1].") >= scorer.threshold
    assert scorer.support([ARTICLE], "The bridge will be about 400 meters long [1].") < scorer.threshold
    # a claim is as supported as its weakest sentence
    two = "The bridge will be about 100 meters long. Trade grew to $900 million."
    assert scorer.support([ARTICLE], two) < scorer.threshold


def test_preamble_sentences_make_no_claim(model: JudgeModel):
    scorer = ModelSupportScorer(model=model)
    assert scorer.sentence_alignments([ARTICLE], ["Sure! Here's the summary within 74 words:"]) == []


def test_select_evidence_picks_the_matching_sentences_in_passage_order():
    ev = select_evidence([ARTICLE], "How wide will the bridge over the Astarachay be, in meters?", k=2)
    assert ev == [
        "Azerbaijan and Iran agreed on Monday to build a road bridge over the Astarachay river.",
        "The bridge will be about 100 meters long with a width of 31 meters.",
    ]
    assert select_evidence([""], "anything") == []


def test_alignment_finds_paraphrase_tokens_and_misses_foreign_ones(model: JudgeModel):
    scorer = ModelSupportScorer(model=model)
    evidence = ["The bridge will be about 100 meters long with a width of 31 meters."]
    same = scorer.sentence_alignments(evidence, ["The bridge will be 100 metres long."])[0]
    foreign = scorer.sentence_alignments(evidence, ["The tunnel will flood the valley."])[0]
    assert same["align_mean"] > foreign["align_mean"]
    assert same["unaligned"] < foreign["unaligned"]
    assert 0.0 <= foreign["unaligned"] <= 1.0


def test_encode_cuts_long_sentences_and_drops_function_tokens(model: JudgeModel):
    long_one, short = model.encode(["word " * 300, "The bridge."])
    assert len(long_one.tokens) <= 62  # [CLS] and [SEP] do not count; nor would "the"
    assert len(short.tokens) == 1  # "bridge": "the" and "." carry no content
    assert short.sentence.shape == (384,)


def test_assistant__verifier_setting_picks_the_answer_scorer(tmp_path):
    from rag.assistant import _default_scorer
    from rag.settings import load_settings
    from rag.verify.cross_judge import CrossSupportScorer
    from rag.verify.support import OfflineSupportScorer

    assert isinstance(_default_scorer(load_settings(store=tmp_path)), OfflineSupportScorer)
    assert isinstance(_default_scorer(load_settings(store=tmp_path, verifier="model")), CrossSupportScorer)
