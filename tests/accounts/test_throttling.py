"""Per-partner throttling on the shared cache: 429 with Retry-After, one budget per partner."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache

from accounts import services
from accounts.models import Partner
from tests.conftest import PartnerActor, bearer_client

pytestmark = pytest.mark.django_db


def test_a_partner_over_its_limit_gets_429_with_retry_after(alice: PartnerActor, bob: PartnerActor) -> None:
    Partner.objects.filter(id=alice.partner.id).update(rate_limit_per_minute=3)
    statuses = [alice.client.get("/v1/partner").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = alice.client.get("/v1/partner")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert 1 <= int(refused["Retry-After"]) <= 60
    # Bob's budget is his own.
    assert bob.client.get("/v1/partner").status_code == 200


def test_all_keys_of_a_partner_share_one_budget(alice: PartnerActor) -> None:
    Partner.objects.filter(id=alice.partner.id).update(rate_limit_per_minute=2)
    _, second = services.api_key_create(partner=alice.partner, name="second", scopes=["read"])
    assert alice.client.get("/v1/partner").status_code == 200
    assert bearer_client(second).get("/v1/partner").status_code == 200
    assert bearer_client(second).get("/v1/partner").status_code == 429


def test_anonymous_callers_are_throttled_by_address(db: None, anon, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from accounts.throttling import TalkgateRateThrottle

    monkeypatch.setitem(TalkgateRateThrottle.THROTTLE_RATES, "anon", "2/min")
    statuses = [anon.post("/v1/partner-applications", {}, format="json").status_code for _ in range(3)]
    assert statuses == [400, 400, 429]
    other_address = anon.post("/v1/partner-applications", {}, format="json", REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 400


def test_a_raised_limit_takes_effect_on_the_next_request(alice: PartnerActor) -> None:
    Partner.objects.filter(id=alice.partner.id).update(rate_limit_per_minute=1)
    assert alice.client.get("/v1/partner").status_code == 200
    assert alice.client.get("/v1/partner").status_code == 429
    Partner.objects.filter(id=alice.partner.id).update(rate_limit_per_minute=5)
    assert alice.client.get("/v1/partner").status_code == 200


@pytest.mark.redis
def test_throttle_state_lives_in_redis(alice: PartnerActor) -> None:
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    alice.client.get("/v1/partner")
    history = cache.get(f"throttle:partner:{alice.partner.id}")
    assert isinstance(history, list) and len(history) == 1
