"""The compliance archive's rules (DESIGN.md §10): the hash-chained manifest (canonical JSON, entry
hashes, HMAC signatures), retention per record class, tombstones, and verification of a manifest against
the files it names (`chain`). Pure: the archive resource does the disk work and hands these rules bytes
and digests."""
