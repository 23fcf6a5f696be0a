"""Custom quit reasons counted by meaning with the event log's own model."""

import pytest

from core.embeddings import MiniLMEmbedding
from core.quit_reasons import OTHER, categories


@pytest.mark.parametrize("reason,category", [
    ("way too hard", "Too hard for me 😓"), ("i quit", "I give up 🏳️"), ("not ready", "I'm not ready yet 🙈"),
    ("maybe later", "Maybe next time 😅"), ("my knee hurts", OTHER), ("ran out of time", OTHER),
    ("This is impossible 😭", "This is impossible 😭")])
def test_a_reason_counts_with_the_preset_nearest_in_meaning_or_as_other(reason, category):
    assert categories(MiniLMEmbedding(), [reason]) == [category]


def test_presets_need_no_embedding():
    def no_embedding(texts):
        raise AssertionError("embedded")

    assert categories(no_embedding, ["I give up 🏳️"]) == ["I give up 🏳️"]
