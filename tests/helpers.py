"""Drive the API as users do: a signed token per user, `Prefer: wait=5` unless told not to."""

import uuid
from contextlib import contextmanager

from falcon import testing

from jobs.tokens import issue_token
from tests.conftest import SETTINGS

API = "/api/v1"


@contextmanager
def serving(settings):
    """A test client of an app built from `settings` as gunicorn builds it (its own Redis client
    and pool), closed afterwards: for APIs whose dependencies are elsewhere or gone."""
    from api.app import create_app

    app = create_app(settings)
    try:
        yield testing.TestClient(app)
    finally:
        app.close()


class Api:
    def __init__(self, app):
        self.client = testing.TestClient(app)

    def call(self, method, path, user=None, body=None, wait=5, headers=None, token=None):
        headers = dict(headers or {})
        if token or user:
            headers["Authorization"] = f"Bearer {token or issue_token(SETTINGS, user)}"
        if wait and method in {"POST", "PUT", "DELETE"}:
            headers.setdefault("Prefer", f"wait={wait}")
        return self.client.simulate_request(method, API + path, json=body, headers=headers)

    def get(self, path, user, **kwargs):
        return self.call("GET", path, user, **kwargs)

    def post(self, path, user, body=None, **kwargs):
        return self.call("POST", path, user, body, **kwargs)

    def put(self, path, user, body=None, **kwargs):
        return self.call("PUT", path, user, body, **kwargs)

    def delete(self, path, user, **kwargs):
        return self.call("DELETE", path, user, **kwargs)

    # Factories: each goes through the API and asserts it worked.

    def sign_up(self, name: str) -> str:
        user = str(uuid.uuid4())
        response = self.put("/me", user, {"display_name": name})
        assert response.status_code == 200, response.text
        return user

    def befriend(self, a: str, b: str) -> None:
        assert self.post("/friends/requests", a, {"user_id": b}).status_code == 201
        assert self.post(f"/friends/requests/{a}/accept", b).status_code == 200

    def log_workout(self, user: str, minutes=30, volume=10000, unit="lb", name="Beast Mode Legs",
                    performed_at: str | None = None) -> str:
        body = {"workout_name": name, "duration_minutes": minutes, "total_volume": volume, "volume_unit": unit}
        if performed_at:
            body["performed_at"] = performed_at
        response = self.post("/workouts", user, body)
        assert response.status_code == 201, response.text
        return response.json["workout_log_id"]

    def log_habit(self, user: str, habit_name="water", value=1, logged_at: str | None = None) -> str:
        body = {"habit_name": habit_name, "value": value, **({"logged_at": logged_at} if logged_at else {})}
        response = self.post("/habits", user, body)
        assert response.status_code == 201, response.text
        return response.json["habit_log_id"]

    def create_community(self, coach: str, **fields) -> str:
        """A community challenge made by `coach` (a token with role coach); its id."""
        body = {"name": "20 Workouts in 30 Days", "challenge_type": "workouts", "target_value": 20,
                "duration_days": 30, **fields}
        response = self.post("/community-challenges", None, body,
                             token=issue_token(SETTINGS, coach, role="coach"))
        assert response.status_code == 201, response.text
        return response.json["community_challenge_id"]

    def join(self, user: str, community_challenge_id: str) -> None:
        response = self.post(f"/community-challenges/{community_challenge_id}/join", user)
        assert response.status_code == 200, response.text

    def challenge(self, sender: str, recipients: list[str], workout_log_id: str, **extra) -> list[str]:
        response = self.post("/challenges/create", sender,
                             {"to_user_ids": recipients, "workout_log_id": workout_log_id, **extra})
        assert response.status_code == 201, response.text
        return response.json["challenge_ids"]

    def retry(self, user: str, challenge_id: str) -> str:
        """The rematch `user` asks for; its id."""
        response = self.post(f"/challenges/retry/{challenge_id}", user)
        assert response.status_code == 201, response.text
        [rematch] = response.json["challenge_ids"]
        return rematch

    def notifications(self, user: str) -> list[dict]:
        response = self.get("/notifications", user)
        assert response.status_code == 200, response.text
        return response.json["items"]
