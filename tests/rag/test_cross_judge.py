"""The cross-encoder grounding judge as shipped: the int8 ONNX model in the package, run without torch or network."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rag.testing import no_network
from rag.verify.cross_judge import (
    CARD_FILE,
    DEFAULT_MODEL_DIR,
    MAX_TOKENS,
    MODEL_FILE,
    CrossJudgeModel,
    CrossSupportScorer,
    claim_sentences,
    load_cross_model,
    pair_ids,
)
from rag.verify.judge_model import JudgeModelError

ROOT = Path(__file__).resolve().parents[2]

ARTICLE = (
    "Azerbaijan and Iran agreed on Monday to build a road bridge over the Astarachay river. "
    "The bridge will be about 100 meters long with a width of 31 meters. "
    "Officials said construction would start in October and take two years. "
    "Trade between the two countries grew to $688 million in the year to March 2023. "
    "The foreign ministers met in Baku to sign the agreement."
)


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


def test_model_file_is_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["rag.verify"]
    shipped = {p.relative_to(DEFAULT_MODEL_DIR.parent).as_posix() for p in DEFAULT_MODEL_DIR.iterdir()}
    assert all(any(Path(f).match(g) for g in globs) for f in shipped), (shipped, globs)


def test_model_alone_ranks_a_supported_claim_above_changed_ones(model: CrossJudgeModel):
    with no_network():
        scorer = CrossSupportScorer(model=model, hard=())  # the network's own judgement, no vetoes
        good = scorer.support([ARTICLE], "The foreign ministers met in Baku to sign the bridge agreement.")
        off_topic = scorer.support([ARTICLE], "The actor won an Oscar for his role in the war film.")
        contradicted = scorer.support([ARTICLE], "Azerbaijan and Iran refused to build a bridge over the river.")
    assert good > off_topic
    assert good > contradicted
    assert good >= scorer.threshold > off_topic


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


def test_pairs_are_cut_to_the_token_limit_and_keep_the_claim():
    ids = pair_ids([ARTICLE * 20], "The bridge will be about 100 meters long.")
    assert len(ids) <= MAX_TOKENS and ids.count(102) == 2  # [SEP] after the claim and after the evidence
    long_claim = pair_ids([ARTICLE], "word " * 300)
    assert len(long_claim) <= MAX_TOKENS
    assert pair_ids([""], "The bridge.")[-2:] == [102, 102]  # no evidence: an empty second segment


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "cross_weights"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


def test_missing_model_file_names_the_fix(tmp_path: Path):
    target = _copy(tmp_path)
    (target / MODEL_FILE).unlink()
    with pytest.raises(JudgeModelError, match=r"not found; reinstall newsdesk, or rebuild .*eval\.train_cross_judge"):
        CrossJudgeModel(target)


def test_corrupt_model_file_names_the_fix(tmp_path: Path):
    target = _copy(tmp_path)
    data = (target / MODEL_FILE).read_bytes()
    (target / MODEL_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(JudgeModelError, match=r"cannot be loaded .*eval\.train_cross_judge"):
        CrossJudgeModel(target)


@pytest.mark.parametrize(("change", "message"), [
    ({"version": 999}, "version 999 but this code reads"),
    ({"format": "newsdesk-judge-model"}, "not a newsdesk-cross-judge card"),
    ({"threshold": 7}, "malformed card"),
    ({"max_tokens": 512}, "differs from this code"),
])
def test_outdated_or_malformed_card_names_the_fix(tmp_path: Path, change: dict, message: str):
    target = _copy(tmp_path)
    card = json.loads((target / CARD_FILE).read_text(encoding="utf-8"))
    (target / CARD_FILE).write_text(json.dumps(card | change), encoding="utf-8")
    with pytest.raises(JudgeModelError, match=message):
        CrossJudgeModel(target)


def test_unreadable_card_names_the_fix(tmp_path: Path):
    target = _copy(tmp_path)
    (target / CARD_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(JudgeModelError, match=r"unreadable .*eval\.train_cross_judge"):
        CrossJudgeModel(target)


def test_judge_does_not_import_torch():
    code = ("import sys; from rag.verify.cross_judge import CrossSupportScorer; s = CrossSupportScorer(); "
            "s.support(['The bridge is 100 m long.'], 'The bridge is 100 m long.'); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "False"]
