"""The audit log: one function to record domain events, the request context, and the hash chain.

Every entry stores the SHA-256 of the previous entry (``prev_hash``) and its own hash over its canonical
JSON form (``entry_hash``). Appends take a lock (a PostgreSQL advisory lock; SQLite's IMMEDIATE
transactions serialise writers already), so chain order equals id order and ``verify_chain`` can walk by id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import connection, models, transaction
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils import timezone

from accounts.models import AuditEntry, AuditKind
from core import metrics
from core.context import RequestContext, current_context

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
# An arbitrary, fixed 64-bit key for pg_advisory_xact_lock: "talkgate audit chain".
_PG_LOCK_KEY = 0x7A1C6A7E_A0D17C4A & 0x7FFF_FFFF_FFFF_FFFF
MAX_PAYLOAD_BYTES = 4096
# Strings are cut to this many characters (then halved) until an oversized payload fits the cap.
_FIRST_STRING_CUT = 1024
TRUNCATED_MARKER = "…[truncated]"
_SECRET_KEY_PATTERN = re.compile(r"secret|token|password|authorization|api_key|signature", re.IGNORECASE)
REDACTED_SEGMENT = "[redacted]"


def _scrub(value: Any) -> Any:
    """Drop anything that looks like a secret; the log must never hold credentials."""
    if isinstance(value, Mapping):
        return {str(k): ("[redacted]" if _SECRET_KEY_PATTERN.search(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, UUID | datetime):
        return str(value)
    return value


def _cut_strings(value: Any, limit: int) -> tuple[Any, bool]:
    """Every string longer than ``limit`` characters cut to it with a marker; whether anything was cut."""
    if isinstance(value, str):
        if len(value) > limit:
            return value[:limit] + TRUNCATED_MARKER, True
        return value, False
    if isinstance(value, dict):
        cut = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            out[k], was_cut = _cut_strings(v, limit)
            cut = cut or was_cut
        return out, cut
    if isinstance(value, list):
        pairs = [_cut_strings(v, limit) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    return value, False


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _fit(cleaned: dict[str, Any]) -> str:
    """The payload as JSON within MAX_PAYLOAD_BYTES: long strings are cut with a marker, never an error.

    A request that carries ordinary-length input must not fail because its audit line would be long.
    """
    text = _dumps(cleaned)
    original = len(text.encode())
    if original <= MAX_PAYLOAD_BYTES:
        return text
    limit = _FIRST_STRING_CUT
    while limit >= 8:
        shortened, _ = _cut_strings(cleaned, limit)
        shortened["_truncated"] = {"original_bytes": original}
        text = _dumps(shortened)
        if len(text.encode()) <= MAX_PAYLOAD_BYTES:
            return text
        limit //= 2
    # Too many keys or items to fit even with short strings: keep only which keys there were.
    keys = sorted(cleaned)[:50]
    text = _dumps({"_truncated": {"original_bytes": original, "keys": [k[:40] for k in keys]}})
    return text if len(text.encode()) <= MAX_PAYLOAD_BYTES else _dumps({"_truncated": {"original_bytes": original}})


def _normalise_payload(payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """Scrub, cap, then round-trip through JSON so the hashed form equals what the database gives back."""
    cleaned = _scrub(dict(payload or {}))
    text = _fit(json.loads(_dumps(cleaned)))
    if "\\u0000" in text:
        # PostgreSQL's jsonb cannot store NUL; replacing it keeps the stored and hashed forms identical.
        text = text.replace("\\u0000", "\\ufffd")
    return json.loads(text)


def _redaction_marker(value: str) -> str:
    # A keyed hash links entries about the same secret without letting a log reader recompute or use it.
    digest = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()[:16]
    return f"{REDACTED_SEGMENT[:-1]}:{digest}]"


def _secrets_of(match: ResolverMatch) -> set[str]:
    return {str(v) for k, v in match.kwargs.items() if _SECRET_KEY_PATTERN.search(k) and isinstance(v, str) and v}


def _secrets_of_unrouted(path: str, max_segments: int = 8) -> set[str]:
    """Secrets in a path that routes nowhere, found through the routes its leading segments match.

    ``/capture/<token>/chunks/abc`` is a 404 (``abc`` is no chunk number) but still carries the link's token.
    """
    found: set[str] = set()
    segments = path.split("/")
    for end in range(2, min(len(segments), max_segments + 1)):
        try:
            found |= _secrets_of(resolve("/".join(segments[:end])))
        except Resolver404:
            continue
    return found


def redact_path(path: str, match: ResolverMatch | None = None) -> str:
    """The path with every URL parameter that carries a secret (a name like token/secret) replaced by a marker.

    ``match`` is the request's resolver match when Django already resolved it; otherwise the path is resolved
    here (a request refused before routing, by the size check, still must not log a secret).
    """
    if match is None:
        try:
            match = resolve(path)
        except Resolver404:
            match = None
    secrets_in_path = _secrets_of(match) if match is not None else _secrets_of_unrouted(path)
    if not secrets_in_path:
        return path
    return "/".join(_redaction_marker(seg) if seg in secrets_in_path else seg for seg in path.split("/"))


def _canonical(entry: AuditEntry) -> bytes:
    created = entry.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    body = {
        "created_at": created,
        "kind": entry.kind,
        "request_id": entry.request_id,
        "actor": entry.actor,
        "partner_id": str(entry.partner_id) if entry.partner_id else None,
        "client_ip": entry.client_ip,
        "method": entry.method,
        "path": entry.path,
        "status_code": entry.status_code,
        "latency_us": entry.latency_us,
        "event_type": entry.event_type,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
    }
    if entry.client_request_id:
        # Only present when set, so entries written before this field existed keep their hashes.
        body["client_request_id"] = entry.client_request_id
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def compute_hash(entry: AuditEntry) -> str:
    """The entry's hash over its canonical form (which includes the previous entry's hash)."""
    return hashlib.sha256(_canonical(entry)).hexdigest()


def _append(entry: AuditEntry) -> AuditEntry:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_LOCK_KEY])
        last = AuditEntry.objects.order_by("-id").values_list("entry_hash", flat=True).first()
        entry.prev_hash = last or GENESIS_HASH
        # Taken under the lock so timestamps never go backwards along the chain.
        entry.created_at = timezone.now()
        entry.entry_hash = compute_hash(entry)
        entry.save(force_insert=True)
    return entry


def _target(target: models.Model | tuple[str, str] | None) -> tuple[str, str]:
    if target is None:
        return "", ""
    if isinstance(target, tuple):
        return target
    return f"{target._meta.app_label}.{target._meta.model_name}", str(target.pk)


def record(
    event_type: str,
    *,
    target: models.Model | tuple[str, str] | None = None,
    payload: Mapping[str, Any] | None = None,
    actor: str | None = None,
    partner_id: UUID | str | None = None,
) -> AuditEntry:
    """Record a domain event. Actor, partner and request id default to the current request's."""
    ctx = current_context()
    target_type, target_id = _target(target)
    entry = AuditEntry(
        kind=AuditKind.EVENT,
        request_id=ctx.request_id if ctx else "",
        actor=actor or (ctx.actor if ctx else "system"),
        partner_id=partner_id if partner_id is not None else (ctx.partner_id if ctx else None),
        client_ip=ctx.client_ip if ctx else None,
        event_type=event_type,
        target_type=target_type,
        target_id=target_id,
        payload=_normalise_payload(payload),
    )
    return _append(entry)


