"""`python -m slo_pipelines.cli` is the `slo` command."""

from slo_pipelines.cli import main

raise SystemExit(main())
