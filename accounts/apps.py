from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Partners, people, API keys and the audit log."""

    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
