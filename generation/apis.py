"""HTTP endpoints for generation jobs, uploads, usage, signed video downloads and reviewers' job decisions."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit
from accounts.authentication import request_partner
from accounts.models import Scope
from accounts.permissions import IsReviewer, PartnerScope
from core.api import valid
from core.pagination import Cursor
from core.parsers import JSONParser  # bounded depth, objects only
from generation import downloads, idempotency, review, selectors, services
from generation.serializers import (
    JobCreateIn,
    JobFilterIn,
    JobOut,
    QueueFilterIn,
    QueueItemOut,
    UploadIn,
    UploadOut,
    UsageOut,
)
from moderation.serializers import ReviewDecisionIn

_IDEMPOTENCY = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="Same key + same body replays the first answer"
)


class GenerationListApi(APIView):
    """Create a generation job, or list the partner's jobs."""

    permission_classes = [PartnerScope]
    required_scopes = {"GET": Scope.READ, "POST": Scope.GENERATE}
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(
        parameters=[OpenApiParameter("status", str), OpenApiParameter("created_after", OpenApiTypes.DATETIME),
                    OpenApiParameter("created_before", OpenApiTypes.DATETIME),
                    OpenApiParameter("consent_id", OpenApiTypes.UUID)],
        responses=JobOut(many=True),
        tags=["generations"],
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        filters = valid(JobFilterIn, request.query_params)
        paginator = Cursor()
        page = paginator.paginate_queryset(
            selectors.job_list(partner=request_partner(request), filters=filters), request, view=self
        )
        return paginator.get_paginated_response(JobOut(page, many=True).data)

    @extend_schema(
        request={"multipart/form-data": JobCreateIn, "application/json": JobCreateIn},
        parameters=[_IDEMPOTENCY],
        responses={202: JobOut},
        tags=["generations"],
    )
    def post(self, request: Request) -> Response:
        partner = request_partner(request)

        def create() -> Response:
            serializer = JobCreateIn(data=request.data)
            serializer.is_valid(raise_exception=True)
            data = serializer.validated_data
            job = services.job_create(
                partner=partner,
                consent_id=data["consent_id"],
                options=serializer.options(),
                photo_file=data.get("photo"),
                audio_file=data.get("audio"),
                photo_upload_id=data.get("photo_upload_id"),
                audio_upload_id=data.get("audio_upload_id"),
            )
            return Response(JobOut(job).data, status=202, headers={"Location": f"/v1/generations/{job.id}"})

        return idempotency.run_idempotent(request, partner, create)


class GenerationDetailApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses=JobOut, tags=["generations"])
    def get(self, request: Request, job_id: str) -> Response:
        return Response(JobOut(selectors.job_get(partner=request_partner(request), job_id=job_id)).data)


class GenerationCancelApi(APIView):
    """Cancel a job in any non-final state; a running render stops at its next batch."""

    permission_classes = [PartnerScope]
    required_scope = Scope.GENERATE

    @extend_schema(request=None, responses=JobOut, tags=["generations"])
    def post(self, request: Request, job_id: str) -> Response:
        job = selectors.job_get(partner=request_partner(request), job_id=job_id)
        return Response(JobOut(services.job_cancel(job=job)).data)


class GenerationVideoApi(APIView):
    """Redirect to a short-lived signed URL of the finished video."""

    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses={302: OpenApiResponse(description="Location: a signed URL")}, tags=["generations"])
    def get(self, request: Request, job_id: str) -> HttpResponseRedirect:
        job = selectors.job_get(partner=request_partner(request), job_id=job_id)
        downloads.ensure_downloadable(job)
        audit.record("job.video_link_issued", target=job, partner_id=job.partner_id)
        return HttpResponseRedirect(downloads.storage_url(job) or downloads.signed_path(job))


class SignedVideoApi(APIView):
    """Serve a video by its signed token (the token is the credential; it expires)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses={(200, "video/mp4"): OpenApiTypes.BINARY}, tags=["generations"])
    def get(self, request: Request, token: str) -> FileResponse:
        job = downloads.resolve(token)
        audit.record("job.video_downloaded", target=job, partner_id=job.partner_id)
        response = FileResponse(default_storage.open(job.output, "rb"), content_type="video/mp4")
        response["Content-Disposition"] = f'inline; filename="talkgate-{job.id}.mp4"'
        response["Cache-Control"] = "private, no-store"
        return response


class UploadApi(APIView):
    """Upload and check one input (photo or audio) for a later JSON job request."""

    permission_classes = [PartnerScope]
    required_scope = Scope.GENERATE
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": UploadIn}, responses={201: UploadOut}, tags=["generations"])
    def post(self, request: Request) -> Response:
        data = valid(UploadIn, request.data)
        upload = services.upload_create(partner=request_partner(request), kind=data["kind"], fileobj=data["file"])
        return Response(UploadOut(upload).data, status=201)


class UsageApi(APIView):
    """This month's video seconds and concurrent jobs, against the partner's limits."""

    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses=UsageOut, tags=["generations"])
    def get(self, request: Request) -> Response:
        usage = selectors.usage_get(partner=request_partner(request))
        body: dict[str, Any] = {**usage.__dict__, "video_seconds_remaining": usage.video_seconds_remaining}
        return Response(UsageOut(body).data)


# --- Reviewer: the review queue and decisions on jobs -----------------------------------------------------


class ReviewQueueApi(APIView):
    """Consents and jobs waiting for a reviewer, with their reports and evidence links."""

    permission_classes = [IsReviewer]

    @extend_schema(parameters=[OpenApiParameter("type", str, enum=["consent", "job"])],
                   responses=QueueItemOut(many=True), tags=["review"])  # fmt: skip
    def get(self, request: Request) -> Response:
        filters = valid(QueueFilterIn, request.query_params)
        items = review.review_queue(item_type=filters.get("type"))
        return Response({"results": QueueItemOut(items, many=True).data})


class ReviewJobDecideApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(request=ReviewDecisionIn, responses={200: OpenApiTypes.OBJECT}, tags=["review"])
    def post(self, request: Request, job_id: str) -> Response:
        data = valid(ReviewDecisionIn, request.data)
        status = review.job_review(job_id=job_id, reviewer=request.user, approve=data["decision"] == "approve",
                                     comment=data["comment"])  # fmt: skip
        return Response({"id": job_id, "status": status})
