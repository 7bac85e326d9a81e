"""Webhooks: endpoints with signing secrets, an SSRF guard, signed deliveries retried from the database."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import Partner
from core import enqueue, metrics
from core.errors import DomainError
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "Talkgate-Signature"
MAX_ENDPOINTS_PER_PARTNER = 10
DELIVER_TASK = "webhooks.tasks.deliver_webhook"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: ``t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance_s: int = 300) -> bool:
    """What a receiver does: recompute the HMAC and check the timestamp is recent (replay guard)."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# NAT64 prefixes (RFC 6052 well-known, RFC 8215 local use): the last 32 bits are the IPv4 address reached.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address leads to: IPv4-mapped, IPv4-compatible, 6to4, NAT64 and Teredo forms."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF))
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _forbidden_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        # A translator or tunnel would carry the request on to the embedded IPv4 address: judge that one too.
        candidates.extend(_embedded_ipv4(ip))
    return any(not c.is_global or c.is_multicast for c in candidates)


def check_target(url: str) -> None:
    """SSRF guard: only http(s) to public addresses (every address the name resolves to) on a real port."""
    parts = urlsplit(url)
    allowed_schemes = {"https", "http"} if settings.TALKGATE_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed_schemes:
        raise DomainError(
            f"Webhook URLs must use {' or '.join(sorted(allowed_schemes))}.", code="webhook_url_forbidden"
        )
    try:
        port = parts.port
        hostname = parts.hostname
    except ValueError as exc:
        # urllib refuses ports outside 0-65535 and malformed bracketed hosts only when asked for them.
        raise DomainError("The webhook URL's host or port is not valid.", code="webhook_url_invalid") from exc
    if port == 0:
        raise DomainError("The webhook URL's port must be 1-65535.", code="webhook_url_invalid")
    if not hostname or parts.username or parts.password:
        raise DomainError("Webhook URLs need a host and no credentials.", code="webhook_url_invalid")
    if settings.TALKGATE_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(hostname, port or (443 if parts.scheme == "https" else 80))
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise DomainError("The webhook host does not resolve.", code="webhook_url_unresolvable") from exc
    if any(_forbidden_address(str(info[4][0])) for info in infos):
        raise DomainError(
            "Webhook URLs may not point at private, loopback or link-local addresses.", code="webhook_url_forbidden"
        )


def endpoint_create(*, partner: Partner, url: str, description: str = "") -> tuple[WebhookEndpoint, str]:
    """Register a URL; returns the endpoint and its signing secret (shown once)."""
    check_target(url)
    if WebhookEndpoint.objects.filter(partner=partner, active=True).count() >= MAX_ENDPOINTS_PER_PARTNER:
        raise DomainError(f"At most {MAX_ENDPOINTS_PER_PARTNER} webhook endpoints.", code="webhook_limit")
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(partner=partner, url=url, description=description, secret=secret)
        audit.record("webhook.created", target=endpoint, partner_id=partner.id, payload={"url": url})
    return endpoint, secret


def endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new signing secret; the old one stops at once."""
    secret = "whsec_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        WebhookEndpoint.objects.filter(id=endpoint.id).update(secret=secret)
        audit.record("webhook.secret_rotated", target=endpoint, partner_id=endpoint.partner_id)
    return secret


def endpoint_disable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop sending to an endpoint (its delivery log stays)."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(id=endpoint.id, active=True).update(active=False, disabled_at=timezone.now())
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, last_error="endpoint disabled"
        )
        audit.record("webhook.disabled", target=endpoint, partner_id=endpoint.partner_id)
    endpoint.refresh_from_db()
    return endpoint


def notify(*, partner_id: object, event_type: str, data: dict[str, Any], job_id: object = None) -> int:
    """Queue one delivery per active endpoint of the partner (inside the caller's transaction)."""
    endpoints = list(WebhookEndpoint.objects.filter(partner_id=partner_id, active=True))
    now = timezone.now()
    payload = {"type": event_type, "created_at": now.isoformat(), "data": data}
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, job_id=job_id, event_type=event_type, payload=payload, next_attempt_at=now
        )
        enqueue.after_commit(DELIVER_TASK, delivery.id)
    return len(endpoints)


def _claim(delivery_id: object) -> WebhookDelivery | None:
    """Take a due delivery so two workers never send the same attempt."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint")
            .filter(id=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        # Push the next attempt out while this one is in flight; a crash mid-send is then retried later.
        lease = timedelta(seconds=settings.TALKGATE_WEBHOOK_TIMEOUT_S * 3)
        WebhookDelivery.objects.filter(id=delivery.id).update(next_attempt_at=now + lease)
    return delivery


def deliver(delivery_id: object) -> str | None:
    """Attempt one delivery now; on failure schedule the next attempt from the backoff table."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    body = json.dumps({"id": str(delivery.id), **delivery.payload}, sort_keys=True).encode()
    timestamp = int(time.time())
    status_code: int | None = None
    error = ""
    try:
        # Re-checked at send time: DNS may have changed since registration.
        check_target(endpoint.url)
        response = requests.post(
            endpoint.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "Talkgate-Webhooks/1",
                SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
                "Talkgate-Event": delivery.event_type,
                "Talkgate-Delivery": str(delivery.id),
            },
            timeout=(3, settings.TALKGATE_WEBHOOK_TIMEOUT_S),
            allow_redirects=False,
        )
        status_code = response.status_code
        ok = 200 <= status_code < 300
        if not ok:
            error = f"HTTP {status_code}"
    except DomainError as exc:
        ok, error = False, exc.code
    except requests.RequestException as exc:
        ok, error = False, type(exc).__name__
    attempts = delivery.attempts + 1
    backoff = settings.TALKGATE_WEBHOOK_BACKOFF_S
    if ok:
        fields: dict[str, Any] = {"status": DeliveryStatus.SUCCEEDED, "delivered_at": timezone.now()}
    elif attempts > len(backoff):
        fields = {"status": DeliveryStatus.FAILED}
    else:
        fields = {"next_attempt_at": timezone.now() + timedelta(seconds=backoff[attempts - 1])}
    WebhookDelivery.objects.filter(id=delivery.id).update(
        attempts=attempts, last_status_code=status_code, last_error=error[:300], **fields
    )
    result = fields.get("status", "retrying")
    metrics.webhook_attempted(str(result), status_code=status_code, error=error)
    if not ok:
        logger.info("webhook delivery %s attempt %s failed: %s", delivery.id, attempts, error)
    return fields.get("status", DeliveryStatus.PENDING)


def deliver_due(limit: int = 200) -> int:
    """Attempt every delivery whose time has come (run by beat); returns how many were attempted."""
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(1 for delivery_id in due if deliver(delivery_id) is not None)
