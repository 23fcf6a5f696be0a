"""The ceiling for `POST /api/v1/challenges/accept/{id}`: the same route template on a bare Falcon
app that only answers 202. No auth, no database, no Redis: whatever the real endpoint costs
beyond this is the application's own work.

Served by bench/system/http.py as `gunicorn ... 'bench.system.bare_app:app'` with the Procfile's web flags.
"""

import falcon


class Accepted:
    def on_post(self, req, resp, challenge_id):
        resp.status = falcon.HTTP_202


app = falcon.App()
app.add_route("/api/v1/challenges/accept/{challenge_id:uuid}", Accepted())
