"""The validation category's domain, the twin of the reference's
`shared::validation`: exact decimals (`decimals`), RFC 3339 date-times
(`datetimes`), the models' patterns (`patterns`) and value rules (`rules`),
bodies read with exact numbers (`jsontext`), order totals (`orders`), batch
envelopes and per-item reports (`batch`), the mega batch summary
(`envelope`) and thread-safe counters (`stats`). No web framework here: each
framework declares the models in its own validation library and calls these
rules where its field types cannot say them."""

from .batch import MAX_BATCH, BatchReport, ItemFailure
from .rules import I64_MAX, I64_MIN, RuleError

# Largest request body of the category (payloads may carry 1 MB strings).
MAX_BODY_BYTES = 2 * 1024 * 1024

# The invalid user the reference suite's error-handling endpoint builds,
# validated when `POST /validate/error-handling` comes with no body at all.
INVALID_USER = b'{"id":-1,"username":"a","email":"invalid","age":200,"height":-1.0}'


__all__ = [
    "INVALID_USER",
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "BatchReport",
    "ItemFailure",
    "I64_MAX",
    "I64_MIN",
    "RuleError",
]
