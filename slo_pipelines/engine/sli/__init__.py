"""SLI data into buckets: validation of sample rows (`samples`), exact Prometheus counter increases and
the PromQL they need, per-series collection statistics, request logs under an EdgeCasePolicy, OTLP
traces, synthetic probe results and third-party status minutes."""
