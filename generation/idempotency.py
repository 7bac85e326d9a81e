"""``Idempotency-Key`` for POSTs that create work: replay the first answer, 422 on a changed body, 409 while busy.

A record lives ``TALKGATE_IDEMPOTENCY_TTL_HOURS``: past that its key is free again (so a request that crashed while
"in progress" stops blocking retries), and ``idempotency_record_sweep`` deletes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Partner
from core.errors import Conflict, DomainError, error_body
from generation.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def request_fingerprint(request: Request) -> str:
    """A hash of what the request asks for: its fields and the contents of its files."""
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    data = request.data
    fields: dict[str, Any] = {}
    for name in sorted(data.keys()) if hasattr(data, "keys") else []:
        values = data.getlist(name) if hasattr(data, "getlist") else [data[name]]
        rendered = []
        for value in values:
            if hasattr(value, "chunks"):
                file_digest = hashlib.sha256()
                for chunk in value.chunks():
                    file_digest.update(chunk)
                value.seek(0)
                rendered.append(f"file:{file_digest.hexdigest()}")
            else:
                rendered.append(value)
        fields[name] = rendered if hasattr(data, "getlist") else rendered[0]
    digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def run_idempotent(request: Request, partner: Partner, handler: Callable[[], Response]) -> Response:
    """Run ``handler`` once per (partner, key); identical retries get the stored response back."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    if not key or len(key) > 255 or not key.isprintable():
        raise DomainError("Idempotency-Key must be 1-255 printable characters.", code="idempotency_key_invalid")
    fingerprint = request_fingerprint(request)
    record, existing = _claim(partner=partner, key=key, fingerprint=fingerprint)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise DomainError(
                "This Idempotency-Key was used with a different request.", code="idempotency_key_reused", status=422
            )
        if not existing.completed:
            raise Conflict("A request with this Idempotency-Key is still being processed.",
                           code="idempotency_in_progress")  # fmt: skip
        return Response(existing.response_body, status=existing.response_status,
                        headers={"Idempotent-Replayed": "true"})  # fmt: skip
    assert record is not None
    try:
        response = handler()
    except DomainError as exc:
        if exc.status >= 500:
            record.delete()
            raise
        # A refused request is an answer too: the same retry gets the same refusal.
        _complete(record, exc.status, error_body(exc.code, exc.message, exc.details))
        raise
    except Exception:
        # Validation errors and crashes leave no record, so the client may fix the request and retry.
        record.delete()
        raise
    _complete(record, response.status_code, response.data)
    return response


def expiry_cutoff(now: datetime | None = None) -> datetime:
    """Records created before this instant are past their lifetime."""
    return (now or timezone.now()) - timedelta(hours=settings.TALKGATE_IDEMPOTENCY_TTL_HOURS)


def _claim(
    *, partner: Partner, key: str, fingerprint: str
) -> tuple[IdempotencyRecord, None] | tuple[None, IdempotencyRecord]:
    """Create the record for this key, or return the live one that holds it; an expired one is replaced."""
    for _ in range(3):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(partner=partner, key=key, request_hash=fingerprint), None
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(partner=partner, key=key).first()
            if existing is not None and existing.created_at >= expiry_cutoff():
                return None, existing
            if existing is not None:
                # Past its lifetime the key is free again; the guard keeps a concurrent fresh claim.
                IdempotencyRecord.objects.filter(id=existing.id, created_at__lt=expiry_cutoff()).delete()
    # Only reached when concurrent retries keep taking the key between our attempts.
    raise Conflict("A request with this Idempotency-Key is still being processed.", code="idempotency_in_progress")


def idempotency_record_sweep(*, now: datetime | None = None) -> int:
    """Delete records past their lifetime (finished or not); returns how many went."""
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=expiry_cutoff(now)).delete()
    return deleted


def _complete(record: IdempotencyRecord, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(id=record.id).update(
        completed=True, response_status=status, response_body=json.loads(json.dumps(body, default=str))
    )
