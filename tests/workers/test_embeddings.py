"""The event log's embedding functions: the offline hashed one, and how EMBEDDING_FUNCTION picks
one (falling back to it when ChromaDB's default model cannot be loaded, for `auto` only)."""

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workers import embeddings
from workers.embeddings import DIMENSIONS, HashedEmbedding, load_embedding

ROOT = Path(__file__).resolve().parents[2]
LEG_DAY = "Sarah beat John's 'Leg Day' challenge"
LEG_DAY_TOO = "Mike beat Lisa's 'leg day' challenge"
UNRELATED = "Bob declined Carol's challenge 'Arm Destroyer'"


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


class ModelUnavailable:
    """ChromaDefaultEmbedding on a host without the model files and without network."""

    name = "chroma-default-all-MiniLM-L6-v2"

    def __init__(self):
        raise OSError("all-MiniLM-L6-v2 is not in ~/.cache/chroma/onnx_models and cannot be downloaded")


@pytest.fixture
def offline(monkeypatch):
    """No network: any attempt to open a connection fails, as on an air-gapped host."""

    def refuse(*args, **kwargs):
        raise OSError("network is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def no_model(monkeypatch):
    monkeypatch.setattr(embeddings, "ChromaDefaultEmbedding", ModelUnavailable)


def test_hashed_vectors_have_384_dimensions_and_unit_length():
    # Given sentences of the event log, short and long, with quotes, digits and an emoji
    texts = [LEG_DAY, UNRELATED, "Mike abandoned challenge from Lisa for 'Arm Destroyer' with reason: "
             "Too hard for me 😓", "John challenged Sarah to 'Beast Mode Legs' (35 min, 10000 lbs)", "x"]

    # When they are embedded in one call
    vectors = HashedEmbedding()(texts)

    # Then there is one vector per text, each of 384 floats and of length one
    assert len(vectors) == len(texts)
    for vector in vectors:
        assert len(vector) == DIMENSIONS == 384
        assert all(isinstance(v, float) for v in vector)
        assert norm(vector) == pytest.approx(1.0, abs=1e-9)


def test_hashed_vectors_are_the_same_every_time_and_in_every_process():
    # Given a sentence embedded here
    here = HashedEmbedding()([LEG_DAY])[0]

    # When it is embedded again, by a new instance, and by another Python process with another
    # string-hash seed (a worker, `challenges reindex`)
    again = HashedEmbedding().embed(LEG_DAY)
    code = (f"import json; from workers.embeddings import HashedEmbedding; "
            f"print(json.dumps(HashedEmbedding.embed({LEG_DAY!r})))")
    elsewhere = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=60)

    # Then every vector is the same, number for number
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert again == here
    assert json.loads(elsewhere.stdout) == here


def test_similar_sentences_are_closer_than_unrelated_ones():
    # Given two victories on a leg day workout, by other people and in other case, and a decline
    [victory, other_victory, decline] = HashedEmbedding()([LEG_DAY, LEG_DAY_TOO, UNRELATED])

    # When their cosine similarities are compared
    similar, unrelated = cosine(victory, other_victory), cosine(victory, decline)

    # Then the two victories are clearly closer to each other than to the decline
    assert similar > unrelated
    assert similar > 0.3
    assert unrelated < similar - 0.2


def test_hashed_ignores_case_and_punctuation():
    # Given the same words written differently
    [plain, shouted] = HashedEmbedding()(["leg day challenge", "LEG-DAY, challenge!"])

    # Then they embed to the same vector
    assert shouted == pytest.approx(plain)


def test_hashed_is_loaded_without_network_or_model(offline, no_model):
    # Given a host without network and without ChromaDB's model

    # When EMBEDDING_FUNCTION=hashed is loaded
    function = load_embedding("hashed")

    # Then the hashed embedding is in use and embeds
    assert isinstance(function, HashedEmbedding)
    assert function.name == "hashed-words-v2"
    [vector] = function(["Sarah accepted John's challenge 'Beast Mode Legs'"])
    assert len(vector) == 384 and norm(vector) == pytest.approx(1.0)


def test_auto_falls_back_to_hashed_when_the_default_model_cannot_load(offline, no_model, caplog):
    # Given a host where ChromaDB's default model cannot be loaded

    # When EMBEDDING_FUNCTION=auto is loaded
    with caplog.at_level("WARNING", logger="workers.embeddings"):
        function = load_embedding("auto")

    # Then the offline hashed embedding is used, and the operator is warned why
    assert isinstance(function, HashedEmbedding)
    assert function.name == "hashed-words-v2"
    assert function([LEG_DAY]) == [HashedEmbedding.embed(LEG_DAY)]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("could not be loaded" in w and "hashed" in w for w in warnings), warnings


def test_default_refuses_to_fall_back_when_its_model_cannot_load(offline, no_model):
    # Given a host where ChromaDB's default model cannot be loaded

    # When EMBEDDING_FUNCTION=default is loaded
    with pytest.raises(RuntimeError) as raised:
        load_embedding("default")

    # Then it fails, telling the operator what to do, with the loading error as its cause
    assert "EMBEDDING_FUNCTION=hashed" in str(raised.value)
    assert isinstance(raised.value.__cause__, OSError)


@pytest.mark.parametrize("choice", ["", "Hashed", "openai", "minilm"])
def test_an_unknown_embedding_name_is_refused(choice):
    # When an embedding function that does not exist is asked for
    with pytest.raises(ValueError) as raised:
        load_embedding(choice)

    # Then the error names the valid choices
    assert "default, hashed or auto" in str(raised.value)
