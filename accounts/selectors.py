"""Reads for partners, keys and the audit log."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.models import ApiKey, AuditEntry, Partner
from core.errors import NotFound


def partner_get(*, partner_id: object) -> Partner:
    """One partner by id, or NotFound."""
    partner = Partner.objects.filter(id=partner_id).first()
    if partner is None:
        raise NotFound("No such partner.", code="partner_not_found")
    return partner


def partner_list(*, status: str | None = None) -> QuerySet[Partner]:
    qs = Partner.objects.all()
    if status:
        qs = qs.filter(status=status)
    return qs


def api_key_list(*, partner: Partner) -> QuerySet[ApiKey]:
    """The partner's own keys; never anyone else's."""
    return ApiKey.objects.filter(partner=partner)


def api_key_get(*, partner: Partner, key_id: object) -> ApiKey:
    """One of the partner's keys; another partner's key is indistinguishable from a missing one."""
    key = ApiKey.objects.filter(partner=partner, id=key_id).first()
    if key is None:
        raise NotFound("No such API key.", code="api_key_not_found")
    return key


_STATUS_CLASSES = {"2xx": (200, 299), "3xx": (300, 399), "4xx": (400, 499), "5xx": (500, 599)}


def audit_search(filters: dict[str, Any]) -> QuerySet[AuditEntry]:
    """Audit entries matching the validated filters, newest first."""
    qs = AuditEntry.objects.all()
    if "since" in filters:
        qs = qs.filter(created_at__gte=filters["since"])
    if "until" in filters:
        qs = qs.filter(created_at__lt=filters["until"])
    if "partner" in filters:
        qs = qs.filter(partner_id=filters["partner"])
    if "actor" in filters:
        qs = qs.filter(actor=filters["actor"])
    if "kind" in filters:
        qs = qs.filter(kind=filters["kind"])
    if "event_type" in filters:
        # "job." matches every job event; an exact type matches itself.
        et = filters["event_type"]
        qs = qs.filter(event_type__startswith=et) if et.endswith(".") else qs.filter(event_type=et)
    if "path" in filters:
        qs = qs.filter(path__startswith=filters["path"])
    if "status" in filters:
        qs = qs.filter(status_code=filters["status"])
    if "status_class" in filters:
        low, high = _STATUS_CLASSES[filters["status_class"]]
        qs = qs.filter(status_code__gte=low, status_code__lte=high)
    for name in ("request_id", "client_request_id", "target_type", "target_id"):
        if name in filters:
            qs = qs.filter(**{name: filters[name]})
    return qs.order_by("-id")
