"""The database category in Django: the ORM over the `rows` app's models
(migrated and seeded by serve.py before the workers start), DRF
serializers in and out, `select_related`/`prefetch_related` for a user's
posts, `transaction.atomic` + `select_for_update` for transfers, a Django
template for fortunes. Each gunicorn worker fills its `world` cache when it
loads this URLconf."""

from __future__ import annotations

from django.db import connection, models, transaction
from django.db.models import Count, Prefetch, Sum
from django.db.models.functions import Coalesce
from django.db.utils import DatabaseError
from django.shortcuts import render
from django.urls import path
from rest_framework import serializers
from rest_framework.decorators import api_view

import wsgi_server
from bench_shared import errors, http
from bench_shared.db import failures, rules
from bench_shared.db.location import engine_name, from_environment, process_pool, total_pool

from . import common
from .common import StrictInt, StrictSerializer, StrictStr, json, query
from .rows.models import Account, Fortune, Post, Transfer, User, World

MAX_BODY_BYTES = 1 << 20
uptime = http.Uptime()
location = from_environment()


# ------------------------------------------------------------ serializers


class WorldSerializer(serializers.ModelSerializer):
    randomNumber = serializers.IntegerField(source="randomnumber")

    class Meta:
        model = World
        fields = ["id", "randomNumber"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email"]


class PostSerializer(serializers.ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "user_id", "title", "body"]


class UserWithPostsSerializer(UserSerializer):
    posts = PostSerializer(many=True)

    class Meta(UserSerializer.Meta):
        fields = ["id", "name", "email", "posts"]


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = ["id", "user_id", "balance"]


class NewUserSerializer(StrictSerializer):
    name = StrictStr(trim_whitespace=False, allow_blank=True)
    # Not blank: DRF runs no validator on "".
    email = StrictStr(allow_blank=False,
                      validators=[serializers.RegexField(rules.EMAIL_RE).validators[-1]])

    def validate_name(self, name: str) -> str:
        if not name.strip() or len(name.encode()) > rules.MAX_NAME:
            raise common.fail("length", f"must be 1 to {rules.MAX_NAME} bytes, not blank")
        return name

    def validate_email(self, email: str) -> str:
        problem = rules.email_problem(email)
        if problem:
            raise common.fail("email", problem)
        return email


class TransferSerializer(StrictSerializer):
    """`from` is a Python keyword: the fields are named in `get_fields`."""

    amount = StrictInt(min_value=1, max_value=rules.MAX_AMOUNT)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = StrictInt(min_value=1, max_value=rules.I32_MAX)
        fields["to"] = StrictInt(min_value=1, max_value=rules.I32_MAX)
        return fields

    def validate(self, data: dict) -> dict:
        if data["from"] == data["to"]:
            raise serializers.ValidationError(
                {"to": [common.fail("same_account", "must differ from `from`").detail[0]]})
        return data


# ------------------------------------------------------------------- work


def _world_cache() -> dict[int, dict]:
    """Every `world` row by id: `/cached-queries` never misses on a served load."""
    return {row["id"]: row for row in WorldSerializer(World.objects.all(), many=True).data}


cache = _world_cache()
connection.close()  # the loading thread's connection; requests use their own


def _retried(work):
    """`work()` again (up to `failures.ATTEMPTS` times) when PostgreSQL broke
    a deadlock or a serialization conflict by aborting it."""
    for attempt in range(1, failures.ATTEMPTS + 1):
        try:
            return work()
        except DatabaseError as e:
            if attempt == failures.ATTEMPTS or not failures.retryable(e):
                raise


def _random_world() -> World:
    id_ = rules.random_ids(1)[0]
    row = World.objects.filter(id=id_).first()
    if row is None:
        raise errors.internal(f"seeded world row {id_} is missing")
    return row


def _worlds(ids: list[int]) -> list[World]:
    """Each row by its own SELECT (TechEmpower's rule for `/queries`)."""
    rows = (World.objects.filter(id=id_).first() for id_ in ids)
    return [row for row in rows if row is not None]


def _update(ids: list[int], numbers: list[int]) -> list[World]:
    rows = _worlds(ids)
    for row, number in zip(rows, numbers):
        row.randomnumber = number
    with transaction.atomic():
        World.objects.bulk_update(sorted(rows, key=lambda w: w.id), ["randomnumber"])
    return rows


def _transfer(request: rules.TransferRequest) -> dict:
    with transaction.atomic():
        locked = {a.id: a for a in Account.objects.select_for_update()
                  .filter(id__in=(request.payer, request.payee)).order_by("id")}
        payer, payee = locked.get(request.payer), locked.get(request.payee)
        if payer is None or payee is None:
            raise rules.missing("account", request.payer if payer is None else request.payee)
        if payer.balance < request.amount:
            raise rules.insufficient(payer.id, payer.balance, request.amount)
        payer.balance -= request.amount
        payee.balance += request.amount
        payer.save(update_fields=["balance"])
        payee.save(update_fields=["balance"])
        record = Transfer.objects.create(payer=payer, payee=payee, amount=request.amount)
    return rules.transfer_answer(record.id, request, payer.balance, payee.balance)


# ------------------------------------------------------------------ views


def _connections() -> int:
    """The connections the server holds in all: one per gunicorn thread
    (`rows.config` says why)."""
    return wsgi_server.THREADS * (total_pool() // process_pool())


@api_view(["GET"])
def health(request):
    return json({"status": "ok", "category": "database", "engine": engine_name(),
                 "pool_size": _connections(), "isolation": location.isolation(),
                 "uptime_seconds": uptime.seconds()})


@api_view(["GET"])
def db(request):
    return json(WorldSerializer(_random_world()).data)


@api_view(["GET"])
def queries(request):
    ids = rules.random_ids(rules.row_count(request.GET.get("queries")))
    return json(WorldSerializer(_worlds(ids), many=True).data)


@api_view(["GET"])
def updates(request):
    count = rules.row_count(request.GET.get("queries"))
    ids, numbers = rules.distinct_ids(count), rules.new_numbers(count)
    rows = WorldSerializer(_retried(lambda: _update(ids, numbers)), many=True).data
    for row in rows:
        cache[row["id"]] = row  # the cache serves what this process wrote
    return json(rows)


@api_view(["GET"])
def cached_queries(request):
    out = []
    for id_ in rules.random_ids(rules.row_count(request.GET.get("count"))):
        row = cache.get(id_)
        if row is None:
            row = cache[id_] = WorldSerializer(World.objects.get(id=id_)).data
        out.append(row)
    return json(out)


def fortunes(request):
    rows = rules.fortune_rows(list(Fortune.objects.values_list("id", "message")))
    return render(request, "fortunes.html", {"fortunes": rows})


@api_view(["GET"])
def world(request, raw: str):
    row = World.objects.filter(id=rules.row_id(raw, "world row")).first()
    if row is None:
        raise rules.missing("world row", raw)
    return json(WorldSerializer(row).data)


@api_view(["GET", "POST"])
def users(request):
    if request.method == "POST":
        new = common.check(NewUserSerializer, common.json_value(request, MAX_BODY_BYTES,
                                                                  rules.parse_body))
        with transaction.atomic():
            user = User.objects.create(name=new["name"], email=new["email"])
        return json(UserSerializer(user).data, 201)
    limit, offset = rules.users_page(query(request))
    page = User.objects.order_by("id")[offset:offset + limit]
    return json({"users": UserSerializer(page, many=True).data, "total": User.objects.count(),
                 "limit": limit, "offset": offset})


@api_view(["GET"])
def user_with_posts(request, raw: str):
    id_ = rules.row_id(raw, "user")
    user = (User.objects.prefetch_related(Prefetch("posts", Post.objects.order_by("id")))
            .filter(id=id_).first())
    if user is None:
        raise rules.missing("user", id_)
    return json(UserWithPostsSerializer(user).data)


@api_view(["GET"])
def posts_by_user(request, raw: str):
    limit = rules.posts_limit(query(request))
    user_id = rules.row_id(raw, "user")
    posts = Post.objects.filter(user_id=user_id).order_by("id")[:limit]
    return json({"user_id": user_id, "posts": PostSerializer(posts, many=True).data})


@api_view(["POST"])
def transfers(request):
    data = common.check(TransferSerializer,
                        common.json_value(request, MAX_BODY_BYTES, rules.parse_body))
    transfer = rules.TransferRequest(data["from"], data["to"], data["amount"])
    return json(_retried(lambda: _transfer(transfer)), 201)


@api_view(["GET"])
def accounts_total(request):
    found = Account.objects.aggregate(
        total=Coalesce(Sum("balance"), 0, output_field=models.BigIntegerField()),
        accounts=Count("id"))
    return json(found)


@api_view(["GET"])
def account(request, raw: str):
    id_ = rules.row_id(raw, "account")
    found = Account.objects.filter(id=id_).first()
    if found is None:
        raise rules.missing("account", id_)
    return json(AccountSerializer(found).data)


urlpatterns = [
    path("health", health),
    path("db", db),
    path("queries", queries),
    path("updates", updates),
    path("cached-queries", cached_queries),
    path("fortunes", fortunes),
    path("world/<str:raw>", world),
    path("users", users),
    path("users/<str:raw>", user_with_posts),
    path("posts/by-user/<str:raw>", posts_by_user),
    path("transfers", transfers),
    path("accounts/total", accounts_total),
    path("accounts/<str:raw>", account),
]

handler404 = common.handler404
handler500 = common.handler500
handler400 = common.handler400
