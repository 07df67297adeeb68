"""The database category in FastAPI: SQLAlchemy 2's asyncio extension
(asyncpg or aiosqlite), an `AsyncSession` per request through `Depends`,
repositories and services resolved by `Depends` over it, pydantic models in
and out, Jinja2 (Starlette's `Jinja2Templates`) for fortunes. Each uvicorn
worker opens its engine (its share of the connections) and fills its
`world` cache at startup; serve.py created and seeded the database before."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import Annotated, AsyncIterator

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm.attributes import flag_modified

from bench_shared import errors, http
from bench_shared.db import TEMPLATES, failures, orm, rules
from bench_shared.db.location import engine_name, from_environment, process_pool, total_pool

from .common import error_response, json_body, new_app, query

MAX_BODY_BYTES = 1 << 20


# ----------------------------------------------------------------- models


class World(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    random_number: int = Field(validation_alias=AliasChoices("randomnumber", "randomNumber"),
                               serialization_alias="randomNumber")


class User(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class Post(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    title: str
    body: str


class UserWithPosts(User):
    posts: list[Post]


class UsersPage(BaseModel):
    users: list[User]
    total: int
    limit: int
    offset: int


class PostsByUser(BaseModel):
    user_id: int
    posts: list[Post]


class Account(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    balance: int


class Total(BaseModel):
    total: int
    accounts: int


class NewUser(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    name: str
    email: str = Field(pattern=rules.EMAIL)

    @field_validator("name")
    @classmethod
    def not_blank(cls, name: str) -> str:
        if not name.strip() or len(name.encode()) > rules.MAX_NAME:
            raise PydanticCustomError("length", f"must be 1 to {rules.MAX_NAME} bytes, not blank")
        return name

    @field_validator("email")
    @classmethod
    def short_enough(cls, email: str) -> str:
        problem = rules.email_problem(email)
        if problem:
            raise PydanticCustomError("email", problem)
        return email


class TransferIn(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    payer: int = Field(alias="from", ge=1, le=rules.I32_MAX)
    payee: int = Field(alias="to", ge=1, le=rules.I32_MAX)
    amount: int = Field(ge=1, le=rules.MAX_AMOUNT)

    @field_validator("payee")
    @classmethod
    def another_account(cls, payee: int, info) -> int:
        if info.data.get("payer") == payee:
            raise PydanticCustomError("same_account", "must differ from `from`")
        return payee


class TransferOut(BaseModel):
    id: int
    from_: int = Field(serialization_alias="from")
    to: int
    amount: int
    from_balance: int
    to_balance: int


# ----------------------------------------------------------- dependencies


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (its connection back in the pool) after it."""
    async with request.app.state.sessions() as session:
        yield session


Session = Annotated[AsyncSession, Depends(get_session)]


async def with_retries(session: AsyncSession, work):
    """`work()` again (up to `failures.ATTEMPTS` times) when PostgreSQL broke
    a deadlock or a serialization conflict by aborting it."""
    for attempt in range(1, failures.ATTEMPTS + 1):
        try:
            return await work()
        except DBAPIError as e:
            await session.rollback()
            if attempt == failures.ATTEMPTS or not failures.retryable(e):
                raise


class WorldRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    async def get(self, id_: int) -> orm.World | None:
        return (await self.session.scalars(orm.world_by_id(id_))).first()

    async def many(self, ids: list[int]) -> list[orm.World]:
        """Each row by its own SELECT (TechEmpower's rule for `/queries`)."""
        rows = [await self.get(id_) for id_ in ids]
        return [row for row in rows if row is not None]

    async def update(self, ids: list[int], numbers: list[int]) -> list[orm.World]:
        """Reads each row, then writes the new numbers in one write
        transaction (the unit of work sorts the UPDATEs by id)."""
        rows = await self.many(ids)
        await self.session.commit()  # the reads' transaction ends; the rows stay loaded
        for row, number in zip(rows, numbers):
            row.randomnumber = number
            flag_modified(row, "randomnumber")  # written even when the number drew the same
        await self.session.connection(execution_options=orm.IMMEDIATE)
        await self.session.commit()
        return rows

    async def fortunes(self) -> list[tuple[int, str]]:
        return [(id_, message) for id_, message in
                await self.session.execute(orm.all_fortunes())]


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    async def page(self, limit: int, offset: int) -> tuple[list[orm.User], int]:
        users = list(await self.session.scalars(orm.users_page(limit, offset)))
        return users, await self.session.scalar(orm.count_users())

    async def with_posts(self, id_: int) -> orm.User:
        user = (await self.session.scalars(orm.user_with_posts(id_))).first()
        if user is None:
            raise rules.missing("user", id_)
        return user

    async def posts(self, user_id: int, limit: int) -> list[orm.Post]:
        return list(await self.session.scalars(orm.posts_by_user(user_id, limit)))

    async def create(self, new: NewUser) -> orm.User:
        """Inserts the user; the unique index decides a taken email."""
        user = orm.User(name=new.name, email=new.email)
        await self.session.connection(execution_options=orm.IMMEDIATE)
        self.session.add(user)
        await self.session.commit()
        return user


class AccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    async def get(self, id_: int) -> orm.Account:
        account = (await self.session.scalars(orm.account_by_id(id_))).first()
        if account is None:
            raise rules.missing("account", id_)
        return account

    async def total(self) -> Total:
        total, count = (await self.session.execute(orm.balance_total())).one()
        return Total(total=total, accounts=count)

    async def transfer(self, request: TransferIn) -> TransferOut:
        """Both accounts locked, the payer's balance checked, both written and
        the transfer recorded, in one transaction, or nothing."""
        session = self.session
        await session.connection(execution_options=orm.IMMEDIATE)
        locked = {a.id: a for a in await session.scalars(
            orm.accounts_for_transfer((request.payer, request.payee)))}
        payer, payee = locked.get(request.payer), locked.get(request.payee)
        if payer is None or payee is None:
            await session.rollback()
            raise rules.missing("account", request.payer if payer is None else request.payee)
        if payer.balance < request.amount:
            refused = rules.insufficient(payer.id, payer.balance, request.amount)
            await session.rollback()  # expires the rows: read them before
            raise refused
        payer.balance -= request.amount
        payee.balance += request.amount
        record = orm.Transfer(from_id=payer.id, to_id=payee.id, amount=request.amount)
        session.add(record)
        await session.commit()
        return TransferOut(id=record.id, from_=payer.id, to=payee.id, amount=request.amount,
                           from_balance=payer.balance, to_balance=payee.balance)


Worlds = Annotated[WorldRepository, Depends()]
Users = Annotated[UserRepository, Depends()]
Accounts = Annotated[AccountRepository, Depends()]


class WorldService:
    """TechEmpower's tests over the world repository and the process's cache."""

    def __init__(self, request: Request, worlds: Worlds) -> None:
        self.worlds = worlds
        self.cache: dict[int, World] = request.app.state.cache

    async def updates(self, count: int) -> list[World]:
        ids, numbers = rules.distinct_ids(count), rules.new_numbers(count)
        rows = await with_retries(self.worlds.session, lambda: self.worlds.update(ids, numbers))
        fresh = [World.model_validate(row) for row in rows]
        for row in fresh:
            self.cache[row.id] = row  # the cache serves what this process wrote
        return fresh

    async def cached(self, count: int) -> list[World]:
        out = []
        for id_ in rules.random_ids(count):
            row = self.cache.get(id_)
            if row is None:
                row = self.cache[id_] = World.model_validate(await self.worlds.get(id_))
            out.append(row)
        return out


class AccountService:
    """Transfers, retried when PostgreSQL aborts one to break a deadlock."""

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    async def transfer(self, request: TransferIn) -> TransferOut:
        return await with_retries(self.accounts.session,
                                  lambda: self.accounts.transfer(request))


# ------------------------------------------------------------------- app


