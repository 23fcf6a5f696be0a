"""The rules and the plumbing that the API, the workers and the scheduler all run: settings,
logs, connections, the database pool, the command contract, the outbox, the event log and its
insights; `core.rules` holds the domain's rules as plain functions on a connection. Nothing here
imports `api`, `workers` or `jobs`."""
