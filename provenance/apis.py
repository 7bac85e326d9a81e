"""Verification for anyone holding a suspect file: the JSON API and a small public HTML page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.apis import _valid
from accounts.authentication import ApiKeyAuthentication, is_reviewer
from accounts.errors import DomainError
from accounts.serializers import StrictSerializer
from accounts.throttling import TalkgateRateThrottle, VerifyRateThrottle
from provenance import services


class VerifyIn(StrictSerializer):
    file = serializers.FileField(allow_empty_file=False, help_text="MP4/MOV/WebM/MKV video or PNG/JPEG/WebP image")


class VerifyApi(APIView):
    """Check a suspect file (no key needed; reviewers see more when they authenticate)."""

    authentication_classes = [ApiKeyAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [VerifyRateThrottle, TalkgateRateThrottle]
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": VerifyIn},
        responses=inline_serializer("Verification", {"media": serializers.DictField(), "c2pa": serializers.DictField(),
                                                     "watermark": serializers.DictField(allow_null=True),
                                                     "match": serializers.DictField(allow_null=True),
                                                     "what_this_means": serializers.ListField()}),
        tags=["verification"],
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = _valid(VerifyIn, request.data)
        result = services.verify_upload(fileobj=data["file"], reviewer=is_reviewer(request))
        return Response(result)


@csrf_protect
def verify_page(request: HttpRequest) -> HttpResponse:
    """An upload form and a readable result: what was found, what it means, what it does not prove."""
    context: dict[str, object] = {}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"], status = "Choose a file to check.", 400
        else:
            try:
                context["result"] = services.verify_upload(fileobj=upload, reviewer=False)
            except DomainError as exc:
                context["error"], status = exc.message, exc.status
    return render(request, "provenance/verify.html", context, status=status)
