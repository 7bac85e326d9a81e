"""The review policy: reviewers decide per partner whether consents may skip review; partners cannot."""

from __future__ import annotations

import pytest

from accounts.models import AuditEntry
from tests.conftest import PartnerActor

pytestmark = pytest.mark.django_db


def test_a_reviewer_sets_a_partners_consent_policy_and_it_is_audited(alice: PartnerActor, reviewer) -> None:  # type: ignore[no-untyped-def]
    url = f"/v1/review/partners/{alice.partner.id}/consent-policy"
    response = reviewer.client.post(url, {"auto_verify": True, "comment": "Live capture pilot."}, format="json")
    assert response.status_code == 200 and response.json()["consent_auto_verify"] is True
    event = AuditEntry.objects.get(event_type="partner.consent_policy_changed")
    assert event.payload["auto_verify"] == {"from": False, "to": True}
    assert event.actor == f"user:{reviewer.user.pk}"
    assert reviewer.client.post(url, {"auto_verify": False, "comment": " "}, format="json").status_code == 400


def test_a_partner_cannot_set_its_own_consent_policy(alice: PartnerActor) -> None:
    url = f"/v1/review/partners/{alice.partner.id}/consent-policy"
    response = alice.client.post(url, {"auto_verify": True, "comment": "Trust us."}, format="json")
    assert response.status_code == 403
    alice.partner.refresh_from_db()
    assert alice.partner.consent_auto_verify is False


def test_an_artwork_consent_goes_to_review_saying_why(alice: PartnerActor) -> None:
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from tests.conftest import FIXTURES

    photo = SimpleUploadedFile("p.jpg", (FIXTURES / "engine" / "grace_hopper.jpg").read_bytes())
    subject = alice.client.post("/v1/subjects", {"display_name": "A portrait", "kind": "artwork", "photos": [photo]},
                                format="multipart")  # fmt: skip
    now = timezone.now()
    consent = alice.client.post(
        f"/v1/subjects/{subject.json()['id']}/consents",
        {"use_case": "education", "valid_from": now.isoformat(), "valid_until": (now + timedelta(days=3)).isoformat(),
         "max_generations": 1},
        format="json",
    ).json()  # fmt: skip
    assert consent["status"] == "needs_review" and consent["reason_codes"] == ["artwork_review"]
