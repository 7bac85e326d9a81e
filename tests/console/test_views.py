"""The reviewer console through Django's test client: who may enter, CSRF, login throttling, and every action."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import audit
from accounts.models import AuditEntry, Partner, PartnerStatus, User
from generation.models import Job, JobStatus
from moderation.models import Consent, ConsentStatus
from tests.conftest import PartnerActor, make_partner, tiny_mp4
from tests.console.conftest import REVIEWER_PASSWORD, ReviewMaterial

pytestmark = pytest.mark.django_db

LOGIN = "/console/login"


def _login(client: Client, username: str, password: str) -> object:
    return client.post(LOGIN, {"username": username, "password": password})


# --- Who may enter ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/", "/console/audit", "/console/verify", "/console/partners"])
def test_anonymous_visitor_is_sent_to_login(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={path}"


def test_reviewer_signs_in_with_a_password_and_lands_on_the_queue(rita: User) -> None:
    client = Client()
    response = _login(client, "rita", REVIEWER_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
    assert AuditEntry.objects.filter(event_type="console.login", actor=f"user:{rita.pk}").exists()


def test_partner_member_cannot_sign_in(mallory: User) -> None:
    client = Client()
    response = _login(client, "mallory", REVIEWER_PASSWORD)
    assert response.status_code == 200
    assert "Only reviewers may sign in" in response.content.decode()
    assert client.get("/console/").status_code == 302


def test_partner_member_with_a_session_is_refused(mallory: User) -> None:
    client = Client()
    client.force_login(mallory)
    response = client.get("/console/")
    assert response.status_code == 403
    assert "Reviewers only" in response.content.decode()


def test_deactivated_reviewer_is_refused(rita: User, rita_client: Client) -> None:
    User.objects.filter(pk=rita.pk).update(is_active=False)
    # Django drops the session of an inactive user, so the console sees an anonymous visitor.
    assert rita_client.get("/console/").status_code == 302


def test_login_form_carries_a_csrf_token() -> None:
    body = Client().get(LOGIN).content.decode()
    assert 'name="csrfmiddlewaretoken"' in body


def test_post_without_csrf_token_is_refused(rita: User, material: ReviewMaterial) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(rita)
    url = f"/console/consents/{material.consent.id}"
    response = client.post(url, {"decision": "approve", "comment": "Looks right."})
    assert response.status_code == 403
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.NEEDS_REVIEW


def test_five_failed_logins_lock_that_username_from_that_address(rita: User) -> None:
    client = Client()
    for _ in range(5):
        assert _login(client, "rita", "wrong").status_code == 200
    # The right password no longer helps while the lock lasts.
    locked = _login(client, "rita", REVIEWER_PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(event_type="console.login_locked").exists()


def test_the_lock_is_per_username_and_ends_when_its_window_expires(rita: User) -> None:
    client = Client()
    for _ in range(5):
        _login(client, "someone-else", "wrong")
    assert _login(client, "rita", REVIEWER_PASSWORD).status_code == 302
    client.logout()
    for _ in range(5):
        _login(client, "rita", "wrong")
    assert _login(client, "rita", REVIEWER_PASSWORD).status_code == 429
    cache.clear()  # what the cache does when the lock's timeout passes
    assert _login(client, "rita", REVIEWER_PASSWORD).status_code == 302


def test_a_success_resets_the_failure_count(rita: User) -> None:
    client = Client()
    for _ in range(4):
        _login(client, "rita", "wrong")
    assert _login(client, "rita", REVIEWER_PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, "rita", "wrong")
    assert _login(client, "rita", REVIEWER_PASSWORD).status_code == 302


# --- Queues and decisions --------------------------------------------------------------------------------------


def test_queue_lists_applications_consents_and_jobs(rita_client: Client, material: ReviewMaterial) -> None:
    make_partner("Fable Languages", status=PartnerStatus.APPLIED)
    body = rita_client.get("/console/").content.decode()
    assert "Fable Languages" in body
    assert f"/console/consents/{material.consent.id}" in body
    assert f"/console/jobs/{material.job.id}" in body


def test_consent_page_shows_video_and_scores_next_to_thresholds(rita_client: Client, material: ReviewMaterial) -> None:
    body = rita_client.get(f"/console/consents/{material.consent.id}").content.decode()
    assert f'<video controls preload="metadata" src="/console/consents/{material.consent.id}/evidence"' in body
    assert "0.22" in body and "pass 0.3 · fail 0.15" in body
    assert "seven blue lanterns" in body
    views = AuditEntry.objects.filter(event_type="consent.evidence_viewed", target_id=str(material.consent.id))
    assert [v.payload["what"] for v in views] == ["report"], "a reviewer's read of biometric data is audited"
    assert "Unlock" not in body


def test_a_consent_locked_after_too_many_attempts_can_be_unlocked(
    rita_client: Client, material: ReviewMaterial
) -> None:
    Consent.objects.filter(id=material.consent.id).update(reason_codes=["too_many_attempts"], rejected_attempts=3)
    url = f"/console/consents/{material.consent.id}"
    assert "Unlock for another recording" in rita_client.get(url).content.decode()
    assert rita_client.post(url, {"decision": "unlock", "comment": "Called the subject."}).status_code == 302
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.PENDING and material.consent.rejected_attempts == 0


def test_evidence_recording_streams_to_reviewers_only(
    rita_client: Client, material: ReviewMaterial, mallory: User
) -> None:
    url = f"/console/consents/{material.consent.id}/evidence"
    response = rita_client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content)[4:8] == b"ftyp"
    assert "no-store" in response["Cache-Control"]
    member = Client()
    member.force_login(mallory)
    assert member.get(url).status_code == 403
    assert Client().get(url).status_code == 302


def test_approving_a_consent_needs_a_comment(rita_client: Client, material: ReviewMaterial) -> None:
    response = rita_client.post(f"/console/consents/{material.consent.id}", {"decision": "approve", "comment": "  "})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.NEEDS_REVIEW


def test_approving_a_consent_goes_through_the_review_service(
    rita: User, rita_client: Client, material: ReviewMaterial
) -> None:
    response = rita_client.post(
        f"/console/consents/{material.consent.id}", {"decision": "approve", "comment": "Face and words match."}
    )
    assert response.status_code == 302 and response["Location"] == "/console/"
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.VERIFIED
    assert material.consent.reviewed_by == rita
    entry = AuditEntry.objects.get(event_type="consent.review_approved")
    assert entry.actor == f"user:{rita.pk}" and entry.payload["comment"] == "Face and words match."


def test_deciding_a_consent_twice_shows_the_refusal(rita_client: Client, material: ReviewMaterial) -> None:
    url = f"/console/consents/{material.consent.id}"
    rita_client.post(url, {"decision": "reject", "comment": "Someone else is speaking."})
    response = rita_client.post(url, {"decision": "approve", "comment": "Changed my mind."}, follow=True)
    assert "not_in_review" in response.content.decode()
    material.consent.refresh_from_db()
    assert material.consent.status == ConsentStatus.REJECTED


def test_reviewer_of_the_same_partner_cannot_decide(rita: User, rita_client: Client, material: ReviewMaterial) -> None:
    User.objects.filter(pk=rita.pk).update(partner=material.consent.partner)
    response = rita_client.post(
        f"/console/consents/{material.consent.id}", {"decision": "approve", "comment": "Mine."}, follow=True
    )
    assert "conflict_of_interest" in response.content.decode()


def test_job_page_shows_inputs_face_distance_and_protected_match(rita_client: Client, material: ReviewMaterial) -> None:
    body = rita_client.get(f"/console/jobs/{material.job.id}").content.decode()
    assert f'src="/console/jobs/{material.job.id}/photo"' in body
    assert f'<audio controls preload="metadata" src="/console/jobs/{material.job.id}/audio"' in body
    assert "0.3123" in body and "Famous Singer" in body
    photo = rita_client.get(f"/console/jobs/{material.job.id}/photo")
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    audio = rita_client.get(f"/console/jobs/{material.job.id}/audio")
    assert audio["Content-Type"] in ("audio/x-wav", "audio/wav")
    assert rita_client.get(f"/console/jobs/{material.job.id}/secret").status_code == 404


def test_rejecting_a_job_with_a_comment_rejects_it(rita: User, rita_client: Client, material: ReviewMaterial) -> None:
    url = f"/console/jobs/{material.job.id}"
    assert rita_client.post(url, {"decision": "reject", "comment": ""}).status_code == 400
    response = rita_client.post(url, {"decision": "reject", "comment": "That is a protected singer."}, follow=True)
    assert f"Job {material.job.id} rejected." in response.content.decode()
    material.job.refresh_from_db()
    assert material.job.status == JobStatus.REJECTED
    assert material.job.reason_codes == ["reviewer_rejected"]
    assert AuditEntry.objects.filter(event_type="job.review_rejected", actor=f"user:{rita.pk}").exists()


def test_unknown_or_malformed_ids_are_not_found(rita_client: Client) -> None:
    assert rita_client.get("/console/jobs/not-a-uuid").status_code == 404
    assert rita_client.get("/console/consents/not-a-uuid").status_code == 404
    assert rita_client.get("/console/partners/00000000-0000-0000-0000-000000000000").status_code == 404


# --- Partners --------------------------------------------------------------------------------------------------


def test_reviewer_approves_an_application_with_a_comment(rita_client: Client) -> None:
    applicant = make_partner("Fable Languages", status=PartnerStatus.APPLIED)
    url = f"/console/partners/{applicant.id}"
    assert rita_client.post(url, {"action": "approve", "comment": ""}).status_code == 400
    rita_client.post(url, {"action": "approve", "comment": "Company register checked."})
    applicant.refresh_from_db()
    assert applicant.status == PartnerStatus.APPROVED
    assert applicant.status_reason == "Company register checked."


def test_console_approval_keeps_the_use_cases_the_reviewer_ticked(rita_client: Client) -> None:
    applicant = make_partner("Fable Languages", status=PartnerStatus.APPLIED)
    page = rita_client.get(f"/console/partners/{applicant.id}").content.decode()
    assert 'name="use_cases" value="localization"' in page
    data = {"action": "approve", "comment": "Register checked.", "use_cases": ["localization", "education"]}
    rita_client.post(f"/console/partners/{applicant.id}", data)
    applicant.refresh_from_db()
    assert applicant.approved_use_cases == ["education", "localization"]


def test_reviewer_rejects_an_application(rita_client: Client) -> None:
    applicant = make_partner("Shady Deepfakes", status=PartnerStatus.APPLIED)
    rita_client.post(f"/console/partners/{applicant.id}", {"action": "reject", "comment": "Political ads."})
    applicant.refresh_from_db()
    assert applicant.status == PartnerStatus.REJECTED


def test_suspending_a_partner_stops_its_keys_and_reinstating_restores_them(
    rita_client: Client, alice: PartnerActor
) -> None:
    url = f"/console/partners/{alice.partner.id}"
    rita_client.post(url, {"action": "suspend", "comment": "Complaint under investigation."})
    assert alice.client.get("/v1/partner").status_code == 403
    rita_client.post(url, {"action": "reinstate", "comment": "Complaint unfounded."})
    assert alice.client.get("/v1/partner").status_code == 200


def test_an_impossible_transition_is_shown_not_applied(rita_client: Client, alice: PartnerActor) -> None:
    response = rita_client.post(
        f"/console/partners/{alice.partner.id}", {"action": "reinstate", "comment": "?"}, follow=True
    )
    assert "invalid_transition" in response.content.decode()
    alice.partner.refresh_from_db()
    assert alice.partner.status == PartnerStatus.APPROVED


def test_reviewer_sets_limits_and_the_change_is_audited(rita_client: Client, alice: PartnerActor) -> None:
    partner = Partner.objects.get(id=alice.partner.id)
    data = {
        "rate_limit_per_minute": partner.rate_limit_per_minute,
        "max_concurrent_jobs": 7,
        "monthly_video_seconds": partner.monthly_video_seconds,
        "max_audio_seconds": partner.max_audio_seconds,
        "limits": "1",
    }
    assert rita_client.post(f"/console/partners/{partner.id}", data).status_code == 302
    partner.refresh_from_db()
    assert partner.max_concurrent_jobs == 7
    entry = AuditEntry.objects.get(event_type="partner.limits_changed")
    assert list(entry.payload) == ["max_concurrent_jobs"]


# --- Audit -----------------------------------------------------------------------------------------------------


def _events(alice: PartnerActor, bob: PartnerActor) -> None:
    audit.record("job.created", partner_id=alice.partner.id, actor="key:alice", target=("generation.job", "a1"))
    audit.record("job.created", partner_id=bob.partner.id, actor="key:bob", target=("generation.job", "b1"))
    audit.record("partner.suspended", partner_id=bob.partner.id, actor="user:9")


def test_audit_filter_by_partner_and_event_prefix(rita_client: Client, alice: PartnerActor, bob: PartnerActor) -> None:
    _events(alice, bob)
    response = rita_client.get("/console/audit", {"partner": str(bob.partner.id), "event_type": "job."})
    rows = list(response.context["page"])
    assert [(e.event_type, e.actor) for e in rows] == [("job.created", "key:bob")]


def test_audit_filter_by_status_class_and_path(rita_client: Client, alice: PartnerActor) -> None:
    alice.client.get("/v1/partner")
    Client().get("/v1/partner")  # 401, no key
    response = rita_client.get("/console/audit", {"path": "/v1/partner", "status": "4xx"})
    codes = {e.status_code for e in response.context["page"]}
    assert codes == {401}


def test_invalid_audit_filter_is_a_form_error(rita_client: Client) -> None:
    response = rita_client.get("/console/audit", {"status": "abc", "partner": "nope"})
    assert response.status_code == 400
    assert "A status code" in response.content.decode()


def test_audit_is_paginated(rita_client: Client) -> None:
    for i in range(60):
        audit.record("test.filler", payload={"i": i})
    first = rita_client.get("/console/audit", {"event_type": "test.filler"})
    assert len(first.context["page"]) == 50
    second = rita_client.get("/console/audit", {"event_type": "test.filler", "page": 2})
    assert len(second.context["page"]) == 10
    assert "page=2" in first.content.decode()


def test_export_links_carry_the_current_filter_and_export_only_it(
    rita_client: Client, alice: PartnerActor, bob: PartnerActor
) -> None:
    _events(alice, bob)
    page = rita_client.get("/console/audit", {"actor": "key:bob"}).content.decode()
    assert "/console/audit/export.csv?actor=key%3Abob" in page
    jsonl = rita_client.get("/console/audit/export.jsonl", {"actor": "key:bob"})
    rows = [json.loads(line) for line in b"".join(jsonl.streaming_content).decode().splitlines()]
    assert [r["actor"] for r in rows] == ["key:bob"]
    csv_response = rita_client.get("/console/audit/export.csv", {"actor": "key:bob"})
    lines = b"".join(csv_response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,") and len(lines) == 2
    assert AuditEntry.objects.filter(event_type="audit.exported").count() == 2


def test_verify_chain_reports_an_intact_chain(rita_client: Client) -> None:
    audit.record("test.one")
    response = rita_client.post("/console/audit/verify-chain")
    assert "Chain intact" in response.content.decode()


def test_verify_chain_reports_a_tampered_entry(rita_client: Client) -> None:
    entry = audit.record("test.one", payload={"amount": 1})
    audit.record("test.two")
    # Rewriting history behind the log's back (the app never does this; an attacker with DB access might).
    # On PostgreSQL the append-only trigger stops that, so the attacker here is a superuser who disables it.
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditentry DISABLE TRIGGER talkgate_audit_append_only")
        AuditEntry.objects.filter(id=entry.id).update(payload={"amount": 1000})
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE accounts_auditentry ENABLE TRIGGER talkgate_audit_append_only")
    body = rita_client.post("/console/audit/verify-chain").content.decode()
    assert f"Chain broken at entry {entry.id}" in body


def test_verify_chain_needs_post(rita_client: Client) -> None:
    assert rita_client.get("/console/audit/verify-chain").status_code == 405


def test_job_trail_lists_the_jobs_events_oldest_first(rita_client: Client, material: ReviewMaterial) -> None:
    job = material.job
    audit.record("job.created", target=job, partner_id=job.partner_id)
    audit.record("job.screened", target=job, partner_id=job.partner_id)
    audit.record("job.created", target=("generation.job", "someone-else"))
    response = rita_client.get("/console/audit/trail", {"job": str(job.id)})
    assert [e.event_type for e in response.context["entries"]] == ["job.created", "job.screened"]
    assert rita_client.get("/console/audit/trail", {"job": "nope"}).status_code == 404


# --- Verification lookup ---------------------------------------------------------------------------------------


def test_verifying_an_unsigned_video_explains_what_was_found(rita_client: Client, media_root: object) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("suspect.mp4", tiny_mp4(1.0), content_type="video/mp4")
    response = rita_client.post("/console/verify", {"file": upload})
    body = response.content.decode()
    assert response.status_code == 200
    assert "No C2PA manifest" in body
    assert "No Talkgate job matches this file." in body
    assert AuditEntry.objects.filter(event_type="verification.performed").exists()


def test_verifying_an_empty_file_is_a_form_error(rita_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = rita_client.post("/console/verify", {"file": SimpleUploadedFile("x.mp4", b"", "video/mp4")})
    assert response.status_code == 400


def test_one_request_is_opened_by_its_id(rita_client: Client, alice: PartnerActor) -> None:
    request_id = alice.client.get("/v1/partner")["X-Request-ID"]
    alice.client.get("/v1/partner")
    response = rita_client.get("/console/audit", {"request_id": request_id})
    assert {e.request_id for e in response.context["page"]} == {request_id}
    assert f"?request_id={request_id}" in response.content.decode()


def test_verifying_a_signed_output_shows_its_job_partner_consent_and_trail(
    rita_client: Client, material: ReviewMaterial
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from provenance import credentials, signing

    job = material.job
    Job.objects.filter(id=job.id).update(watermark_id="c0ffee00")
    audit.record("job.succeeded", target=job, partner_id=job.partner_id, actor="system")
    manifest = signing.manifest_for(job_id=str(job.id), watermark_id="c0ffee00", duration_s=1.0,
                                    engine_name="test-engine", engine_version="t",
                                    policy_version="p", generator_version="0.1.0")  # fmt: skip
    signed = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=manifest, credentials=credentials.credentials())
    response = rita_client.post("/console/verify", {"file": SimpleUploadedFile("leak.mp4", signed, "video/mp4")})
    body = response.content.decode()
    assert response.status_code == 200
    assert "trusted" in body and f'href="/console/jobs/{job.id}"' in body
    assert "Alice Learning" in body and "Ada Teacher" in body and "needs_review" in body
    assert "job.succeeded" in body


def test_the_consent_review_policy_is_set_per_partner_with_a_comment(rita_client, alice: PartnerActor) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/partners/{alice.partner.id}"
    assert b"Consent review policy" in rita_client.get(url).content
    assert rita_client.post(url, {"consent_policy": "1", "auto_verify": "on", "comment": ""}).status_code == 400
    saved = rita_client.post(url, {"consent_policy": "1", "auto_verify": "on", "comment": "Live capture pilot."})
    assert saved.status_code == 302
    alice.partner.refresh_from_db()
    assert alice.partner.consent_auto_verify is True
    assert AuditEntry.objects.filter(event_type="partner.consent_policy_changed", target_id=str(alice.partner.id))
