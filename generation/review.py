"""Reviewers' work on jobs: the review queue (consents and jobs together) and decisions on jobs in review."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import audit
from accounts.models import User
from accounts.permissions import ensure_independent_reviewer
from core.errors import Conflict, DomainError, NotFound
from generation import pipeline
from generation.models import Job, JobStatus
from generation.serializers import QueueItemOut
from moderation import selectors as consent_selectors


def review_queue(*, item_type: str | None) -> list[dict[str, Any]]:
    """Consents and jobs waiting for a reviewer, oldest first (at most 200 of each)."""
    items: list[dict[str, Any]] = []
    if item_type in (None, "consent"):
        items += [QueueItemOut.for_consent(c) for c in consent_selectors.consents_in_review()[:200]]
    if item_type in (None, "job"):
        jobs = Job.objects.filter(status=JobStatus.NEEDS_REVIEW).select_related("partner", "consent__subject")
        items += [QueueItemOut.for_job(j) for j in jobs.order_by("created_at")[:200]]
    return sorted(items, key=lambda item: item["created_at"])


def job_review(*, job_id: object, reviewer: User, approve: bool, comment: str) -> str:
    """A reviewer's decision on a job in review: approved jobs are queued for rendering, others rejected."""
    job = Job.objects.filter(id=job_id).first()
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    ensure_independent_reviewer(reviewer=reviewer, partner_id=job.partner_id)
    if not comment.strip():
        raise DomainError("A decision needs a comment.", code="comment_required")
    with transaction.atomic():
        # The decision is audited only together with the transition it caused: both land, or neither.
        status = pipeline.review_decided(job_id=str(job.id), approve=approve, reviewer_id=reviewer.pk)
        if status is None:
            job.refresh_from_db()
            raise Conflict(f"The job is {job.status}, not in review.", code="not_in_review")
        audit.record(f"job.review_{'approved' if approve else 'rejected'}", target=job, partner_id=job.partner_id,
                     actor=f"user:{reviewer.pk}", payload={"comment": comment})  # fmt: skip
    return status
