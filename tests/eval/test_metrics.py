"""Every metric against values computed by hand."""

import math

import numpy as np
import pytest

from eval.judge import OfflineJudge
from eval.metrics import (
    SentenceCheck,
    answer_contains,
    answer_tokens,
    bootstrap_intervals,
    check_sentence,
    check_sentences,
    citation_precision,
    citation_recall,
    dedupe,
    groundedness,
    hit_at_k,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
    refusal_precision,
    refusal_recall,
    token_f1,
    uncited_share,
)

RANKED = ["a", "b", "c", "d"]
GOLD = {"c", "x"}  # one gold article retrieved at rank 3, one never retrieved


# -- retrieval ------------------------------------------------------------------------------------------------


def test_dedupe__keeps_first_occurrence_order():
    assert dedupe(["a", "b", "a", "c", "b"]) == ["a", "b", "c"]


@pytest.mark.parametrize(("k", "expected"), [(1, 0.0), (2, 0.0), (3, 1.0), (5, 1.0), (10, 1.0)])
def test_hit_at_k__counts_a_gold_article_within_the_cutoff(k, expected):
    assert hit_at_k(RANKED, GOLD, k) == expected


def test_mrr_at_k__is_the_reciprocal_rank_of_the_first_gold_article():
    assert mrr_at_k(RANKED, GOLD, 10) == pytest.approx(1 / 3)
    assert mrr_at_k(RANKED, GOLD, 2) == 0.0
    assert mrr_at_k(["c"], {"c"}, 10) == 1.0


def test_recall_at_k__is_the_share_of_gold_articles_found():
    assert recall_at_k(RANKED, GOLD, 10) == 0.5
    assert recall_at_k(RANKED, {"a", "d"}, 10) == 1.0
    assert recall_at_k(RANKED, {"a", "d"}, 2) == 0.5


def test_ndcg_at_k__matches_the_hand_computed_value():
    # DCG = 1/log2(3+1) = 0.5; the ideal ranks both gold articles first: 1/log2(2) + 1/log2(3) = 1.63093
    assert ndcg_at_k(RANKED, GOLD, 10) == pytest.approx(0.5 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["c", "x"], GOLD, 10) == pytest.approx(1.0)
    # the ideal is cut at k: with k=1 only one gold article can count
    assert ndcg_at_k(["c", "a"], GOLD, 1) == pytest.approx(1.0)
    assert ndcg_at_k(["a", "b"], GOLD, 10) == 0.0


def test_retrieval_metrics__without_gold_ids_raise():
    with pytest.raises(ValueError):
        recall_at_k(RANKED, set(), 10)
    with pytest.raises(ValueError):
        ndcg_at_k(RANKED, set(), 10)


# -- answer text ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "gold"), [
    ("About 1,000 people were evacuated [1].", "1000"),
    ("It will take six months.", "6 months"),
    ("It will take 6 months.", "six months"),
    ("The bridge will be 31 meters wide [1].", "31 metres"),
    ("Trade grew from $608 million to $688 million [1].", "$608 million"),
    ("Trade grew to 688 million dollars.", "$688 million"),
    ("THE SQUID GAME is back!", "“Squid Game”"),
    ("Pluto is 1,400 miles wide.", "1400 miles"),
    ("A 170-kilometre section of railroad.", "170 kilometers"),
    ("Vaccination reached 68 per cent.", "68%"),
    ("It is the twenty-first time.", "21st"),
])
def test_answer_contains__normalises_case_punctuation_numbers_and_spelling(answer, gold):
    assert answer_contains(answer, [gold]) == 1.0


@pytest.mark.parametrize(("answer", "gold"), [
    ("It took 16 days.", "6 days"),
    ("The bridge is 100 meters long.", "31 meters"),
    ("Trade grew to $688 million.", "$608 million"),
    ("", "anything"),
])
def test_answer_contains__does_not_match_partial_tokens_or_other_numbers(answer, gold):
    assert answer_contains(answer, [gold]) == 0.0


def test_answer_contains__any_accepted_answer_is_enough():
    assert answer_contains("Squid Game returns.", ["“Squid Game”", "Squid Game"]) == 1.0
    assert answer_contains("Squid Game returns.", ["Friends", "Squid Game"]) == 1.0


def test_answer_tokens__ignores_citation_markers():
    assert answer_tokens("It is 100 m long [1][2].") == ["it", "is", "100", "m", "long"]


def test_token_f1__is_squad_f1_of_the_best_answer():
    # pred tokens: about 100 meters long (4); gold: 100 meters (2); overlap 2 -> P=1/2, R=1 -> F1=2/3
    assert token_f1("About 100 meters long [1].", ["100 meters"]) == pytest.approx(2 / 3)
    assert token_f1("The Squid Game!", ["“Squid Game”"]) == 1.0
    assert token_f1("nothing in common", ["Squid Game"]) == 0.0
    # the best of several answers counts
    assert token_f1("Europe", ["North America", "Europe"]) == 1.0
    # repeated tokens count once per occurrence on both sides: pred "a b b", gold "b b c" -> overlap 2
    assert token_f1("x y y", ["y y z"]) == pytest.approx(2 / 3)


# -- refusal --------------------------------------------------------------------------------------------------


def test_refusal_precision_and_recall__treat_should_refuse_as_the_positive_class():
    refused = [True, True, False, False]
    should = [True, False, True, False]
    assert refusal_precision(refused, should) == 0.5
    assert refusal_recall(refused, should) == 0.5
    assert refusal_precision([True, False], [True, True]) == 1.0
    assert refusal_recall([True, False], [True, True]) == 0.5


