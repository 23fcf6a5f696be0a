"""Kinds of workout, so insights can say "leg challenges" whatever a workout is called.

A workout name belongs to the kind of its nearest example in a ChromaDB collection of short
example phrases, when it is within the embedding's `kind_distance`: "Beast Mode Legs", "Leg Day
Destroyer" and "Squat Sunday" are all leg workouts. A name near no example is a kind of its own,
so "Sunday Funday" challenges are still counted together.
"""

EXAMPLES = {
    "leg": ["legs", "leg day", "squats", "lunges", "quads", "hamstrings", "glutes", "calves",
            "deadlifts", "lower body"],
    "upper-body": ["arms", "biceps", "triceps", "chest", "shoulders", "back", "bench press",
                   "push ups", "pull ups", "upper body"],
    "core": ["abs", "core", "plank", "sit ups", "crunches", "six pack"],
    "cardio": ["cardio", "running", "run", "cycling", "bike", "rowing", "hiit", "sprints", "jog",
               "swim"],
    "full-body": ["full body", "total body", "crossfit", "burpees", "circuit"],
}


def examples() -> list[tuple[str, str, str]]:
    """(id, phrase, kind) of every example; ids are stable, so upserting them is idempotent."""
    return [(f"{kind}:{phrase}", phrase, kind) for kind, phrases in EXAMPLES.items() for phrase in phrases]


def kind_key(kind: str | None, workout_name: str) -> str:
    """What events are grouped by: the kind, or the workout's own name when it has none."""
    return kind or f"'{workout_name}'"


def kind_label(kind: str | None, workout_name: str, noun: str = "challenges") -> str:
    """ "leg challenges", or "'Sunday Funday' challenges" for a workout of no known kind."""
    return f"{kind_key(kind, workout_name)} {noun}"
