from django.apps import AppConfig


class RowsConfig(AppConfig):
    name = "django_peer.rows"
    label = "rows"
    default_auto_field = "django.db.models.AutoField"
