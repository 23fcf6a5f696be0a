"""Benchmarks, by what they measure: system/ (the deployed Procfile), database/ (queries and
worker transactions on large tables), event_log/ (embedding, ChromaDB, reindex). harness/ holds
what they share. Run from the repository root as `python -m bench.<area>.<name>`; each run
writes one file to bench/results/ (BENCHMARKS.md)."""
