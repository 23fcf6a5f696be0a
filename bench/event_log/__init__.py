"""The event log: the embedding, ChromaDB's reads and writes, and rebuilding it (reindex)."""
