"""The database category in SQLAlchemy 2, shared by the SQLAlchemy peers
(FastAPI, Flask, Catzilla) so that they run the same statements: the
declarative models of the tables `shared::db::schema` creates (the same
columns, `CHECK`s, unique email and foreign keys), the engines (sync and
asyncio) set up as the reference's connections are, and the seeding.

SQLite: WAL with `synchronous = NORMAL`, foreign keys on, a 5 s busy
timeout; SQLAlchemy's driver-level transaction handling is replaced by the
documented recipe (autocommit at the driver, `BEGIN` emitted by SQLAlchemy)
so that a write transaction starts `BEGIN IMMEDIATE` when its session asks
for it (`IMMEDIATE`), as the reference's writes do; reads stay deferred.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (BigInteger, CheckConstraint, Engine, ForeignKey, Integer, String, Text,
                        event, func, insert, inspect, select)
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

from . import liveness, seed
from .location import Location

#: Session execution options that start a write transaction on SQLite with
#: `BEGIN IMMEDIATE` (ignored by PostgreSQL, whose transfers lock rows).
IMMEDIATE = {"sqlite_immediate": True}
#: How long a write waits for SQLite's write lock, in seconds.
BUSY_TIMEOUT = 5.0
#: How long a request waits for a pooled connection (or a new one), in
#: seconds: the reference's wait; then 503.
POOL_TIMEOUT = 5.0


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    randomnumber: Mapped[int] = mapped_column(Integer)

    def as_dict(self) -> dict[str, int]:
        return {"id": self.id, "randomNumber": self.randomnumber}


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message: Mapped[str] = mapped_column(String(2048))


class User(Base):
    __tablename__ = "users"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text, unique=True)
    posts: Mapped[list["Post"]] = relationship(order_by="Post.id", lazy="raise")

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "email": self.email}


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "user_id": self.user_id, "title": self.title, "body": self.body}


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="accounts_balance_check"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    balance: Mapped[int] = mapped_column(BigInteger)

    def as_dict(self) -> dict[str, int]:
        return {"id": self.id, "user_id": self.user_id, "balance": self.balance}


class Transfer(Base):
    __tablename__ = "transfers"
    __table_args__ = (CheckConstraint("amount > 0", name="transfers_amount_check"),
                      {"sqlite_autoincrement": True})
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    from_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    to_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)


def _sqlite_setup(engine: Engine) -> None:
    """The reference's connection setup, and `BEGIN` (deferred) or
    `BEGIN IMMEDIATE` emitted by SQLAlchemy instead of the driver."""

    @event.listens_for(engine, "connect")
    def connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode = WAL", "synchronous = NORMAL", "foreign_keys = ON",
                       f"busy_timeout = {int(BUSY_TIMEOUT * 1000)}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin(conn) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _postgres_setup(engine: Engine) -> None:
    """A connection the server closed while it sat in the pool is replaced
    before a request gets it (SQLAlchemy's checkout event; no round trip)."""

    @event.listens_for(engine, "checkout")
    def checkout(dbapi_connection, _record, _proxy) -> None:
        if liveness.dbapi_is_stale(dbapi_connection):
            raise DisconnectionError("the server closed this connection")


def engine_options(location: Location, pool: int, **sqlite_args: Any) -> dict[str, Any]:
    """Pool options: exactly `pool` connections, no overflow, made on demand;
    SQLite's busy timeout and the driver's `sqlite_args`."""
    options: dict[str, Any] = {"pool_size": pool, "max_overflow": 0,
                               "pool_timeout": POOL_TIMEOUT}
    if location.engine == "sqlite":
        options["connect_args"] = {"timeout": BUSY_TIMEOUT, **sqlite_args}
    return options


def _set_up(engine: Engine, location: Location) -> None:
    """The engine's connection setup (events on the sync engine)."""
    (_sqlite_setup if location.engine == "sqlite" else _postgres_setup)(engine)


def sync_engine(location: Location, pool: int) -> Engine:
    """A blocking engine (psycopg 3 or the standard library's sqlite3)."""
    from sqlalchemy import create_engine

    driver = "pysqlite" if location.engine == "sqlite" else "psycopg"
    options = engine_options(location, pool, check_same_thread=False)
    engine = create_engine(location.sqlalchemy_url(driver), **options)
    _set_up(engine, location)
    return engine


def async_engine(location: Location, pool: int):
    """An asyncio engine (asyncpg or aiosqlite)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    driver = "aiosqlite" if location.engine == "sqlite" else "asyncpg"
    engine = create_async_engine(location.sqlalchemy_url(driver), **engine_options(location, pool))
    _set_up(engine.sync_engine, location)
    return engine


#: PostgreSQL: one seeder at a time (the same advisory lock as the reference's).
_SEED_LOCK = 0x5EED2026


def prepare(location: Location) -> str:
    """Creates and seeds the tables when the database has none (a database
    with tables is used as it is); gives the engine's name and version. Run
    once per server, before its worker processes start."""
    engine = sync_engine(location, 1)
    try:
        with engine.begin() as conn:
            version = server_version(location, conn)
            if location.engine == "postgres":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SEED_LOCK})")
            if inspect(conn).has_table("world"):
                return version
            Base.metadata.create_all(conn)
            conn.execute(insert(World), [{"id": i, "randomnumber": n} for i, n in seed.world()])
            conn.execute(insert(Fortune), [{"id": i, "message": m} for i, m in seed.FORTUNES])
            conn.execute(insert(User), [{"id": u.id, "name": u.name, "email": u.email}
                                        for u in seed.users()])
            conn.execute(insert(Post), [{"id": p.id, "user_id": p.user_id, "title": p.title,
                                         "body": p.body} for p in seed.posts()])
            conn.execute(insert(Account), [{"id": a.id, "user_id": a.user_id,
                                            "balance": a.balance} for a in seed.accounts()])
            if location.engine == "postgres":
                # Explicit ids leave the sequences behind: new rows follow the seeded ones.
                for table in ("users", "posts"):
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
                # Statistics for the planner now, as the reference's seeding
                # does, not whenever autovacuum gets to it.
                conn.exec_driver_sql("ANALYZE")
        return version
    finally:
        engine.dispose()


def server_version(location: Location, conn) -> str:
    """`SQLite 3.x` or `PostgreSQL 15.x`, for `/health`."""
    if location.engine == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    version = str(conn.exec_driver_sql("SHOW server_version").scalar())
    return "PostgreSQL " + version.split()[0]  # `15.18`, without the distribution's words


# The statements every SQLAlchemy peer runs (the repositories execute them,
# sync or asyncio).


def world_by_id(id_: int):
    return select(World).where(World.id == id_)


def all_worlds():
    return select(World)


def all_fortunes():
    return select(Fortune.id, Fortune.message)


def users_page(limit: int, offset: int):
    return select(User).order_by(User.id).limit(limit).offset(offset)


def count_users():
    return select(func.count()).select_from(User)


def user_with_posts(id_: int):
    """The user, and their posts by a second SELECT … IN (`selectinload`)."""
    return select(User).where(User.id == id_).options(selectinload(User.posts))


def posts_by_user(user_id: int, limit: int):
    return select(Post).where(Post.user_id == user_id).order_by(Post.id).limit(limit)


def account_by_id(id_: int):
    return select(Account).where(Account.id == id_)


def accounts_for_transfer(ids: tuple[int, int]):
    """Both accounts of a transfer, locked in id order (PostgreSQL; SQLite's
    `BEGIN IMMEDIATE` already holds the only write lock)."""
    return select(Account).where(Account.id.in_(ids)).order_by(Account.id).with_for_update()


def balance_total():
    return select(func.coalesce(func.sum(Account.balance), 0), func.count()).select_from(Account)
