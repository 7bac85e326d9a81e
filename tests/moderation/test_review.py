"""The review queue, reviewer decisions, the protected-person gallery and the audio policy."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import AuditEntry
from generation import pipeline
from generation.models import Job, JobStatus
from moderation.models import Consent, ConsentStatus
from tests.conftest import PartnerActor, ReviewerActor, make_consent, photo_bytes, speech_bytes
from tests.generation.conftest import post_job

pytestmark = pytest.mark.django_db


def _job(actor: PartnerActor, consent: Consent) -> Job:
    return Job.objects.get(id=post_job(actor, consent_id=consent.id).json()["id"])


def test_the_queue_lists_consents_and_jobs_waiting_for_review(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    artwork = make_consent(alice.partner, status=ConsentStatus.NEEDS_REVIEW, kind="artwork")
    job = _job(alice, make_consent(alice.partner))
    Job.objects.filter(id=job.id).update(status=JobStatus.NEEDS_REVIEW, reason_codes=["blocked_phrase"])
    items = reviewer.client.get("/v1/review/queue").json()["results"]
    assert [(i["type"], i["id"]) for i in items] == [("consent", str(artwork.id)), ("job", str(job.id))]
    assert items[0]["subject"]["kind"] == "artwork" and items[0]["links"]["decide"].endswith("/decide")
    only_jobs = reviewer.client.get("/v1/review/queue?type=job").json()["results"]
    assert [i["id"] for i in only_jobs] == [str(job.id)]


def test_a_decision_needs_a_comment_and_is_audited(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    consent = make_consent(alice.partner, status=ConsentStatus.NEEDS_REVIEW, kind="artwork")
    url = f"/v1/review/consents/{consent.id}/decide"
    missing = reviewer.client.post(url, {"decision": "approve"}, format="json")
    assert missing.status_code == 400 and "comment" in missing.json()["error"]["details"]
    blank = reviewer.client.post(url, {"decision": "approve", "comment": "   "}, format="json")
    assert blank.status_code == 400
    approved = reviewer.client.post(url, {"decision": "approve", "comment": "Public-domain painting (1503)."},
                                    format="json")  # fmt: skip
    assert approved.status_code == 200 and approved.json()["status"] == "verified"
    event = AuditEntry.objects.get(event_type="consent.review_approved")
    assert event.actor == f"user:{reviewer.user.pk}" and event.payload["comment"] == "Public-domain painting (1503)."
    twice = reviewer.client.post(url, {"decision": "reject", "comment": "no"}, format="json")
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "not_in_review"


def test_a_reviewer_cannot_review_their_own_partners_work(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    reviewer.user.partner = alice.partner
    reviewer.user.save()
    consent = make_consent(alice.partner, status=ConsentStatus.NEEDS_REVIEW)
    response = reviewer.client.post(
        f"/v1/review/consents/{consent.id}/decide", {"decision": "approve", "comment": "mine"}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "conflict_of_interest"
    assert Consent.objects.get(id=consent.id).status == ConsentStatus.NEEDS_REVIEW


def test_an_approved_job_in_review_is_queued_and_a_rejected_one_is_rejected(
    alice: PartnerActor, reviewer: ReviewerActor
) -> None:
    consent = make_consent(alice.partner)
    first, second = _job(alice, consent), _job(alice, consent)
    Job.objects.filter(id__in=[first.id, second.id]).update(status=JobStatus.NEEDS_REVIEW)
    ok = reviewer.client.post(f"/v1/review/jobs/{first.id}/decide", {"decision": "approve", "comment": "fine"},
                              format="json")  # fmt: skip
    assert ok.status_code == 200 and ok.json()["status"] == "queued"
    no = reviewer.client.post(f"/v1/review/jobs/{second.id}/decide", {"decision": "reject", "comment": "abusive"},
                              format="json")  # fmt: skip
    assert no.json()["status"] == "rejected"
    assert Job.objects.get(id=second.id).reason_codes == ["reviewer_rejected"]
    consent.refresh_from_db()
    assert consent.generations_used == 1


def _enrol(reviewer: ReviewerActor, name: str = "grace_hopper.jpg"):  # type: ignore[no-untyped-def]
    return reviewer.client.post(
        "/v1/review/protected-persons",
        {"name": "Grace Hopper", "notes": "public figure", "photos": [SimpleUploadedFile(name, photo_bytes(name))]},
        format="multipart",
    )


def test_a_protected_person_is_blocked_unless_a_reviewer_approved_that_very_person(
    alice: PartnerActor, reviewer: ReviewerActor
) -> None:
    enrolled = _enrol(reviewer)
    assert enrolled.status_code == 201, enrolled.content
    blocked = _job(alice, make_consent(alice.partner))
    assert pipeline.screen_job(str(blocked.id)) == JobStatus.REJECTED
    blocked.refresh_from_db()
    assert blocked.reason_codes == ["protected_person"]
    assert blocked.screening_report["protected"]["closest_name"] == "Grace Hopper"

    consent = make_consent(alice.partner, status=ConsentStatus.NEEDS_REVIEW)
    reviewer.client.post(
        f"/v1/review/consents/{consent.id}/decide",
        {"decision": "approve", "comment": "Her own recorded consent, checked.",
         "protected_person_id": enrolled.json()["id"]},
        format="json",
    )  # fmt: skip
    allowed = _job(alice, consent)
    assert pipeline.screen_job(str(allowed.id)) == JobStatus.QUEUED
    allowed.refresh_from_db()
    assert allowed.screening_report["protected"]["allowed_by_review"] is True


def test_a_removed_protected_person_no_longer_blocks(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    person_id = _enrol(reviewer).json()["id"]
    assert reviewer.client.delete(f"/v1/review/protected-persons/{person_id}").json()["active"] is False
    job = _job(alice, make_consent(alice.partner))
    assert pipeline.screen_job(str(job.id)) == JobStatus.QUEUED


def test_a_job_photo_of_someone_else_is_rejected_as_face_mismatch(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner, reference="astronaut.jpg")
    job = _job(alice, consent)
    assert pipeline.screen_job(str(job.id)) == JobStatus.REJECTED
    job.refresh_from_db()
    assert job.reason_codes == ["face_mismatch"]
    assert job.screening_report["face"]["distance"] > job.screening_report["face"]["threshold"]


def test_a_job_photo_without_a_face_is_rejected_as_no_face(alice: PartnerActor) -> None:
    consent = make_consent(alice.partner)
    response = alice.client.post(
        "/v1/generations",
        {"consent_id": str(consent.id), "photo": SimpleUploadedFile("c.jpg", photo_bytes("coffee.jpg")),
         "audio": SimpleUploadedFile("a.wav", speech_bytes())},
        format="multipart",
    )  # fmt: skip
    job_id = response.json()["id"]
    assert pipeline.screen_job(job_id) == JobStatus.REJECTED
    assert Job.objects.get(id=job_id).reason_codes == ["no_face"]


def test_blocked_phrase_management_is_reviewer_only_and_audited(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    added = reviewer.client.post("/v1/review/blocked-phrases", {"phrase": "  Basket of   APPLES "}, format="json")
    assert added.status_code == 201 and added.json()["phrase"] == "basket of apples"
    assert [p["phrase"] for p in reviewer.client.get("/v1/review/blocked-phrases").json()["results"]] == [
        "basket of apples"
    ]
    assert reviewer.client.delete(f"/v1/review/blocked-phrases/{added.json()['id']}").status_code == 204
    assert reviewer.client.get("/v1/review/blocked-phrases").json()["results"] == []
    assert AuditEntry.objects.filter(event_type__startswith="policy.").count() == 2


def test_a_blocked_phrase_in_the_job_audio_sends_the_job_to_review(
    alice: PartnerActor, reviewer: ReviewerActor
) -> None:
    from tests.conftest import FIXTURES

    reviewer.client.post("/v1/review/blocked-phrases", {"phrase": "transfer the money"}, format="json")
    audio = (FIXTURES / "faces" / "blocked_transfer_money.wav").read_bytes()  # espeak-ng, known text
    job_id = post_job(alice, consent_id=make_consent(alice.partner).id, audio=audio).json()["id"]
    assert pipeline.screen_job(job_id) == JobStatus.NEEDS_REVIEW
    job = Job.objects.get(id=job_id)
    assert job.reason_codes == ["blocked_phrase"]
    assert job.screening_report["audio_policy"]["matched"] == ["transfer the money"]
    clean = post_job(alice, consent_id=make_consent(alice.partner).id).json()["id"]
    assert pipeline.screen_job(clean) == JobStatus.QUEUED


def test_consent_decisions_reach_the_partners_webhooks(alice: PartnerActor, reviewer: ReviewerActor, settings) -> None:  # type: ignore[no-untyped-def]
    import json

    from tests.webhooks.receiver import webhook_receiver
    from webhooks import services as webhooks

    settings.TALKGATE_WEBHOOK_ALLOW_PRIVATE = settings.TALKGATE_WEBHOOK_ALLOW_HTTP = True
    with webhook_receiver() as receiver:
        webhooks.endpoint_create(partner=alice.partner, url=receiver.url)
        consent = make_consent(alice.partner, status=ConsentStatus.NEEDS_REVIEW, kind="artwork")
        reviewer.client.post(f"/v1/review/consents/{consent.id}/decide",
                             {"decision": "approve", "comment": "Public-domain painting."}, format="json")  # fmt: skip
        alice.client.post(f"/v1/consents/{consent.id}/revoke", {}, format="json")
        webhooks.deliver_due()
        events = [json.loads(r.body)["type"] for r in receiver.received]
    assert events == ["consent.verified", "consent.revoked"]
