"""The extractive answer, one test per failure class it had: topical instead of answering (the answer is read
past the chunk), padding, leaky refusals, summaries, metadata, superseded facts and follow-ups.

Unit tests build passages by hand (no model); the Assistant tests use the session's sample store with the real
embedding model.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import pytest

from rag.answer.condense import condense, is_follow_up
from rag.answer.evidence import Context, Missing, missing
from rag.answer.extractive import ExtractiveAnswerer
from rag.answer.question import analyze
from rag.types import Passage


def passage(text: str, *, aid: str = "a", title: str = "", published: str | None = None, start: int = 0,
            score: float = 0.8, chunk: str | None = None) -> Passage:
    return Passage(chunk_id=chunk or f"{aid}:{start}", article_id=aid, text=text, start=start, end=start + len(text),
                   title=title, score=score, published=published)


# -- question analysis ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, kind", [
    ("Which minister was visiting when the deal was signed?", "person"),
    ("Which company recalled the hand sanitizers?", "organisation"),
    ("In which city did the flight begin?", "place"),
    ("When will the law take effect?", "date"),
    ("How much will the car cost?", "number"),
    ("What was the typical monthly rent in the US in July?", "number"),
    ("How strong are its winds?", "number"),
    ("How hot will it get in Phoenix?", "number"),
    ("Why did Djokovic withdraw?", "reason"),
    ("What did Howard Hesseman die from?", "reason"),
    ("What deadline did the commission have to declare the result?", "date"),
    ("What caused the flooding?", "reason"),
    ("How did the capsule slow its descent?", "process"),
    ("What happened to Brittney Griner in court?", "event"),
    ("Summarize the article about the bridge.", "summary"),
    ("Who wrote the article about the bridge?", "metadata"),
    ("Which outlet published the story about the bees?", "metadata"),
    ("When was the Azerbaijan Iran normalization article published?", "metadata"),
    ("When was the Netflix price increase story published?", "metadata"),
])
def test_question__kind_of_answer_asked_for(question, kind):
    assert analyze(question).kind == kind


def test_question__a_possessive_ends_a_name():
    from rag.answer.question import entities

    assert entities("How much did the first edition of Jane Austen's Emma sell for?") == ("Jane Austen", "Emma")
    assert entities("What is Magnus Carlsen's highest rating?") == ("Magnus Carlsen",)


def test_question__a_law_named_with_to_is_one_name():
    from rag.answer.question import entities

    assert entities("What does the Freedom to Walk Act allow?") == ("Freedom to Walk Act",)
    assert entities("When does the Right to Repair Act take effect?") == ("Right to Repair Act",)
    assert entities("What did Obama say to Putin about the Inflation Reduction Act?") == (
        "Obama", "Putin", "Inflation Reduction Act")


def test_extractive__a_refusal_does_not_say_the_articles_lack_a_name_one_of_them_holds():
    # The best-worded sentence is in another article, which lacks the law's name; the article that names it
    # says nothing the question asks. "They mention Rep. Carolyn Maloney, not the Walk Act" was untrue twice.
    law = passage("Californians can cross the street away from a crossing. Governor Gavin Newsom signed the Freedom "
                  "to Walk Act on Friday.", aid="law", score=0.6, title="CNN")
    other = passage("The act would allow people the freedom to walk in parks at night, Rep. Carolyn Maloney said.",
                    aid="other", score=0.9, title="Parks")
    draft = ExtractiveAnswerer().draft("What does the Freedom to Walk Act allow?", [other, law])
    assert draft.text is None
    assert draft.refusal == ("The articles don't say: they mention the Freedom to Walk Act, but nothing near it "
                             "answers this question.")


def test_question__constraints_are_the_names_years_dates_and_figures():
    q = analyze("How much military aid did the Biden administration announce on June 23, 2022 after the $450 "
                "million package?")
    assert "Biden" in q.entities and q.years == ("2022",) and q.dates == ("June 23",) and "$450" in q.figures


# -- answering past the chunk ---------------------------------------------------------------------------------

def test_extractive__reads_the_sentence_after_the_chunk_and_cites_it_as_a_span_of_the_article():
    article = ("The court met on Monday in Moscow. A relative posted a photo of the player on social media. "
               "The court sentenced the player to nine years in prison. Her lawyers said they would appeal.")
    chunk_end = article.index(" The court sentenced")
    p = passage(article[:chunk_end], title="Court ruling")
    reader = ExtractiveAnswerer(article_text=lambda aid: article)
    draft = reader.draft("What sentence did the court hand down to the player?", [p])
    assert draft.text == "The court sentenced the player to nine years in prison [1]."
    span = draft.passages[0]
    assert article[span.start:span.end] == span.text == "The court sentenced the player to nine years in prison."
    assert span.chunk_id == p.chunk_id


def test_extractive__reads_the_whole_of_the_best_article_where_its_answering_chunk_was_not_retrieved():
    # The answer opens the article, far from the chunks retrieval kept (retrieval keeps two chunks an article,
    # and the opening one does not repeat the bill's name).
    filler = " ".join(f"Speaker {i} said the debate over workers would go on for months." for i in range(12))
    article = ("A controversial piece of legislation passed the Norland Senate late Tuesday evening. " + filler +
               " The Q7 bill applies a strict test to decide whether workers are employees. Companies oppose Q7.")
    chunk = article[article.index("The Q7 bill"):]
    p = passage(chunk, title="What the Q7 bill means", start=article.index("The Q7 bill"))
    reader = ExtractiveAnswerer(article_text=lambda aid: article)
    draft = reader.draft("When did the Norland Senate pass Q7?", [p])
    assert draft.text == "A controversial piece of legislation passed the Norland Senate late Tuesday evening [1]."
    span = draft.passages[0]
    assert span.start == 0 and span.chunk_id == p.chunk_id
    # Only the best article is read whole: the same chunk ranked second is read around its chunk alone.
    other = passage("Rain fell on Tuesday evening in the capital.", aid="b", title="Weather", score=0.9)
    assert "Senate" not in (reader.draft("When did the Norland Senate pass Q7?", [other, p]).text or "")


def test_extractive__the_rest_of_a_whole_article_is_not_answered_from_its_chunk_s_words():
    # A digest: the retrieved chunk is about the variant; a later paragraph about another story shares the
    # question's "called" but none of its topic, and must not take the chunk's words as its own.
    article = ("Two years since the pandemic began, the most transmissible variant yet has arrived, officials said. "
               "The latest version of the BA.9 variant, an offshoot of Omicron, is fueling a global surge in cases. "
               + " ".join(f"Item {i} of the digest is about a ferry timetable." for i in range(12)) +
               " Former President Dale Hutch tried to call a witness who was talking to the committee, two sources "
               "said.")
    p = passage(article[:article.index(" Item 0")], title="5 things to know for July 14")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Two years since the pandemic began, the most transmissible variant yet has arrived. What is it called?",
        [p])
    assert draft.text is not None and "BA.9" in draft.text


def test_extractive__a_factoid_answer_is_one_sentence_without_padding_from_another_article():
    right = passage("The bridge will be about 100 meters long. It crosses the Astarachay River.", aid="a",
                    title="Bridge over the Astarachay")
    other = passage("The old bridge in Genoa was 1,182 meters long when it collapsed in 2018.", aid="b",
                    title="Genoa bridge", score=0.7)
    draft = ExtractiveAnswerer().draft("How long will the bridge over the Astarachay River be?", [right, other])
    assert draft.text == "The bridge will be about 100 meters long [1]."
    assert len(draft.sentences) == 1


def test_extractive__refuses_when_the_constraining_entity_is_missing_and_says_what_the_articles_have():
    fed = passage("The Federal Reserve raised its key interest rate by 0.75 percentage points on Wednesday.",
                  title="Fed rate hike", published="2022-06-15")
    draft = ExtractiveAnswerer().draft("By how much did the European Central Bank raise its key rate?", [fed])
    assert draft.text is None
    assert draft.refusal == ("The articles don't say: they mention the Federal Reserve, not the European Central "
                             "Bank.")


def test_extractive__refuses_another_years_office_holder():
    p = passage("Liz Truss became prime minister in September after the Conservative Party vote.",
                title="Truss wins", published="2022-09-05")
    draft = ExtractiveAnswerer().draft("Who was the British prime minister in 2024?", [p])
    assert draft.text is None and "2024" in draft.refusal and "2022" in draft.refusal


def test_evidence__paraphrased_names_and_demonyms_count_as_present():
    q = analyze("Which Iranian minister visited the U.S. capital?")
    ctx = Context("Iran's foreign minister arrived in Washington, the United States capital, on Monday.")
    assert missing(q, ctx) == []


def test_extractive__a_question_about_the_present_takes_the_newest_article_and_not_a_superseded_fact():
    old = passage("Scott Andrusz set a new US record with a pumpkin that weighed 2,554 pounds.", aid="old",
                  title="New US pumpkin record", published="2022-10-04", score=0.9)
    new = passage("Travis Gienger set the new US record with a 2,560-pound pumpkin at the weigh-off.", aid="new",
                  title="Minnesota teacher sets US pumpkin record", published="2022-10-11", score=0.8)
    reader = ExtractiveAnswerer()
    draft = reader.draft("Who holds the US record for the heaviest pumpkin?", [old, new])
    assert "Gienger" in draft.text and "Andrusz" not in draft.text
    # Asked before the newer article existed, the older record is the current one.
    earlier = reader.draft("Who holds the US record for the heaviest pumpkin?", [old, new],
                           asked_on=dt.date(2022, 10, 5))
    assert "Andrusz" in earlier.text


def test_extractive__asked_before_the_only_answering_article_the_refusal_names_it():
    later = passage("The bridge will be 100 meters long and 31 meters wide.", aid="later", title="A new bridge",
                    published="2023-09-28")
    other = passage("Heavy rain flooded villages in the valley on Monday.", aid="other", title="Floods",
                    published="2022-06-01", score=0.5)
    draft = ExtractiveAnswerer().draft("How long will the bridge be?", [later, other], asked_on=dt.date(2022, 7, 12))
    assert draft.text is None
    assert draft.refusal == ("The articles don't say as of 12 July 2022. An article published later, on "
                             "28 September 2023, may: “A new bridge”.")


def test_extractive__a_who_answer_that_opens_with_a_pronoun_brings_the_sentence_naming_the_person():
    p = passage("The 23-year-old Rybakina won her first major title at Wimbledon on Saturday. She beat Ons Jabeur "
                "3-6, 6-2, 6-2 on Centre Court. The crowd stood to applaud both players.", title="Wimbledon final")
    draft = ExtractiveAnswerer().draft("Who beat Ons Jabeur?", [p])
    assert draft.text is not None and "Rybakina" in draft.text and "She beat Ons Jabeur" in draft.text


def test_extractive__why_answer_may_take_more_sentences_of_the_same_article_only():
    a = passage("Djokovic withdrew from the BNP Paribas Open. He could not enter the country because he is "
                "unvaccinated. Travel rules bar unvaccinated foreigners from flying into the United States.",
                aid="a", title="Djokovic withdraws from Indian Wells")
    b = passage("Nadal won the BNP Paribas Open in 2013 after Djokovic lost in the semifinal.", aid="b",
                title="Nadal wins", score=0.79)
    draft = ExtractiveAnswerer().draft("Why did Djokovic withdraw from the BNP Paribas Open?", [a, b])
    assert "unvaccinated" in draft.text and "[2]" not in draft.text


# A question asked as a new user asks it, an article that holds (or lacks) its answer, and what the answer must
# be: "^..." its opening, "..." a part of it, None a refusal.
ASKED = [
    ("Why did officials seize rainbow-colored toys?", "Rainbow toys seized",
     "Officials have cracked down on rainbow-colored toys in shops in the capital on Tuesday, saying the items "
     "promote homosexuality. The report did not say how many shops were targeted. Officials seize rainbow-colored "
     "toys from shops in the capital.", "promote homosexuality"),
    # a reason for something else of the name: "sued Jones ..., arguing that ..."
    ("Why was Alex Jones confronted with his own texts?", "Alex Jones confronted with own texts",
     "Alex Jones' legal team inadvertently sent opposing lawyers two years of his text messages, statements in "
     "court showed on Wednesday. A jury will decide how much Jones owes the family. Families have separately sued "
     "Jones over his financial claims, arguing that the company is trying to protect millions owned by Jones.",
     "^Alex Jones' legal team inadvertently sent"),
    ("What role did Howard Hesseman play on WKRP in Cincinnati?", "Howard Hesseman dies",
     "Actor Howard Hesseman, best known as the disc jockey Dr. Johnny Fever on the sitcom \"WKRP in Cincinnati\", "
     "has died. Hesseman was 81.", "Johnny Fever"),
    # a cause of death is a reason
    ("What did Howard Hesseman die from?", "Howard Hesseman dies",
     "Actor Howard Hesseman, best known as Dr. Johnny Fever on \"WKRP in Cincinnati\", has died, his manager said. "
     "He appeared on \"Head of the Class\" too. Hesseman died Saturday afternoon from complications related to "
     "colon surgery.", "complications related to colon surgery"),
    ("How old was Howard Hesseman?", "Howard Hesseman dies",
     "Actor Howard Hesseman, best known as Dr. Johnny Fever on \"WKRP in Cincinnati\", has died. Hesseman died "
     "Saturday after colon surgery. Hesseman was 81.", "81"),
    # a victim question needs the sentence that says the death; the name after a quotation is its speaker
    ("What was the name of the woman killed by a shark in Maine?", "Shark warning flags come to Maine",
     "Maine will adopt a flag system to warn beachgoers of sharks. A woman was killed on July 27, 2020, by a great "
     "white while swimming offshore. \"Sharks aren't new to the state, but the tragedy raised everyone's "
     "awareness,\" Gary Best, state park regional manager, told the Times Record.", None),
    ("Who is the state park regional manager in Maine?", "Shark warning flags come to Maine",
     "Maine will adopt a flag system to warn beachgoers of sharks. \"Sharks aren't new to the state, but the "
     "tragedy raised everyone's awareness,\" Gary Best, state park regional manager, told the Times Record.",
     "Gary Best"),
    ("How much prize money did Travis Gienger win for his pumpkin?", "Minnesota teacher grows record pumpkin",
     "Travis Gienger drove his pumpkin 35 hours to a contest in California. Gienger set the record with a "
     "2,560-pound pumpkin. A grower in New York raised a pumpkin that weighed 2,554 pounds.", None),
    ("When did Mack Rutherford set off?", "Mack Rutherford flies solo around the globe",
     "A 17-year-old has become the youngest person to fly around the world solo on Wednesday after first taking "
     "off on March 23. Mack Rutherford touched down in Sofia, where his journey began. He first set off when he "
     "was still 16.", "March 23"),
    # "It" is the car the sentence before names, and that sentence comes first
    ("How far can the Rolls-Royce Spectre drive on a charge?", "Rolls-Royce unveils the Spectre",
     "Rolls-Royce unveiled the Spectre, its first electric car. The Spectre will cost roughly $400,000. The coupe "
     "was made to look timeless, with elements of Rolls-Royce's classic designs. It has two doors, four seats and "
     "an estimated range of 320 miles.", "Rolls-Royce's classic designs [1]. It has two doors"),
    ("How much did Biden propose to suspend the federal gas tax by?", "Gas tax holiday",
     "President Biden called on Congress to suspend the federal gas tax for three months as gas prices soar above "
     "$5 a gallon. A federal gas tax holiday would suspend a tax of 18.4 cents per gallon.", "18.4 cents"),
    ("What price did Tepper pay for the Panthers?", "Tepper buys the Panthers",
     "Tepper is paying an NFL-record price to buy the Panthers from their founder. Tepper is the founder of a hedge "
     "fund, with a reported net worth of $11 billion. The NFL unanimously approved Tepper's $2.2 billion purchase "
     "of the team on Tuesday.", "^The NFL unanimously approved Tepper's $2.2 billion"),
    # a sentence that shares only a year with the question
    ("Who won the 2022 World Cup?", "World Cup qualifiers",
     "Saudi Arabia and Japan have booked their spots for the World Cup. Saudi Arabia drew 1-1 with China on "
     "Thursday but had already qualified for the 2022 tournament when Japan beat Australia.", None),
    # someone reached through a name: what Rybakina said is not what her coach said
    ("What did Rybakina's coach say after her Wimbledon final?", "Rybakina wins Wimbledon",
     "Elena Rybakina won her first major title at Wimbledon on Saturday. \"I didn't really think yet about the U.S. "
     "Open,\" Rybakina said after the final.", None),
    ("What did Rybakina's coach say after her Wimbledon final?", "Rybakina wins Wimbledon",
     "Elena Rybakina won her first major title at Wimbledon on Saturday. Her coach, Stefano Vukov, said after the "
     "final that she had served better than ever.", "Stefano Vukov"),
    # a model number ("Wrangler 4xe", "Ram 1500") is no figure, and a figure of no miles is no range in miles
    ("How many miles of range does the first electric Jeep have?", "Stellantis unveils an electric Jeep",
     "Stellantis showed its first fully electric Jeep, which will join models including the Wrangler 4xe plug-in "
     "hybrid. Tavares also spoke of the electric Ram 1500 pickup, which the company plans to launch in 2024.", None),
    # "How fast?" asks for a speed: "21 contingency plans" and "38 seconds" are none
    ("How fast will the DART spacecraft be going when it hits the asteroid?", "DART is about to hit an asteroid",
     "The DART spacecraft team has 21 contingency plans for when the spacecraft hits the asteroid. It takes 38 "
     "seconds for a command to reach the DART spacecraft going out to the asteroid. Its target is Dimorphos. DART will "
     "accelerate to 13,421 miles per hour.", "13,421 miles per hour"),
    # the question's event given only as the cause of something else ("... because the flooding cut us off")
    ("Why was the Yellowstone flooding so bad?", "Yellowstone floods",
     "Tami McDonald owns the historic Park Hotel Yellowstone and said her staff are at the end of a rope because "
     "the flooding and closing of Yellowstone Park has cut them off from the world. Dangerous flooding caused by "
     "abundant rain and rapid snowmelt began to hit the park on Monday.", "abundant rain and rapid snowmelt"),
    # "an asteroid called Dimorphos" names the kind asked for
    ("What is the name of the asteroid DART is aimed at?", "DART is about to hit an asteroid",
     "The Double Asteroid Redirection Test mission, or DART, aims to see if an impact can deflect an asteroid "
     "posing a threat to Earth. \"We are moving an asteroid,\" said Tom Statler, NASA program scientist for the "
     "DART mission. On Monday, a NASA spacecraft will slam into an asteroid called Dimorphos.",
     "^On Monday, a NASA spacecraft will slam into an asteroid called Dimorphos"),
    # a result gives the score without the word
    ("What was the final score of England's semifinal win over Sweden?", "England reaches the Euro 2022 final",
     "England's women banished the heartbreak of two semifinal defeats by beating Sweden 4-0 to reach the final. "
     "Under Wiegman, England has scored 84 goals, including a 20-0 win over Latvia.", "4-0"),
    # a purpose is a reason
    ("Why did the WHO call for a moratorium on vaccine boosters?", "WHO seeks moratorium on vaccine boosters",
     "The head of the WHO called for a halt to booster shots to allow access to countries struggling to obtain "
     "jabs. The WHO's call for a vaccine booster moratorium comes as infections are surging across the U.S.",
     "^The head of the WHO called for a halt to booster shots to allow"),
    # voters are the doers of "voted"
    ("Which states voted to legalize recreational marijuana?", "Marijuana ballots",
     "Five states decided whether to legalize recreational marijuana on Tuesday. Voters in Maryland and Missouri "
     "approved legalizing recreational marijuana for people 21 and over. Before Tuesday, 19 states had legalized "
     "recreational marijuana in some form. Medical marijuana still became legal under Measure 26, but recreational "
     "use remained illegal in the state.", "^Voters in Maryland and Missouri"),
]


@pytest.mark.parametrize(("question", "title", "text", "expected"), ASKED,
                         ids=[f"{a[0]} -> {a[3]}" for a in ASKED])
def test_extractive__answers_what_was_asked(question, title, text, expected):
    draft = ExtractiveAnswerer().draft(question, [passage(text, title=title)])
    if expected is None:
        assert draft.text is None, draft.text
    elif expected.startswith("^"):
        assert draft.text is not None and draft.text.startswith(expected[1:]), draft.text
    else:
        assert draft.text is not None and expected in draft.text, draft.text


# -- condensing follow-ups -------------------------------------------------------------------------------------

PUMPKIN = [{"role": "user", "content": "Who grew the 2,554-pound pumpkin?"},
           {"role": "assistant", "content": "Scott Andrusz of nearby Williamsville grew the pumpkin [1]."}]


def test_condense__a_why_question_that_names_its_subject_is_not_a_follow_up():
    question = "Why did Liz Truss resign as prime minister?"
    assert not is_follow_up(question)
    assert condense(question, PUMPKIN) == question
    assert condense("Why did it win?", PUMPKIN) != "Why did it win?"


def conversation(*turns: str) -> list[dict[str, str]]:
    """User and assistant turns, alternating from the user's."""
    return [{"role": ("user", "assistant")[i % 2], "content": t} for i, t in enumerate(turns)]


