"""Verification for anyone holding a suspect file: the JSON API and a small public HTML page.

Both take the same path: the same per-address throttles, a header check here, the decoding on the cpu workers
with a short wait, and a ticket to poll (202 + result URL) when the answer takes longer.
"""

from __future__ import annotations

import math

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import ApiKeyAuthentication, is_reviewer
from accounts.throttling import TalkgateRateThrottle, VerifyRateThrottle
from core.api import StrictSerializer, valid
from core.errors import DomainError
from verifier import services

POLL_AFTER_S = 2

_RESULT = inline_serializer(
    "Verification",
    {"media": serializers.DictField(), "c2pa": serializers.DictField(),
     "watermark": serializers.DictField(allow_null=True),
     "origin": serializers.ChoiceField(choices=["talkgate_service", "talkgate_engine"], allow_null=True),
     "match": serializers.DictField(allow_null=True), "notes": serializers.ListField(),
     "what_this_means": serializers.ListField()},
)  # fmt: skip
_PENDING = inline_serializer(
    "VerificationPending",
    {"status": serializers.CharField(), "ticket": serializers.CharField(), "result_url": serializers.URLField()},
)


class VerifyIn(StrictSerializer):
    file = serializers.FileField(allow_empty_file=False, help_text="MP4/MOV/WebM/MKV video or PNG/JPEG/WebP image")


def _respond(request: Request, outcome: services.Verification) -> Response:
    if outcome.state == "failed":
        assert outcome.error is not None
        raise outcome.error
    if outcome.state == "pending":
        url = request.build_absolute_uri(reverse("verify-result-api", args=[outcome.ticket]))
        return Response(
            {"status": "pending", "ticket": outcome.ticket, "result_url": url},
            status=202,
            headers={"Location": url, "Retry-After": str(POLL_AFTER_S)},
        )
    return Response(outcome.result)


class VerifyApi(APIView):
    """Check a suspect file (no key needed; reviewers see more when they authenticate)."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [VerifyRateThrottle, TalkgateRateThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": VerifyIn},
        responses={200: _RESULT, 202: OpenApiResponse(_PENDING, description="still running: poll result_url")},
        tags=["verification"],
    )
    def post(self, request: Request) -> Response:
        data = valid(VerifyIn, request.data)
        return _respond(request, services.verify_submit(fileobj=data["file"], reviewer=is_reviewer(request)))


class VerifyResultApi(APIView):
    """The answer to a verification that took longer than the POST waited (202 while it still runs)."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(responses={200: _RESULT, 202: _PENDING}, tags=["verification"])
    def get(self, request: Request, ticket: str) -> Response:
        return _respond(request, services.verification_wait(ticket=ticket, reviewer=is_reviewer(request)))


def _throttle_wait(request: HttpRequest) -> float | None:
    """Seconds to wait when the page's caller is over the API's budgets (the same throttles and keys), else None."""
    # Anonymous on purpose: the page is public, and its callers share the per-address budgets with the API.
    drf_request = Request(request)
    waits = [t.wait() or 1.0 for t in (VerifyRateThrottle(), TalkgateRateThrottle())
             if not t.allow_request(drf_request, None)]  # type: ignore[arg-type]  # fmt: skip
    return max(waits) if waits else None


def _page(request: HttpRequest, outcome: services.Verification | None, context: dict[str, object]) -> HttpResponse:
    status = 200
    if outcome is not None and outcome.state == "failed":
        assert outcome.error is not None
        context["error"], status = outcome.error.message, outcome.error.status
    elif outcome is not None and outcome.state == "pending":
        context["pending_url"], status = reverse("verify-result-page", args=[outcome.ticket]), 202
    elif outcome is not None:
        context["result"] = outcome.result
    response = render(request, "verifier/verify.html", {"poll_after_s": POLL_AFTER_S, **context}, status=status)
    if status == 202:
        response["Retry-After"] = str(POLL_AFTER_S)
    return response


@csrf_protect
def verify_page(request: HttpRequest) -> HttpResponse:
    """An upload form and a readable result: what was found, what it means, what it does not prove."""
    if request.method != "POST":
        return _page(request, None, {})
    wait = _throttle_wait(request)
    if wait is not None:
        retry = max(1, math.ceil(wait))
        response = _page(request, None, {"error": f"Too many checks from your address; try again in {retry} s."})
        response.status_code = 429
        response["Retry-After"] = str(retry)
        return response
    upload = request.FILES.get("file")
    if upload is None:
        response = _page(request, None, {"error": "Choose a file to check."})
        response.status_code = 400
        return response
    try:
        outcome = services.verify_submit(fileobj=upload, reviewer=False)
    except DomainError as exc:
        outcome = services.Verification(ticket="", state="failed", error=exc)
    return _page(request, outcome, {})


@require_GET
def verify_result_page(request: HttpRequest, ticket: str) -> HttpResponse:
    """The page's view of a verification still running when the upload was answered (refreshes itself)."""
    try:
        outcome = services.verification_wait(ticket=ticket, reviewer=False)
    except DomainError as exc:
        outcome = services.Verification(ticket=ticket, state="failed", error=exc)
    return _page(request, outcome, {})
