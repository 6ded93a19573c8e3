"""The offline support scorer: contradictions are caught, verbatim and lightly paraphrased sentences pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.verify.support import (
    DEFAULT_MODEL_PATH,
    FEATURE_NAMES,
    MODEL_VERSION,
    OfflineSupportScorer,
    SupportModel,
    SupportReport,
    SupportScorer,
    split_sentences,
    strip_citations,
)

BRIDGE = "The bridge will be about 100 meters long with a width of 31 meters."
PASSAGE = (
    "Azerbaijan and Iran agreed on Monday to build a new road bridge over the Astarachay river. "
    "The bridge will be about 100 meters long with a width of 31 meters. "
    "Construction is expected to cost $608 million and to finish in March 2025, officials said. "
    "The agreement was signed on 12 March 2023 by Ilham Aliyev and Ebrahim Raisi in Tehran. "
    "Iran has not approved the final design yet."
)


@pytest.fixture(scope="module")
def scorer() -> OfflineSupportScorer:
    return OfflineSupportScorer()


def supported(scorer: OfflineSupportScorer, sentence: str, passages: list[str] | None = None) -> bool:
    report = scorer.explain(passages or [PASSAGE], sentence)
    assert report.supported == (scorer.support(passages or [PASSAGE], sentence) >= scorer.threshold)
    return report.supported


def reasons(scorer: OfflineSupportScorer, sentence: str, passages: list[str] | None = None) -> tuple[str, ...]:
    return scorer.explain(passages or [PASSAGE], sentence).reasons


# --- the contract ------------------------------------------------------------------------------------------------


def test_scorer__satisfies_protocol_and_scores_in_unit_interval(scorer):
    assert isinstance(scorer, SupportScorer)
    for sentence in ["The bridge will be 100 meters long.", "Completely unrelated words about cooking pasta.", ""]:
        score = scorer.support([PASSAGE], sentence)
        assert 0.0 <= score <= 1.0


def test_explain__returns_frozen_report(scorer):
    report = scorer.explain([BRIDGE], "The bridge will be 400 meters long.")
    assert isinstance(report, SupportReport)
    with pytest.raises(AttributeError):
        report.score = 1.0  # type: ignore[misc]


# --- contradictions are caught -------------------------------------------------------------------------------------


def test_changed_number__flagged(scorer):
    report = scorer.explain([BRIDGE], "The bridge will be 400 meters long")
    assert not report.supported
    assert "number 400 not in passage" in report.reasons


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Construction is expected to cost $680 million.", "number $680 million not in passage"),
        ("The bridge will have a width of 13 meters.", "number 13 not in passage"),
        ("The bridge will be about 1,000 meters long.", "number 1,000 not in passage"),
        ("The bridge will be two hundred meters long.", "number two hundred not in passage"),
    ],
)
def test_changed_number__flagged_in_its_written_form(scorer, sentence, reason):
    assert not supported(scorer, sentence)
    assert reason in reasons(scorer, sentence)


def test_changed_name__flagged(scorer):
    sentence = "The agreement was signed on 12 March 2023 by Ilham Aliyev and Hassan Rouhani in Tehran."
    assert not supported(scorer, sentence)
    assert "name 'Hassan Rouhani' not in passage" in reasons(scorer, sentence)


def test_changed_name_at_sentence_start__flagged(scorer):
    sentence = "Armenia and Iran agreed on Monday to build a new road bridge over the Astarachay river."
    assert not supported(scorer, sentence)
    assert "name 'Armenia' not in passage" in reasons(scorer, sentence)
    assert not supported(scorer, "Putin met Aliyev.", ["Erdogan met Aliyev."])


def test_changed_country__flagged(scorer):
    sentence = "Azerbaijan and Turkey agreed on Monday to build a new road bridge over the Astarachay river."
    assert not supported(scorer, sentence)
    assert "name 'Turkey' not in passage" in reasons(scorer, sentence)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Construction is expected to finish in May 2025, officials said.", "date May not in passage"),
        ("The agreement was signed on 15 March 2023 by Ilham Aliyev and Ebrahim Raisi.",
         "date March 15 not in passage"),
        ("The agreement was signed on 12 March 2024 by Ilham Aliyev and Ebrahim Raisi.", "number 2024 not in passage"),
        ("Azerbaijan and Iran agreed on Friday to build a new road bridge.", "date Friday not in passage"),
    ],
)
def test_changed_date__flagged(scorer, sentence, reason):
    assert not supported(scorer, sentence)
    assert reason in reasons(scorer, sentence)


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Azerbaijan and Iran did not agree to build a new road bridge.", "negation mismatch: 'not'"),
        ("Azerbaijan and Iran never agreed to build a new road bridge over the Astarachay river.",
         "negation mismatch: 'never'"),
        ("Iran refused to build a new road bridge over the Astarachay river.", "negation mismatch: 'refused'"),
        ("Iran has approved the final design.", "negation mismatch: 'not' in passage only"),
    ],
)
def test_negation_flip__flagged(scorer, sentence, reason):
    assert not supported(scorer, sentence)
    assert reason in reasons(scorer, sentence)


def test_negation_in_both__supported(scorer):
    assert supported(scorer, "Iran has not yet approved the final design.")
    assert supported(scorer, "He didn't win the race.", ["He did not win the race, officials said."])


def test_unrelated_negation_elsewhere__not_a_flip(scorer):
    passage = "Cambiasso refuses to give up and says keeping Leicester up will feel like winning a trophy."
    assert supported(scorer, "Cambiasso says keeping Leicester up will feel like winning a trophy.", [passage])
    assert supported(scorer, "It is not only a bridge but also a symbol.", ["It is a bridge and a symbol."])


def test_low_overlap__unsupported_with_reason(scorer):
    sentence = "The bridge collapsed during a storm, injuring several construction workers."
    assert not supported(scorer, sentence)
    assert any(r.startswith("low content overlap") for r in reasons(scorer, sentence))


def test_multi_sentence_claim__one_bad_sentence_sinks_it(scorer):
    good = "The bridge will be about 100 meters long. Construction is expected to cost $608 million."
    assert supported(scorer, good)
    assert not supported(scorer, good + " It will open in 2031.")


# --- what must pass ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sentence", split_sentences(PASSAGE))
def test_verbatim_sentence__supported(scorer, sentence):
    report = scorer.explain([PASSAGE], sentence)
    assert report.supported, report
    assert not [r for r in report.reasons if not r.startswith("words not in passage")]


@pytest.mark.parametrize(
    "sentence",
    [
        "The bridge will be roughly 100 metres long [1].",
        "The bridge will be about one hundred metres long and 31 metres wide.",
        "Officials said construction is expected to cost about $608m.",
        "Construction of the bridge is expected to be finished in March 2025 [2].",
        "Azerbaijan and Iran have agreed to build a bridge over the Astarachay river.",
        "Ilham Aliyev and Ebrahim Raisi signed the agreement in Tehran on March 12, 2023.",
        # "According to officials, the bridge ... will cost $608 million." (the attribution moved to the front) is
        # below the threshold of the model fitted on training data; the cross-encoder judge supports it
        # (tests/rag/test_cross_judge.py)
        "Iran hasn't approved the bridge's final design.",
    ],
)
def test_light_paraphrase__supported(scorer, sentence):
    report = scorer.explain([PASSAGE], sentence)
    assert report.supported, report


def test_several_passages__supported_by_their_union(scorer):
    passages = ["The bridge will be 100 meters long.", "It will cost $608 million."]
    assert supported(scorer, "The 100 meters long bridge will cost $608 million.", passages)


def test_citation_markers__ignored(scorer):
    plain = scorer.support([BRIDGE], "The bridge will be about 100 meters long.")
    assert scorer.support([BRIDGE], "The bridge will be about 100 meters long [1][2].") == pytest.approx(plain)
    assert strip_citations("A [1], B [2, 3].") == "A, B."


def test_llm_preamble__not_judged_as_a_claim(scorer):
    claim = "Sure! Here's the summary within 84 words:\n\nThe bridge will be about 100 meters long."
    assert supported(scorer, claim, [BRIDGE])


# --- number, name and date normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passage", "sentence"),
    [
        ("It cost 1,000 dollars.", "It cost 1000 dollars."),
        ("It cost one thousand dollars.", "It cost 1,000 dollars."),
        ("About 1.5 million people live there.", "About 1,500,000 people live there."),
        ("The deal is worth $608 million.", "The deal is worth $608m."),
        ("The tower is 31 metres tall.", "The tower is 31 meters tall."),
        ("Turnout was 40 percent.", "Turnout was 40%."),
        ("It was the ninth attempt.", "It was the 9th attempt."),
        ("Twenty-five people came.", "25 people came."),
        ("He sold 402 million copies.", "He sold about 400 million copies."),
        ("Prices rose in the 1950s.", "Prices rose in the '50s."),
    ],
)
def test_number_forms__match(scorer, passage, sentence):
    assert not any(r.startswith("number") for r in reasons(scorer, sentence, [passage])), reasons(
        scorer, sentence, [passage])


def test_rounding_does_not_excuse_a_different_year(scorer):
    assert "number 2000 not in passage" in reasons(scorer, "It opened in 2000.", ["It opened in 2003."])


@pytest.mark.parametrize(
    ("passage", "sentence"),
    [
        ("The Italian coach spoke.", "The coach from Italy spoke."),
        ("He visited the Netherlands.", "He met Dutch officials."),
        ("Officials in the U.S. agreed.", "Officials in the US agreed."),
        ("Gov. Mike Pence signed it.", "Governor Mike Pence signed it."),
        ("The LGBT community welcomed it.", "The LGBTQ community welcomed it."),
        ("It was led by the Drug Enforcement Administration.", "It was led by the DEA."),
        ("The Bureau of Labor Statistics said so.", "The BLS said so."),
        ("They moved to expel Republican representative George Santos.", "They expel Rep. George Santos."),
    ],
)
def test_name_variants__match(scorer, passage, sentence):
    assert not any(r.startswith("name") for r in reasons(scorer, sentence, [passage]))


def test_an_acronym_the_passage_does_not_spell_out__flagged(scorer):
    passage = "It was led by the Drug Enforcement Administration."
    assert "name 'FBI' not in passage" in reasons(scorer, "It was led by the FBI.", [passage])


def test_shouted_boilerplate__not_a_name(scorer):
    assert not any(r.startswith("name") for r in reasons(scorer, "CLICK HERE for the latest news.", [BRIDGE]))


def test_split_sentences__keeps_abbreviations():
    text = "Mr. Aliyev met the U.S. envoy on Jan. 5. They talked [1]. Then Dr. Raisi left!"
    assert split_sentences(text) == ["Mr. Aliyev met the U.S. envoy on Jan. 5.", "They talked [1].",
                                     "Then Dr. Raisi left!"]


# --- the model file ----------------------------------------------------------------------------------------------


def test_bundled_model__loads_with_version_header():
    data = json.loads(DEFAULT_MODEL_PATH.read_text())
    assert data["format"] == "newsdesk-support-model" and data["version"] == MODEL_VERSION
    model = SupportModel.load(DEFAULT_MODEL_PATH)
    assert len(model.weights) == len(FEATURE_NAMES)
    assert 0.0 < model.threshold < 1.0


def test_model__round_trips(tmp_path: Path):
    path = tmp_path / "m.json"
    SupportModel.heuristic().save(path)
    assert SupportModel.load(path).weights == SupportModel.heuristic().weights


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": MODEL_VERSION + 1}, "retrain with `python -m eval.train_judge`"),
        ({"format": "something-else"}, "not a newsdesk-support-model file"),
        ({"features": ["coverage"]}, "features differ"),
        ({"weights": [1.0]}, "expected 2 weights"),
        ({"hard": ["spelling"]}, "unknown hard checks"),
    ],
)
def test_model__bad_file_refused_with_the_fix(tmp_path: Path, change, message):
    data = SupportModel.heuristic().to_json() | change
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("`", ".")):
        SupportModel.load(path)


def test_model__missing_file_names_the_training_command(tmp_path: Path):
    with pytest.raises(ValueError, match=r"eval\.train_judge"):
        SupportModel.load(tmp_path / "absent.json")


def test_threshold__overrides_the_models():
    assert OfflineSupportScorer(threshold=0.9).threshold == 0.9
    strict = OfflineSupportScorer(threshold=0.999)
    assert not strict.explain([BRIDGE], "The bridge will be long and wide.").supported


def test_changed_day__flagged_even_when_the_number_appears_elsewhere(scorer):
    passage = "The deal was signed on 12 March 2023. About 15 officials attended."
    sentence = "The deal was signed on 15 March 2023."
    assert "date March 15 not in passage" in reasons(scorer, sentence, [passage])
    assert not supported(scorer, sentence, [passage])


def test_sentences_about_the_sources__claim_only_what_they_say_of_the_world(scorer):
    # an answer's lead-in cites the passages ("given" and "passages" are no facts to find in them)
    assert reasons(scorer, "Based on the given passages, the bridge is 100 m long.", [BRIDGE]) == ()
    # saying what the passages lack claims nothing about the world; what comes with it still counts
    two = "The provided passages do not mention the cost. The bridge is 400 m long."
    assert reasons(scorer, two, [BRIDGE]) == reasons(scorer, "The bridge is 400 m long.", [BRIDGE])


def test_a_count_of_what_the_passage_names__is_no_figure_to_find(scorer):
    passage = ["Jacobo ran meth rings in California and Arizona with more than a dozen associates."]
    assert not any(r.startswith("number") for r in reasons(scorer, "He ran rings in the two states.", passage))
    assert "number three not in passage" in reasons(scorer, "He ran rings in three states.", passage)