def test_condense__who_said_that_searches_for_what_the_last_answer_said():
    history = conversation("How much will New York pay the men exonerated in Malcolm X's killing?",
                           "The city of New York is settling lawsuits filed on behalf of two men, agreeing to pay "
                           "$26 million for the wrongful convictions [1].")
    query = condense("Who said that?", history)
    assert query.startswith("Who said that?") and "settling" in query and "convictions" in query
    assert "settling" not in condense("Who is he?", history)


def test_condense__a_question_about_the_article_itself_lends_no_topic_words():
    history = conversation("Where in Ukraine did Jill Biden go on Mother's Day?", "She went to Uzhhorod [1].",
                           "When was it published?", "“First lady Jill Biden visits Ukraine” was published on 8 May "
                                                     "2022 [1].")
    query = condense("Which US officials had visited before her?", history)
    assert "Jill Biden" in query and "published" not in query


def test_condense__keeps_the_topic_from_two_turns_back():
    history = conversation("What does the Inflation Reduction Act include?",
                           "The Senate passed the Inflation Reduction Act, which includes record spending on clean "
                           "energy [1].", "When was it passed?", "The Senate passed it on Sunday [1].")
    query = condense("Who signed it?", history)
    assert query.startswith("Who signed it?") and "Inflation Reduction Act" in query


