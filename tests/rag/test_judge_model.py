"""The learned grounding judge as shipped: the int8 ONNX model in the package, run without torch or network."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rag.testing import no_network
from rag.verify.judge_model import (
    CARD_FILE,
    DEFAULT_MODEL_DIR,
    FEATURES,
    MODEL_FILE,
    JudgeModel,
    JudgeModelError,
    ModelSupportScorer,
    load_model,
    select_evidence,
)

ROOT = Path(__file__).resolve().parents[2]

ARTICLE = (
    "Azerbaijan and Iran agreed on Monday to build a road bridge over the Astarachay river. "
    "The bridge will be about 100 meters long with a width of 31 meters. "
    "Officials said construction would start in October and take two years. "
    "Trade between the two countries grew to $688 million in the year to March 2023. "
    "The foreign ministers met in Baku to sign the agreement."
)


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


def test_model_file_is_package_data():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["rag.verify"]
    shipped = {p.relative_to(DEFAULT_MODEL_DIR.parent).as_posix() for p in DEFAULT_MODEL_DIR.iterdir()}
    assert all(any(Path(f).match(g) for g in globs) for f in shipped), (shipped, globs)


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


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "judge_weights"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


def test_missing_model_file_names_the_fix(tmp_path: Path):
    target = _copy(tmp_path)
    (target / MODEL_FILE).unlink()
    with pytest.raises(JudgeModelError, match=r"not found; reinstall newsdesk, or rebuild .*eval\.train_grounding"):
        JudgeModel(target)


def test_corrupt_model_file_names_the_fix(tmp_path: Path):
    target = _copy(tmp_path)
    data = (target / MODEL_FILE).read_bytes()
    (target / MODEL_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(JudgeModelError, match=r"cannot be loaded .*eval\.train_grounding"):
        JudgeModel(target)


@pytest.mark.parametrize(("change", "message"), [
    ({"version": 999}, "version 999 but this code reads"),
    ({"format": "other"}, "not a newsdesk-judge-model card"),
    ({"threshold": 7}, "malformed card"),
    ({"features": ["coverage"]}, "differ from this code"),
    ({"scale": [0.0] * len(FEATURES)}, "positive scales"),
])
def test_outdated_or_malformed_card_names_the_fix(tmp_path: Path, change: dict, message: str):
    target = _copy(tmp_path)
    card = json.loads((target / CARD_FILE).read_text(encoding="utf-8"))
    (target / CARD_FILE).write_text(json.dumps(card | change), encoding="utf-8")
    with pytest.raises(JudgeModelError, match=message):
        JudgeModel(target)


def test_judge_does_not_import_torch():
    code = ("import sys; from rag.verify.judge_model import ModelSupportScorer; s = ModelSupportScorer(); "
            "s.support(['The bridge is 100 m long.'], 'The bridge is 100 m long.'); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "False"]


def test_assistant__verifier_setting_picks_the_answer_scorer(tmp_path):
    from rag.assistant import _default_scorer
    from rag.settings import load_settings
    from rag.verify.cross_judge import CrossSupportScorer
    from rag.verify.support import OfflineSupportScorer

    assert isinstance(_default_scorer(load_settings(store=tmp_path)), OfflineSupportScorer)
    assert isinstance(_default_scorer(load_settings(store=tmp_path, verifier="model")), CrossSupportScorer)
