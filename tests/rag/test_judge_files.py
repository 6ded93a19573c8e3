"""Both learned grounding judges as shipped: their files are package data, load without torch or network, and a
missing, corrupt or unreadable model file gives an error naming the fix (the training command of that model)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from rag.verify import cross_judge, judge_model
from rag.verify.judge_model import JudgeModelError

ROOT = Path(__file__).resolve().parents[2]

# The passage both judges' own tests score claims against.
ARTICLE = (
    "Azerbaijan and Iran agreed on Monday to build a road bridge over the Astarachay river. "
    "The bridge will be about 100 meters long with a width of 31 meters. "
    "Officials said construction would start in October and take two years. "
    "Trade between the two countries grew to $688 million in the year to March 2023. "
    "The foreign ministers met in Baku to sign the agreement."
)

# (module, model class, scorer class, training module named in the fix)
JUDGES = [
    pytest.param(judge_model, "JudgeModel", "ModelSupportScorer", "eval.train_grounding", id="alignment"),
    pytest.param(cross_judge, "CrossJudgeModel", "CrossSupportScorer", "eval.train_cross_judge", id="cross"),
]


def _copy(module, tmp_path: Path) -> Path:
    target = tmp_path / module.DEFAULT_MODEL_DIR.name
    shutil.copytree(module.DEFAULT_MODEL_DIR, target)
    return target


@pytest.mark.parametrize(("module", "model", "scorer", "trainer"), JUDGES)
def test_model_file_is_package_data(module, model, scorer, trainer):
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["rag.verify"]
    home = module.DEFAULT_MODEL_DIR
    shipped = {p.relative_to(home.parent).as_posix() for p in home.iterdir()}
    assert all(any(Path(f).match(g) for g in globs) for f in shipped), (shipped, globs)


@pytest.mark.parametrize(("module", "model", "scorer", "trainer"), JUDGES)
def test_missing_model_file_names_the_fix(tmp_path: Path, module, model, scorer, trainer):
    target = _copy(module, tmp_path)
    (target / module.MODEL_FILE).unlink()
    with pytest.raises(JudgeModelError, match=rf"not found; reinstall newsdesk, or rebuild .*{trainer}"):
        getattr(module, model)(target)


@pytest.mark.parametrize(("module", "model", "scorer", "trainer"), JUDGES)
def test_corrupt_model_file_names_the_fix(tmp_path: Path, module, model, scorer, trainer):
    target = _copy(module, tmp_path)
    data = (target / module.MODEL_FILE).read_bytes()
    (target / module.MODEL_FILE).write_bytes(data[: len(data) // 3])
    with pytest.raises(JudgeModelError, match=rf"cannot be loaded .*{trainer}"):
        getattr(module, model)(target)


@pytest.mark.parametrize(("module", "model", "scorer", "trainer"), JUDGES)
def test_unreadable_card_names_the_fix(tmp_path: Path, module, model, scorer, trainer):
    target = _copy(module, tmp_path)
    (target / module.CARD_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(JudgeModelError, match=rf"unreadable .*{trainer}"):
        getattr(module, model)(target)


@pytest.mark.parametrize(("module", "model", "scorer", "trainer"), JUDGES)
def test_judge_does_not_import_torch(module, model, scorer, trainer):
    code = (f"import sys; from {module.__name__} import {scorer}; s = {scorer}(); "
            "s.support(['The bridge is 100 m long.'], 'The bridge is 100 m long.'); "
            "print('torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(("module", "model", "change", "message"), [
    (judge_model, "JudgeModel", {"version": 999}, "version 999 but this code reads"),
    (judge_model, "JudgeModel", {"format": "other"}, "not a newsdesk-judge-model card"),
    (judge_model, "JudgeModel", {"threshold": 7}, "malformed card"),
    (judge_model, "JudgeModel", {"features": ["coverage"]}, "differ from this code"),
    (judge_model, "JudgeModel", {"scale": [0.0] * len(judge_model.FEATURES)}, "positive scales"),
    (cross_judge, "CrossJudgeModel", {"version": 999}, "version 999 but this code reads"),
    (cross_judge, "CrossJudgeModel", {"format": "newsdesk-judge-model"}, "not a newsdesk-cross-judge card"),
    (cross_judge, "CrossJudgeModel", {"threshold": 7}, "malformed card"),
    (cross_judge, "CrossJudgeModel", {"max_tokens": 512}, "differs from this code"),
])
def test_outdated_or_malformed_card_names_the_fix(tmp_path: Path, module, model, change: dict, message: str):
    target = _copy(module, tmp_path)
    card = json.loads((target / module.CARD_FILE).read_text(encoding="utf-8"))
    (target / module.CARD_FILE).write_text(json.dumps(card | change), encoding="utf-8")
    with pytest.raises(JudgeModelError, match=message):
        getattr(module, model)(target)
