"""The terminal rendering of an answer: each source shows the sentence the answer rests on."""

from rag.types import Answer, Citation
from ui.cli import format_answer

PASSAGE = ("Indeed, establishing this corridor is very important for the region and for trade between the two "
           "countries, officials said at length on Thursday in the capital. " * 3
           + "The bridge will be 100 meters long. Work starts next spring.")


def _answer() -> Answer:
    c = Citation(n=1, article_id="a", chunk_id="c", title="Bridge", url=None, published="2023-09-28",
                 source="caspian.example", passage=PASSAGE, start=0, end=len(PASSAGE), score=0.5)
    return Answer(question="How long?", text="The bridge will be 100 meters long [1].", refused=False,
                  citations=(c,))


def test_format_answer__shows_the_cited_sentence_not_the_head_of_the_chunk():
    text = format_answer(_answer())
    assert "“The bridge will be 100 meters long.”" in text
    assert "Indeed, establishing" not in text


def test_format_answer__full_shows_the_whole_passage():
    assert "Indeed, establishing" in format_answer(_answer(), full=True)
