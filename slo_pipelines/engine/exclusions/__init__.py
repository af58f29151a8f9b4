"""Exclusions (DESIGN.md §3): catalog and runtime exclusion rules turned into UTC intervals
(`intervals`), the append-only runtime exclusion log and the budget each exclusion restored
(`runtime`), and proposed `dependency_outage` exclusions with per-minute evidence (`dependency_outages`)."""
