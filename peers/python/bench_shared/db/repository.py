"""Blocking repositories over a SQLAlchemy `Session` (one per aggregate,
each running `orm`'s statements) and the service the synchronous
SQLAlchemy peers (Flask, Catzilla) answer with: a request builds it over
its own session."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from .. import errors
from . import failures, orm, rules
from .orm import IMMEDIATE, Transfer


class WorldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, id_: int) -> dict | None:
        row = self.session.scalars(orm.world_by_id(id_)).first()
        return None if row is None else row.as_dict()

    def many(self, ids: list[int]) -> list[dict]:
        """Each row by its own SELECT (TechEmpower's rule for `/queries`)."""
        found = (self.session.scalars(orm.world_by_id(id_)).first() for id_ in ids)
        return [row.as_dict() for row in found if row is not None]

    def all(self) -> list[dict]:
        return [row.as_dict() for row in self.session.scalars(orm.all_worlds())]

    def update(self, ids: list[int], numbers: list[int]) -> list[dict]:
        """Reads each row, gives it its new number and writes them all in one
        write transaction (the unit of work sorts the UPDATEs by id)."""
        rows = [row for row in (self.session.scalars(orm.world_by_id(i)).first() for i in ids)
                if row is not None]
        self.session.commit()  # the reads' transaction ends; the objects stay loaded
        for row, number in zip(rows, numbers):
            row.randomnumber = number
            flag_modified(row, "randomnumber")  # written even when the number drew the same
        self.session.connection(execution_options=IMMEDIATE)
        self.session.commit()
        return [row.as_dict() for row in rows]

    def fortunes(self) -> list[tuple[int, str]]:
        return [(id_, message) for id_, message in self.session.execute(orm.all_fortunes())]


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def page(self, limit: int, offset: int) -> tuple[list[dict], int]:
        users = [u.as_dict() for u in self.session.scalars(orm.users_page(limit, offset))]
        return users, self.session.scalar(orm.count_users())

    def with_posts(self, id_: int) -> dict:
        user = self.session.scalars(orm.user_with_posts(id_)).first()
        if user is None:
            raise rules.missing("user", id_)
        return {**user.as_dict(), "posts": [p.as_dict() for p in user.posts]}

    def posts(self, user_id: int, limit: int) -> list[dict]:
        return [p.as_dict() for p in self.session.scalars(orm.posts_by_user(user_id, limit))]

    def create(self, new: rules.NewUser) -> dict:
        """Inserts the user; the unique index decides a taken email."""
        user = orm.User(name=new.name, email=new.email)
        self.session.connection(execution_options=IMMEDIATE)
        self.session.add(user)
        self.session.commit()
        return user.as_dict()


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, id_: int) -> dict:
        account = self.session.scalars(orm.account_by_id(id_)).first()
        if account is None:
            raise rules.missing("account", id_)
        return account.as_dict()

    def total(self) -> dict[str, int]:
        total, count = self.session.execute(orm.balance_total()).one()
        return {"total": int(total), "accounts": count}

    def transfer(self, request: rules.TransferRequest) -> dict[str, Any]:
        """Both accounts locked, the payer's balance checked, both written and
        the transfer recorded, in one transaction, or nothing."""
        session = self.session
        session.connection(execution_options=IMMEDIATE)
        locked = {a.id: a for a in session.scalars(
            orm.accounts_for_transfer((request.payer, request.payee)))}
        payer, payee = locked.get(request.payer), locked.get(request.payee)
        if payer is None or payee is None:
            session.rollback()
            raise rules.missing("account", request.payer if payer is None else request.payee)
        if payer.balance < request.amount:
            refused = rules.insufficient(payer.id, payer.balance, request.amount)
            session.rollback()  # expires the rows: read them before
            raise refused
        payer.balance -= request.amount
        payee.balance += request.amount
        record = Transfer(from_id=payer.id, to_id=payee.id, amount=request.amount)
        session.add(record)
        session.commit()
        return rules.transfer_answer(record.id, request, payer.balance, payee.balance)


def with_retries(session: Session, work):
    """`work()` again (up to `failures.ATTEMPTS` times) when PostgreSQL broke
    a deadlock or a serialization conflict by aborting it."""
    for attempt in range(1, failures.ATTEMPTS + 1):
        try:
            return work()
        except DBAPIError as e:
            session.rollback()
            if attempt == failures.ATTEMPTS or not failures.retryable(e):
                raise


class Service:
    """The category's endpoints over one request's session: what the request
    carries in, the answer's data out. `cache` is the process's `world`
    cache (id → row), filled at start by `fill_cache`."""

    def __init__(self, session: Session, cache: dict[int, dict]) -> None:
        self.session = session
        self.cache = cache
        self.worlds = WorldRepository(session)
        self.users = UserRepository(session)
        self.accounts = AccountRepository(session)

    def db(self) -> dict:
        id_ = rules.random_ids(1)[0]
        row = self.worlds.get(id_)
        if row is None:
            raise errors.internal(f"seeded world row {id_} is missing")
        return row

    def queries(self, raw: str | None) -> list[dict]:
        return self.worlds.many(rules.random_ids(rules.row_count(raw)))

    def updates(self, raw: str | None) -> list[dict]:
        count = rules.row_count(raw)
        ids, numbers = rules.distinct_ids(count), rules.new_numbers(count)
        rows = with_retries(self.session, lambda: self.worlds.update(ids, numbers))
        for row in rows:
            self.cache[row["id"]] = row  # the cache serves what this process wrote
        return rows

    def cached_queries(self, raw: str | None) -> list[dict]:
        out = []
        for id_ in rules.random_ids(rules.row_count(raw)):
            row = self.cache.get(id_)
            if row is None:
                row = self.cache[id_] = self.worlds.get(id_)
            out.append(row)
        return out

    def fortunes(self) -> list[tuple[int, str]]:
        return rules.fortune_rows(self.worlds.fortunes())

    def world(self, raw: str) -> dict:
        row = self.worlds.get(rules.row_id(raw, "world row"))
        if row is None:
            raise rules.missing("world row", raw)
        return row

    def users_page(self, query) -> dict:
        limit, offset = rules.users_page(query)
        users, total = self.users.page(limit, offset)
        return {"users": users, "total": total, "limit": limit, "offset": offset}

    def user(self, raw: str) -> dict:
        return self.users.with_posts(rules.row_id(raw, "user"))

    def posts_by_user(self, raw: str, query) -> dict:
        limit = rules.posts_limit(query)
        user_id = rules.row_id(raw, "user")
        return {"user_id": user_id, "posts": self.users.posts(user_id, limit)}

    def create_user(self, new: rules.NewUser) -> dict:
        return self.users.create(new)

    def transfer(self, request: rules.TransferRequest) -> dict:
        return with_retries(self.session, lambda: self.accounts.transfer(request))

    def account(self, raw: str) -> dict:
        return self.accounts.get(rules.row_id(raw, "account"))

    def total(self) -> dict:
        return self.accounts.total()


def fill_cache(session: Session) -> dict[int, dict]:
    """Every `world` row by id: `/cached-queries` never misses on a served load."""
    return {row["id"]: row for row in WorldRepository(session).all()}
