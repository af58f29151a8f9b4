"""The demo: a deterministic synthetic history for the example fleet, and the command that runs it."""
