"""A resource field's value as configured, wherever it is read (DESIGN.md §4: one URL selects the store).

`dg.EnvVar("NAME")` is a `str` subclass holding the variable's *name*; Dagster replaces it with the
value only when it initialises a resource for a run. Anything that reads a resource outside a run (the
demo's summary, a CLI command, a test) would otherwise see the name itself, e.g. `'SLO_WAREHOUSE_URL'`.
Resources read their fields through `configured`, so they behave the same in and out of runs.
"""

import dagster as dg


def configured(value: str, default: str = "") -> str:
    """`value`, or the environment's value when it is an EnvVar (`default` when that is unset)."""
    if isinstance(value, dg.EnvVar):
        return value.get_value(default) or default
    return value
