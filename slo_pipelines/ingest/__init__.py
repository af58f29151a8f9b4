"""Turning SLI data where SRE teams keep it (Prometheus, ...) into buckets in the samples format."""
