"""Short-lived signed download links for outputs (HMAC with expiry), served by the app or the storage backend."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage

from core.errors import DomainError, NotFound
from generation.models import Job, JobStatus

_SALT = "talkgate.generation.video"


def signed_path(job: Job) -> str:
    """An app URL path carrying an HMAC-signed, expiring token for this job's video."""
    token = signing.dumps({"j": str(job.id), "p": str(job.partner_id)}, salt=_SALT, compress=True)
    return f"/v1/media/videos/{token}"


def storage_url(job: Job) -> str | None:
    """A presigned URL from an S3-like backend, or None when the app must serve the file itself."""
    if hasattr(default_storage, "bucket_name"):
        return default_storage.url(job.output, expire=settings.TALKGATE_VIDEO_URL_TTL_S)
    return None


def resolve(token: str) -> Job:
    """The job a token names, if the signature holds and it has not expired."""
    try:
        claims = signing.loads(token, salt=_SALT, max_age=settings.TALKGATE_VIDEO_URL_TTL_S)
    except signing.SignatureExpired as exc:
        raise DomainError("The download link has expired; ask for a new one.", code="link_expired",
                          status=410) from exc  # fmt: skip
    except signing.BadSignature as exc:
        raise NotFound("No such download.", code="link_invalid") from exc
    job = Job.objects.filter(id=claims["j"], partner_id=claims["p"]).first()
    if job is None:
        raise NotFound("No such download.", code="link_invalid")
    ensure_downloadable(job)
    return job


def ensure_downloadable(job: Job) -> None:
    """Only succeeded outputs are served; a revoked consent withdraws the video."""
    if job.status == JobStatus.REVOKED:
        raise DomainError("The subject withdrew consent; this video is no longer available.", code="job_revoked",
                          status=410)  # fmt: skip
    if job.status != JobStatus.SUCCEEDED or not job.output:
        raise DomainError(f"The job is {job.status}; there is no video yet.", code="video_not_ready", status=409)