def create_app() -> FastAPI:
    location = from_environment()
    if location is None:
        raise SystemExit("the database category needs BENCH_DATABASE_URL (serve.py sets it)")
    uptime = http.Uptime()
    templates = Jinja2Templates(directory=TEMPLATES)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = orm.async_engine(location, process_pool())
        app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with app.state.sessions() as session:
            app.state.cache = {row.id: World.model_validate(row)
                               for row in await session.scalars(orm.all_worlds())}
        try:
            yield
        finally:
            await engine.dispose()

    app = new_app("database")
    app.router.lifespan_context = lifespan

    @app.exception_handler(SQLAlchemyError)
    async def database_failure(_request: Request, e: SQLAlchemyError) -> JSONResponse:
        return error_response(failures.translate(e))

    @app.exception_handler(OSError)
    async def unreachable(_request: Request, e: OSError) -> JSONResponse:
        # A driver that could not connect at all (refused, reset).
        return error_response(rules.unavailable(e))

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "category": "database", "engine": engine_name(),
                "pool_size": total_pool(), "isolation": location.isolation(),
                "uptime_seconds": uptime.seconds()}

    @app.get("/db", response_model=World)
    async def db(worlds: Worlds):
        id_ = rules.random_ids(1)[0]
        row = await worlds.get(id_)
        if row is None:
            raise errors.internal(f"seeded world row {id_} is missing")
        return row

    @app.get("/queries", response_model=list[World])
    async def queries(worlds: Worlds, queries: str | None = None):
        return await worlds.many(rules.random_ids(rules.row_count(queries)))

    @app.get("/updates", response_model=list[World])
    async def updates(service: Annotated[WorldService, Depends()], queries: str | None = None):
        return await service.updates(rules.row_count(queries))

    @app.get("/cached-queries", response_model=list[World])
    async def cached_queries(service: Annotated[WorldService, Depends()],
                             count: str | None = None):
        return await service.cached(rules.row_count(count))

    @app.get("/fortunes")
    async def fortunes(request: Request, worlds: Worlds):
        rows = rules.fortune_rows(await worlds.fortunes())
        return templates.TemplateResponse(request, "fortunes.html", {"fortunes": rows})

    @app.get("/world/{raw}", response_model=World)
    async def world(raw: str, worlds: Worlds):
        row = await worlds.get(rules.row_id(raw, "world row"))
        if row is None:
            raise rules.missing("world row", raw)
        return row

    @app.get("/users", response_model=UsersPage)
    async def users_page(request: Request, users: Users):
        limit, offset = rules.users_page(query(request))
        page, total = await users.page(limit, offset)
        return UsersPage(users=[User.model_validate(u) for u in page], total=total,
                         limit=limit, offset=offset)

    @app.post("/users", response_model=User, status_code=201)
    async def create_user(new: Annotated[NewUser, Depends(json_body(NewUser, MAX_BODY_BYTES))],
                          users: Users):
        return await users.create(new)

    @app.get("/users/{raw}", response_model=UserWithPosts)
    async def user_with_posts(raw: str, users: Users):
        return await users.with_posts(rules.row_id(raw, "user"))

    @app.get("/posts/by-user/{raw}", response_model=PostsByUser)
    async def posts_by_user(raw: str, request: Request, users: Users):
        limit = rules.posts_limit(query(request))
        user_id = rules.row_id(raw, "user")
        posts = await users.posts(user_id, limit)
        return PostsByUser(user_id=user_id, posts=[Post.model_validate(p) for p in posts])

    @app.post("/transfers", response_model=TransferOut, status_code=201)
    async def transfer(request: Annotated[TransferIn, Depends(json_body(TransferIn,
                                                                         MAX_BODY_BYTES))],
                       service: Annotated[AccountService, Depends()]):
        return await service.transfer(request)

    @app.get("/accounts/total", response_model=Total)
    async def accounts_total(accounts: Accounts):
        return await accounts.total()

    @app.get("/accounts/{raw}", response_model=Account)
    async def account(raw: str, accounts: Accounts):
        return await accounts.get(rules.row_id(raw, "account"))

    return app
