"""Webhooks: SSRF guard, HMAC signatures checked by a real receiver, retries from the table, delivery log."""

from __future__ import annotations

import json

import pytest

from generation import pipeline
from generation.models import Job
from tests.conftest import PartnerActor
from tests.generation.conftest import post_job
from tests.webhooks.receiver import webhook_receiver
from webhooks import services as webhooks
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_webhooks(settings):  # type: ignore[no-untyped-def]
    """Tests talk to a receiver on loopback over http, which production refuses."""
    settings.TALKGATE_WEBHOOK_ALLOW_PRIVATE = True
    settings.TALKGATE_WEBHOOK_ALLOW_HTTP = True
    settings.TALKGATE_WEBHOOK_BACKOFF_S = [0, 0]
    return settings


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://example.com/hook", "webhook_url_forbidden"),
        ("https://127.0.0.1/hook", "webhook_url_forbidden"),
        ("https://10.1.2.3/hook", "webhook_url_forbidden"),
        ("https://169.254.169.254/latest/meta-data", "webhook_url_forbidden"),
        ("https://[::1]/hook", "webhook_url_forbidden"),
        ("https://[::ffff:192.168.0.1]/hook", "webhook_url_forbidden"),
        ("https://localhost/hook", "webhook_url_forbidden"),
        ("https://user:pw@93.184.216.34/hook", "webhook_url_invalid"),
        ("ftp://93.184.216.34/hook", "webhook_url_forbidden"),
        # IPv6 forms that carry a loopback or link-local IPv4 address (compatible, 6to4, NAT64).
        ("https://[::7f00:1]/hook", "webhook_url_forbidden"),
        ("https://[::127.0.0.1]/hook", "webhook_url_forbidden"),
        ("https://[2002:7f00:1::]/hook", "webhook_url_forbidden"),
        ("https://[2002:a9fe:a9fe::]/hook", "webhook_url_forbidden"),
        ("https://[64:ff9b::7f00:1]/hook", "webhook_url_forbidden"),
        ("https://[64:ff9b::a9fe:a9fe]/hook", "webhook_url_forbidden"),
        ("https://[64:ff9b:1::a9fe:a9fe]/hook", "webhook_url_forbidden"),
        ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", "webhook_url_forbidden"),  # Teredo to 127.0.0.1
        ("https://93.184.216.34:0/hook", "webhook_url_invalid"),
        ("https://93.184.216.34:99999/hook", "webhook_url_invalid"),
    ],
)
def test_ssrf_guard_refuses_private_loopback_and_plain_http_targets(alice: PartnerActor, url: str, code: str) -> None:
    response = alice.client.post("/v1/webhooks", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_a_public_https_address_passes_the_guard(db: None) -> None:
    webhooks.check_target("https://93.184.216.34/hook")  # a literal public address: no DNS needed
    # Public IPv4 behind NAT64 and 6to4 stays allowed: only the embedded address decides.
    webhooks.check_target("https://[64:ff9b::5db8:d822]:8443/hook")
    webhooks.check_target("https://[2002:5db8:d822::1]/hook")


def test_port_checks_hold_even_when_private_targets_are_allowed(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    response = alice.client.post("/v1/webhooks", {"url": "http://127.0.0.1:99999/h"}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "webhook_url_invalid"


def test_every_state_change_is_posted_with_a_signature_the_receiver_verifies(
    alice: PartnerActor, local_webhooks
) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver() as receiver:
        created = alice.client.post("/v1/webhooks", {"url": receiver.url, "description": "ci"}, format="json")
        assert created.status_code == 201
        secret = created.json()["secret"]
        job = Job.objects.get(id=post_job(alice).json()["id"])
        pipeline.screen_job(str(job.id))
        assert webhooks.deliver_due() == 3
        assert len(receiver.received) == 3
        events = []
        for request in receiver.received:
            signature = request.headers[webhooks.SIGNATURE_HEADER]
            assert webhooks.verify_signature(secret, signature, request.body)
            assert not webhooks.verify_signature("whsec_wrong", signature, request.body)
            assert not webhooks.verify_signature(secret, signature, request.body + b" ")
            payload = json.loads(request.body)
            assert payload["data"]["id"] == str(job.id)
            events.append(payload["type"])
        assert events == ["job.received", "job.screening", "job.queued"]
    log = alice.client.get(f"/v1/webhooks/{created.json()['id']}/deliveries").json()["results"]
    assert {d["status"] for d in log} == {"succeeded"} and len(log) == 3


def test_a_failing_receiver_gets_retries_with_backoff_then_success(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver(statuses=[500, 503]) as receiver:
        endpoint, _ = webhooks.endpoint_create(partner=alice.partner, url=receiver.url)
        post_job(alice)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert webhooks.deliver(delivery.id) == DeliveryStatus.PENDING
        delivery.refresh_from_db()
        assert delivery.attempts == 1 and delivery.last_status_code == 500
        assert webhooks.deliver_due() == 1
        assert webhooks.deliver_due() == 1
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
        assert len(receiver.received) == 3
        assert len({r.headers["Talkgate-Delivery"] for r in receiver.received}) == 1


def test_a_receiver_that_never_recovers_ends_failed_after_the_table(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver(statuses=[500] * 10) as receiver:
        endpoint, _ = webhooks.endpoint_create(partner=alice.partner, url=receiver.url)
        post_job(alice)
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        for _ in range(5):
            webhooks.deliver_due()
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
        assert len(receiver.received) == 3


def test_backoff_waits_are_honoured(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    local_webhooks.TALKGATE_WEBHOOK_BACKOFF_S = [3600]
    with webhook_receiver(statuses=[500]) as receiver:
        webhooks.endpoint_create(partner=alice.partner, url=receiver.url)
        post_job(alice)
        assert webhooks.deliver_due() == 1
        assert webhooks.deliver_due() == 0, "the next attempt is an hour away"
        assert len(receiver.received) == 1


def test_rotating_the_secret_changes_the_signature(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver() as receiver:
        created = alice.client.post("/v1/webhooks", {"url": receiver.url}, format="json").json()
        rotated = alice.client.post(f"/v1/webhooks/{created['id']}/rotate-secret", {}, format="json").json()
        assert rotated["secret"] != created["secret"]
        post_job(alice)
        webhooks.deliver_due()
        header = receiver.received[0].headers[webhooks.SIGNATURE_HEADER]
        assert webhooks.verify_signature(rotated["secret"], header, receiver.received[0].body)
        assert not webhooks.verify_signature(created["secret"], header, receiver.received[0].body)


def test_disabled_endpoints_get_nothing(alice: PartnerActor, local_webhooks) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver() as receiver:
        created = alice.client.post("/v1/webhooks", {"url": receiver.url}, format="json").json()
        assert alice.client.delete(f"/v1/webhooks/{created['id']}").json()["active"] is False
        post_job(alice)
        assert webhooks.deliver_due() == 0 and receiver.received == []


def test_partners_see_only_their_own_endpoints_and_deliveries(
    alice: PartnerActor, bob: PartnerActor, local_webhooks
) -> None:  # type: ignore[no-untyped-def]
    with webhook_receiver() as receiver:
        created = alice.client.post("/v1/webhooks", {"url": receiver.url}, format="json").json()
        post_job(bob)
        assert bob.client.get("/v1/webhooks").json()["results"] == []
        for method, path in [("get", f"/v1/webhooks/{created['id']}"),
                             ("get", f"/v1/webhooks/{created['id']}/deliveries"),
                             ("delete", f"/v1/webhooks/{created['id']}"),
                             ("post", f"/v1/webhooks/{created['id']}/rotate-secret")]:  # fmt: skip
            response = getattr(bob.client, method)(path, {}, format="json")
            assert response.status_code == 404, (method, path)
        webhooks.deliver_due()
        assert receiver.received == [], "Bob's job events never reach Alice's endpoint"
