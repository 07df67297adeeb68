"""The models' whole-value patterns. `RUST` holds each as the reference
checks it, in the syntax of Rust's `regex` crate (what pydantic's default
engine runs): ASCII digits for zip codes, Unicode White_Space for `\\s`.
`PYTHON` holds the same patterns for Python's `re` when matched with
`re.match` (no trailing-newline leniency: `\\Z`, and `\\s` spelled out as the
characters Rust counts as whitespace)."""

from __future__ import annotations

import re

from .decimals import RUST_WHITESPACE

_WS = "".join(f"\\u{ord(c):04x}" for c in RUST_WHITESPACE)

USERNAME = "username"
EMAIL = "email"
ZIP = "zip"
CATEGORY = "category"
SKU = "sku"
STATUS = "status"

RUST = {
    USERNAME: r"^[a-zA-Z0-9_]+$",
    EMAIL: r"^[^@]+@[^@]+\.[^@]+$",
    ZIP: r"^[0-9]{5}(-[0-9]{4})?$",
    CATEGORY: r"^[a-zA-Z0-9\s\-_]+$",
    SKU: r"^[A-Z0-9\-]+$",
    STATUS: r"^(pending|confirmed|shipped|delivered|cancelled)$",
}

PYTHON = {
    USERNAME: r"^[a-zA-Z0-9_]+\Z",
    EMAIL: r"^[^@]+@[^@]+\.[^@]+\Z",
    ZIP: r"^[0-9]{5}(-[0-9]{4})?\Z",
    CATEGORY: r"^[a-zA-Z0-9" + _WS + r"\-_]+\Z",
    SKU: r"^[A-Z0-9\-]+\Z",
    STATUS: r"^(pending|confirmed|shipped|delivered|cancelled)\Z",
}

COMPILED = {name: re.compile(source) for name, source in PYTHON.items()}


def matches(name: str, value: str) -> bool:
    """Whether `value` matches the named pattern as a whole."""
    return COMPILED[name].match(value) is not None
