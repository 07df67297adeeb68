"""The database category in Flask: SQLAlchemy 2 (psycopg 3 or sqlite3)
with a `scoped_session` removed at app-context teardown, marshmallow
schemas for the two bodies, Jinja2 for fortunes. Each gunicorn worker
builds the app, its engine (its share of the connections) and its `world`
cache; serve.py created and seeded the database before they started."""

from __future__ import annotations

from flask import Flask, Response, render_template, request
from marshmallow import RAISE, Schema, ValidationError, validate, validates_schema
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker

from bench_shared import http
from bench_shared.db import TEMPLATES, failures, rules
from bench_shared.db.location import engine_name, from_environment, process_pool, total_pool
from bench_shared.db.orm import sync_engine
from bench_shared.db.repository import Service, fill_cache

from .common import (Coded, StrictInteger, StrictString, error_response, json_response, load,
                     new_app, query, read_json_bytes, route)

MAX_BODY_BYTES = 1 << 20


def _email_bytes(email: str) -> None:
    problem = rules.email_problem(email)
    if problem:
        raise ValidationError(Coded("email", problem))


class NewUserSchema(Schema):
    class Meta:
        unknown = RAISE

    name = StrictString(required=True)
    email = StrictString(required=True, validate=[validate.Regexp(rules.EMAIL_RE), _email_bytes])

    @validates_schema
    def name_not_blank(self, data: dict, **_) -> None:
        name = data.get("name")
        if name is not None and (not name.strip() or len(name.encode()) > rules.MAX_NAME):
            raise ValidationError(
                Coded("length", f"must be 1 to {rules.MAX_NAME} bytes, not blank"), "name")


class TransferSchema(Schema):
    class Meta:
        unknown = RAISE

    payer = StrictInteger(required=True, data_key="from",
                          validate=validate.Range(1, rules.I32_MAX))
    payee = StrictInteger(required=True, data_key="to", validate=validate.Range(1, rules.I32_MAX))
    amount = StrictInteger(required=True, validate=validate.Range(1, rules.MAX_AMOUNT))

    @validates_schema
    def two_accounts(self, data: dict, **_) -> None:
        if data.get("payer") is not None and data.get("payer") == data.get("payee"):
            raise ValidationError(Coded("same_account", "must differ from `from`"), "to")


def create_app() -> Flask:
    app = new_app("database")
    app.template_folder = TEMPLATES
    uptime = http.Uptime()
    location = from_environment()
    if location is None:
        raise SystemExit("the database category needs BENCH_DATABASE_URL (serve.py sets it)")
    pool = process_pool()
    engine = sync_engine(location, pool)
    Session = scoped_session(sessionmaker(engine, expire_on_commit=False))
    with Session() as session:
        cache = fill_cache(session)
    Session.remove()
    new_user, transfer = NewUserSchema(), TransferSchema()

    @app.teardown_appcontext
    def remove_session(_exc: BaseException | None) -> None:
        Session.remove()

    @app.errorhandler(SQLAlchemyError)
    def database_failure(e: SQLAlchemyError) -> Response:
        return error_response(failures.translate(e))

    def service() -> Service:
        return Service(Session(), cache)

    @route(app, "/health", ["GET"])
    def health() -> Response:
        return json_response({"status": "ok", "category": "database",
                              "engine": engine_name(), "pool_size": total_pool(),
                              "isolation": location.isolation(),
                              "uptime_seconds": uptime.seconds()})

    @route(app, "/db", ["GET"])
    def db() -> Response:
        return json_response(service().db())

    @route(app, "/queries", ["GET"])
    def queries() -> Response:
        return json_response(service().queries(request.args.get("queries")))

    @route(app, "/updates", ["GET"])
    def updates() -> Response:
        return json_response(service().updates(request.args.get("queries")))

    @route(app, "/cached-queries", ["GET"])
    def cached_queries() -> Response:
        return json_response(service().cached_queries(request.args.get("count")))

    @route(app, "/fortunes", ["GET"])
    def fortunes() -> Response:
        return Response(render_template("fortunes.html", fortunes=service().fortunes()),
                        mimetype="text/html")

    @route(app, "/world/<raw>", ["GET"])
    def world(raw: str) -> Response:
        return json_response(service().world(raw))

    @route(app, "/users", ["GET"])
    def users_page() -> Response:
        return json_response(service().users_page(query()))

    @route(app, "/users", ["POST"])
    def create_user() -> Response:
        body = load(new_user, rules.parse_body(read_json_bytes(MAX_BODY_BYTES)))
        return json_response(service().create_user(rules.NewUser(**body)), 201)

    @route(app, "/users/<raw>", ["GET"])
    def user_with_posts(raw: str) -> Response:
        return json_response(service().user(raw))

    @route(app, "/posts/by-user/<raw>", ["GET"])
    def posts_by_user(raw: str) -> Response:
        return json_response(service().posts_by_user(raw, query()))

    @route(app, "/transfers", ["POST"])
    def create_transfer() -> Response:
        body = load(transfer, rules.parse_body(read_json_bytes(MAX_BODY_BYTES)))
        return json_response(service().transfer(rules.TransferRequest(**body)), 201)

    @route(app, "/accounts/total", ["GET"])
    def accounts_total() -> Response:
        return json_response(service().total())

    @route(app, "/accounts/<raw>", ["GET"])
    def account(raw: str) -> Response:
        return json_response(service().account(raw))
    return app