def test_condense__an_elliptical_question_takes_the_previous_frame():
    history = [{"role": "user", "content": "How much is Netflix's standard plan in the US?"},
               {"role": "assistant", "content": "The standard plan rose $1.50 to $15.49 [1]."}]
    query = condense("And the premium plan?", history)
    assert query.startswith("How much is the premium plan?") and "Netflix" in query


def test_condense__an_elliptical_place_takes_the_previous_question_with_its_place_swapped():
    history = [{"role": "user", "content": "How much did Netflix raise prices in the US?"},
               {"role": "assistant", "content": "SAN FRANCISCO — Netflix is raising its U.S. prices [1]."}]
    query = condense("And in Canada?", history)
    assert query.startswith("How much did Netflix raise prices in Canada?")
    assert "SAN FRANCISCO" not in query  # a dateline is not the topic


def test_condense__a_personal_pronoun_makes_a_follow_up_even_beside_a_name():
    history = [{"role": "user", "content": "What happened to Brittney Griner?"},
               {"role": "assistant", "content": "Brittney Griner was detained in Russia [1]."}]
    assert is_follow_up("Why did she go to Russia?")
    assert "Brittney Griner" in condense("Why did she go to Russia?", history)


def test_condense__the_last_standalone_question_keeps_the_topic_however_many_answers_follow():
    history = [
        {"role": "user", "content": "Who grew the 2,554-pound pumpkin?"},
        {"role": "assistant", "content": "Scott Andrusz of Williamsville grew the pumpkin, The Buffalo News "
                                         "reported [1]."},
        {"role": "user", "content": "Where was it weighed?"},
        {"role": "assistant", "content": "It was weighed at the Great Pumpkin Farm in Clarence, east of "
                                         "Buffalo, New York [1]."},
    ]
    query = condense("Who holds the world record?", history)
    assert "pumpkin" in query and "2,554-pound" in query


def test_condense__a_pronoun_stands_for_the_person_however_far_back_and_about_it_leans_on_the_topic():
    history = conversation("Who resigned as Norland's prime minister?",
                           "Norland Prime Minister Lena Holt announced Thursday that she will step down [1].",
                           "How long was she in office?", "The Unity Party leader, 47, lasted 45 days in office [1].")
    query = condense("Who replaced her?", history)
    assert "Lena Holt" in query and "Prime Minister Lena Holt" not in query
    assert is_follow_up("What did Ana Ruiz say about it?") and not is_follow_up("What did Ana Ruiz say about it is?")
    # The borrowed name is whom the question is about: a sentence naming only her does not answer it.
    p = passage("Norland Prime Minister Lena Holt announced Thursday that she will step down. Omar Lind replaced "
                "Lena Holt as prime minister on Monday.")
    draft = ExtractiveAnswerer().draft("Who replaced her?", [p], query)
    assert draft.text is not None and "Omar Lind" in draft.text and "announced Thursday" not in draft.text


# -- through the Assistant, real model over the sample store ---------------------------------------------------

def test_assistant__metadata_answer_has_a_metadata_citation_with_null_offsets(sample_assistant):
    ans = sample_assistant.ask("Who wrote the analysis on the Azerbaijan-Iran normalization process?")
    assert not ans.refused and "Fuad Shahbazov" in ans.text and ans.text.endswith("[1].")
    (c,) = ans.citations
    assert (c.kind, c.field, c.start, c.end) == ("metadata", "author", None, None)
    data = json.loads(json.dumps(ans.to_dict()))
    assert data["citations"][0]["kind"] == "metadata" and data["citations"][0]["field"] == "author"
    assert data["citations"][0]["start"] is None
    when = sample_assistant.ask("When was the article about the Azerbaijan-Iran normalization process published?")
    assert "28 September 2023" in when.text and when.citations[0].field == "published"


def test_assistant__constraint_refusal_names_what_is_missing_without_citations_or_scores(sample_assistant):
    ans = sample_assistant.ask("How long is the planned bridge over the Aras River?")
    assert ans.refused and ans.citations == ()
    assert "Aras River" in ans.text and "not" in ans.text
    assert not any(ch.isdigit() for ch in ans.text)  # no internal scores


def test_assistant__factoid_is_one_cited_sentence(sample_assistant):
    ans = sample_assistant.ask("How long is the planned bridge over the Astarachay River?")
    assert not ans.refused and "100 meters" in ans.text
    assert ans.text.count("[") == 1 and len(ans.citations) == 1


def test_assistant__summary_is_central_sentences_in_article_order_each_cited(sample_assistant, sample_store):
    from rag.store.store import Store

    ans = sample_assistant.ask("Summarize the article about Typhoon Maysak in two sentences.")
    assert not ans.refused and len(ans.citations) == 2 and ans.text.count("[") == 2
    assert len({c.article_id for c in ans.citations}) == 1
    starts = [c.start for c in ans.citations]
    assert starts == sorted(starts)
    article = Store.open(sample_store, sample_assistant.embedder).article(ans.citations[0].article_id)
    assert all(article.text[c.start:c.end] == c.passage for c in ans.citations)


def test_summary__an_article_that_never_says_the_topic_is_not_the_one_asked_about(sample_assistant):
    # The war story's chunk says "Beijing" (half the topic's weight), its text never "airport", and its headline
    # is about something else: no summary of it. The MH370 story says "plane" past its chunk: it is summarised.
    war = ("China refused to condemn Russia's move outright on Thursday, and Beijing appeared to levy blame on the "
           "United States and its allies. A Chinese government official sidestepped questions about an invasion.")
    plane = ("The underwater search area for missing Malaysia Airlines Flight 370 looks set to double in size. "
             "Teams have covered about 60% of the priority zone. The plane vanished in March last year with 239 "
             "people on board.")
    texts = {"war": war, "plane": plane}
    reader = ExtractiveAnswerer(article_text=texts.get, embed=sample_assistant.embedder.embed)
    asked = "Summarize the article about the Beijing airport."
    draft = reader.draft(asked, [passage(war, aid="war", title="China blames the US as Russia's war breaks out")])
    assert draft.text is None and "clearly the one asked about" in draft.refusal
    chunk = plane[:plane.index(" The plane")]
    draft = reader.draft("Summarize the article about the missing plane.",
                         [passage(chunk, aid="plane", title="Search area for missing Flight MH370 set to double")])
    assert draft.text is not None and "Flight 370" in draft.text


def test_metadata__of_two_articles_that_speak_of_the_topic_the_one_whose_headline_says_it_is_chosen():
    from rag.answer.metadata import best_article
    from rag.answer.question import analyze

    asked = "Who wrote the article about getting a Covid booster and flu shot at the same time?"
    other = passage("Health officials urge Americans to get the bivalent booster. Experts recommend getting a flu "
                    "shot and Covid booster at the same time.", aid="other", title="Bivalent booster: what to know")
    mine = passage("Fall means it is time for your flu shot, and officials urge everyone to get the updated Covid "
                   "booster too.", aid="mine", title="Getting your Covid booster and flu shot at the same time",
                   score=0.7)
    chosen, _ = best_article(analyze(asked), [other, mine], asked, lambda terms: {t: 1.0 for t in terms})
    assert chosen is not None and chosen.article_id == "mine"


def test_assistant__follow_up_answer_carries_the_standalone_query_and_the_cli_shows_it(sample_assistant):
    from ui.cli import format_answer

    history = [{"role": "user", "content": "How long will the bridge over the Astarachay River be?"},
               {"role": "assistant", "content": "The bridge will be about 100 meters long [1]."}]
    ans = sample_assistant.ask("And how wide will it be?", history=history)
    assert "Astarachay" in ans.query and ans.to_dict()["query"] == ans.query
    assert "31 meters" in ans.text
    assert f"(searched for: {ans.query})" in format_answer(ans)
    fresh = sample_assistant.ask("How long is the planned bridge over the Astarachay River?")
    assert fresh.query == fresh.question and "searched for" not in format_answer(fresh)


def test_extractive__sentence_similarity_breaks_a_tie_between_close_candidates():
    import numpy as np

    p = passage("Shelves of the condiment stood empty in Paris. Shoppers found the condiment missing in Lyon.",
                title="Shortage")
    vectors = {"Shelves of the condiment stood empty in Paris.": [1.0, 0.0],
               "Shoppers found the condiment missing in Lyon.": [0.0, 1.0]}

    def embed(texts):
        return np.array([vectors[t] for t in texts], dtype=np.float32)

    question = "Which condiment had a shortage?"
    reader = ExtractiveAnswerer(embed=embed, semantic_top=2)
    cands = reader.candidates(question, [p])
    assert cands[1].score >= 0.9 * cands[0].score  # close: similarity decides
    first = reader._semantic(cands, np.array([1.0, 0.0]))[0].text
    second = reader._semantic(cands, np.array([0.0, 1.0]))[0].text
    assert first.startswith("Shelves") and second.startswith("Shoppers")


def test_evidence__names_with_letters_beyond_ascii_are_found():
    q = analyze("What is the trade route through northern Iran to Türkiye called?")
    assert missing(q, Context("A new trade route through northern Iran to Türkiye is dubbed the Aras Corridor.")) == []


@pytest.mark.parametrize("question, kind", [
    ("What was bilateral trade between Azerbaijan and Iran worth in the year to March 2023?", "number"),
    ("What is the name of the South Korean prime minister who offered to resign?", "person"),
    ("Kanye West, who changed his name, is buying which social media platform?", "organisation"),
])
def test_question__wording_that_hides_the_kind(question, kind):
    assert analyze(question).kind == kind


