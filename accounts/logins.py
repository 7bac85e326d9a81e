"""Password sign-in: one username normal form, a failure lock per account and per address, and its audit trail.

The console and the Django admin share this, so neither is a way around the other's lock.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest

from accounts import audit
from accounts.models import User
from core.errors import DomainError

USERNAME_MAX = 150


def normalise_username(raw: str) -> str:
    """The form a username is compared in: NFKC (fullwidth and other look-alike forms fold), case-folded, trimmed."""
    return unicodedata.normalize("NFKC", raw or "").casefold().strip()[:USERNAME_MAX]


class LoginLocked(DomainError):
    """Too many failed sign-ins for this account or from this address."""

    status = 429
    code = "login_locked"


def _account_key(username: str) -> str:
    return f"login-failures:account:{normalise_username(username)}"


def _address_key(address: str | None) -> str:
    return f"login-failures:address:{address or '-'}"


def _count(key: str) -> int:
    return int(cache.get(key, 0) or 0)


def _bump(key: str) -> None:
    # add() starts the window on the first failure; incr() never extends it, so a lock always ends.
    if not cache.add(key, 1, settings.TALKGATE_LOGIN_LOCK_SECONDS):
        try:
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, settings.TALKGATE_LOGIN_LOCK_SECONDS)


def login_attempt_check(*, username: str, address: str | None, channel: str) -> None:
    """Raise LoginLocked (and audit it) when the account or the address has used up its failures."""
    account_locked = _count(_account_key(username)) >= settings.TALKGATE_LOGIN_MAX_FAILURES
    address_locked = _count(_address_key(address)) >= settings.TALKGATE_LOGIN_MAX_FAILURES_PER_ADDRESS
    if account_locked or address_locked:
        audit.record(
            f"{channel}.login_locked",
            payload={"username": normalise_username(username), "by": "account" if account_locked else "address"},
        )
        raise LoginLocked("Too many failed sign-ins; try again later.")


def login_failure_record(*, username: str, address: str | None, channel: str) -> None:
    """Count one failed sign-in against the account and the address, and audit it."""
    _bump(_account_key(username))
    _bump(_address_key(address))
    audit.record(f"{channel}.login_failed", payload={"username": normalise_username(username)})


def login_success_record(*, user: User, channel: str) -> None:
    """A correct password ends the account's failure count (not the address's) and is audited."""
    cache.delete(_account_key(user.get_username()))
    audit.record(f"{channel}.login", actor=f"user:{user.pk}")


class NormalisedUsernameBackend(ModelBackend):
    """Django's model backend, finding the user by the normal form of the username (NFKC, case-folded).

    Two accounts whose names share a normal form would be ambiguous: neither signs in by password then.
    """

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if not username or password is None:
            return None
        wanted = normalise_username(username)
        candidates = [
            u
            for u in User._default_manager.filter(username__iexact=wanted)[:5]
            if normalise_username(u.username) == wanted
        ]
        if len(candidates) != 1:
            # Same work as a real check, so timing does not tell whether the name exists.
            User().set_password(password)
            return None
        user = candidates[0]
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
