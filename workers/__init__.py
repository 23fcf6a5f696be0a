"""Dramatiq actors: every write of the system happens here, one module per area."""
