"""Partner lifecycle: apply -> approve | reject, suspend -> reinstate, limits; reviewers decide."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import AuditEntry, Partner, PartnerStatus
from core.errors import DomainError
from tests.conftest import PartnerActor, ReviewerActor, bearer_client, make_partner

pytestmark = pytest.mark.django_db

APPLICATION = {
    "organisation": "Fable Languages",
    "contact_name": "Fay Fable",
    "contact_email": "fay@fable.example",
    "website": "https://fable.example",
    "use_case": "localization",
    "use_case_description": "Dubbed lessons where our own consenting teachers speak other languages.",
}


def _apply(anon) -> dict:  # type: ignore[no-untyped-def]
    response = anon.post("/v1/partner-applications", APPLICATION, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_application_approval_and_claim_give_a_working_first_key(anon, reviewer: ReviewerActor) -> None:  # type: ignore[no-untyped-def]
    application = _apply(anon)
    assert application["status"] == "applied" and application["claim_token"]
    pending = anon.post(
        f"/v1/partner-applications/{application['id']}/claim",
        {"claim_token": application["claim_token"]},
        format="json",
    )
    assert pending.status_code == 409 and pending.json()["error"]["code"] == "application_not_approved"

    listed = reviewer.client.get("/v1/review/partners?status=applied").json()["results"]
    assert [p["id"] for p in listed] == [application["id"]]
    approved = reviewer.client.post(
        f"/v1/review/partners/{application['id']}/approve",
        {"comment": "Checked the company register.", "use_cases": ["localization", "education"]},
        format="json",
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["approved_use_cases"] == ["education", "localization"]

    claimed = anon.post(
        f"/v1/partner-applications/{application['id']}/claim",
        {"claim_token": application["claim_token"]},
        format="json",
    )
    assert claimed.status_code == 201
    me = bearer_client(claimed.json()["key"]).get("/v1/partner")
    assert me.status_code == 200 and me.json()["partner"]["name"] == "Fable Languages"

    again = anon.post(
        f"/v1/partner-applications/{application['id']}/claim",
        {"claim_token": application["claim_token"]},
        format="json",
    )
    assert again.status_code == 404, "the token is single-use"
    events = list(
        AuditEntry.objects.filter(target_id=application["id"]).order_by("id").values_list("event_type", flat=True)
    )
    assert events == ["partner.applied", "partner.approved"]


def test_claim_with_a_wrong_token_looks_like_a_missing_application(anon, reviewer: ReviewerActor) -> None:  # type: ignore[no-untyped-def]
    application = _apply(anon)
    response = anon.post(f"/v1/partner-applications/{application['id']}/claim", {"claim_token": "guess"}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "application_not_found"


def test_rejected_application_cannot_be_approved_later(anon, reviewer: ReviewerActor) -> None:  # type: ignore[no-untyped-def]
    application = _apply(anon)
    rejected = reviewer.client.post(
        f"/v1/review/partners/{application['id']}/reject", {"reason": "No consent process."}, format="json"
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    late = reviewer.client.post(
        f"/v1/review/partners/{application['id']}/approve", {"comment": "changed my mind"}, format="json"
    )
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "invalid_transition"
    assert late.json()["error"]["details"] == {"status": "rejected"}


def test_suspension_stops_every_key_at_once_and_reinstating_restores_them(
    alice: PartnerActor, reviewer: ReviewerActor
) -> None:
    second = alice.client.post("/v1/keys", {"name": "second", "scopes": ["read"]}, format="json").json()["key"]
    suspended = reviewer.client.post(
        f"/v1/review/partners/{alice.partner.id}/suspend", {"reason": "Complaint under review."}, format="json"
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    for client in (alice.client, bearer_client(second)):
        refused = client.get("/v1/partner")
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "partner_suspended"
    reinstated = reviewer.client.post(
        f"/v1/review/partners/{alice.partner.id}/reinstate", {"comment": "Complaint resolved."}, format="json"
    )
    assert reinstated.status_code == 200
    assert alice.client.get("/v1/partner").status_code == 200


def test_reviewer_sets_a_partners_rate_limit(alice: PartnerActor, reviewer: ReviewerActor) -> None:
    response = reviewer.client.patch(
        f"/v1/review/partners/{alice.partner.id}/limits", {"rate_limit_per_minute": 7}, format="json"
    )
    assert response.status_code == 200 and response.json()["rate_limit_per_minute"] == 7
    assert Partner.objects.get(id=alice.partner.id).rate_limit_per_minute == 7
    event = AuditEntry.objects.get(event_type="partner.limits_changed")
    assert event.payload["rate_limit_per_minute"] == {"from": 1000, "to": 7}


def test_partners_cannot_use_reviewer_endpoints(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    for method, path in [
        ("get", "/v1/review/partners"),
        ("post", f"/v1/review/partners/{alice.partner.id}/approve"),
        ("post", f"/v1/review/partners/{alice.partner.id}/suspend"),
        ("patch", f"/v1/review/partners/{alice.partner.id}/limits"),
        ("get", "/v1/review/audit"),
        ("get", "/v1/review/audit/export"),
        ("post", "/v1/review/audit/verify"),
    ]:
        response = getattr(alice.client, method)(path, {}, format="json")
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "reviewer_required"
        assert getattr(anon, method)(path, {}, format="json").status_code == 401
    assert Partner.objects.get(id=alice.partner.id).status == PartnerStatus.APPROVED


def test_unknown_partner_is_404_for_reviewers(reviewer: ReviewerActor) -> None:
    response = reviewer.client.get("/v1/review/partners/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404 and response.json()["error"]["code"] == "partner_not_found"


def test_application_is_validated(anon) -> None:  # type: ignore[no-untyped-def]
    bad = {**APPLICATION, "contact_email": "not-an-email", "use_case": "deepfakes"}
    response = anon.post("/v1/partner-applications", bad, format="json")
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert set(details) == {"contact_email", "use_case"}
    assert Partner.objects.count() == 0


def test_partner_decide_is_the_one_entry_for_every_lifecycle_action(reviewer: ReviewerActor) -> None:
    applicant = make_partner("Fable Languages", status=PartnerStatus.APPLIED)
    with pytest.raises(DomainError) as refused:
        services.partner_decide(
            partner=applicant, reviewer=reviewer.user, action="reject", comment="no", use_cases=["education"]
        )
    assert refused.value.code == "use_cases_not_allowed"
    with pytest.raises(DomainError) as unknown:
        services.partner_decide(partner=applicant, reviewer=reviewer.user, action="promote", comment="?")
    assert unknown.value.code == "invalid_action"
    approved = services.partner_decide(
        partner=applicant, reviewer=reviewer.user, action="approve", comment="ok", use_cases=["research"]
    )
    assert approved.status == PartnerStatus.APPROVED and approved.approved_use_cases == ["research"]
    suspended = services.partner_decide(partner=approved, reviewer=reviewer.user, action="suspend", comment="why")
    assert suspended.status == PartnerStatus.SUSPENDED and suspended.status_reason == "why"
