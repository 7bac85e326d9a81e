"""Middleware: request ids and the per-request audit entry; body size limits before anything reads a body."""

from __future__ import annotations

import ipaddress
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from accounts import audit
from core import context
from core.errors import json_error_response

logger = logging.getLogger(__name__)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, trusting X-Forwarded-For only as far as the configured number of proxies."""
    candidate = request.META.get("REMOTE_ADDR", "")
    hops = settings.TALKGATE_TRUSTED_PROXY_COUNT
    if hops:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


class RequestAuditMiddleware:
    """Give every request an id (echoed as X-Request-ID) and write one audit entry when it is answered."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        # The service always issues its own id: a client's value could collide with (or impersonate) another
        # caller's. A well-formed client id is kept beside it so traces still join up across services.
        request_id = uuid.uuid4().hex
        ctx = context.RequestContext(
            request_id=request_id,
            client_ip=client_ip(request),
            client_request_id=incoming if _REQUEST_ID.match(incoming) else "",
        )
        request.request_id = request_id  # type: ignore[attr-defined]
        token = context.set_context(ctx)
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            self._fill_session_actor(request, ctx)
            latency_us = int((time.perf_counter() - started) * 1_000_000)
            try:
                audit.record_request(
                    ctx=ctx,
                    method=request.method or "",
                    path=request.path,
                    status_code=response.status_code,
                    latency_us=latency_us,
                    match=getattr(request, "resolver_match", None),
                )
            except Exception:
                # The answer is already decided; losing the line is logged loudly rather than turned into a 500.
                logger.exception("could not write the audit entry for request %s", request_id)
            return response
        finally:
            context.reset_context(token)

    @staticmethod
    def _fill_session_actor(request: HttpRequest, ctx: context.RequestContext) -> None:
        if ctx.actor != "anonymous":
            return
        user = getattr(request, "user", None)
        # Only look at a user Django already resolved (a session login), without forcing a lookup.
        wrapped = getattr(user, "_wrapped", user)
        if wrapped is not None and getattr(wrapped, "is_authenticated", False) and not callable(wrapped):
            ctx.actor = f"user:{wrapped.pk}"


def _identify_key(request: HttpRequest) -> None:
    """Name the caller of a request refused before authentication ran, when it sent a valid key.

    Nothing is raised and nothing else is noted: a refused request's audit line should still say who it was.
    """
    ctx = context.current_context()
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if ctx is None or scheme.lower() != "bearer" or not token.strip():
        return
    from accounts.services import KeyRefused, api_key_resolve  # the services import the audit module

    try:
        key = api_key_resolve(token.strip())
    except KeyRefused:
        return
    ctx.actor = f"key:{key.id}"
    ctx.partner_id = key.partner_id


class RequestSizeLimitMiddleware:
    """Refuse bodies over the configured limits with 413 before any parser reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw)
        except ValueError:
            return json_error_response(400, "bad_content_length", "Content-Length is not a number.")
        if length < 0:
            return json_error_response(400, "bad_content_length", "Content-Length is negative.")
        content_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        limit = settings.TALKGATE_MAX_REQUEST_BYTES
        if content_type == "application/json" or content_type.endswith("+json"):
            limit = min(limit, settings.TALKGATE_MAX_JSON_BYTES)
        if length > limit:
            _identify_key(request)
            return json_error_response(
                413, "request_too_large", f"The request body is {length} bytes; the limit is {limit}."
            )
        return self.get_response(request)
