"""The domain's rules, one module per area: plain functions on a connection (or on plain values)
that the workers' actors carry out and the API's early answers share."""
