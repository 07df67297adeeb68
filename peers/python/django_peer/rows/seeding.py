"""Creates the tables by the app's migration and fills them with the rows
every framework holds (`bench_shared.db.seed`), through the ORM."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, transaction

from bench_shared.db import seed

from .models import Account, Fortune, Post, User, World

BATCH = 1000


def prepare() -> str:
    """Migrates and seeds a database without tables (one with tables is used
    as it is); gives the engine's name and version."""
    if "world" not in connection.introspection.table_names():
        call_command("migrate", "rows", verbosity=0, interactive=False)
        with transaction.atomic():
            World.objects.bulk_create((World(id=i, randomnumber=n) for i, n in seed.world()),
                                      batch_size=BATCH)
            Fortune.objects.bulk_create(Fortune(id=i, message=m) for i, m in seed.FORTUNES)
            User.objects.bulk_create((User(id=u.id, name=u.name, email=u.email)
                                      for u in seed.users()), batch_size=BATCH)
            Post.objects.bulk_create((Post(id=p.id, user_id=p.user_id, title=p.title,
                                           body=p.body) for p in seed.posts()), batch_size=BATCH)
            Account.objects.bulk_create((Account(id=a.id, user_id=a.user_id, balance=a.balance)
                                         for a in seed.accounts()), batch_size=BATCH)
            # Explicit ids leave PostgreSQL's sequences behind: new rows follow the seeded ones.
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(no_style(), [User, Post]):
                    cursor.execute(sql)
                if connection.vendor == "postgresql":
                    # Statistics for the planner now, as the reference's seeding does.
                    cursor.execute("ANALYZE")
    version = connection.Database.sqlite_version if connection.vendor == "sqlite" else None
    if version is None:
        major, rest = divmod(connection.pg_version, 10000)
        version = f"{major}.{rest}"
        name = "PostgreSQL"
    else:
        name = "SQLite"
    connection.close()  # nothing open survives into the forked workers
    return f"{name} {version}"
