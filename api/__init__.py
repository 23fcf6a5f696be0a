"""The HTTP API: validates, authorises, reads, and enqueues commands. It never writes."""
