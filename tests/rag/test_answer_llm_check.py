"""The LLM answerer gets the extractive answer's answerability check and each passage's metadata: a question
whose constraining name no retrieved passage carries is refused with the reason before any LLM call, and the
prompt names each passage's title, date, author and source."""


import pytest

from rag.assistant import Assistant
from rag.testing import FakeOpenAIServer, HashEmbedder

ARTICLES = [
    {"id": "bridge", "title": "Border bridge agreed", "published": "2023-09-28", "source": "caliber.az",
     "author": "Fuad Shahbazov",
     "text": "Iran and Azerbaijan agreed to build a bridge on the Astarachay River. The bridge will be about "
             "100 meters long with a width of 31 meters. Construction starts next spring."},
    {"id": "fed", "title": "Fed raises rates", "published": "2022-06-15", "source": "usatoday.com",
     "text": "The Federal Reserve raised its key interest rate by 0.75 percentage points on Wednesday to fight "
             "inflation. It was the largest increase since 1994."},
]


@pytest.fixture(scope="module")
def store(hash_store):
    return hash_store(ARTICLES)


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


def llm_assistant(store, server):
    settings = store.model_copy(update={"answerer": "openai", "llm_base_url": server.base_url,
                                        "llm_model": "fake-chat", "llm_timeout": 3.0, "llm_max_retries": 0})
    return Assistant.open(settings=settings, embedder=HashEmbedder())


def test_llm__missing_constraint_is_refused_before_the_llm_is_called(store, server):
    ans = llm_assistant(store, server).ask("By how much did the European Central Bank raise its key rate?")
    assert ans.refused and ans.citations == ()
    assert ans.text == "The articles don't say: they mention the Federal Reserve, not the European Central Bank."
    assert server.chat_requests == []


def test_llm__prompt_carries_title_date_author_and_source_of_each_passage(store, server):
    server.push(lambda r: "The bridge will be about 100 meters long [1].")
    ans = llm_assistant(store, server).ask("How long will the bridge on the Astarachay River be?")
    assert not ans.refused and "100 meters" in ans.text
    prompt = server.chat_requests[-1].messages[-1]["content"]
    assert "Border bridge agreed (2023-09-28) by Fuad Shahbazov — caliber.az" in prompt
