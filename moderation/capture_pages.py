"""The subject's hosted capture page (``/capture/<token>``): who asks and for what, recording, declining."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from accounts.throttling import address_throttle_wait
from core.errors import throttled_response
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
