"""The adversarial verification set: sentences with one fact changed, and what verification makes of them."""

from __future__ import annotations

import random

from eval.bench.adversarial import build_cases, run_cases, sample_articles
from eval.perturb import KINDS, perturb
from rag.verify.support import OfflineSupportScorer

ARTICLES = [
    ("a", "Azerbaijan and Iran agreed on Monday to build a road bridge over the Astarachay river near Astara. "
          "The bridge will be about 100 meters long with a width of 31 meters, officials in Baku said. "
          "Construction will not start before October, and it is expected to cost $608 million in total."),
    ("b", "Heavy rain flooded the old town of Porto on Sunday, and firefighters rescued dozens of residents. "
          "The city council said the damage would take several months to repair."),
]


def test_perturb_changes_one_fact_of_the_asked_kind():
    sentence = ARTICLES[0][1].split(". ")[1] + "."
    number = perturb(sentence, ARTICLES[0][1], ARTICLES[1][1], random.Random(3), kinds=("number",))
    assert number is not None and number[1] == "number" and number[0] != sentence
    assert sum(a != b for a, b in zip(number[0].split(), sentence.split(), strict=False)) == 1
    negated = perturb("The council has approved the plan.", "", "", random.Random(1), kinds=("negation",))
    assert negated == ("The council has not approved the plan.", "negation")
    assert perturb("The council approved the plan.", "", "", random.Random(1), kinds=("date",)) is None


def test_build_cases_pairs_each_original_with_changed_versions():
    cases = build_cases(ARTICLES)
    originals = [c for c in cases if c["kind"] == "original"]
    assert originals and all(c["expect_kept"] for c in originals)
    changed = [c for c in cases if c["kind"] != "original"]
    assert {c["kind"] for c in changed} <= set(KINDS) and "off-topic" in {c["kind"] for c in changed}
    assert not any(c["expect_kept"] for c in changed)
    assert build_cases(ARTICLES) == cases  # deterministic


def test_run_cases_reports_kept_and_caught_shares():
    result = run_cases(build_cases(ARTICLES), OfflineSupportScorer())
    assert result["kept_original"] == 1.0  # verbatim sentences citing their own passage stay
    assert result["caught_by_kind"]["off-topic"]["caught"] == 1.0
    assert 0.0 <= result["caught_changed"] <= 1.0


def test_sample_articles_are_the_shipped_ones():
    ids = [aid for aid, _text in sample_articles()]
    assert "azerbaijan-iran-normalization" in ids and len(ids) > 5
