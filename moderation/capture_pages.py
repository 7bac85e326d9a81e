"""The subject's hosted capture page (``/capture/<token>``): who asks and for what, recording, declining."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.throttling import address_throttle_wait
from core.context import current_context
from core.errors import DomainError, TooMany, error_body, json_error_response, throttled_response
from moderation import services
from moderation.models import CaptureSession, CaptureStatus

# What the page says for a link that no longer leads to a recording, and its HTTP status.
_ENDED = {
    CaptureStatus.EXPIRED: ("expired", 410),
    CaptureStatus.DECLINED: ("declined", 410),
}


def _page(request: HttpRequest, session: CaptureSession | None, *, status: int = 200, **extra: object) -> HttpResponse:
    if session is None:
        return render(request, "moderation/capture.html", {"state": "unknown"}, status=404)
    state, code = _ENDED.get(session.status, ("used", 410))
    if session.status == CaptureStatus.OPEN:
        state, code = "ready", status
    consent = session.consent
    context = {"state": state, "session": session, "consent": consent, "partner": consent.partner,
               "terms": services.terms_text(consent), **extra}  # fmt: skip
    return render(request, "moderation/capture.html", context, status=code)


@csrf_protect
def capture_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link the partner handed to the subject: the terms, then a live recording (no file picker)."""
    wait = address_throttle_wait(request, "capture")  # the token is a secret: no guessing at speed
    if wait is not None:
        return throttled_response(wait)
    return _page(request, services.capture_session_by_token(token), token=token)


@require_POST
@csrf_protect
def capture_decline(request: HttpRequest, token: str) -> HttpResponse:
    """The subject declines: the link ends and the partner is told."""
    wait = address_throttle_wait(request, "capture")
    if wait is not None:
        return throttled_response(wait)
    session = services.capture_session_by_token(token)
    if session is not None and session.status in (CaptureStatus.OPEN, CaptureStatus.RECORDING):
        session = services.capture_session_decline(session=session)
    return _page(request, session, token=token)


# --- The page's JSON calls: start, one chunk about every second, finish --------------------------------------------

_KEY_HEADER = "HTTP_X_CAPTURE_KEY"


def _json(handler: Callable[..., dict[str, Any]]) -> Callable[..., JsonResponse]:
    """A page call: POST only, its domain errors as the API's error body with a stable code (never a 500)."""

    # No cookie authenticates these calls (the link's token and the browser's upload key do), so there is nothing
    # for a cross-site request to ride on: CSRF protection would only break phones that block cookies.
    @csrf_exempt
    @functools.wraps(handler)
    def view(request: HttpRequest, token: str, **kwargs: Any) -> JsonResponse:
        if request.method != "POST":
            return json_error_response(405, "method_not_allowed", "Use POST.")
        session = services.capture_session_by_token(token)
        if session is None:
            return json_error_response(404, "capture_link_unknown", "This link is not valid.")
        try:
            return JsonResponse(handler(request, session, **kwargs))
        except DomainError as exc:
            ctx = current_context()
            if ctx is not None:
                ctx.notes.setdefault("error_code", exc.code)
            response = JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status)
            if isinstance(exc, TooMany):
                response["Retry-After"] = str(exc.retry_after)
            return response

    return view


@_json
def capture_start(request: HttpRequest, session: CaptureSession) -> dict[str, Any]:
    """Begin (or, after a long drop, restart) the recording; the answer holds this browser's upload key, once."""
    wait = address_throttle_wait(request, "capture")
    if wait is not None:
        raise TooMany("Too many requests; try again later.", retry_after=wait, code="throttled")
    try:
        body = json.loads(request.read(4096) or b"{}")
    except (ValueError, UnicodeDecodeError) as exc:
        raise DomainError("The body must be JSON.", code="malformed_request") from exc
    if not isinstance(body, dict) or not isinstance(body.get("mime_type", ""), str):
        raise DomainError("mime_type must be a string.", code="validation_error")
    session, key = services.capture_start(session=session, mime_type=body.get("mime_type", ""),
                                          user_agent=request.META.get("HTTP_USER_AGENT", ""),
                                          upload_key=request.META.get(_KEY_HEADER))  # fmt: skip
    return {"status": session.status, "upload_key": key, "restarts": session.restarts,
            "timeslice_ms": 1000, "resume_s": settings.TALKGATE_CAPTURE_RESUME_S,
            "max_chunk_bytes": settings.TALKGATE_CAPTURE_MAX_CHUNK_BYTES}  # fmt: skip


@_json
def capture_chunk(request: HttpRequest, session: CaptureSession, seq: int) -> dict[str, Any]:
    """One chunk of the recording (raw bytes); the answer says which prompt to show now."""
    limit = settings.TALKGATE_CAPTURE_MAX_CHUNK_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:  # refused before reading a byte
        raise DomainError("The chunk is too large.", code="chunk_too_large", status=413)
    data = request.read(limit + 1)
    return services.capture_chunk(session=session, upload_key=request.META.get(_KEY_HEADER), seq=seq, data=data)


@_json
def capture_finish(request: HttpRequest, session: CaptureSession) -> dict[str, Any]:
    """The last chunk is in: the recording is assembled and sent to verification."""
    session = services.capture_finish(session=session, upload_key=request.META.get(_KEY_HEADER))
    return {"status": session.status}
