"""Password sign-in on the console and the admin: look-alike names, one lock per account and per address, audit."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts import services
from accounts.models import AuditEntry, Role, User
from tests.console.conftest import REVIEWER_PASSWORD

pytestmark = pytest.mark.django_db

CONSOLE = "/console/login"
ADMIN = "/admin/login/"
LOOK_ALIKES = ["\uff52ita", "Rita", "RITA", " rita ", "\uff32\uff29\uff34\uff21"]


def _post(client: Client, url: str, username: str, password: str) -> int:
    return client.post(url, {"username": username, "password": password}).status_code


@pytest.fixture
def root(db: None) -> User:
    """An admin (staff, superuser) who can use Django's admin."""
    return services.reviewer_create(
        username="root", email="root@x.example", password=REVIEWER_PASSWORD, role=Role.ADMIN
    )


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_name_is_the_same_account(rita: User, name: str) -> None:
    client = Client()
    assert _post(client, CONSOLE, name, REVIEWER_PASSWORD) == 302
    assert client.session["_auth_user_id"] == str(rita.pk)


def test_look_alikes_share_the_accounts_five_guesses(rita: User) -> None:
    client = Client()
    statuses = [_post(client, CONSOLE, name, "wrong") for name in LOOK_ALIKES]
    assert statuses == [200] * 5
    for name in ("rita", *LOOK_ALIKES):
        assert _post(client, CONSOLE, name, REVIEWER_PASSWORD) == 429
    assert "_auth_user_id" not in client.session


def test_an_account_is_locked_from_every_address(rita: User) -> None:
    for i in range(5):
        assert _post(Client(REMOTE_ADDR=f"198.51.100.{i + 1}"), CONSOLE, "rita", "wrong") == 200
    assert _post(Client(REMOTE_ADDR="203.0.113.50"), CONSOLE, "rita", REVIEWER_PASSWORD) == 429
    locked = AuditEntry.objects.get(event_type="console.login_locked")
    assert locked.payload == {"username": "rita", "by": "account"}


def test_an_address_is_locked_over_all_usernames(rita: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_LOGIN_MAX_FAILURES_PER_ADDRESS = 6
    client = Client()
    for i in range(6):
        assert _post(client, CONSOLE, f"user-{i}", "wrong") == 200
    assert _post(client, CONSOLE, "rita", REVIEWER_PASSWORD) == 429
    assert _post(Client(REMOTE_ADDR="198.51.100.1"), CONSOLE, "rita", REVIEWER_PASSWORD) == 302


def test_failures_are_audited_with_the_normal_form_of_the_name(rita: User) -> None:
    _post(Client(), CONSOLE, "\uff52ITA", "wrong")
    failed = AuditEntry.objects.get(event_type="console.login_failed")
    assert failed.payload == {"username": "rita"}


def test_the_admin_login_has_the_same_lock_and_audit(root: User) -> None:
    client = Client()
    statuses = [_post(client, ADMIN, "root", "wrong") for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    assert _post(client, ADMIN, "root", REVIEWER_PASSWORD) == 429
    assert AuditEntry.objects.filter(event_type="admin.login_failed").count() == 5
    assert AuditEntry.objects.filter(event_type="admin.login_locked").count() == 4
    # The console and the admin count against one lock: the console refuses too.
    assert _post(Client(), CONSOLE, "root", REVIEWER_PASSWORD) == 429


def test_an_admin_login_is_audited(root: User) -> None:
    client = Client()
    assert _post(client, ADMIN, "\uff52oot", REVIEWER_PASSWORD) == 302
    assert AuditEntry.objects.filter(event_type="admin.login", actor=f"user:{root.pk}").exists()
    assert client.get("/admin/").status_code == 200


def test_the_admin_can_be_turned_off() -> None:
    import importlib

    from django.test import override_settings
    from django.urls import clear_url_caches

    import config.urls

    try:
        with override_settings(TALKGATE_ADMIN_ENABLED=False):
            importlib.reload(config.urls)
            clear_url_caches()
            assert Client().get(ADMIN).status_code == 404
    finally:
        importlib.reload(config.urls)
        clear_url_caches()
    assert Client().get(ADMIN).status_code == 200
