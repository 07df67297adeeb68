"""The tables, mapped to the names the other frameworks use (`db_table`,
`db_column`), so that every framework reads and writes the same schema."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class World(models.Model):
    id = models.IntegerField(primary_key=True)
    randomnumber = models.IntegerField()

    class Meta:
        db_table = "world"


class Fortune(models.Model):
    id = models.IntegerField(primary_key=True)
    message = models.CharField(max_length=2048)

    class Meta:
        db_table = "fortune"


class User(models.Model):
    name = models.TextField()
    email = models.TextField(unique=True)

    class Meta:
        db_table = "users"


class Post(models.Model):
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="posts")
    title = models.TextField()
    body = models.TextField()

    class Meta:
        db_table = "posts"


class Account(models.Model):
    id = models.IntegerField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    balance = models.BigIntegerField()

    class Meta:
        db_table = "accounts"
        constraints = [models.CheckConstraint(condition=Q(balance__gte=0),
                                              name="accounts_balance_check")]


class Transfer(models.Model):
    id = models.BigAutoField(primary_key=True)
    payer = models.ForeignKey(Account, on_delete=models.PROTECT, db_column="from_id",
                              related_name="+")
    payee = models.ForeignKey(Account, on_delete=models.PROTECT, db_column="to_id",
                              related_name="+")
    amount = models.BigIntegerField()

    class Meta:
        db_table = "transfers"
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0),
                                              name="transfers_amount_check")]
