"""The embedding function of the event log, chosen by EMBEDDING_FUNCTION:

- `default`: ChromaDB's own (the ONNX all-MiniLM-L6-v2 model, 384 dimensions). It downloads the
  model on first use unless the files are already in ~/.cache/chroma/onnx_models (README).
- `hashed`: needs nothing: a hashed bag of words and word pairs, L2-normalised, also 384
  dimensions. Similar sentences share words, so "leg day" finds "Leg Day Destroyer".
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
WORD = re.compile(r"[a-z0-9]+")


def _bucket(token: str) -> tuple[int, float]:
    digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big")
    return value % DIMENSIONS, (1.0 if value >> 63 else -1.0)


class HashedEmbedding:
    name = "hashed-words-v1"

    def __call__(self, texts: list[str]) -> list[list[float]]:
        return [self.embed(text) for text in texts]

    @staticmethod
    def embed(text: str) -> list[float]:
        words = WORD.findall(text.lower())
        tokens = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        vector = [0.0] * DIMENSIONS
        for token in tokens:
            index, sign = _bucket(token)
            vector[index] += sign
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


class ChromaDefaultEmbedding:
    name = "chroma-default-all-MiniLM-L6-v2"

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
