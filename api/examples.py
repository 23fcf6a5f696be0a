"""Examples for the OpenAPI document, built from the response schemas themselves: each is valid
against its schema by construction (the contract tests lint them), and only the values a person
would recognise (names, numbers) are chosen here, by field name."""

import uuid

import falcon
from marshmallow import fields, validate

from api.errors import CODES_BY_STATUS, ERROR_TYPE
from api.schemas.fields import AnyOf

WHEN = "2026-11-30T18:30:00Z"
IDS = uuid.UUID("6a1f3c52-0f4b-4c7e-9d2a-5b8e1f0c7d34")  # namespace: the same name, the same id
BY_NAME = {
    "display_name": "Sarah", "challenger_name": "John", "avatar_url": None, "timezone": "Europe/London",
    "workout_name": "Beast Mode Legs", "most_retried_workout": "Beast Mode Legs",
    "name": "30 workouts in 30 days", "challenge_name": "30 workouts in 30 days",
    "description": "One workout a day, any kind.", "habit_name": None, "unit": "workouts",
    "notes": "Felt strong.", "challenge_message": "Beat this! 💪", "message": "Beat this! 💪",
    "quit_reason": "Too hard for me 😓", "most_common_quit_reason": "Too hard for me 😓",
    "label": "Too hard for me 😓", "text": "Sarah beat John's 'Beast Mode Legs' challenge",
    "duration_minutes": 28.0, "their_duration": 35.0, "your_duration": 28.0,
    "total_volume": 12500.0, "their_volume": 10000.0, "your_volume": 12500.0,
    "total_volume_kg": 5669.9, "time_difference": 7.0, "volume_difference": 2500.0,
    "time_difference_minutes": 7.0, "volume_difference_kg": 1134.0,
    "target": 30.0, "target_value": 30.0, "total": 15.0, "added": 1.0, "percentage": 50.0,
    "points": 25, "base_points": 25, "total_points": 275, "points_reward": 500,
    "multiplier": 1.0, "similarity": 0.62, "win_rate": 0.5, "retry_win_rate": 0.5,
    "abandonment_rate": 0.25, "avg_retries_to_win": 1.5, "athletes": 12, "attempts": 30, "duration_days": 30, "days_left": 15,
    "max_participants": None, "max_length": 200, "round": 2, "depth": 0, "rank": 1,
    "next_cursor": None, "marked_read": 3,
    "evidence": {"challenge_ids": [str(uuid.uuid5(IDS, "challenge_id"))], "count": 2},
    "error": None, "dependency": "postgres", "postgres": "ok", "redis": "ok", "chromadb": "ok",
}
PROBLEMS = {
    400: "The body is not valid JSON.",
    401: "The token has expired.",
    403: "You can only challenge your friends.",
    404: "No such challenge.",
    409: "The challenge is completed; only a pending challenge can be accepted.",
    413: "The body may be at most 65536 bytes; this one declares 70000.",
    414: "The request line (method, path and query) may be at most 4094 bytes.",
    422: "The request is not valid.",
    429: "Too many requests; try again in 12 seconds.",
    431: "A header may be at most 8190 bytes, and a request may have at most 100 of them.",
    503: "PostgreSQL is unavailable right now; try again shortly.",
}


def example(schema) -> dict:
    """A filled-in instance of a response schema."""
    schema_class = schema if isinstance(schema, type) else type(schema)
    return {field.data_key or name: value(name, field) for name, field in schema_class._declared_fields.items()}


def value(name: str, field: fields.Field):
    if name in BY_NAME and fits(BY_NAME[name], field):
        return BY_NAME[name]
    choices = next((v.choices for v in field.validators if isinstance(v, validate.OneOf)), None)
    if choices:
        return list(choices)[0]
    if isinstance(field, AnyOf):
        return example(field.schemas[0])
    if isinstance(field, fields.Nested):
        return example(field.nested)
    if isinstance(field, fields.List):
        return [value(name.removesuffix("s"), field.inner)]
    return scalar(name, field)


def fits(chosen, field: fields.Field) -> bool:
    """A chosen value stands for a plain field, or for any field that may be null."""
    if chosen is None:
        return field.allow_none
    return not isinstance(field, (fields.Nested, fields.List, AnyOf))


def scalar(name: str, field: fields.Field):
    if isinstance(field, fields.UUID):
        return str(uuid.uuid5(IDS, name.removesuffix("s")))
    if isinstance(field, fields.DateTime):
        return WHEN
    if isinstance(field, fields.Bool):
        return True
    if isinstance(field, fields.Int):
        return 1
    if isinstance(field, fields.Float):
        return 1.0
    if isinstance(field, fields.Dict):
        return {}
    return name.replace("_", " ")


def job(job_schema: type, done: bool) -> dict:
    """A mutation's job: queued (the 202), or succeeded with its result."""
    job = example(job_schema)
    if done:
        return {**job, "status": "succeeded"}
    return {**job, "status": "queued", "result": None}


def problem(status: int) -> dict:
    code = CODES_BY_STATUS[status]
    body = {"type": ERROR_TYPE + code, "title": falcon.code_to_http_status(status)[4:], "status": status,
            "detail": PROBLEMS[status], "code": code}
    if status == 422:
        body["errors"] = {"duration_minutes": ["Must be greater than or equal to 0.01 and less than or "
                                               "equal to 1440."]}
    if status == 503:
        body["dependency"] = "postgres"
    return body
