"""Insights and search over the caller's own events in the ChromaDB event log. The log is
filled asynchronously by the workers, so a change shows here once it is indexed (usually within
a second); when ChromaDB is down these answer 503 (EventLogUnavailable, see api.errors) and
everything else keeps working."""

from api.db import Q
from api.openapi import Op
from api.schemas.insights import EventMatches, Insights, InsightSearchQuery
from api.validation import load_query
from core.insights import insights_for, search
from core.rules.crowd import CrowdView

SEARCH_QUERY = InsightSearchQuery()


class InsightList:
    openapi = {"get": Op("listInsights", "What your history says about you", response=Insights,
                         description="Each insight only when your data supports it (see "
                                     "docs/event-log.md for the minimum samples); none at first.")}

    def __init__(self, db, event_log, crowd_min_athletes):
        self.db, self.event_log, self.crowd_min_athletes = db, event_log, crowd_min_athletes

    def on_get(self, req, resp):
        caller = req.context.caller.id
        with self.db.reading(caller) as conn:
            friends = [row["id"] for row in Q.friend_ids(conn, user_id=caller)]
            crowd = self.crowd_view(conn, caller)
        resp.media = {"items": insights_for(self.event_log, caller, friends, crowd)}

    def crowd_view(self, conn, caller: str) -> CrowdView:
        kinds = {row["kind"]: row for row in Q.crowd_kinds(conn)}
        pending = Q.latest_pending_received(conn, user_id=caller)
        figures = pending and Q.crowd_of_workout(conn, workout_name=pending["workout_name"])
        return CrowdView(kinds, self.crowd_min_athletes, pending,
                         figures and figures["workout"], figures and figures["kind"])


class InsightSearch:
    openapi = {"get": Op("searchEvents", "Search your own events by meaning",
                         query=InsightSearchQuery, response=EventMatches,
                         description="Your own events (as challenger or challenged, and your "
                                     "community ones) most similar to `q`, nearest first: \"gave "
                                     "up\" finds the challenges you abandoned. Only your newest 500 "
                                     "events are searched, and searches have a rate limit of their "
                                     "own (`RATE_LIMIT_SEARCH`, 30 a minute) on top of the one for reads.")}

    def __init__(self, event_log, rate_limits):
        self.event_log, self.rate_limits = event_log, rate_limits

    def on_get(self, req, resp):
        # A search embeds the query and ranks up to 500 events (docs/event-log.md, "Search"),
        # tens of milliseconds where a read takes one or two: a budget of its own too, charged
        # before any of that work.
        self.rate_limits.charge_search(req.context.caller.id)
        query = load_query(req, SEARCH_QUERY)
        resp.media = {"items": search(self.event_log, req.context.caller.id, query["q"], query["limit"])}
