"""``Idempotency-Key`` for POSTs that create work: replay the first answer, 422 on a changed body, 409 while busy."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.errors import Conflict, DomainError
from accounts.models import Partner
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
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(partner=partner, key=key, request_hash=fingerprint)
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(partner=partner, key=key)
        if existing.request_hash != fingerprint:
            raise DomainError(
                "This Idempotency-Key was used with a different request.", code="idempotency_key_reused", status=422
            ) from None
        if not existing.completed:
            raise Conflict("A request with this Idempotency-Key is still being processed.",
                           code="idempotency_in_progress") from None  # fmt: skip
        return Response(existing.response_body, status=existing.response_status,
                        headers={"Idempotent-Replayed": "true"})  # fmt: skip
    try:
        response = handler()
    except DomainError as exc:
        if exc.status >= 500:
            record.delete()
            raise
        # A refused request is an answer too: the same retry gets the same refusal.
        from accounts.errors import error_body

        _complete(record, exc.status, error_body(exc.code, exc.message, exc.details))
        raise
    except Exception:
        # Validation errors and crashes leave no record, so the client may fix the request and retry.
        record.delete()
        raise
    _complete(record, response.status_code, response.data)
    return response


def _complete(record: IdempotencyRecord, status: int, body: Any) -> None:
    IdempotencyRecord.objects.filter(id=record.id).update(
        completed=True, response_status=status, response_body=json.loads(json.dumps(body, default=str))
    )
