"""`challenges`: the operator's command line (migrate, token, seed-demo, reindex, scheduler, dev)."""

import argparse
import os
import sys

from settings import Settings


def cmd_migrate(args, settings: Settings) -> None:
    from sql.migrate import migrate

    applied = migrate(settings.database_url)
    print(f"applied {len(applied)} migration(s): {', '.join(applied)}" if applied else "up to date")


def cmd_token(args, settings: Settings) -> None:
    from api.auth import issue_token

    print(issue_token(settings, args.user_id, role=args.role, ttl_seconds=args.ttl))


def cmd_seed_demo(args, settings: Settings) -> None:
    from jobs.demo import seed_demo

    users = seed_demo(settings)
    for name, user_id in users.items():
        print(f"{name:6} {user_id}")


def cmd_reindex(args, settings: Settings) -> None:
    from workers.db import Database
    from workers.event_log import EventLog, reindex

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

    sys.exit(run_dev(port=args.port))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="challenges", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply pending SQL migrations (idempotent)").set_defaults(run=cmd_migrate)
    token = commands.add_parser("token", help="print a signed JWT for a user id")
    token.add_argument("user_id")
    token.add_argument("--role", choices=["user", "coach", "admin"])
    token.add_argument("--ttl", type=int, default=30 * 24 * 3600, help="seconds until it expires")
    token.set_defaults(run=cmd_token)
    commands.add_parser("seed-demo", help="create demo users, friendships, workouts, challenges"
                        ).set_defaults(run=cmd_seed_demo)
    commands.add_parser("reindex", help="rebuild the ChromaDB event log from the events table"
                        ).set_defaults(run=cmd_reindex)
    commands.add_parser("scheduler", help="run the maintenance scheduler (one per deployment)"
                        ).set_defaults(run=cmd_scheduler)
    dev = commands.add_parser("dev", help="run everything locally with demo data")
    dev.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    dev.set_defaults(run=cmd_dev)
    return root


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    args.run(args, Settings.from_env())
