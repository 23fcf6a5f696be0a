"""`challenges`: the operator's command line (check-config, migrate, token, seed-demo, reindex,
scheduler, dev, run, dead-letters)."""

import argparse
import os
import sys

from core.logs import configure_logging
from core.settings import Settings, load_settings


def cmd_check_config(args, settings: Settings) -> None:
    """main() has checked them by now, as every process does at start."""
    print(f"settings ok ({settings.environment})")


def cmd_migrate(args, settings: Settings) -> None:
    from sql.migrate import migrate

    applied = migrate(settings.database_url)
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "up to date")


def cmd_token(args, settings: Settings) -> None:
    from jobs.tokens import issue_token

    if args.ttl is not None and args.ttl > settings.jwt_max_ttl_seconds:
        sys.exit(f"--ttl: at most JWT_MAX_TTL_SECONDS ({settings.jwt_max_ttl_seconds}); the API "
                 "refuses a token that lives longer")
    print(issue_token(settings, args.user_id, role=args.role, ttl_seconds=args.ttl))


def cmd_seed_demo(args, settings: Settings) -> None:
    from jobs.demo import seed_demo

    users = seed_demo(settings)
    for name, user_id in users.items():
        print(f"{name:6} {user_id}")


def cmd_reindex(args, settings: Settings) -> None:
    from core.db import Database
    from core.event_log import EventLog, reindex

    log = EventLog.for_settings(settings)
    db = Database(settings.database_url, max_size=1)
    try:
        with db.connection() as conn:
            print(f"indexed {reindex(conn, log)} event(s) into {settings.chroma_collection}")
    finally:
        db.close()


def cmd_scheduler(args, settings: Settings) -> None:
    from jobs.scheduler import main

    main()


def cmd_dev(args, settings: Settings) -> None:
    from jobs.dev import run_dev

    sys.exit(run_dev(port=args.port, host=args.host))


def cmd_run(args, settings: Settings) -> None:
    """Becomes the Procfile's line `name` (`exec`, so a supervisor's signals reach the program),
    with this Python's scripts first on PATH: what a systemd unit runs, so units and Procfile
    never disagree."""
    from jobs.dev import procfile_commands

    bin_dir = os.path.dirname(sys.executable)
    os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])
    os.execvp("sh", ["sh", "-c", f"exec env {procfile_commands()[args.name]}"])


def duration(text: str) -> int:
    """`7d`, `12h`, `30m` or `45s` in milliseconds (argparse names this function in its error)."""
    from jobs.dead_letters import duration as milliseconds

    return milliseconds(text)


def cmd_dead_letters(args, settings: Settings) -> None:
    from jobs import dead_letters
    from core.commands import JobStore
    from core.connections import connect_redis

    with connect_redis(settings) as redis:
        namespace, job_of = settings.key("dramatiq"), JobStore(redis, settings).get
        if args.action == "list":
            print(dead_letters.list_report(redis, namespace, job_of, args.queue, args.json))
        elif args.action == "retry":
            print(dead_letters.retry_report(redis, namespace, None if args.all else args.id, args.queue))
        else:
            print(dead_letters.purge_report(redis, namespace, args.older_than, args.queue))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="challenges", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("check-config", help="check the settings as every process does at start, "
                        "starting nothing").set_defaults(run=cmd_check_config)
    commands.add_parser("migrate", help="apply pending SQL migrations (idempotent)").set_defaults(run=cmd_migrate)
    token = commands.add_parser("token", help="print a signed JWT for a user id")
    token.add_argument("user_id")
    token.add_argument("--role", choices=["user", "coach", "admin", "analyst"])
    token.add_argument("--ttl", type=int, help="seconds until it expires (default and most: JWT_MAX_TTL_SECONDS)")
    token.set_defaults(run=cmd_token)
    commands.add_parser("seed-demo", help="create demo users, friendships, workouts, challenges"
                        ).set_defaults(run=cmd_seed_demo)
    commands.add_parser("reindex", help="rebuild the ChromaDB event log from the events table"
                        ).set_defaults(run=cmd_reindex)
    commands.add_parser("scheduler", help="run the maintenance scheduler (one per deployment)"
                        ).set_defaults(run=cmd_scheduler)
    dev = commands.add_parser("dev", help="run everything locally with demo data")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    dev.add_argument("--host", default="127.0.0.1",
                     help="the address the API listens on (0.0.0.0: every interface)")
    dev.set_defaults(run=cmd_dev)
    run = commands.add_parser("run", help="run one line of the Procfile (what a supervisor starts)")
    run.add_argument("name", choices=["web", "worker", "scheduler", "chroma"])
    run.set_defaults(run=cmd_run)
    dead = commands.add_parser("dead-letters", help="list, retry or purge the messages Dramatiq gave up on")
    dead.set_defaults(run=cmd_dead_letters)
    actions = dead.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="one line per dead message: id, queue, actor, age, job, error")
    listing.add_argument("--json", action="store_true", help="as JSON, with each full traceback")
    retry = actions.add_parser("retry", help="put dead messages back on their queue, retries reset")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="a message id (a command's is its job id)")
    which.add_argument("--all", action="store_true", help="every dead message (of --queue)")
    purge = actions.add_parser("purge", help="delete dead messages that died longer ago than DURATION")
    purge.add_argument("--older-than", required=True, type=duration, metavar="DURATION",
                       help="7d, 12h, 30m or 45s")
    for action in (listing, retry, purge):
        action.add_argument("--queue", help="only this queue (commands, events, event_log, ...)")
    return root


def main(argv=None) -> None:
    """Every command stops first on settings it cannot use, naming them; `dev` is development
    by definition (it says so to the processes it starts too)."""
    args = parser().parse_args(argv)
    settings = load_settings(dict(os.environ, ENVIRONMENT="development") if args.run is cmd_dev else None)
    configure_logging(settings)
    args.run(args, settings)
