"""Subjects and consents through the partner API: references, capture, evidence intake, revocation, isolation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AuditEntry
from core import storage
from generation import pipeline
from generation.models import Job, JobStatus
from moderation.models import Consent, ConsentStatus
from tests.conftest import PartnerActor, ReviewerActor, make_consent, photo_bytes, speech_bytes
from tests.generation.conftest import post_job

pytestmark = pytest.mark.django_db


def _subject(actor: PartnerActor, *photos: str, kind: str = "person"):  # type: ignore[no-untyped-def]
    files = [SimpleUploadedFile(name, photo_bytes(name)) for name in photos or ("grace_hopper.jpg",)]
    return actor.client.post(
        "/v1/subjects", {"display_name": "Grace", "kind": kind, "photos": files}, format="multipart"
    )


def _consent(actor: PartnerActor, subject_id: str, **overrides: object):  # type: ignore[no-untyped-def]
    now = timezone.now()
    body = {
        "use_case": "education",
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "max_generations": 5,
        **overrides,
    }
    return actor.client.post(f"/v1/subjects/{subject_id}/consents", body, format="json")


def test_a_subject_with_a_real_portrait_gets_an_embedding(alice: PartnerActor) -> None:
    response = _subject(alice, "grace_hopper.jpg")
    assert response.status_code == 201, response.content
    assert response.json()["references"] == 1
    assert AuditEntry.objects.filter(event_type="subject.created").exists()


def test_a_reference_photo_with_two_faces_is_refused(alice: PartnerActor) -> None:
    # dlib finds a second face in the astronaut portrait (on the flag patch): not usable as a reference.
    response = _subject(alice, "astronaut.jpg")
    assert response.status_code == 400 and response.json()["error"]["code"] == "multiple_faces"


def test_a_reference_photo_without_a_face_is_refused_and_named(alice: PartnerActor) -> None:
    response = _subject(alice, "grace_hopper.jpg", "coffee.jpg")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "no_face" and error["details"] == {"photo_index": 1}
    assert alice.client.get("/v1/subjects").json()["results"] == []


def test_consent_capture_returns_statement_challenge_and_a_secret_revocation_link(alice: PartnerActor) -> None:
    subject_id = _subject(alice).json()["id"]
    response = _consent(alice, subject_id)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["challenge_phrase"] and body["challenge_phrase"] in body["statement"]
    assert "/revoke/" in body["revocation_url"]
    token = body["revocation_url"].rsplit("/", 1)[1]
    consent = Consent.objects.get(id=body["id"])
    assert token not in consent.revocation_token_hash
    again = alice.client.get(f"/v1/consents/{body['id']}").json()
    assert "revocation_url" not in again, "the link is shown once"
    other = _consent(alice, subject_id).json()
    assert other["challenge_phrase"] != body["challenge_phrase"] or other["id"] != body["id"]


def test_a_use_case_the_partner_was_not_approved_for_is_refused(alice: PartnerActor) -> None:
    subject_id = _subject(alice).json()["id"]
    response = _consent(alice, subject_id, use_case="marketing")
    assert response.status_code == 400 and response.json()["error"]["code"] == "use_case_not_approved"


def test_an_artwork_consent_goes_straight_to_review(alice: PartnerActor) -> None:
    subject_id = _subject(alice, kind="artwork").json()["id"]
    assert _consent(alice, subject_id).json()["status"] == "needs_review"


def test_evidence_that_is_not_a_video_is_refused_and_the_challenge_stays_usable(alice: PartnerActor) -> None:
    consent_id = _consent(alice, _subject(alice).json()["id"]).json()["id"]
    response = alice.client.post(
        f"/v1/consents/{consent_id}/evidence",
        {"recording": SimpleUploadedFile("r.mp4", speech_bytes())},
        format="multipart",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "recording_invalid"
    assert Consent.objects.get(id=consent_id).challenge_used_at is None


def test_an_expired_challenge_is_refused_until_a_new_one_is_issued(alice: PartnerActor) -> None:
    consent_id = _consent(alice, _subject(alice).json()["id"]).json()["id"]
    Consent.objects.filter(id=consent_id).update(challenge_expires_at=timezone.now() - timedelta(seconds=1))
    response = alice.client.post(
        f"/v1/consents/{consent_id}/evidence",
        {"recording": SimpleUploadedFile("r.mp4", b"x" * 100)},
        format="multipart",
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "challenge_expired"
    renewed = alice.client.post(f"/v1/consents/{consent_id}/challenge")
    assert renewed.status_code == 200
    assert renewed.json()["challenge_phrase"] in renewed.json()["statement"]


def _revocation_token(actor: PartnerActor) -> tuple[str, str]:
    body = _consent(actor, _subject(actor).json()["id"]).json()
    return body["id"], body["revocation_url"].rsplit("/", 1)[1]


def test_the_subjects_link_asks_for_confirmation_then_revokes(alice: PartnerActor, client) -> None:  # type: ignore[no-untyped-def]
    consent_id, token = _revocation_token(alice)
    page = client.get(f"/revoke/{token}")
    assert page.status_code == 200 and b"Withdraw consent" in page.content
    unconfirmed = client.post(f"/revoke/{token}", {})
    assert unconfirmed.status_code == 400
    assert Consent.objects.get(id=consent_id).status == ConsentStatus.PENDING
    done = client.post(f"/revoke/{token}", {"confirm": "yes"})
    assert done.status_code == 200 and b"withdrawn" in done.content
    consent = Consent.objects.get(id=consent_id)
    assert consent.status == ConsentStatus.REVOKED and consent.revoked_by == "subject"
    assert client.get("/revoke/not-a-real-token").status_code == 404


def test_revocation_cancels_queued_jobs_and_flips_finished_ones_to_revoked(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    queued = Job.objects.get(id=post_job(alice, consent_id=consent.id).json()["id"])
    assert pipeline.screen_job(str(queued.id)) == JobStatus.QUEUED
    finished = Job.objects.get(id=post_job(alice, consent_id=consent.id).json()["id"])
    name = storage.save_bytes(storage.output_name(alice.partner.id, finished.id), b"mp4")
    Job.objects.filter(id=finished.id).update(status=JobStatus.SUCCEEDED, output=name)
    response = alice.client.post(f"/v1/consents/{consent.id}/revoke", {"reason": "subject asked"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "revoked"
    queued.refresh_from_db()
    finished.refresh_from_db()
    assert queued.status == JobStatus.CANCELLED and queued.reason_codes == ["consent_revoked"]
    assert finished.status == JobStatus.REVOKED
    assert alice.client.get(f"/v1/generations/{finished.id}/video").json()["error"]["code"] == "job_revoked"
    again = alice.client.post(f"/v1/consents/{consent.id}/revoke", {}, format="json")
    assert again.status_code == 409, "revocation is final"
    later = post_job(alice, consent_id=consent.id).json()["id"]
    assert pipeline.screen_job(later) == JobStatus.REJECTED
    assert Job.objects.get(id=later).reason_codes == ["consent_revoked"]


def test_reviewers_can_revoke_too(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    consent = make_consent(alice.partner)
    response = reviewer.client.post(
        f"/v1/review/consents/{consent.id}/revoke", {"reason": "court order"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "revoked"


class TestIsolation:
    def test_bob_cannot_see_or_use_alices_subjects_and_consents(self, alice: PartnerActor, bob: PartnerActor) -> None:
        subject_id = _subject(alice).json()["id"]
        consent_id = _consent(alice, subject_id).json()["id"]
        assert bob.client.get("/v1/subjects").json()["results"] == []
        assert bob.client.get("/v1/consents").json()["results"] == []
        for method, path in [
            ("get", f"/v1/subjects/{subject_id}"),
            ("post", f"/v1/subjects/{subject_id}/consents"),
            ("get", f"/v1/consents/{consent_id}"),
            ("post", f"/v1/consents/{consent_id}/challenge"),
            ("post", f"/v1/consents/{consent_id}/evidence"),
            ("post", f"/v1/consents/{consent_id}/revoke"),
        ]:
            response = getattr(bob.client, method)(path, {}, format="json")
            assert response.status_code == 404, (method, path, response.status_code)
        assert Consent.objects.get(id=consent_id).status == ConsentStatus.PENDING

    def test_partners_cannot_use_the_review_endpoints(self, alice: PartnerActor) -> None:
        consent = make_consent(alice.partner)
        for method, path in [
            ("get", "/v1/review/queue"),
            ("post", f"/v1/review/consents/{consent.id}/decide"),
            ("post", f"/v1/review/consents/{consent.id}/revoke"),
            ("get", "/v1/review/protected-persons"),
            ("get", "/v1/review/blocked-phrases"),
        ]:
            response = getattr(alice.client, method)(path, {}, format="json")
            assert response.status_code == 403, (method, path)


def test_consents_past_their_window_are_marked_expired(alice: PartnerActor) -> None:
    from moderation.services import consents_expire

    current, old = make_consent(alice.partner), make_consent(alice.partner)
    Consent.objects.filter(id=old.id).update(
        valid_from=timezone.now() - timedelta(days=3), valid_until=timezone.now() - timedelta(days=1)
    )
    assert consents_expire() == 1
    assert Consent.objects.get(id=old.id).status == ConsentStatus.EXPIRED
    assert Consent.objects.get(id=current.id).status == ConsentStatus.VERIFIED
    assert alice.client.get(f"/v1/consents/{old.id}").json()["status"] == "expired"
    assert consents_expire() == 0
