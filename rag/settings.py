"""One settings object. Sources, strongest first: explicit arguments, NEWSDESK_* environment variables,
`newsdesk.toml` (path from NEWSDESK_CONFIG, else ./newsdesk.toml), defaults.

>>> Settings(top_k=3).top_k
3
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from rag.errors import SettingsError

DEFAULT_EMBEDDING = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSDESK_", extra="forbid", validate_default=True)

    store: Path = Path(".newsdesk")
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000: use a Chroma server instead of the embedded store
    collection: str = "newsdesk"

    embedding_model: str = DEFAULT_EMBEDDING  # or "openai:text-embedding-3-small"
    # Graph of the bundled MiniLM: int8 (8-bit dense projections, ~1.8x the speed, cosine > 0.99 to fp32) or fp32.
    # A store records the variant it was built with and refuses the other one.
    embedding_precision: Literal["int8", "fp32"] = "int8"
    embedding_batch: int = Field(64, ge=1, le=4096)
    chunk_tokens: int = Field(192, ge=32, le=2048)  # target chunk size in cl100k tokens
    chunk_overlap: int = Field(32, ge=0, le=512)

    top_k: int = Field(5, ge=1, le=100)
    candidates: int = Field(40, ge=1, le=1000)  # per retriever, before fusion
    # Reciprocal rank fusion: on all 98 RealTime QA dev questions over the whole 3,000-article store it matched
    # or beat the convex combination on every retrieval and answer metric (MRR@10 0.561 against 0.546), and it
    # has no weight to tune.
    fusion: Literal["convex", "rrf", "dense", "bm25"] = "rrf"
    fusion_alpha: float = Field(0.8, ge=0.0, le=1.0)  # weight of dense scores in the convex fusion
    rrf_k: int = Field(60, ge=1)
    min_relevance: float = Field(0.35, ge=0.0, le=1.0)  # below it the question is refused
    # The rerank stage (rag/retrieve/rerank.py), weights fitted on questions made from the corpus: "date" = fitted
    # fusion + the date prior and date-window channel; "all" adds sentence/title/entity/number evidence and
    # article-level ranking; "fusion", "rerank", "article", "date+article" = other subsets (for the ablation); "off"
    # = plain fusion. "date" is the default because on the RealTime QA dev questions over the whole rtqa store it
    # ranked articles best (hit@1 0.571, MRR@10 0.723, against 0.520 / 0.699 for "all" and 0.378 / 0.561 for "off"):
    # the corpus-made questions copy their article's words, so the fit overrates word overlap for questions that
    # paraphrase.
    rerank: Literal["off", "fusion", "date", "article", "rerank", "date+article", "all"] = "date"
    rerank_candidates: int = Field(100, ge=1, le=1000)  # per retriever when reranking
    rerank_pool: int = Field(60, ge=1, le=1000)  # fused chunks the reranker scores

    answerer: Literal["extractive", "openai"] = "extractive"
    fallback: Literal["none", "extractive"] = "none"
    verifier: Literal["lexical", "model"] = "lexical"  # answer verification: the learned judge or the lexical scorer
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(2, ge=0, le=10)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)

    ui_auth: str | None = None  # "user:password" for basic auth in the web chat
    api_token: str | None = None  # bearer token `newsdesk serve` / `newsdesk mcp --http` require when set
    max_question_chars: int = Field(2000, ge=10)

    @field_validator("chroma_url", "llm_base_url", "llm_model", "llm_api_key", "ui_auth", "api_token",
                     mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("chunk_overlap")
    @classmethod
    def _overlap_below_size(cls, v: int, info) -> int:  # type: ignore[no-untyped-def]
        size = info.data.get("chunk_tokens")
        if size is not None and v >= size:
            raise ValueError("must be smaller than chunk_tokens")
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = Path(os.environ.get("NEWSDESK_CONFIG", "newsdesk.toml"))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    @property
    def api_key(self) -> str | None:
        return self.llm_api_key or os.environ.get("OPENAI_API_KEY") or None

    def require_llm(self) -> None:
        """Fail before any work when the openai answerer cannot run."""
        missing = []
        if not self.llm_model:
            missing.append("llm_model (NEWSDESK_LLM_MODEL)")
        if not self.llm_base_url and not self.api_key:
            missing.append("llm_base_url (NEWSDESK_LLM_BASE_URL) or an API key (NEWSDESK_LLM_API_KEY / OPENAI_API_KEY)")
        if missing:
            raise SettingsError("the openai answerer needs " + " and ".join(missing))


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one SettingsError that names the variable."""
    try:
        given: dict[str, Any] = {k: v for k, v in overrides.items() if v is not None}
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{name} (NEWSDESK_{name.upper()}): {err['msg']}")
        raise SettingsError("bad setting " + "; ".join(problems)) from None
    except ValueError as exc:  # e.g. a malformed newsdesk.toml
        raise SettingsError(f"cannot read settings: {exc} (check newsdesk.toml or NEWSDESK_CONFIG)") from None
