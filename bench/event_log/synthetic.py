"""What the event-log benchmarks fill ChromaDB with: challenge events between synthetic users,
over these workouts, with this target, and this partial attempt for a quit."""

WORKOUTS = ["Beast Mode Legs", "Leg Day Destroyer", "Squat Sunday", "Arm Destroyer", "Biceps Blast",
            "Chest Day", "Core Killer", "Plank Party", "Cardio Crusher", "Morning Run", "Full Body Burn",
            "Sunday Funday", "Push Day", "Pull Day", "Hill Sprints"]
TARGET = {"duration_minutes": 30, "total_volume": 10000, "volume_unit": "lb", "total_volume_kg": 4535.924}
PARTIAL = {"duration_minutes": 15, "total_volume": 5000, "volume_unit": "lb", "total_volume_kg": 2267.962}
