"""The database category in Catzilla: SQLAlchemy 2 (psycopg 3 or
sqlite3) as the Catzilla suite's `catzilla_sqlalchemy_di` uses it, through
Catzilla's own dependency injection (a singleton session factory and
`world` cache, a request-scoped `database` service given to handlers by
`Depends`), Catzilla's models for the two bodies, Jinja2 for fortunes.

Catzilla runs synchronous handlers on its loop thread, one at a time, so a
query holds the server while it waits, as it does for its users. Its DI
does not close request-scoped services when a request ends, so each
handler closes its service's session (`with database:`)."""

from __future__ import annotations

from typing import Any

from catzilla import BaseModel, Depends, Field
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bench_shared import errors, http
from bench_shared.db import TEMPLATES, failures, rules
from bench_shared.db.location import engine_name, from_environment, process_pool, total_pool
from bench_shared.db.orm import sync_engine
from bench_shared.db.repository import Service, fill_cache
from bench_shared.errors import FieldError

from .common import json_response, new_app, query, read_json_text, routes, text_response, validate

MAX_BODY_BYTES = 1 << 20


class NewUser(BaseModel):
    name: str
    email: str = Field(regex=rules.EMAIL_RE)


# `from` is a Python keyword and Catzilla's fields have no aliases: the
# model is made with its fields named in a mapping.
TransferIn = type("TransferIn", (BaseModel,), {
    "__annotations__": {"from": int, "to": int, "amount": int},
    "from": Field(ge=1, le=rules.I32_MAX),
    "to": Field(ge=1, le=rules.I32_MAX),
    "amount": Field(ge=1, le=rules.MAX_AMOUNT),
})


def _exact(data: dict, body: dict, fields: tuple[str, ...], kind: type) -> list[FieldError]:
    """Catzilla converts (`"5"` → 5, `1.5` → 1, `true` → 1): the JSON types
    are checked as the reference's serde models read them."""
    out = []
    for name in fields:
        value = body.get(name)
        if name in body and (isinstance(value, bool) or not isinstance(value, kind)):
            out.append(FieldError(name, "invalid_type", f"must be {kind.__name__}"))
    return out


def new_user(body: Any) -> rules.NewUser:
    data = validate(NewUser, body)
    failures_ = _exact(data, body, ("name", "email"), str)
    failures_ += [FieldError(k, "unknown_field", "is not a field of this body")
                  for k in body if k not in ("name", "email")]
    name = data["name"]
    if not failures_ and (not name.strip() or len(name.encode()) > rules.MAX_NAME):
        failures_.append(FieldError("name", "length",
                                    f"must be 1 to {rules.MAX_NAME} bytes, not blank"))
    problem = None if failures_ else rules.email_problem(data["email"])
    if problem:
        failures_.append(FieldError("email", "email", problem))
    errors.check(failures_)
    return rules.NewUser(name, data["email"])


def transfer_request(body: Any) -> rules.TransferRequest:
    data = validate(TransferIn, body)
    failures_ = _exact(data, body, ("from", "to", "amount"), int)
    failures_ += [FieldError(k, "unknown_field", "is not a field of this body")
                  for k in body if k not in ("from", "to", "amount")]
    if not failures_ and data["from"] == data["to"]:
        failures_.append(FieldError("to", "same_account", "must differ from `from`"))
    errors.check(failures_)
    return rules.TransferRequest(data["from"], data["to"], data["amount"])


class Database(Service):
    """The request's service: closes its session when the handler is done,
    and turns a database failure into the contract's error."""

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, _kind: object, exc: BaseException | None, _tb: object) -> None:
        self.session.close()
        if isinstance(exc, SQLAlchemyError):
            raise failures.translate(exc) from None


def create_app():
    location = from_environment()
    if location is None:
        raise SystemExit("the database category needs BENCH_DATABASE_URL (serve.py sets it)")
    app = new_app(di=True)
    uptime = http.Uptime()
    engine = sync_engine(location, process_pool())
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session:
        cache = fill_cache(session)
    fortunes_page = Environment(loader=FileSystemLoader(TEMPLATES),
                                autoescape=select_autoescape()).get_template("fortunes.html")
    app.register_service("database", lambda: Database(sessions(), cache), scope="request")

    def health(_request):
        return json_response({"status": "ok", "category": "database", "engine": engine_name(),
                              "pool_size": total_pool(), "isolation": location.isolation(),
                              "uptime_seconds": uptime.seconds()})

    def db(_request, database=Depends("database")):
        with database:
            return json_response(database.db())

    def queries(request, database=Depends("database")):
        with database:
            raw = query(request).get("queries")
            return json_response(database.queries(raw))

    def updates(request, database=Depends("database")):
        with database:
            raw = query(request).get("queries")
            return json_response(database.updates(raw))

    def cached_queries(request, database=Depends("database")):
        with database:
            raw = query(request).get("count")
            return json_response(database.cached_queries(raw))

    def fortunes(_request, database=Depends("database")):
        with database:
            rows = database.fortunes()
            return text_response(fortunes_page.render(fortunes=rows), "text/html; charset=utf-8")

    def world(request, database=Depends("database")):
        with database:
            raw = request.path_params["raw"]
            return json_response(database.world(raw))

    def users_page(request, database=Depends("database")):
        with database:
            return json_response(database.users_page(query(request)))

    def create_user(request, database=Depends("database")):
        with database:
            new = new_user(rules.parse_body(read_json_text(request, MAX_BODY_BYTES).encode()))
            return json_response(database.create_user(new), 201)

    def user_with_posts(request, database=Depends("database")):
        with database:
            raw = request.path_params["raw"]
            return json_response(database.user(raw))

    def posts_by_user(request, database=Depends("database")):
        with database:
            raw = request.path_params["raw"]
            return json_response(database.posts_by_user(raw, query(request)))

    def create_transfer(request, database=Depends("database")):
        with database:
            transfer = transfer_request(
                rules.parse_body(read_json_text(request, MAX_BODY_BYTES).encode()))
            return json_response(database.transfer(transfer), 201)

    def accounts_total(_request, database=Depends("database")):
        with database:
            return json_response(database.total())

    def account(request, database=Depends("database")):
        with database:
            raw = request.path_params["raw"]
            return json_response(database.account(raw))

    routes(app, "/health", GET=health)
    routes(app, "/db", GET=db)
    routes(app, "/queries", GET=queries)
    routes(app, "/updates", GET=updates)
    routes(app, "/cached-queries", GET=cached_queries)
    routes(app, "/fortunes", GET=fortunes)
    routes(app, "/world/{raw}", GET=world)
    routes(app, "/users", GET=users_page, POST=create_user)
    routes(app, "/users/{raw}", GET=user_with_posts)
    routes(app, "/posts/by-user/{raw}", GET=posts_by_user)
    routes(app, "/transfers", POST=create_transfer)
    routes(app, "/accounts/total", GET=accounts_total)
    routes(app, "/accounts/{raw}", GET=account)
    app.on_stop = engine.dispose
    return app
