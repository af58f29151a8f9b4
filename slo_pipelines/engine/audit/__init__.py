"""The audit log's rules: who did what and why, as a hash chain over canonical JSON (`log`), so a
rewritten, removed or reordered row shows even to someone who can write the table."""
