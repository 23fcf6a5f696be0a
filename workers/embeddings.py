"""The embedding function of the event log, chosen by EMBEDDING_FUNCTION:

- `default`: ChromaDB's own (the ONNX all-MiniLM-L6-v2 model, 384 dimensions). It downloads the
  model on first use unless the files are already in ~/.cache/chroma/onnx_models (README).
- `hashed`: needs nothing: a hashed bag of words and word pairs, L2-normalised, also 384
  dimensions. Similar sentences share words, so "leg day" finds "Leg Day Destroyer"; plurals
  are folded ("legs" is "leg").
- `auto`: `default` when its model loads, else `hashed`; what `challenges dev` uses.

One collection holds one kind of vector: the collection records the function's name, and a
mismatch asks for `challenges reindex` instead of mixing them.
"""

import hashlib
import logging
import math
import re

log = logging.getLogger("workers.embeddings")
DIMENSIONS = 384
# Each token lands in this many buckets with a quarter of its weight in each, so one collision
# of two unrelated tokens moves a cosine by a quarter of what a shared word does.
BUCKETS_PER_TOKEN = 4
WORD = re.compile(r"[a-z0-9]+")


def _buckets(token: str) -> list[tuple[int, float]]:
    digest = hashlib.blake2b(token.encode(), digest_size=8 * BUCKETS_PER_TOKEN).digest()
    values = [int.from_bytes(digest[i:i + 8], "big") for i in range(0, len(digest), 8)]
    return [(value % DIMENSIONS, 1.0 if value >> 63 else -1.0) for value in values]


def _stem(word: str) -> str:
    """Plurals folded, so "Beast Mode Legs" shares its word with "leg day"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


class HashedEmbedding:
    name = "hashed-words-v2"
    # Cosine distance within which a workout name belongs to a kind of workout (event_log).
    kind_distance = 0.72

    def __call__(self, texts: list[str]) -> list[list[float]]:
        return [self.embed(text) for text in texts]

    @staticmethod
    def embed(text: str) -> list[float]:
        words = [_stem(word) for word in WORD.findall(text.lower())]
        tokens = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        vector = [0.0] * DIMENSIONS
        for token in tokens:
            for index, sign in _buckets(token):
                vector[index] += sign
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


class ChromaDefaultEmbedding:
    name = "chroma-default-all-MiniLM-L6-v2"
    # Not calibrated on a machine with the model: related short phrases of all-MiniLM-L6-v2
    # typically score a cosine similarity above 0.4.
    kind_distance = 0.6

    def __init__(self):
        from chromadb.utils.embedding_functions import DefaultEmbeddingFunction

        self.function = DefaultEmbeddingFunction()

    def __call__(self, texts: list[str]) -> list[list[float]]:
        return [list(map(float, vector)) for vector in self.function(texts)]


def load_embedding(choice: str):
    """The embedding function for `choice`, checked to work; logs which one is in use."""
    if choice not in {"default", "hashed", "auto"}:
        raise ValueError(f"EMBEDDING_FUNCTION must be default, hashed or auto, not {choice!r}")
    if choice in {"default", "auto"}:
        try:
            function = ChromaDefaultEmbedding()
            function(["probe"])
            log.info("event log embeddings: %s (ChromaDB's default model)", function.name)
            return function
        except Exception as error:  # noqa: BLE001 (any failure to load the model means: fall back)
            if choice == "default":
                raise RuntimeError("ChromaDB's default embedding model could not be loaded; place "
                                   "its files as the README says or set EMBEDDING_FUNCTION=hashed") from error
            log.warning("event log embeddings: ChromaDB's default model could not be loaded (%s); "
                        "using the offline hashed embedding instead", error)
    function = HashedEmbedding()
    log.info("event log embeddings: %s (offline, no model download)", function.name)
    return function
