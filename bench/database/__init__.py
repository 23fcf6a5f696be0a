"""PostgreSQL on large tables: the API's reads and the workers' transactions, without HTTP."""
