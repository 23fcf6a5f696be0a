"""Quit reasons by meaning: a custom reason is counted with the preset reason nearest to it in the
event log's embedding, or as 'other' when none is near enough. Only the category is kept for the
crowd and the analytics (workout_challenges.quit_category); the text stays the athlete's.

MIN_SIMILARITY was chosen on this model (cosine similarity of normalised vectors): "way too
hard" is 0.68 from "Too hard for me", "i quit" 0.42 from "I give up", "not in the mood" 0.32
from "Not feeling it today", while "my knee hurts" (0.25) and "ran out of time" (0.22) are near
no preset and count as 'other' (tests/core/test_quit_reasons.py)."""

from core.rules.challenges import QUIT_REASONS

OTHER = "other"
MIN_SIMILARITY = 0.3


def is_custom(reason: str | None) -> bool:
    return reason is not None and reason not in QUIT_REASONS


def categories(embed, reasons: list[str]) -> list[str]:
    """The category of each reason: itself when it is a preset, else the nearest preset or
    'other'. `embed` is the event log's embedding (normalised vectors)."""
    custom = list(dict.fromkeys(reason for reason in reasons if is_custom(reason)))
    nearest = {}
    if custom:
        presets = embed(list(QUIT_REASONS))
        for reason, vector in zip(custom, embed(custom)):
            similarity, preset = max((sum(a * b for a, b in zip(vector, p)), preset)
                                     for p, preset in zip(presets, QUIT_REASONS))
            nearest[reason] = preset if similarity >= MIN_SIMILARITY else OTHER
    return [nearest.get(reason, reason) for reason in reasons]