# -- questions that set the scene first, and what satisfies a constraint -----------------------------------

def test_question__a_scene_setting_question_is_read_by_its_asking_sentence():
    q = analyze("The White House said there will soon be a new vaccine against the BA.4 and BA.5 subvariants. "
                "When will it be available?")
    assert q.kind == "date" and q.focus == "When will it be available?"
    assert "White House" in q.soft and q.figures == ()  # "BA.5" is a name, not the figure 5


def test_evidence__a_scene_setting_name_may_be_absent_when_the_others_are_there():
    q = analyze("The White House said a new Covid-19 booster against Omicron is coming. When will it arrive?")
    ctx = Context("Updated Covid-19 boosters that target Omicron will be available next month, officials said.")
    assert missing(q, ctx) == []
    # The asking sentence's own names stay hard constraints.
    q = analyze("A new booster is coming. When will Moderna ship it?")
    assert [m.text for m in missing(q, Context("Pfizer will ship its booster next month."))] == ["Moderna"]


@pytest.mark.parametrize("question, text", [
    ("Which president did Ash Carter serve under?", "Ashton Carter, who served as President Barack Obama's "
                                                    "defense secretary, has died."),
    ("Where is the WWII-era training ground?", "Biden visited Camp Hale, a World War II training ground."),
    ("Approximately 1 billion people had their data leaked. Where?", "The data of up to one billion people "
                                                                     "leaked."),
])
def test_evidence__short_first_names_acronyms_and_number_words_satisfy_the_constraint(question, text):
    assert missing(analyze(question), Context(text)) == []


def test_evidence__an_acronym_is_not_matched_by_other_words_with_its_initials():
    q = analyze("What did the ECB decide?")
    assert [m.text for m in missing(q, Context("The European Commission decided to act."))] == ["ECB"]


def test_evidence__a_full_date_is_met_by_its_month_and_day_in_a_later_article_but_not_another_year():
    q = analyze("How many minutes did the violence at the Capitol on January 6, 2021 last?")
    later = Context("The hearing is all about the 187 minutes of violence at the Capitol on January 6.",
                    published="2022-07-21")
    assert missing(q, later) == []
    q = analyze("Who won the 2021 title?")
    assert [m.kind for m in missing(q, Context("She won the title on June 6.", published="2022-06-07"))] == ["year"]


def test_extractive__refuses_a_who_question_whose_role_the_articles_do_not_name():
    p = passage("Will Smith won the Academy Award for best actor on Sunday night.", title="Oscars 2022",
                published="2022-03-28")
    draft = ExtractiveAnswerer().draft("Who won the Academy Award for best actress in 2022?", [p])
    assert draft.text is None and "actress" in draft.refusal
    assert ExtractiveAnswerer().draft("Who won the Academy Award for best actor in 2022?", [p]).text is not None


# -- sentences that cannot answer -------------------------------------------------------------------------

def test_extractive__a_quiz_question_or_an_echo_of_the_question_is_not_an_answer():
    quiz = passage("Which new product did Tesla debut at its event this week? Take the quiz to find out.",
                   aid="quiz", title="News quiz", score=0.9)
    echo = passage("The most infectious variant yet has arrived. The variant, BA.5, now dominates US cases.",
                   aid="news", title="BA.5 spreads", score=0.8)
    robot = passage("Tesla showed a humanoid robot, a possible future product, at its AI Day event on Friday.",
                    aid="robot", title="Tesla AI Day", score=0.7)
    reader = ExtractiveAnswerer()
    assert "robot" in (reader.draft("Which new product did Tesla debut at an event this week?", [quiz, robot]).text
                       or "")
    text = reader.draft("The most infectious variant yet has arrived. What is it called?", [echo]).text or ""
    assert "BA.5" in text and "yet has arrived [" not in text


def test_extractive__an_article_from_the_week_asked_about_beats_an_older_one():
    old = passage("Liz Truss became the new prime minister of the United Kingdom.", aid="old",
                  title="Truss is prime minister", published="2022-09-05", score=0.8)
    new = passage("Rishi Sunak became the new prime minister of the United Kingdom on Tuesday.", aid="new",
                  title="Sunak takes office", published="2022-10-25", score=0.75)
    draft = ExtractiveAnswerer().draft("Who became the new prime minister of the United Kingdom this week?",
                                       [old, new], asked_on=dt.date(2022, 10, 28))
    assert draft.text is not None and "Sunak" in draft.text and "Truss" not in draft.text


def test_evidence__a_role_may_be_written_as_its_title_abbreviation():
    q = analyze("Which state senator rewrote the ride-sharing bill?")
    assert missing(q, Context("State Sen. Jane Doe rewrote the bill on Monday.")) == []
    assert [m.kind for m in missing(q, Context("Gov. Jane Doe rewrote the bill on Monday."))] == ["role"]


def test_extractive__an_answer_is_quoted_without_its_dateline():
    article = "WIMBLEDON, England (AP) — Elena Rybakina won her first major title at Wimbledon on Saturday."
    p = passage(article, title="Rybakina wins Wimbledon")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft("Who won the title at Wimbledon?", [p])
    assert draft.text == "Elena Rybakina won her first major title at Wimbledon on Saturday [1]."


def test_extractive__a_sentence_about_another_year_does_not_answer_about_this_one():
    p = passage("In 1996, at 15, she won the Wimbledon doubles title with Helena Sukova.", title="Hingis elected",
                published="2013-03-04")
    assert ExtractiveAnswerer().draft("Who won the 2013 Wimbledon singles title?", [p]).text is None


def test_extractive__how_big_is_answered_by_a_comparison_of_size():
    p = passage("It has been traveling since November 2021. The DART spacecraft is about the size of a school bus.",
                title="DART mission")
    assert ExtractiveAnswerer().draft("How big is the DART spacecraft?", [p]).text == (
        "The DART spacecraft is about the size of a school bus [1].")


def test_extractive__a_photo_caption_is_not_an_answer_nor_a_summary_sentence():
    from rag.answer.extractive import _usable

    assert not _usable("This illustration shows the DART spacecraft heading toward the asteroid Dimorphos.")
    assert _usable("The DART spacecraft is heading toward the asteroid Dimorphos.")
    # a news photo's caption: present tense, dated at the end; prose in the past or future tense is not one
    assert not _usable("People in Seoul, South Korea, watch a TV news report about North Korean leader Kim Jong Un "
                       "and his country's Covid outbreak on May 16, 2022.")
    assert not _usable("Maura Healey speaks during a get-out-the-vote event in Boston on November 2, 2022.")
    assert _usable("Maura Healey spoke during a get-out-the-vote event in Boston on November 2, 2022.")
    assert _usable("Guests can look forward to attending the 12th annual event in Stowe on September 26, 2021.")
    assert not _usable("MILL VALLEY, CA - MARCH 03: A customer pumps gasoline into his car at a gas station on "
                       "March 3, 2015 in Mill Valley, California.")  # an agency's dateline caption
    assert _usable("WASHINGTON (AP) — The Senate passed the bill on Tuesday.")


@pytest.mark.parametrize("question, sentence", [
    ("Who won the 2022 US Open men's title?", "Carlos Alcaraz won the BNP Paribas Open men's title in 2022."),
    ("Which company recalled Marvel-branded hand sanitizers?", "Best Brands Consumer Products voluntarily recalled two "
                                                               "lots of Disney-branded hand sanitizers on Friday."),
])
def test_extractive__a_sentence_about_another_thing_of_the_same_kind_does_not_answer(question, sentence):
    p = passage(sentence, title="Recalls and results", published="2022-04-02")
    assert ExtractiveAnswerer().draft(question, [p]).text is None
    own = sentence.replace("BNP Paribas Open", "US Open").replace("Disney-branded", "Marvel-branded")
    assert ExtractiveAnswerer().draft(question, [passage(own, title="Recalls and results")]).text is not None


def test_extractive__the_noun_of_a_superlative_must_be_what_the_article_is_about():
    p = passage("The record for the heaviest pumpkin in the world belongs to a man in Italy.", title="Pumpkin record")
    draft = ExtractiveAnswerer().draft("Who holds the world record for the heaviest watermelon?", [p])
    assert draft.text is None and "watermelon" in draft.refusal


def test_extractive__a_price_question_is_not_answered_by_a_count():
    p = passage("Customers in about 40 countries where Netflix bills in US currency will also be affected.",
                title="Netflix raises prices")
    assert ExtractiveAnswerer().draft("How much does Netflix's standard plan cost in those countries?", [p]).text \
        is None


def test_extractive__a_place_name_after_new_counts_and_a_named_place_answers_where():
    from rag.answer.extractive import _type_match

    question = "Where did the capsule land?"
    assert _type_match("place", "The capsule landed in the New Mexico desert on Wednesday.", question) == 1.0
    p = passage("A New York man set a record on Saturday. The record was set at the Great Pumpkin Farm in Clarence, "
                "east of Buffalo.", title="Pumpkin record")
    draft = ExtractiveAnswerer().draft("In which town is the Great Pumpkin Farm?", [p])
    assert draft.text is not None and "Clarence" in draft.text


def test_extractive__the_role_held_for_the_question_s_country_beats_another_country_s():
    p = passage("On September 26, President Erdogan said Iran is warming up to a corridor linking Turkey to "
                "Azerbaijan. The Iranian diplomat met Azerbaijani President Ilham Aliyev in Baku. The Aras "
                "Corridor would link Azerbaijan to Nakhchivan.", title="Azerbaijan and Iran")
    draft = ExtractiveAnswerer().draft("Who is the president of Azerbaijan?", [p])
    assert draft.text is not None and "Azerbaijani President Ilham Aliyev" in draft.text
    from rag.answer.extractive import _role_holder

    q = analyze("Who is the president of Azerbaijan?")
    assert _role_holder("He met Azerbaijani President Ilham Aliyev.", q) is True
    assert _role_holder("He met Turkish President Recep Tayyip Erdogan.", q) is False
    assert _role_holder("President Erdogan said so.", q) is None
    minister = analyze("Which Iranian foreign minister came to Baku?")
    assert _role_holder("Iran sent Foreign Minister Amir-Abdollahian to Baku.", minister) is None
    assert _role_holder("Iranian Foreign Minister Amir-Abdollahian came to Baku.", minister) is True


def test_assistant__without_as_of_an_archive_is_asked_about_as_of_its_newest_article(sample_assistant):
    newest = sample_assistant.store.newest_published()
    assert newest is not None and sample_assistant._asked_on(None).isoformat() == newest[:10]
    assert sample_assistant._asked_on("2030-01-01").isoformat() == "2030-01-01"


