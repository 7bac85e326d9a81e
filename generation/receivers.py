"""What jobs do when something they depend on changes below them (connected in ``GenerationConfig.ready``)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from generation.models import ACTIVE_STATUSES, Job, JobStatus
from generation.services import job_transition
from moderation.signals import consent_revoked


@receiver(consent_revoked, dispatch_uid="generation.jobs_of_revoked_consent")
def jobs_of_revoked_consent(sender: Any, *, consent: Any, **kwargs: Any) -> None:
    """A withdrawn consent cancels its queued jobs and marks its finished outputs revoked."""
    for job_id in Job.objects.filter(consent=consent, status__in=ACTIVE_STATUSES).values_list("id", flat=True):
        job_transition(job_id=job_id, expected=ACTIVE_STATUSES, new=JobStatus.CANCELLED,
                       fields={"reason_codes": ["consent_revoked"], "cancel_requested": True,
                               "stage": "cancelled"})  # fmt: skip
    for job_id in Job.objects.filter(consent=consent, status=JobStatus.SUCCEEDED).values_list("id", flat=True):
        job_transition(job_id=job_id, expected=[JobStatus.SUCCEEDED], new=JobStatus.REVOKED,
                       fields={"reason_codes": ["consent_revoked"], "stage": "revoked"})  # fmt: skip
