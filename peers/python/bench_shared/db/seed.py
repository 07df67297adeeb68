"""The database category's rows, the same as `shared::db::seed` derives
(shared-endpoints/README.md, "The database category's rows"): SplitMix64,
one stream per table, `below(n)` is `next() % n`. Nothing here touches a
database; each framework stores these rows through its own ORM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

SEED = 0x5EED_2026
WORLD_ROWS = 10_000
USERS = 1_000
POSTS = 10_000
ACCOUNTS = 1_000

_MASK = (1 << 64) - 1
_GAMMA = 0x9E37_79B9_7F4A_7C15


class SplitMix64:
    """SplitMix64 (Steele, Lea and Flood, 2014), all arithmetic mod 2⁶⁴."""

    __slots__ = ("state",)

    def __init__(self, state: int) -> None:
        self.state = state & _MASK

    @classmethod
    def stream(cls, stream: int) -> "SplitMix64":
        """Table number `stream`'s generator (world 1, users 2, posts 3, accounts 4)."""
        return cls(SEED + stream * _GAMMA)

    def next(self) -> int:
        self.state = (self.state + _GAMMA) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) & _MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        return self.next() % n


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class PostRow:
    id: int
    user_id: int
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class AccountRow:
    id: int
    user_id: int
    balance: int


#: TechEmpower's twelve fortunes, verbatim.
FORTUNES: tuple[tuple[int, str], ...] = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. \u2014 Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. \u2014 Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
)

#: Added to every `/fortunes` page at request time, never stored.
ADDED_FORTUNE = (0, "Additional fortune added at request time.")

_FIRST = ("Ada", "Alan", "Barbara", "Dennis", "Edsger", "Frances", "Grace", "John", "Ken",
          "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Tony", "Yukihiro")
_LAST = ("Allen", "Backus", "Dijkstra", "Goldwasser", "Hamilton", "Hoare", "Hopper", "Kay",
         "Knuth", "Lamport", "Liskov", "Matsumoto", "Perlman", "Ritchie", "Thompson", "Wirth")
_WORDS = ("array", "benchmark", "cache", "database", "engine", "fortune", "graph", "handler",
          "index", "join", "kernel", "latency", "memory", "network", "offset", "pool", "query",
          "row", "schema", "table", "update", "value", "worker", "yield", "zero", "async",
          "batch", "commit", "deadlock", "epoch", "flush", "lock")


def world() -> Iterator[tuple[int, int]]:
    """(id, randomnumber) for ids 1..10000 in order."""
    rng = SplitMix64.stream(1)
    for id_ in range(1, WORLD_ROWS + 1):
        yield id_, rng.below(10_000) + 1


def users() -> Iterator[UserRow]:
    rng = SplitMix64.stream(2)
    for id_ in range(1, USERS + 1):
        first = _FIRST[rng.below(16)]
        last = _LAST[rng.below(16)]
        yield UserRow(id_, f"{first} {last}", f"user{id_}@example.com")


def _words(rng: SplitMix64, count: int) -> str:
    return " ".join(_WORDS[rng.below(32)] for _ in range(count))


def posts() -> Iterator[PostRow]:
    rng = SplitMix64.stream(3)
    for id_ in range(1, POSTS + 1):
        user_id = rng.below(USERS) + 1
        title = _words(rng, 2 + rng.below(4))
        body = _words(rng, 8 + rng.below(33))
        yield PostRow(id_, user_id, title, body)


def accounts() -> Iterator[AccountRow]:
    rng = SplitMix64.stream(4)
    for id_ in range(1, ACCOUNTS + 1):
        yield AccountRow(id_, id_, (rng.below(90_001) + 10_000) * 100)


def total_balance() -> int:
    """What `GET /accounts/total` answers while only transfers have run."""
    return sum(a.balance for a in accounts())
