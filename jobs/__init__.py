"""Scheduled maintenance (APScheduler over raw SQL) and the `challenges` operator CLI."""
