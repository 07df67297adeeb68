"""The database category's Django app: the models of the tables every
framework shares (the same names, columns, `CHECK`s, unique email and
foreign keys as `shared::db::schema`), their migration, and the seeding
through the ORM."""