def test_extractive__a_metadata_question_without_a_topic_answers_for_the_only_article_or_asks_which():
    one = Passage(chunk_id="a:0", article_id="a", text="The bridge will be 100 meters long.", start=0, end=35,
                  title="Bridge talks", score=0.2, author="Fuad Shahbazov")
    other = Passage(chunk_id="b:0", article_id="b", text="Rain flooded the valley.", start=0, end=24,
                    title="Floods", score=0.1, author="Jane Doe")
    reader = ExtractiveAnswerer()
    assert reader.draft("Who wrote the analysis?", [one]).text == "“Bridge talks” was written by Fuad Shahbazov [1]."
    draft = reader.draft("Who wrote the analysis?", [one, other])
    assert draft.text is None and "which article" in draft.refusal


def test_extractive__an_article_that_names_a_flight_in_full_speaks_of_it_more_shortly_later_on():
    article = ("In the final seconds of Ethiopian Airlines Flight 302, the pilots tried to keep their Boeing 737 Max "
               "aloft. Regulators are reviewing training rules. Airlines want more pilots. In the U.S., copilots "
               "must have 1,500 flight hours. Abroad, it is only 240 hours. The preliminary report in the Ethiopian "
               "crash showed the 25-year-old first officer had only 361 total hours.")
    later = article.index("In the U.S.")
    p = passage(article[later:], title="Boeing 737 Max crash: pilot flight training", start=later)
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "How many hours of flight time did the first officer of Ethiopian Airlines Flight 302 have?", [p])
    assert draft.text is not None and "361 total hours" in draft.text


def test_extractive__a_pull_quotes_attribution_and_a_repeated_fragment_are_no_answer_sentences():
    from rag.answer.extractive import _usable

    assert not _usable("-- First lady Jill Biden, on what she learned while visiting Eastern Europe.")
    assert not _usable(", on what she learned while visiting Eastern Europe over Mother's Day weekend.")
    assert _usable("First lady Jill Biden made an unannounced trip to Uzhhorod, Ukraine.")


def test_extractive__an_author_the_catalog_lacks_is_read_from_the_articles_sign_off_line():
    article = ("Pfizer and Valneva are launching a trial of a Lyme disease vaccine.\n\nThe trial will enrol 6,000 "
               "people.\n\nContact Karen Weintraub at kweintraub@example.com.")
    p = passage(article[:article.index("\n\nContact")], title="Pfizer launches Lyme disease vaccine trial")
    reader = ExtractiveAnswerer(article_text=lambda aid: article)
    draft = reader.draft("Who wrote the article about the Lyme disease vaccine trial?", [p])
    assert draft.text == "“Pfizer launches Lyme disease vaccine trial” was written by Karen Weintraub, as the " \
                         "article says [1]."
    (c,) = draft.citations
    assert c.kind == "passage" and article[c.start:c.end] == c.passage == "Contact Karen Weintraub at " \
                                                                          "kweintraub@example.com."
    # a name on the first line over the writer's outlet is a byline too
    opened = "Kelly Lawler\n\nUSA TODAY\n\n" + article
    draft = ExtractiveAnswerer(article_text=lambda aid: opened).draft(
        "Who wrote the article about the Lyme disease vaccine trial?",
        [passage(opened[:opened.index("\n\nThe trial")], title="Pfizer launches Lyme disease vaccine trial")])
    assert draft.text is not None and "written by Kelly Lawler and Karen Weintraub" in draft.text
    # a photo credit names a photographer, not the writer: the catalog's lack is said
    credited = article.replace("Contact Karen Weintraub at kweintraub@example.com.", "Phil Noble/Reuters")
    draft = ExtractiveAnswerer(article_text=lambda aid: credited).draft(
        "Who wrote the article about the Lyme disease vaccine trial?", [p])
    assert draft.text is None and "no author" in draft.refusal


def test_extractive__the_sentence_under_an_explainer_sub_heading_answers_its_question():
    article = ("Twitter announced Thursday that it is testing an edit button.\n\nThe feature will reach paid users "
               "of Twitter Blue first.\n\nHow the edit button will work\n\nUsers can change a tweet several times "
               "within a 30-minute window after posting it.")
    p = passage(article, title="Twitter tests an edit button")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft("How will Twitter's edit button work?", [p])
    assert draft.text is not None and "30-minute window" in draft.text


def test_extractive__a_name_the_question_gives_is_not_the_one_it_asks_for():
    from rag.answer.extractive import _type_match

    question = "Who attacked Paul Pelosi?"
    assert _type_match("person", "Paul Pelosi was taken to a hospital on Friday.", question) < 0.8
    assert _type_match("person", "David DePape attacked Paul Pelosi with a hammer.", question) == 1.0


@pytest.mark.parametrize("question, kind", [
    ("Who wrote the majority opinion?", "person"),
    ("Who wrote the analysis on the bridge?", "metadata"),
    ("Who wrote it?", "metadata"),
    ("When was it published?", "metadata"),
    ("What date was it posted?", "metadata"),
    ("When was the treaty published?", "date"),
    ("When was it released?", "date"),
])
def test_question__who_wrote_asks_for_an_author_only_of_the_article_itself(question, kind):
    assert analyze(question).kind == kind


def test_assistant__a_follow_up_asks_when_the_article_it_discussed_was_published(sample_assistant):
    history = [{"role": "user", "content": "How long will the bridge over the Astarachay River be?"},
               {"role": "assistant", "content": "The bridge will be about 100 meters long [1]."}]
    when = sample_assistant.ask("When was it published?", history=history)
    assert not when.refused and "28 September 2023" in when.text and when.citations[0].field == "published"
    history += [{"role": "user", "content": "Who wrote it?"},
                {"role": "assistant", "content": when.text.replace("published on 28 September 2023", "written by Fuad "
                                                                   "Shahbazov")}]
    posted = sample_assistant.ask("What date was it posted?", history=history)
    assert not posted.refused and "28 September 2023" in posted.text


def test_extractive__a_description_of_the_thing_asked_for_does_not_name_it():
    # "the hugely popular Danish drama is renewed" describes the show the sentence before names; "buying the
    # troubled regional airline" names no airline, "Skyvale, the troubled regional airline" does.
    article = ("“Harbour Lights” is officially returning. The broadcaster said Monday that the hugely popular Danish "
               "drama is renewed for a third series, with filming to start in Aarhus.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Which hugely popular drama was renewed for a third series?", [passage(article, title="Drama renewed")])
    assert draft.text is not None and "Harbour Lights" in draft.text
    vague = passage("Maya Lind is buying the troubled regional airline after a months-long bidding war in Oslo.",
                    aid="a", score=0.9)
    named = passage("Maya Lind is buying Skyvale, the troubled regional airline that lost its licence.", aid="b",
                    score=0.7)
    draft = ExtractiveAnswerer().draft("Maya Lind announced she is buying which troubled regional airline?",
                                       [vague, named])
    assert draft.text is not None and "Skyvale" in draft.text and "bidding war" not in draft.text
    # The noun inside a name, a name after it, or one the sentence gave before it: those sentences name it.
    for question, sentence in (
            ("Which office reported that prices rose 3.1% in May?",
             "Prices rose 3.1% in May, the Office for Budget Figures said on Wednesday."),
            ("Which team did the announcer famously call games for?",
             "The announcer, the voice of the Lakeside Otters for decades, has died, the team said."),
            ("Which country announced a plan to save its frogs?",
             "Officials in Norland, which lost half its frogs, announced a plan to save the frogs in the country.")):
        draft = ExtractiveAnswerer().draft(question, [passage(sentence)])
        assert draft.text is not None, question


def test_extractive__a_superlative_is_answered_where_a_ranking_is_said():
    p = passage("Nearly one in five shops in Norland charges under $2 for a loaf of bread, according to BreadWatch. "
                "In Eastmark, which has the highest regional average at $3.10 a loaf, hardly any shop sells bread for "
                "less than $3.")
    draft = ExtractiveAnswerer().draft("Which region has the highest average price for a loaf of bread?", [p])
    assert draft.text is not None and "Eastmark" in draft.text and "one in five" not in draft.text


def test_extractive__a_scene_setting_question_is_answered_by_its_asking_sentence_words():
    # The lead retells the scene (and names places); the asking sentence's "leave out" is in the other one.
    article = ("A coalition of mayors announced a transit deal on Monday, providing an overview of a package of "
               "projects for new buses in the wake of floods in Lower Riverton, North Norland and East Mark. Also "
               "left out is a tram line to the airport, a project the mayors backed for years.")
    question = ("A coalition of mayors announced a transit deal this week, but some projects were not funded. "
                "Which project did the mayors leave out?")
    best = ExtractiveAnswerer(article_text=lambda aid: article).candidates(question, [passage(article)])[0]
    assert "tram line" in best.text


def test_extractive__a_link_to_another_story_is_page_furniture():
    from rag.answer.extractive import _usable

    assert not _usable("LAWSUIT:Parents of a pupil sue the school board in Riverton for defamation over a letter sent "
                       "home last spring.")
    assert not _usable("RELATED: Parents sue the school board")
    assert not _usable("More:'Hostage diplomacy': a prisoner swap for the player is promising and dangerous")
    assert _usable("NATO: the alliance said it would respond to the attack.")
    assert _usable("WASHINGTON: Officials said the plan would work.")
    # a label in any case glued to its colon (prose puts a space after one)
    assert not _usable("Musk-Twitter battle:Elon Musk unloads almost $7 billion in Tesla stock as he prepares for "
                       "Twitter court battle")
    assert not _usable("'In rapid decline':Australia has lost 30% of its koalas in just 3 years, foundation says")
    assert _usable("He said: The deal is done, and the ratio was 3:1 in favour.")


def test_extractive__a_prefixed_word_is_another_thing():
    # "quarterfinal" does not answer about the final, "undergraduates" not about graduate students.
    quarter = passage("Lina Ortez will play her first Norland Open quarterfinal against Mia Berg on Wednesday.")
    draft = ExtractiveAnswerer().draft("Whom did Lina Ortez beat in the Norland Open final?", [quarter])
    assert draft.text is None
    assert draft.refusal == "The articles don't say: they mention “quarterfinal”, not “final”."
    final = passage("Lina Ortez beat Mia Berg in the Norland Open final, a week after her semifinal win.")
    draft = ExtractiveAnswerer().draft("Whom did Lina Ortez beat in the Norland Open final?", [final])
    assert draft.text is not None and "Mia Berg" in draft.text


