"""The Python twin of the suite's `shared` crate: the contract's data rules,
stores and error rules, with no web framework in them.

Every Python peer (Catzilla, FastAPI, …) routes, parses, validates and
serializes in its own idiom, and calls this package for the work itself, so
all of them do identical work: the same seeded data, the same real
operations, the same bounds.
"""
