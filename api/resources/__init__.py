"""Falcon resources: plain classes that get their collaborators in __init__ and keep no
per-request state. `openapi` on each class describes its operations for the generated spec."""