def test_extractive__a_count_of_people_is_not_a_time_of_day():
    # "8:30 a.m." counts nothing; "2,700 people" counts the visitors; "the record for three-pointers" is a count.
    p = passage("Ferries to Gull Island resume at 8:30 a.m. Saturday. About 1,900 people were taken off the island "
                "after the threat, officials said.")
    draft = ExtractiveAnswerer().draft("How many visitors were taken off Gull Island after the threat?", [p])
    assert draft.text is not None and "1,900" in draft.text and "8:30" not in draft.text
    q = analyze("What was Dana Reyes's previous single-season record for three-pointers?")
    assert (q.kind, q.unit) == ("number", "three-pointers")
    p = passage("Dana Reyes broke her own league record, scoring 41 points in a 99-90 win. Reyes entered the game "
                "three shy of her mark of 198 three-pointers, set two years ago.")
    draft = ExtractiveAnswerer().draft(q.text, [p])
    assert draft.text is not None and "198" in draft.text


def test_extractive__a_count_in_millions_is_no_price_and_the_refusal_names_another_place():
    p = passage("Streamly's basic plan will launch in Peru next year. Streamly had nearly 40 million basic plan "
                "subscribers in Peru and elsewhere outside the U.S. as of May.")
    draft = ExtractiveAnswerer().draft("How much does Streamly's basic plan cost in Peru?", [p])
    assert draft.text is None
    p = passage("In Chile, the price of Streamly's basic plan went up $1 to $7.")
    draft = ExtractiveAnswerer().draft("How much does Streamly's basic plan cost in Peru?", [p])
    assert draft.text is None and "Peru" in draft.refusal and "Streamly" not in draft.refusal
    rise = passage("Streamly raised the price of its basic plan by 12% in March, the company said.")
    draft = ExtractiveAnswerer().draft("How much did Streamly's basic plan prices increase in March?", [rise])
    assert draft.text is not None and "12%" in draft.text


def test_extractive__the_place_a_question_s_subject_belongs_to_is_said_beside_the_answer():
    # "Norland's bill": a governor signing a bill, with Norland named two sentences on, is another state's bill.
    article = ("Gov. Ana Ruiz signed a bill into law Sunday that creates a state seed bank for farmers. The law takes "
               "effect in May. Eastmark and Norland already run seed banks of their own.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Who signed Norland's seed bank bill into law?", [passage(article, title="Seed bank law signed")])
    assert draft.text is None and "Norland" in draft.refusal
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Who signed Norland's seed bank bill into law?", [passage(article, title="Norland seed bank law signed")])
    assert draft.text is not None and "Ana Ruiz" in draft.text


def test_extractive__a_quote_s_first_word_a_league_or_a_holder_the_question_names_is_no_answer():
    from rag.answer.extractive import _type_match

    question = "Who will replace Ana Ruiz as Norland College's president?"
    assert _type_match("person", "“Thanks to our community, students can thrive,” Norland President Ana Ruiz "
                                 "said.", question) < 0.5
    assert _type_match("person", "The plan is part of the Ivy League school’s campaign, the release said.",
                       question) < 0.8
    draft = ExtractiveAnswerer().draft(question, [passage(
        "“Thanks to our community, students can thrive,” Norland College President Ana Ruiz said on Monday.")])
    assert draft.text is None


def test_extractive__why_someone_resigned_is_what_they_resigned_after():
    article = ("Mayor Lena Holt announced Thursday that she will be stepping down. The Riverton mayor, 51, served "
               "two years. Holt announced her resignation after a budget plan that cut school funding drew weeks "
               "of protests.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft("Why did Lena Holt resign?",
                                                                     [passage(article, title="Holt resigns")])
    assert draft.text is not None and "budget plan" in draft.text


def test_evidence__a_border_between_two_places_and_a_hedged_figure_are_met_by_what_the_text_says():
    q = analyze("Police seized more than $11 million worth of which product near the Norland-Eastmark border?")
    ctx = Context("A shipment of soap at the Eastmark border held $11.8 million worth of cocaine. The bridge links "
                  "Norland and Eastmark.", "Seizure at the border", "2022-09-01")
    assert missing(q, ctx) == []
    far = Context("A shipment of soap at the Eastmark border held $19 million worth of cocaine.", "", "2022-09-01")
    assert {m.kind for m in missing(q, far)} == {"entity", "figure"}


def test_extractive__a_surname_alone_comes_with_the_sentence_that_gives_the_full_name():
    article = ("Just weeks ago, it looked as if it might be all over for Omar Lindqvist. He retreated to the back "
               "benches in Riverton. But in a sign of how unpredictable Norland politics has become, Lindqvist has "
               "returned to replace Holt as the new prime minister of Norland.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Who became the new prime minister of Norland?", [passage(article[article.index("But"):],
                                                                  start=article.index("But"))])
    assert draft.text is not None and "Omar Lindqvist" in draft.text and draft.text.index("Omar") < \
        draft.text.index("returned")


def test_extractive__a_figure_other_articles_give_too_wins_a_close_call():
    question = "How many minutes did the mayor let the flooding go on before acting?"
    passages = [
        passage("The mayor's first statement came 20 minutes after the flooding began in the square.", aid="a",
                score=0.9),
        passage("The hearing on Thursday is all about 187 minutes.", aid="b", score=0.8),
        passage("Council members said the flooding went on for 187 minutes.", aid="c", score=0.5),
        passage("For 187 minutes, residents waited.", aid="d", score=0.5)]
    draft = ExtractiveAnswerer().draft(question, passages)
    assert draft.text is not None and "187 minutes" in draft.text and "20 minutes" not in draft.text


def test_extractive__a_river_is_not_the_state_asked_for():
    passages = [
        passage("Heavy rain led to flooding of the Gull River and problems at one of the town's two water plants, "
                "causing the pumps to fail.", aid="a", score=0.9),
        passage("As Norland's capital city entered a fourth day with little water flowing, crews worked to fix "
                "its failing water plant.", aid="b", score=0.7)]
    draft = ExtractiveAnswerer().draft("Which state's capital city is facing a water crisis after one of its water "
                                       "plants failed?", passages)
    assert draft.text is not None and "Norland" in draft.text and "Gull River" not in draft.text


def test_extractive__a_code_names_a_thing():
    from rag.answer.extractive import _type_match

    question = "The most infectious variant yet has arrived. What is it called?"
    assert _type_match("thing", "The shape-shifting XQ.7 variant is fueling a surge in cases.", question) == 1.0
    assert _type_match("thing", "The variant is fueling a surge in cases.", question) == 0.0


def test_evidence__a_scene_setting_superlative_is_the_article_s_subject():
    q = analyze("Nearly a billion records leaked in one of the biggest breaches ever. Where did the leak occur?")
    article = ("The breach exposed police files. Experts were alarmed. Officials said little. A database of a "
               "billion Norlandic citizens was left open online for a year.")
    sentence = "A database of a billion Norlandic citizens was left open online for a year."
    ctx = Context(sentence, "", "2022-07-05", article)
    assert missing(q, ctx) == []
    assert missing(q, Context(sentence, "", "2022-07-05", sentence)) == [Missing("term", "breaches")]


def test_extractive__what_was_rolled_out_is_the_new_thing_a_sentence_introduces():
    article = ("Crispy Barn already offers a few types of chicken, including popcorn bites, on its menu. Crispy Barn "
               "is trying out a new type of chicken nugget in an effort to attract younger diners. “We are "
               "targeting Gen Z and Millennials,” a spokesperson said.")
    best = ExtractiveAnswerer(article_text=lambda aid: article).candidates(
        "Which menu item did Crispy Barn roll out this week to attract younger diners?", [passage(article)])[0]
    assert best.text.startswith("Crispy Barn is trying out a new type of chicken nugget")


def _read(article: str, question: str, **fields):
    """The draft answer to `question` from `article`, retrieved whole as one passage."""
    return ExtractiveAnswerer(article_text=lambda aid: article).draft(question, [replace(passage(article), **fields)])


def test_extractive__the_outlet_is_no_place_and_a_name_may_open_its_sentence():
    article = ("Ballot measures to legalize recreational marijuana will fail in three states and pass in two, NDN "
               "projects. Here is what voters decided in Eastmark, Norland and Westvale on Tuesday. Norland voters "
               "on Tuesday will approve an amendment that legalizes recreational marijuana for adults.")
    draft = _read(article, "Which state approved a ballot measure this week that will legalize recreational marijuana?",
                  source="ndn.com")
    assert draft.text == ("Norland voters on Tuesday will approve an amendment that legalizes recreational marijuana "
                          "for adults [1].")


def test_extractive__many_of_the_kind_asked_for_do_not_name_the_one():
    from rag.answer.extractive import _described_answer, _stems_of

    question = "Which state approved the measure?"
    assert not _described_answer("It was on ballots in a handful of states.", "state", _stems_of(question), question)
    assert _described_answer("It was on the ballot in a small state.", "state", _stems_of(question), question)


def test_extractive__a_place_given_by_its_adjective_comes_with_the_sentence_that_names_it():
    article = ("A massive database holding the personal data of up to one billion Norlandic citizens was left "
               "open online for a year, in what may be the biggest data leak yet. The police did not respond. "
               "Norland is home to 1.4 billion people, so most of them may be affected.")
    draft = _read(article, "Where did the massive data leak occur?")
    assert draft.text is not None and "Norland is home" in draft.text and len(draft.sentences) == 2
    # a sentence that names the place itself needs nothing more
    named = ("A massive Norlandic database of personal data was left open online in Riverton, the capital. "
             "Norland is home to many people.")
    draft = _read(named, "Where was the database left open?")
    assert draft.text is not None and "Riverton" in draft.text and "home to" not in draft.text


def test_extractive__things_pointed_back_at_come_with_the_sentence_that_names_them():
    article = ("The Norland Health Agency approved the rule in August. Traditional prescription hearing aids cost "
               "on average $2,000 per ear. Under the rule, adults will be able to buy these devices in stores "
               "without a prescription starting Monday.")
    draft = _read(article, "Which item can adults now purchase in stores without needing a prescription?")
    assert draft.text is not None and "hearing aids" in draft.text and "these devices" in draft.text


def test_extractive__where_in_a_country_is_answered_by_a_place_inside_it():
    from rag.answer.extractive import _type_match

    question = "Where in the US is it illegal to pump your own gas?"
    # the question's own place under another name is no answer ("the United States", "Americans")
    assert _type_match("place", "The earliest self-service gas pumps in the United States appeared around 1915.",
                       question) < 0.8
    article = ("Most Americans facing record gas prices cringe when they fill up their tanks. In New Jersey, it's "
               "been illegal for drivers to pump their own gas since 1949. The earliest self-service gas pumps in "
               "the United States appeared around 1915.")
    draft = ExtractiveAnswerer().draft(question, [passage(article, title="Why one state still bans self-service")])
    assert draft.text == "In New Jersey, it's been illegal for drivers to pump their own gas since 1949 [1]."
    # (a sentence framed "In Canada, ..." still does not answer about the US)
    other = passage("In Canada, it has been illegal for drivers to pump their own gas since 1949.", title="Gas")
    assert ExtractiveAnswerer().draft("When did it become illegal to pump your own gas in the US?", [other]).text \
        is None


