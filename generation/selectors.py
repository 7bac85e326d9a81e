"""Reads for jobs, usage and uploads, always scoped to one partner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import Partner
from core.errors import NotFound
from generation.models import ACTIVE_STATUSES, Job, JobStatus


def job_list(*, partner: Partner, filters: dict[str, Any]) -> QuerySet[Job]:
    qs = Job.objects.filter(partner=partner)
    if "status" in filters:
        qs = qs.filter(status=filters["status"])
    if "created_after" in filters:
        qs = qs.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        qs = qs.filter(created_at__lt=filters["created_before"])
    if "consent_id" in filters:
        qs = qs.filter(consent_id=filters["consent_id"])
    return qs


def job_get(*, partner: Partner, job_id: object) -> Job:
    """One of the partner's jobs; another partner's job is indistinguishable from a missing one."""
    job = Job.objects.filter(partner=partner, id=job_id).first()
    if job is None:
        raise NotFound("No such generation.", code="job_not_found")
    return job


def job_for_review(*, job_id: object) -> Job:
    """Any partner's job, for reviewers, with its partner and consent subject; NotFound for a malformed id too."""
    try:
        parsed = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("No such job.", code="job_not_found") from None
    job = Job.objects.select_related("partner", "consent__subject").filter(id=parsed).first()
    if job is None:
        raise NotFound("No such job.", code="job_not_found")
    return job


# --- Usage: the one rule for "seconds used this month" (quota enforcement, /v1/usage and the console) -------------


def month_start(now: datetime | None = None) -> datetime:
    """The first instant of ``now``'s month (UTC), where monthly quotas restart."""
    now = now or timezone.now()
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _billable(qs: QuerySet[Job]) -> QuerySet[Job]:
    # Rejected jobs and jobs stopped before rendering started cost nothing; everything else counts.
    return qs.exclude(status=JobStatus.REJECTED).exclude(
        Q(status__in=[JobStatus.FAILED, JobStatus.CANCELLED]) & Q(started_at__isnull=True)
    )


@dataclass(frozen=True)
class Usage:
    """What a partner has used this month and how much is left."""

    month_start: datetime
    video_seconds_used: float
    video_seconds_limit: int
    concurrent_jobs_active: int
    concurrent_jobs_limit: int
    max_audio_seconds: int

    @property
    def video_seconds_remaining(self) -> float:
        return max(0.0, self.video_seconds_limit - self.video_seconds_used)

    @property
    def video_seconds_used_pct(self) -> int | None:
        """Share of the monthly quota used, in whole percent (None when the quota is zero)."""
        if not self.video_seconds_limit:
            return None
        return round(100 * self.video_seconds_used / self.video_seconds_limit)


def usage_get(*, partner: Partner, now: datetime | None = None) -> Usage:
    """The partner's usage this month, counted by the rule quotas are enforced with."""
    start = month_start(now)
    jobs = Job.objects.filter(partner=partner, created_at__gte=start)
    used = _billable(jobs).aggregate(s=Sum("audio_duration_s"))["s"]
    active = Job.objects.filter(partner=partner, status__in=ACTIVE_STATUSES).count()
    return Usage(
        month_start=start,
        video_seconds_used=round(used or 0.0, 3),
        video_seconds_limit=partner.monthly_video_seconds,
        concurrent_jobs_active=active,
        concurrent_jobs_limit=partner.max_concurrent_jobs,
        max_audio_seconds=partner.max_audio_seconds,
    )
