"""Parsing one document of minutes into records: pure functions, no I/O, no global state."""