def test_extractive__who_won_is_answered_by_a_sentence_that_says_someone_won():
    from rag.answer.extractive import _doer_verb

    assert _doer_verb(analyze("Who holds the record?")) is None  # ("set the record" says it as well)
    assert _doer_verb(analyze("Who is expected to sign it?")) is None
    passages = [passage("The bill was pushed through by President Alain Morel, who was elected a year earlier, "
                        "and his party.", aid="a", title="Norland election", score=0.9)]
    assert ExtractiveAnswerer().draft("Who won the election in Norland?", passages).text is None
    passages.append(passage("Ines Castro beat the incumbent in the Norland election on Sunday.", aid="b", score=0.6))
    draft = ExtractiveAnswerer().draft("Who won the election in Norland?", passages)
    assert draft.text is not None and "Castro" in draft.text


def test_extractive__how_strong_or_hot_is_answered_by_a_figure_in_its_unit():
    article = ("That could interrupt the celebration for many in the nation, which may be socked by heavy rains and "
               "potent winds. Its maximum sustained winds on Wednesday were 150 mph, making it a super typhoon.")
    draft = ExtractiveAnswerer().draft("How strong are the winds of Typhoon Maysak?",
                                       [passage(article, title="Typhoon Maysak heads for the Philippines")])
    assert draft.text == "Its maximum sustained winds on Wednesday were 150 mph, making it a super typhoon [1]."


def test_extractive__a_figure_that_counts_something_else_does_not_answer_how_many():
    from rag.answer.extractive import _number_match

    question = "How many Uber drivers will lose jobs under the Q7 bill?"
    assert _number_match("There were more than 50 industries carved out of Q7.", question) < 0.6
    assert _number_match("More than 400 engineers and product team employees were let go.", question) < 0.6
    assert _number_match("Some 3,000 drivers will lose their jobs.", question) == 1.0
    assert _number_match("About 10,000 of its drivers could lose work.", question) == 1.0
    assert _number_match("Uber said 1,200 would lose jobs.", question) == 0.6  # a bare figure may still answer
    # the counted noun need not be the word after "how many"; a death toll has its own words ("bodies")
    assert _number_match("There are more than 10,000 monkeypox cases in the US.",
                         "How many positive monkeypox cases are in the US?") >= 0.6
    assert _number_match("Rescuers found 12 bodies.", "How many people died?") >= 0.6
    draft = ExtractiveAnswerer().draft(question, [passage(
        "The Q7 bill passed on Tuesday. The fact that more than 50 industries were carved out of Q7 is very "
        "telling, Uber said of its drivers.", title="What the Q7 bill means for Uber drivers")])
    assert draft.text is None


def test_extractive__how_much_something_rose_is_answered_by_a_change_not_a_level():
    from rag.answer.extractive import _number_match

    question = "How much have gas prices increased over the past year?"
    assert _number_match("The average gas price fell below the $5 mark.", question) == 0.6
    assert _number_match("Gas prices were up nearly 60% over the year.", question) == 1.0
    assert _number_match("Prices rose by $1.20 a gallon.", question) == 1.0
    # a price asked for where the scene has a change ("the Sunday it fell below $5") is a level
    assert _number_match("The average was $4.98 a gallon.", "What was the gas price on the Sunday it fell below "
                         "$5 a gallon?", "much") == 1.0
    passages = [
        passage("Gas prices this year: the average for a gallon of gas hit $4.96, AAA said.", aid="a", score=0.9),
        passage("Gas prices this year: up nearly 60% from a year ago, AAA said.", aid="b", score=0.6)]
    draft = ExtractiveAnswerer().draft(question, passages)
    assert draft.text == "Gas prices this year: up nearly 60% from a year ago, AAA said [1]."


def test_extractive__a_passage_that_shares_only_the_question_s_names_does_not_answer():
    rare = ExtractiveAnswerer(idf=lambda terms: {t: 6.0 if t == "marvel" else 1.0 for t in terms})
    passages = [passage("The company Norland Pictures did not show the Marvel movie in several countries.", aid="a",
                        title="Marvel film banned", score=0.9)]
    question = "Which company recalled Marvel-branded hand sanitizers?"
    assert rare.draft(question, passages).text is None
    # the same sentence where its passage speaks of the recall answers
    recall = passage("The company Norland Pictures did not show the Marvel movie in several countries. Separately, "
                     "hand sanitizers were recalled.", aid="b", title="Recall of hand sanitizers", score=0.9)
    assert rare.draft(question, [recall]).text is not None
    # "what happened" says nothing more than its names
    farm = passage("A grower set a record at the Great Pumpkin Farm in Clarence, weighing a 2,554-pound pumpkin.")
    assert ExtractiveAnswerer().draft("What happened at the Great Pumpkin Farm in Clarence?", [farm]).text


def test_extractive__a_count_of_what_befell_people_needs_a_sentence_that_says_it():
    passages = [passage("The park is one of the most visited in the country, drawing more than 3.3 million people "
                        "in 2021. The Riverton Fire has swelled to nearly 500 acres near the grove.",
                        title="Riverton Fire near the park")]
    draft = ExtractiveAnswerer().draft("How many people died in the Riverton Fire?", passages)
    assert draft.text is None and draft.refusal == ("The articles don't say: the closest passages do not give the "
                                                    "figure asked for.")
    toll = passage("The death toll from the Riverton Fire rose to 4 on Sunday, officials said.")
    assert "rose to 4" in (ExtractiveAnswerer().draft("How many people died in the Riverton Fire?", [toll]).text or "")
    # what a film cost is not what it earned
    cost = passage("Superhero films typically cost $150-200 million to make, more than the Riverton film did.")
    assert ExtractiveAnswerer().draft("How much did the Riverton film earn at the box office?", [cost]).text is None
    # what the counted things were recalled for is not what befell them
    recall = passage("The recall affects 2 million swings and 220,000 rockers after reports of infant injuries.")
    draft = ExtractiveAnswerer().draft("About how many swings were recalled due to reports of infant injuries?",
                                       [recall])
    assert draft.text is not None and "2 million" in draft.text


def test_extractive__an_editor_s_note_is_page_furniture_and_a_quoted_first_word_names_nothing():
    from rag.answer.evidence import names_in
    from rag.answer.extractive import _usable

    assert not _usable("Editor’s Note: For more on the fires, watch the series on Sunday nights.")
    assert names_in("“Although crews were ready, the wind rose,” said Dana Holt.") == ["Dana Holt"]


def test_extractive__a_prison_term_is_what_someone_was_sentenced_to():
    assert analyze("What sentence did the player receive?").kind == "number"
    assert analyze("What sentence did the article open with?").kind == "thing"
    article = ("More than five months have passed since the player was detained on charges that could keep her "
               "imprisoned for years. On Aug. 4, she was convicted and sentenced to nine years in prison.")
    draft = ExtractiveAnswerer().draft("What sentence did the player get?", [passage(article)])
    assert draft.text == "On Aug. 4, she was convicted and sentenced to nine years in prison [1]."


def test_extractive__a_passage_about_the_prefixed_thing_does_not_answer_about_the_thing():
    p = passage("The men's draw is guaranteed a first-time champion after Dana Holt was beaten in five sets by "
                "Omar Lindqvist. The match finished at 2:23 a.m.", title="Lindqvist reaches Riverton Open quarterfinal")
    draft = ExtractiveAnswerer().draft("Who won the Riverton Open men's final?", [p])
    assert draft.text is None and draft.refusal == "The articles don't say: they mention “quarterfinal”, not “final”."


def test_extractive__last_year_in_an_article_is_the_year_before_it_was_published():
    article = "The fatal shark attack in Maine last year raised everyone's awareness, the park manager said."
    question = "When did Maine's fatal shark attack of 2021 happen?"
    assert _read(article, question, published="2021-07-01").text is None
    assert _read(article, question, published="2022-07-01").text


def test_extractive__a_when_question_is_answered_where_its_subject_does_what_it_asks():
    passages = [passage("Dana Holt or Omar Lindqvist will be named Norland's new prime minister on Sept. 5, the "
                        "party said.", aid="a", score=0.9)]
    assert ExtractiveAnswerer().draft("When did Omar Lindqvist resign as prime minister?", passages).text is None
    resigned = passage("Omar Lindqvist resigned as prime minister on July 7, after a revolt in his party.", aid="b")
    draft = ExtractiveAnswerer().draft("When did Omar Lindqvist resign as prime minister?", [*passages, resigned])
    assert draft.text == "Omar Lindqvist resigned as prime minister on July 7, after a revolt in his party [1]."


def test_extractive__who_directed_is_answered_by_the_directors():
    article = ("Warner Bros. has axed the $90 million Riverton film planned for streaming. The film's directors "
               "Dana Holt and Omar Lindqvist released a joint statement, saying they were saddened.")
    draft = _read(article, "Who directed the Riverton film?")
    assert draft.text is not None and "Dana Holt and Omar Lindqvist" in draft.text


def test_evidence__a_surname_stands_for_the_full_name_the_article_gives():
    article = ("Magnus Lindqvist is the world champion. Lindqvist spoke on Monday. For context, Lindqvist holds the "
               "record for the highest rating ever, 2,882 in 2014.")
    draft = _read(article, "What is Magnus Lindqvist's highest rating?")
    assert draft.text is not None and "2,882" in draft.text
    # throughout an article that names another Lindqvist, the surname is not enough (nor beside the question's
    # name, where another of that surname is named too: Zara and Mack Rutherford)
    both = "Magnus Lindqvist and his sister, Dana Lindqvist, play. For context, Lindqvist holds the record, 2,882."
    assert _read(both, "What is Magnus Lindqvist's highest rating?").text is None
    other = ("The world champion is Dana Lindqvist. Lindqvist spoke on Monday. For context, Lindqvist holds the "
             "record for the highest rating ever, 2,882 in 2014.")
    q = analyze("What is the highest rating of Magnus Lindqvist?")
    assert missing(q, Context(other, "", None, other)) == [Missing("entity", "Magnus Lindqvist")]
    assert missing(q, Context(article.replace("Magnus ", ""), "", None, article.replace("Magnus ", ""))) == []


def test_condense__a_title_the_answer_quotes_is_what_it_stands_for_next():
    history = [{"role": "user", "content": "Which Norland Pictures movie starring Dana Holt was cancelled?"},
               {"role": "assistant", "content": "Norland Pictures has axed the $90 million “Riverton” film [1]."}]
    assert "Riverton" in condense("Who directed it?", history)
    said = [{"role": "user", "content": "What did the mayor say?"},
            {"role": "assistant", "content": "The mayor said “We will not back down,” at the rally [1]."}]
    assert "We will" not in condense("Why did he say it?", said)


