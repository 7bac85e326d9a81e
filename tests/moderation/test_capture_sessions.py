"""Live capture sessions: the single-use link a partner hands to the subject, its status, decline and expiry."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image

from accounts.models import AuditEntry
from accounts.services import api_key_create
from moderation import services
from moderation.models import CaptureSession, CaptureStatus, Consent, Subject
from tests.conftest import PartnerActor, bearer_client
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

# What a partner must never read of a capture: the words and prompts, and when each was shown.
HIDDEN = ("challenge", "prompts", "revealed_at", "token_hash", "upload_key")


def pending_consent(actor: PartnerActor, *, kind: str = "person", status: str = "pending") -> Consent:
    """A pending consent of a person, made directly (these tests need no face references)."""
    subject = Subject.objects.create(partner=actor.partner, display_name="Ada Lovelace", kind=kind)
    now = timezone.now()
    return Consent.objects.create(
        partner=actor.partner, subject=subject, use_case="education", valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30), max_generations=5, status=status, challenge_phrase="tiger orange piano",
        challenge_expires_at=now + timedelta(minutes=10),
    )  # fmt: skip


def open_link(actor: PartnerActor, consent: Consent) -> dict:
    response = actor.client.post(f"/v1/consents/{consent.id}/capture-sessions")
    assert response.status_code == 201, response.content
    return response.json()


def token_of(body: dict) -> str:
    return body["capture_url"].rsplit("/capture/", 1)[1]


def test_a_partner_gets_a_single_use_link_with_its_qr_code_and_only_its_hash_is_stored(alice: PartnerActor) -> None:
    body = open_link(alice, pending_consent(alice))
    assert body["status"] == "open"
    assert body["capture_url"].startswith("http://127.0.0.1:8000/capture/")
    token = token_of(body)
    assert len(token) >= 40
    session = CaptureSession.objects.get(id=body["id"])
    assert session.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in json.dumps(list(CaptureSession.objects.values()), default=str)
    assert timedelta(minutes=14) < session.expires_at - session.created_at <= timedelta(minutes=15, seconds=5)
    assert "<svg" in body["qr_svg"] and "</svg>" in body["qr_svg"]
    png = Image.open(io.BytesIO(base64.b64decode(body["qr_png_base64"])))
    assert png.format == "PNG" and png.size[0] == png.size[1] >= 150


def test_the_partner_sees_the_status_but_never_the_words_or_prompts(alice: PartnerActor) -> None:
    body = open_link(alice, pending_consent(alice))
    CaptureSession.objects.filter(id=body["id"]).update(
        challenge_phrase="lemon rocket garden", prompts=[{"kind": "turn_left", "revealed_at": "now"}]
    )
    seen = alice.client.get(f"/v1/capture-sessions/{body['id']}")
    assert seen.status_code == 200 and seen.json()["status"] == "open"
    for text in (json.dumps(seen.json()), json.dumps(body)):
        assert "lemon" not in text
        assert not [k for k in HIDDEN if f'"{k}' in text], text


def test_another_partners_session_is_as_good_as_missing(alice: PartnerActor, bob: PartnerActor) -> None:
    body = open_link(alice, pending_consent(alice))
    response = bob.client.get(f"/v1/capture-sessions/{body['id']}")
    assert response.status_code == 404 and response.json()["error"]["code"] == "capture_session_not_found"
    assert bob.client.post(f"/v1/consents/{body['consent_id']}/capture-sessions").status_code == 404


def test_a_link_needs_a_pending_consent_of_a_person(alice: PartnerActor) -> None:
    verified = alice.client.post(f"/v1/consents/{pending_consent(alice, status='verified').id}/capture-sessions")
    assert verified.status_code == 409 and verified.json()["error"]["code"] == "consent_not_pending"
    artwork = alice.client.post(f"/v1/consents/{pending_consent(alice, kind='artwork').id}/capture-sessions")
    assert artwork.status_code == 400 and artwork.json()["error"]["code"] == "capture_not_allowed"


def test_creating_a_link_needs_the_consent_scope(alice: PartnerActor) -> None:
    _, token = api_key_create(partner=alice.partner, name="reader", scopes=["read"])
    response = bearer_client(token).post(f"/v1/consents/{pending_consent(alice).id}/capture-sessions")
    assert response.status_code == 403 and response.json()["error"]["code"] == "scope_missing"


def test_a_new_link_supersedes_the_one_still_open(alice: PartnerActor) -> None:
    consent = pending_consent(alice)
    first, second = open_link(alice, consent), open_link(alice, consent)
    assert alice.client.get(f"/v1/capture-sessions/{first['id']}").json()["reason_codes"] == ["superseded"]
    assert CaptureSession.objects.get(id=first["id"]).status == CaptureStatus.EXPIRED
    assert CaptureSession.objects.get(id=second["id"]).status == CaptureStatus.OPEN
    assert alice.client.get(f"/capture/{token_of(first)}").status_code == 410


def test_the_subject_sees_who_is_asking_and_the_full_terms(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    consent = pending_consent(alice)
    page = anon.get(f"/capture/{token_of(open_link(alice, consent))}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Alice Learning" in text and "Ada Lovelace" in text
    assert services.terms_text(consent) in text
    assert 'type="file"' not in text, "no file picker: recordings are made live"
    assert "tiger" not in text, "the consent's own challenge (which the partner knows) is never used here"


def test_the_subject_may_decline_and_the_partner_is_told(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    WebhookEndpoint.objects.create(partner=alice.partner, url="https://hooks.alice.example/t", secret="s")
    body = open_link(alice, pending_consent(alice))
    token = token_of(body)
    declined = anon.post(f"/capture/{token}/decline")
    assert declined.status_code == 410 and "You declined" in declined.content.decode()
    assert alice.client.get(f"/v1/capture-sessions/{body['id']}").json()["status"] == "declined"
    hook = WebhookDelivery.objects.get(event_type="capture_session.declined")
    assert hook.payload["data"] == {"id": body["id"], "consent_id": body["consent_id"], "status": "declined",
                                    "reason_codes": ["declined_by_subject"]}  # fmt: skip
    events = AuditEntry.objects.filter(target_id=body["id"]).values_list("event_type", flat=True)
    assert list(events.order_by("id")) == ["capture_session.created", "capture_session.declined"]
    assert anon.get(f"/capture/{token}").status_code == 410


def test_an_unknown_link_is_not_found_and_the_log_never_holds_a_link(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    token = token_of(open_link(alice, pending_consent(alice)))
    assert anon.get("/capture/not-a-real-token").status_code == 404
    assert anon.get(f"/capture/{token}").status_code == 200
    paths = list(AuditEntry.objects.filter(path__startswith="/capture/").values_list("path", flat=True))
    assert len(paths) == 2 and not [p for p in paths if token in p or "not-a-real-token" in p]


def test_a_link_expires_after_fifteen_minutes_on_access_or_by_the_sweep(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    consent = pending_consent(alice)
    read, swept = open_link(alice, consent), open_link(alice, pending_consent(alice))
    CaptureSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    page = anon.get(f"/capture/{token_of(read)}")
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert services.capture_sessions_expire() == 1
    for body in (read, swept):
        seen = alice.client.get(f"/v1/capture-sessions/{body['id']}").json()
        assert seen["status"] == "expired" and seen["reason_codes"] == ["link_expired"]
