"""`create_app(settings)`: the Falcon WSGI application, and `app` for gunicorn."""

import json
from functools import partial

import falcon

from api.auth import AuthMiddleware, TokenVerifier
from api.db import ReadDatabase
from api.dispatch import Dispatcher, JobReader
from api.errors import add_error_handlers, serialize_problem
from api.metrics import ApiMetrics, MetricsEndpoint, RequestMetrics
from api.openapi import Op, build_spec
from api.rate_limits import RateLimits
from api.request_ids import RequestIds
from api.resources import (
    analytics, challenges, community, docs, feed, friends, habits, health, insights, jobs, leaderboard,
    notifications, points, users, workouts)
from api.validation import BodySizeLimit, Cursors
from core.commands import JobStore
from core.connections import connect_redis
from core.db import json_default
from core.event_log import EventLog
from core.settings import Settings

API = "/api/v1"
OPENAPI_DOCUMENT = {"type": "object", "description": "An OpenAPI 3.1 document: this one."}


class OpenAPIDocument:
    public = True
    openapi = {"get": Op("getOpenApiDocument", "This OpenAPI 3.1 document", offline=True,
                         response=OPENAPI_DOCUMENT)}

    def __init__(self, routes):
        self.document = None
        self.routes = routes

    def on_get(self, req, resp):
        self.document = self.document or build_spec(self.routes)
        resp.media = self.document


def routes(db, redis_client, dispatcher, jobs_reader, event_log, rate_limits, cursors,
           crowd_min_athletes) -> list[tuple[str, object]]:
    dependencies = health.DependencyChecks.of(db, redis_client, event_log)
    api_routes = [
        ("/me", users.Me(db, dispatcher)),
        ("/users/{user_id:uuid}", users.User(db)),
        ("/friends", friends.Friends(db)),
        ("/friends/requests", friends.FriendRequests(db, dispatcher)),
        ("/friends/requests/{user_id:uuid}/accept", friends.FriendRequestAccept(db, dispatcher)),
        ("/friends/{user_id:uuid}", friends.Friend(db, dispatcher)),
        ("/workouts", workouts.Workouts(db, dispatcher, cursors)),
        ("/habits", habits.Habits(dispatcher)),
        ("/feed", feed.Feed(db, cursors)),
        ("/challenges/create", challenges.ChallengeCreate(db, dispatcher)),
        *challenges.command_routes(db, dispatcher),
        ("/challenges/list", challenges.ChallengeList(db, cursors)),
        ("/challenges/stats", challenges.ChallengeStatsResource(db)),
        ("/challenges/leaderboard", leaderboard.ChallengeLeaderboard(db)),
        ("/challenges/quit-reasons", challenges.QuitReasonsResource()),
        ("/challenges/{challenge_id:uuid}",
         challenges.ChallengeItem(db, dispatcher, event_log, crowd_min_athletes)),
        ("/challenges/{challenge_id:uuid}/chain", challenges.ChallengeChain(db)),
        ("/community-challenges", community.CommunityChallenges(db, dispatcher, cursors)),
        ("/community-challenges/mine", community.MyCommunityChallenges(db)),
        ("/community-challenges/{challenge_id:uuid}", community.CommunityChallengeItem(db)),
        ("/community-challenges/{challenge_id:uuid}/join", community.CommunityJoin(db, dispatcher)),
        ("/community-challenges/{challenge_id:uuid}/leaderboard",
         community.CommunityChallengeLeaderboard(db)),
        ("/points", points.PointsResource(db, cursors)),
        ("/notifications", notifications.Notifications(db, cursors)),
        ("/notifications/read-all", notifications.NotificationsReadAll(dispatcher)),
        ("/notifications/{notification_id:uuid}/read", notifications.NotificationRead(db, dispatcher)),
        ("/insights", insights.InsightList(db, event_log, crowd_min_athletes)),
        ("/insights/search", insights.InsightSearch(event_log, rate_limits)),
        ("/analytics/workouts", analytics.WorkoutsAnalytics(db)),
        ("/analytics/hours", analytics.HoursAnalytics(db)),
        ("/analytics/pairs", analytics.PairsAnalytics(db)),
        ("/analytics/quit-reasons", analytics.QuitReasonsAnalytics(db)),
        ("/analytics/completion", analytics.CompletionAnalytics(db)),
        ("/jobs/{job_id:uuid}", jobs.JobItem(jobs_reader)),
        ("/healthz", health.Health(documented=False)),
        ("/readyz", health.Ready(dependencies, documented=False)),
    ]
    table = [(API + path, resource) for path, resource in api_routes]
    table += [("/healthz", health.Health()), ("/readyz", health.Ready(dependencies))]
    table.append((API + "/openapi.json", OpenAPIDocument(table)))
    table += [(API + "/docs", docs.DocsPage()), (API + "/docs/{name}", docs.DocsAsset())]
    return table


class ChallengesApp(falcon.App):
    """The Falcon app, holding the read pool it must close on shutdown."""

    def __init__(self, db: ReadDatabase, **kwargs):
        super().__init__(**kwargs)
        self.db = db

    def close(self) -> None:
        self.db.close()


def create_app(settings: Settings, redis_client=None) -> ChallengesApp:
    redis_client = redis_client or connect_redis(settings)
    db = ReadDatabase.for_settings(settings)
    db.open()
    jobs_reader = JobReader(JobStore(redis_client, settings), db)
    metrics = ApiMetrics()
    dispatcher = Dispatcher(redis_client, settings, jobs_reader, metrics)
    event_log = EventLog.for_settings(settings)
    rate_limits = RateLimits(settings, metrics)

    app = ChallengesApp(db, middleware=[
        RequestMetrics(metrics), BodySizeLimit(settings.max_request_body_bytes),
        AuthMiddleware(TokenVerifier(settings), rate_limits),
        RequestIds()])  # after AuthMiddleware, to log the caller it found
    json_handler = falcon.media.JSONHandler(
        dumps=partial(json.dumps, default=json_default, ensure_ascii=False))
    app.req_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers[falcon.MEDIA_JSON] = json_handler
    app.resp_options.media_handlers["application/problem+json"] = json_handler
    app.set_error_serializer(serialize_problem)
    add_error_handlers(app)
    cursors = Cursors.for_settings(settings)
    for path, resource in routes(db, redis_client, dispatcher, jobs_reader, event_log, rate_limits, cursors,
                                 settings.crowd_min_athletes):
        app.add_route(path, resource)
    if not settings.metrics_port:  # with a port of their own, metrics stay off the public one
        app.add_route("/metrics", MetricsEndpoint(metrics))
    return app


def gunicorn_app():
    """Entry point for `gunicorn 'api.app:gunicorn_app()'`: one app per worker, after fork."""
    return create_app(Settings.from_env())
