"""What every benchmark shares: the Procfile runner, the load generator, scratch databases and
servers, CPU accounting, percentiles, and the result file each run writes."""