def record_request(
    *,
    ctx: RequestContext,
    method: str,
    path: str,
    status_code: int,
    latency_us: int,
    match: ResolverMatch | None = None,
) -> AuditEntry:
    """Record one served HTTP request (called by the audit middleware); secrets in the path are redacted."""
    entry = AuditEntry(
        kind=AuditKind.REQUEST,
        request_id=ctx.request_id,
        client_request_id=ctx.client_request_id,
        actor=ctx.actor,
        partner_id=ctx.partner_id,
        client_ip=ctx.client_ip,
        method=method[:10],
        path=redact_path(path, match)[:500],
        status_code=status_code,
        latency_us=latency_us,
        payload=_normalise_payload(ctx.notes),
    )
    return _append(entry)


@dataclass
class ChainReport:
    """The result of walking the chain."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    head_hash: str = GENESIS_HASH

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken_id": self.first_broken_id,
            "reason": self.reason,
            "head_hash": self.head_hash,
        }


def _walk(batch_size: int) -> Iterator[AuditEntry]:
    # Keyset pagination instead of .iterator(): server-side cursors are not always available (pgbouncer).
    last_id = 0
    while True:
        batch = list(AuditEntry.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def verify_chain(batch_size: int = 2000) -> ChainReport:
    """Walk the log in id order and report the first entry whose hash or link is wrong."""
    expected_prev = GENESIS_HASH
    checked = 0
    for entry in _walk(batch_size):
        if entry.prev_hash != expected_prev:
            return ChainReport(
                False,
                checked,
                entry.id,
                "prev_hash does not match the previous entry (missing or altered entry before it)",
                expected_prev,
            )
        if compute_hash(entry) != entry.entry_hash:
            return ChainReport(
                False, checked, entry.id, "entry content does not match its hash (altered)", expected_prev
            )
        expected_prev = entry.entry_hash
        checked += 1
    return ChainReport(True, checked, head_hash=expected_prev)


def verify_chain_recorded(*, actor: str | None = None) -> ChainReport:
    """Walk the chain and record the outcome (``audit.chain_verified``): what the API, console and beat task do."""
    report = verify_chain()
    record("audit.chain_verified", actor=actor, payload=report.as_dict())
    metrics.audit_chain_checked(report.ok)
    return report
