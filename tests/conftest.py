"""Shared fixtures: named personas (Alice's partner, Bob's partner, a reviewer) and service markers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services
from accounts.models import PARTNER_SCOPES, ApiKey, Partner, PartnerStatus, Role, Scope, UseCase, User

REQUIRE_SERVICES = os.environ.get("TALKGATE_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    # CI sets TALKGATE_REQUIRE_SERVICES=1: there a missing service is a failure, never a silent skip.
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (TALKGATE_REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"needs {what}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        _missing("PostgreSQL (DATABASE_URL=postgres://...)")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        _missing("Redis (REDIS_URL=redis://...)")


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class PartnerActor:
    """A partner with one key and a client that sends it."""

    partner: Partner
    key: ApiKey
    token: str
    client: APIClient


def bearer_client(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_partner(name: str, *, status: str = PartnerStatus.APPROVED, rate: int = 1000) -> Partner:
    return Partner.objects.create(
        name=name,
        contact_name=f"{name} contact",
        contact_email=f"contact@{name.lower().replace(' ', '-')}.example",
        use_case=UseCase.EDUCATION,
        use_case_description="Narrated lessons with a consenting teacher's portrait.",
        approved_use_cases=[UseCase.EDUCATION] if status == PartnerStatus.APPROVED else [],
        status=status,
        rate_limit_per_minute=rate,
    )


def make_actor(name: str, *, scopes: list[str] | None = None, **partner_kwargs: object) -> PartnerActor:
    partner = make_partner(name, **partner_kwargs)  # type: ignore[arg-type]
    key, token = services.api_key_create(partner=partner, name="test", scopes=scopes or list(PARTNER_SCOPES))
    return PartnerActor(partner=partner, key=key, token=token, client=bearer_client(token))


@pytest.fixture
def alice(db: None) -> PartnerActor:
    """Alice's partner: approved, one key with every partner scope."""
    return make_actor("Alice Learning")


@pytest.fixture
def bob(db: None) -> PartnerActor:
    """Bob's partner: approved, one key with every partner scope."""
    return make_actor("Bob Studios")


@dataclass
class ReviewerActor:
    user: User
    token: str
    client: APIClient


@pytest.fixture
def reviewer(db: None) -> ReviewerActor:
    """A reviewer with a reviewer API key."""
    user = services.reviewer_create(username="rita", email="rita@talkgate.example", password=None, role=Role.REVIEWER)
    _, token = services.api_key_create(user=user, name="test", scopes=[Scope.REVIEW])
    return ReviewerActor(user=user, token=token, client=bearer_client(token))


@pytest.fixture
def anon() -> APIClient:
    return APIClient()
