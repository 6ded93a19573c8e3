"""Fakes that behave, for tests of newsdesk and of code built on it.

- `HashEmbedder`: a deterministic embedder whose similarities rank (shared words -> higher cosine).
- `FakeOpenAIServer`: a real HTTP server on 127.0.0.1 speaking the OpenAI protocol, with scripted replies.
- `ScriptedChat`: an in-process chat model that replays scripted replies and records the calls.
- `FakeClock`: the time of retry and deadline tests, with instant, recorded backoff sleeps.
- `no_network()`: makes connections to anything but the loopback interface raise.

>>> emb = HashEmbedder(dim=64)
>>> q, near, far = emb.embed(["bridge length", "the bridge is 3 km in length", "election results"])
>>> bool(q @ near > q @ far)
True
"""

from rag.testing.chat import ChatCall, ScriptedChat
from rag.testing.clock import FakeClock
from rag.testing.embedder import HashEmbedder
from rag.testing.network import NetworkBlockedError, free_port, no_network
from rag.testing.openai_server import FakeOpenAIServer
from rag.testing.replies import ErrorReply, MalformedReply, NoChoicesReply, RecordedRequest, TextReply, split_pieces

__all__ = [
    "ChatCall",
    "ErrorReply",
    "FakeClock",
    "FakeOpenAIServer",
    "HashEmbedder",
    "MalformedReply",
    "NetworkBlockedError",
    "NoChoicesReply",
    "RecordedRequest",
    "ScriptedChat",
    "TextReply",
    "free_port",
    "no_network",
    "split_pieces",
]
