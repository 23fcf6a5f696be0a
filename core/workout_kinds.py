"""Kinds of workout, so insights can say "leg challenges" whatever a workout is called.

A workout name belongs to the kind of its nearest example in a ChromaDB collection of short
example phrases, when it is within the embedding's `kind_distance`: "Beast Mode Legs", "Leg Day
Destroyer" and "Squat Sunday" are all leg workouts. A name near no example is a kind of its own,
so "Sunday Funday" challenges are still counted together.

Calibrated on all-MiniLM-L6-v2 (int8, core/embeddings.py): cosine distance from a name to its
nearest example. Kinds are within 0.46, names a user would not give a kind are 0.51 and further
(0.54 before the exercise names below), so MiniLMEmbedding.kind_distance is 0.5, in the gap
(tests/core/test_embeddings.py checks the rows marked *):

    name                    nearest example       distance  kind
    Leg Day Destroyer *     leg day               0.212     leg
    Quad Killer *           quads                 0.286     leg
    Squat Sunday *          squat session         0.311     leg
    Beast Mode Legs *       legs                  0.371     leg
    Morning 5K Run *        5k run                0.189     cardio
    Spin Class Sprint       spin class            0.272     cardio
    Cardio Crusher *        cardio                0.273     cardio
    Marathon Prep           running               0.416     cardio
    Bench Press Bonanza *   bench press           0.220     upper-body
    Biceps Blast *          biceps                0.190     upper-body
    Push Day                push workout          0.349     upper-body
    Back Attack             back muscles          0.348     upper-body
    Arm Destroyer *         arms                  0.420     upper-body
    Arm Blaster *           arms                  0.439     upper-body
    Bicep Builder           bicep curls           0.439     upper-body
    Plank Challenge         plank                 0.155     core
    Core Killer             core                  0.231     core
    Ab Shredder *           ab burn               0.435     core
    Full Body Blast         full body             0.249     full-body
    Burpee Blitz            burpees               0.330     full-body
    Beach Body              upper body            0.456     upper-body (total body: 0.457)
    Push Through            push workout          0.445     upper-body (a miss: "push")
    ----------------------------------------------  kind_distance 0.5  -----------------
    Pull Yourself Together  face pulls            0.512     none
    Climb Every Mountain    stair climber         0.518     none
    Clean Sweep             clean and jerk        0.522     none
    Step Up Your Game       weighted step ups     0.525     none
    20 Workouts in 30 Days  push workout          0.543     none
    Yoga Flow               treadmill             0.556     none
    warm-up *               pull ups              0.570     none
    Comeback Kid            back muscles          0.610     none
    Weekend Warrior         chest day             0.615     none
    Sunday Funday *         leg day               0.643     none
    Throwback Thursday      arm day               0.652     none
    Monday Madness          chest day             0.678     none

Examples are what a user would call the kind, but the model reads words, not training plans:
"back" and "back day" put "Comeback Kid", "Back to Basics" and "Throwback Thursday" within 0.48
of upper-body, hence "back muscles" and "lats"; "push day" pulled "Sunday Funday" to 0.57, hence
"push workout"; "ab burn" is there because "abs" alone is 0.68 from "Ab Shredder".

The exercise names strength apps log most are examples too (tests/core/test_workout_kinds_table.py
holds fifty, 47 right): without "leg press", "Leg Press" was 0.26 from "bench press", an
upper-body workout. They are worded to keep names of no kind out: "weighted step ups", not
"step ups" (0.29 from "Step Up Your Game"); "parallel bar dips", not "dips" ("Skinny Dip");
"hanging knee raises", not "hanging leg raises" (which took "Leg Extension" to core); no "leg
curls" ("Hammer Curls" 0.19). A name of no kind is a safe miss (its workouts are counted under
their own name), a wrong kind is not: Russian Twists and Box Jumps stay of no kind, and Mountain
Climbers is cardio ("stair climber"), as "mountain climbers" would make "Climb Every Mountain"
full-body (KNOWN_WRONG in that test says why). The names of no kind now start at 0.51, not 0.54.

Changing EXAMPLES or the model changes kinds: the kinds collection gets the new examples when a
process opens it (upserted by id), so new lookups use them once the workers restart (a running
one keeps the kinds it already found in memory). An example removed from EXAMPLES stays in an
existing collection until `challenges reindex`. Events already indexed keep the kind they were
given ("Leg Press" as upper-body) until `challenges reindex` rebuilds them. Rerun this table
(bench/event_log/embeddings.py has the model) when changing them.
"""

EXAMPLES = {
    "leg": ["legs", "leg day", "quads", "squats", "squat session", "lunges", "hamstrings", "glutes",
            "calves", "deadlifts", "lower body", "leg press", "leg extensions", "hip thrusts",
            "weighted step ups"],
    "upper-body": ["arms", "arm day", "biceps", "bicep curls", "triceps", "chest day", "shoulders",
                   "back muscles", "lats", "bench press", "push workout", "push ups", "pull ups",
                   "upper body", "parallel bar dips", "lateral raises", "dumbbell rows", "face pulls"],
    "core": ["abs", "ab burn", "core", "plank", "sit ups", "crunches", "six pack", "hanging knee raises"],
    "cardio": ["cardio", "running", "5k run", "cycling", "spin class", "rowing", "hiit", "sprints",
               "jogging", "swimming", "rope skipping", "treadmill", "stair climber", "elliptical"],
    "full-body": ["full body", "total body", "crossfit", "burpees", "circuit", "kettlebell swings",
                  "thrusters", "clean and jerk"],
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