def test_refusal_metrics__without_cases_to_refuse_are_none_and_refusing_nothing_is_zero_precision():
    assert refusal_precision([True, False], [False, False]) is None
    assert refusal_recall([True, False], [False, False]) is None
    assert refusal_precision([False, False], [True, False]) == 0.0


# -- citations (ALCE) -----------------------------------------------------------------------------------------

FACTS = {"A": {"x"}, "B": {"y"}, "AB": {"x", "y"}, "C": {"z"}}


def entails(passages, sentence):
    """A sentence (a string of fact letters) is entailed when its facts are within the passages' facts."""
    known = set().union(*(FACTS.get(p, set()) for p in passages)) if passages else set()
    return set(sentence) <= known


def test_check_sentence__both_citations_needed_are_both_precise():
    assert check_sentence("xy", ["A", "B"], entails) == (True, (True, True))


def test_check_sentence__a_redundant_citation_is_imprecise():
    # "x" is entailed by A alone; B does not support it and A already does without B -> B is imprecise
    assert check_sentence("x", ["A", "B"], entails) == (True, (True, False))


def test_check_sentence__a_citation_that_supports_alone_stays_precise_even_if_others_suffice():
    # AB alone entails "xy", and so do A+B without AB: AB is precise because it supports alone
    assert check_sentence("xy", ["AB", "A", "B"], entails) == (True, (True, False, False))


def test_check_sentence__citations_of_an_unsupported_sentence_are_imprecise():
    assert check_sentence("xz", ["A", "B"], entails) == (False, (False, False))
    assert check_sentence("z", ["A"], entails) == (False, (False,))
    assert check_sentence("x", [], entails) == (False, ())


def test_citation_recall_and_precision__over_an_answer_match_hand_counts():
    checks = check_sentences([("x", [1, 2]), ("z", [3]), ("y", [])], {1: "A", 2: "B", 3: "A"}, ["A", "B", "C"],
                             entails)
    # sentence 1 supported (citation 2 redundant), sentence 2 cites A for z (unsupported), sentence 3 uncited
    assert [c.supported for c in checks] == [True, False, False]
    assert citation_recall(checks) == pytest.approx(1 / 3)
    assert citation_precision(checks) == pytest.approx(1 / 3)  # 1 precise of 3 citations
    # every sentence is entailed by some retrieved passage on its own (C holds z, B holds y)
    assert groundedness(checks) == 1.0
    assert uncited_share(checks) == pytest.approx(1 / 3)


def test_groundedness__is_false_when_no_single_passage_supports_the_sentence():
    checks = check_sentences([("xy", [1, 2])], {1: "A", 2: "B"}, ["A", "B"], entails)
    assert checks[0].supported and checks[0].grounded is False
    assert groundedness(checks) == 0.0


def test_citation_metrics__an_answer_without_citations_has_zero_precision_and_no_sentences_is_none():
    checks = [SentenceCheck("x", (), False, ())]
    assert citation_precision(checks) == 0.0
    assert citation_recall([]) is None and citation_precision([]) is None
    assert groundedness([]) is None and uncited_share([]) is None


def test_check_sentences__an_unknown_marker_cites_nothing():
    checks = check_sentences([("x", [7])], {1: "A"}, ["A"], entails)
    assert checks[0].supported is False and checks[0].grounded is True


def test_check_sentences__with_the_offline_judge():
    judge = OfflineJudge()

    def judged(passages, sentence):
        return judge.support(passages, sentence) >= judge.threshold

    passage = "The bridge will be about 100 meters long with a width of 31 meters."
    other = "Bilateral trade grew from $608 million to $688 million."
    checks = check_sentences([("The bridge will be about 100 meters long.", [1]),
                              ("Bilateral trade grew to $688 million.", [1])], {1: passage}, [passage, other], judged)
    # the second sentence cites the bridge passage for a trade figure: unsupported, yet grounded in `other`
    assert [c.supported for c in checks] == [True, False]
    assert [c.grounded for c in checks] == [True, True]
    assert citation_recall(checks) == 0.5


# -- aggregates -----------------------------------------------------------------------------------------------


def test_percentile__interpolates_linearly():
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert percentile([], 50) is None


def test_bootstrap_intervals__are_deterministic_and_bracket_the_estimate():
    values = np.array([0.91, 0.12, 0.55, 0.73, 0.08, 0.66, 0.99, 0.41, 0.05, 0.50])
    aggs = {"mean": lambda idx: float(values[idx].mean())}
    a = bootstrap_intervals(len(values), aggs, seed=0)
    b = bootstrap_intervals(len(values), aggs, seed=0)
    assert a == b
    lo, hi = a["mean"]
    assert lo <= values.mean() <= hi and 0.0 <= lo < hi <= 1.0
    assert bootstrap_intervals(len(values), aggs, seed=1) != a  # the seed is what fixes them


def test_bootstrap_intervals__a_constant_metric_has_a_point_interval_and_no_value_gives_none():
    ones = np.ones(5)
    out = bootstrap_intervals(5, {"one": lambda idx: float(ones[idx].mean()), "none": lambda idx: None})
    assert out == {"one": [1.0, 1.0], "none": None}
    assert bootstrap_intervals(0, {"one": lambda idx: 1.0}) == {"one": None}
