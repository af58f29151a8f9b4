"""Shared by every domain: instants as epoch seconds (parsing and formatting at the edges) and the
grouping of touched days into contiguous daily-partition ranges."""