def test_extractive__a_follow_up_is_answered_where_its_own_words_are():
    article = ("Dana Holt, who was set to star in the cancelled Riverton film, thanked her fans on Instagram "
               "Wednesday. The Riverton film's directors Omar Lindqvist and Jane Roe released a joint statement.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Who directed it?", [passage(article)], "Who directed it? (Riverton Dana Holt film starring cancelled)")
    assert draft.text is not None and draft.text.startswith("The Riverton film's directors Omar Lindqvist")


def test_summary__a_sentence_that_leans_on_the_one_before_it_gives_way():
    article = ("Norland and Eastmark agreed on Monday to build a bridge. Eastmark had accused Norland of blocking the "
               "Gull River road for years. In order to refute such claims, Norland and Eastmark will build the Gull "
               "River bridge to link the Gull River road networks. The bridge will open in 2025. Officials said the "
               "crossing would cost $60 million.")
    draft = _read(article, "Summarize the article about the Gull River bridge in two sentences.",
                  title="Norland and Eastmark agree on Gull River bridge")
    assert draft.text is not None and len(draft.passages) == 2 and "such claims" not in draft.text


def test_extractive__a_measure_asked_for_is_answered_by_a_figure_of_that_measure():
    assert (analyze("At what ages did Lindqvist admit cheating?").kind,
            analyze("At what ages did Lindqvist admit cheating?").unit) == ("number", "old")
    assert analyze("What is the Riverton's range?").unit == "far"
    article = ("Meet the Riverton, the carmaker's first electric coupe. The Riverton will cost roughly $400,000. "
               "It has two doors, four seats and an estimated range of 320 miles.")
    # "It" is the Riverton the sentence before names: that sentence comes first
    assert _read(article, "What is the Riverton's range?").text == (
        "The Riverton will cost roughly $400,000 [1]. It has two doors, four seats and an estimated range of "
        "320 miles [1].")
    ages = "Lindqvist, for his part, admitted to cheating at the ages of 12 and 16, and was banned for a year."
    assert "12 and 16" in (_read(ages, "At what ages did Lindqvist admit cheating?").text or "")


def test_extractive__the_weekday_a_question_names_leans_toward_the_sentence_that_says_it():
    passages = [passage("By the evening the Riverton Fire had burned nearly 500 acres near the grove.", aid="a",
                        score=0.7, published="2022-07-08"),
                passage("The Riverton Fire grew to 2,000 acres on Sunday, officials said.", aid="b", score=0.6,
                        published="2022-07-10")]
    draft = ExtractiveAnswerer().draft("How many acres had the Riverton Fire burned by Sunday evening?", passages)
    assert draft.text is not None and draft.text.startswith("The Riverton Fire grew to 2,000 acres on Sunday")


def test_refusal__a_name_the_article_gives_is_not_said_to_be_missing():
    article = ("The Riverton film was axed on Monday. Studios cut costs this year. Budgets shrank across the "
               "industry. Streaming deals changed too. Dana Holt, who was set to star, thanked her fans on Instagram "
               "Wednesday.")
    draft = _read(article, "Who thanked the fans of Riverton for the music?")
    assert draft.text is None and "Riverton" in draft.refusal and ", not Riverton" not in draft.refusal


def test_extractive__what_someone_does_for_a_living_is_their_job():
    assert analyze("What does Dana Holt do for a living?").kind == "thing"
    article = ("Dana Holt, a horticulture teacher from Norland, grew a giant pumpkin at home. Holt set a record with "
               "it on Monday.")
    assert (_read(article, "What does Dana Holt do for a living?").text or "").startswith("Dana Holt, a horticulture")


def test_extractive__a_sentence_about_an_earlier_year_does_not_answer_this_week():
    passages = [passage("Legalization for recreational marijuana had passed in Westvale in 2020, but courts voided it.",
                        aid="a", score=0.9, published="2022-11-09"),
                passage("Voters in Norland approved legalizing recreational marijuana on Tuesday.", aid="b", score=0.6,
                        published="2022-11-09")]
    draft = ExtractiveAnswerer().draft("Which state voted this week to legalize recreational marijuana?", passages,
                                       asked_on=dt.date(2022, 11, 11))
    assert draft.text is not None and draft.text.startswith("Voters in Norland")


def test_extractive__gone_up_asks_for_a_change_and_a_quoted_link_label_is_furniture():
    from rag.answer.extractive import _number_match, _usable

    assert _number_match("The average hit $5 a gallon.", "How much have gas prices gone up this year?") == 0.6
    assert _number_match("Prices are up $1.93 from last year.", "How much have gas prices gone up this year?") == 1.0
    assert not _usable("'YOUR LAWYERS MESSED UP':Dana Holt confronted with texts in defamation trial")


def test_evidence__a_year_before_a_comma_is_a_year():
    q = analyze("What share of transactions went through self-checkout in 2020?")
    assert q.years == ("2020",)
    sentence = "In 2020, 29% of transactions at food retailers were processed through self-checkout."
    assert missing(q, Context(sentence, "", "2022-07-01", sentence)) == []


def test_extractive__the_n_th_of_a_series_is_a_constraint():
    article = ("Norland Oil reported its biggest quarterly profit in 14 years on Tuesday. Norland Oil posted $8.5 "
               "billion in profit in the second quarter, triple what it made a year ago.")
    draft = _read(article, "How much profit did Norland Oil make in the third quarter?")
    assert draft.text is None and draft.refusal == ("The articles don't say: they mention the second quarter, not "
                                                    "the third quarter.")
    assert "$8.5 billion" in (_read(article, "How much profit did Norland Oil make in the second quarter?").text or "")
    # "last year" in a comparison is no year the sentence is about; a profit is money, not "14 years"
    compared = ("Norland Oil reported its biggest quarterly profit in 14 years on Tuesday. Norland Oil posted $8.5 "
                "billion in profit in the second quarter, triple what it made in the same period last year.")
    assert "$8.5 billion" in (_read(compared, "How much profit did Norland Oil make in the second quarter of 2022?",
                                    published="2022-08-02").text or "")


def test_refusal__names_another_body_rather_than_a_people():
    from rag.answer.evidence import refusal

    text = "This trial, with French company Valneva, will enroll about 6,000 volunteers."
    assert refusal(Missing("entity", "Moderna"), text, None, "How many will Moderna's trial enroll?") == (
        "The articles don't say: they mention Valneva, not Moderna.")


def test_extractive__a_follow_up_stays_with_the_article_the_last_answer_quoted():
    lyme = passage("Norpharm and a partner are launching a trial of a vaccine against Lyme disease, the companies "
                   "said. Assuming the trial goes well, the companies would likely submit a request for approval "
                   "in 2025.", aid="lyme", score=0.5)
    booster = passage("Norpharm has sought FDA approval of its updated Covid vaccine booster, which could "
                      "be available in September.", aid="covid", score=0.7)
    history = [{"role": "user", "content": "What did Norpharm announce about a Lyme disease vaccine?"},
               {"role": "assistant", "content": "Norpharm and a partner are launching a trial of a vaccine against "
                                                "Lyme disease, the companies said [1]."}]
    draft = ExtractiveAnswerer().draft("When might they ask for approval?", [booster, lyme],
                                       "When might they ask for approval? (Lyme Norpharm vaccine)", history=history)
    assert draft.text is not None and "2025" in draft.text


def test_extractive__a_present_tense_follow_up_is_not_answered_from_a_newer_article_on_another_topic():
    # The newer article's sentence has both of the follow-up's own words ("expected", "sign"); the sentence
    # of the article the last answer quoted has one, and the name asked for.
    bill = passage("The Q7 bill applies a strict test to decide whether workers are employees. Expected to have "
                   "wide implications, the measure is expected to reach Gov. Dana Reyes's desk soon.", aid="bill",
                   published="2019-09-10", score=0.6)
    sport = passage("Kyle Marsh, Hawks (unrestricted): Marsh declined his $36.4 million player option in a move "
                    "widely expected to clear the three-time All-Star to re-sign with the Hawks on a five-year max "
                    "deal.", aid="sport", published="2022-07-01", score=0.7)
    history = [{"role": "user", "content": "What is the Q7 bill?"},
               {"role": "assistant", "content": "The Q7 bill applies a strict test to decide whether workers are "
                                                "employees [1]."}]
    for passages in ([sport, bill], [bill, sport]):
        draft = ExtractiveAnswerer().draft("Who is expected to sign it?", passages,
                                           "Who is expected to sign it? (Q7 bill)", history=history)
        assert draft.text is not None and "Reyes" in draft.text


def test_extractive__a_follow_up_whose_own_words_no_sentence_has_still_gets_its_answer():
    article = ("In May, the presidents signed an agreement to build a 170-kilometre section of the railroad in "
               "northern Norland, from Astara on the border to the city of Riverton. The work starts next year.")
    draft = ExtractiveAnswerer(article_text=lambda aid: article).draft(
        "Which city will that line end in?", [passage(article)],
        "Which city will that line end in? (railroad Norland build agreement)")
    assert draft.text is not None and "Riverton" in draft.text


def test_extractive__a_second_sentence_that_gives_the_same_figure_is_padding():
    article = ("The Riverton bridge will cost $608 million, officials said on Monday. Officials said the $608 million "
               "cost of the Riverton bridge would be shared. The work starts in May.")
    draft = _read(article, "How much will the Riverton bridge cost?")
    assert draft.text is not None and draft.text.count("[") == 1


def test_extractive__which_court_is_answered_by_a_court_not_a_law():
    article = ("The ruling, released May 31, reversed an earlier judgment which found bumblebees could not be "
               "treated as fish under the Norland Endangered Species Act, a state law. “The issue is whether the "
               "bumblebee falls within the definition of fish,” wrote Norland's Third District Court of Appeal.")
    draft = _read(article, "Which court decided that bumblebees could be treated as fish under state law?")
    assert draft.text is not None and "Third District Court of Appeal" in draft.text and "Species Act" not in draft.text


def test_summary__a_caption_printed_twice_is_no_summary_sentence():
    caption = "Residents watch as a column of smoke rises from a fire in Riverton, Norland, on July 17."
    article = ("Hundreds of millions of people sweltered in extreme heat on Wednesday as heat waves set Norland's "
               f"countryside on fire. {caption} {caption} The heat wave in Norland broke records in Riverton on "
               "Tuesday, officials said. Firefighters in Norland battled the heat wave fires through the night.")
    draft = _read(article, "Summarize the article about the heat wave in Norland.", title="Norland heat wave fires")
    assert draft.text is not None and "column of smoke" not in draft.text
