"""The system as deployed: every Procfile process, measured end to end (`python -m bench.system.run`)."""
