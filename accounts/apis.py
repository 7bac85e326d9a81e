"""HTTP endpoints for partner applications, partner keys, reviewer decisions and the audit log.

Views are thin: validate with a serializer, call one service or selector, render.
"""

from __future__ import annotations

from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import audit, selectors, services
from accounts.authentication import request_partner
from accounts.export import export_response
from accounts.models import Scope
from accounts.permissions import IsReviewer, PartnerScope
from accounts.serializers import (
    ApiKeyCreatedOut,
    ApiKeyCreateIn,
    ApiKeyOut,
    ApproveIn,
    AuditEntryOut,
    AuditFilterIn,
    ChainReportOut,
    ClaimIn,
    ConsentPolicyIn,
    DecisionIn,
    LimitsIn,
    PartnerApplicationIn,
    PartnerApplicationOut,
    PartnerListFilter,
    PartnerOut,
    PartnerReviewOut,
    ReinstateIn,
    RevokeIn,
)
from core.api import valid
from core.pagination import Cursor, IdCursor

# --- Public: applications ------------------------------------------------------------------------------------


class PartnerApplicationApi(APIView):
    """Apply to become a partner (public)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=PartnerApplicationIn, responses={201: PartnerApplicationOut}, tags=["partners"])
    def post(self, request: Request) -> Response:
        data = valid(PartnerApplicationIn, request.data)
        application = services.partner_apply(
            name=data["organisation"],
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            website=data["website"],
            use_case=data["use_case"],
            use_case_description=data["use_case_description"],
        )
        body = {
            "id": application.partner.id,
            "status": application.partner.status,
            "claim_token": application.claim_token,
        }
        return Response(PartnerApplicationOut(body).data, status=201)


class PartnerApplicationClaimApi(APIView):
    """Collect the first API key of an approved application, once, with the application's claim token."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=ClaimIn, responses={201: ApiKeyCreatedOut}, tags=["partners"])
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(ClaimIn, request.data)
        key, plaintext = services.partner_claim_first_key(partner_id=partner_id, claim_token=data["claim_token"])
        return Response(ApiKeyCreatedOut({**ApiKeyOut(key).data, "key": plaintext}).data, status=201)


# --- Partner: own account and keys ---------------------------------------------------------------------------


class PartnerMeApi(APIView):
    """The calling partner's account, limits, and the calling key's scopes."""

    permission_classes = [PartnerScope]

    @extend_schema(
        responses=inline_serializer("PartnerMe", {"partner": PartnerOut(), "key": ApiKeyOut()}),
        tags=["partners"],
    )
    def get(self, request: Request) -> Response:
        return Response({"partner": PartnerOut(request_partner(request)).data, "key": ApiKeyOut(request.auth).data})


class ApiKeyListApi(APIView):
    """List the partner's keys, or create one (the plaintext is in the response, once)."""

    permission_classes = [PartnerScope]
    required_scope = Scope.KEYS

    @extend_schema(responses=ApiKeyOut(many=True), tags=["keys"])
    def get(self, request: Request) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(selectors.api_key_list(partner=request_partner(request)), request, view=self)
        return paginator.get_paginated_response(ApiKeyOut(page, many=True).data)

    @extend_schema(request=ApiKeyCreateIn, responses={201: ApiKeyCreatedOut}, tags=["keys"])
    def post(self, request: Request) -> Response:
        data = valid(ApiKeyCreateIn, request.data)
        key, plaintext = services.api_key_create(
            partner=request_partner(request),
            name=data["name"],
            scopes=data["scopes"],
            expires_at=data["expires_at"],
            created_by=f"key:{request.auth.id}",
            granted_by=request.auth,
        )
        return Response(ApiKeyCreatedOut({**ApiKeyOut(key).data, "key": plaintext}).data, status=201)


class ApiKeyDetailApi(APIView):
    """One of the partner's keys."""

    permission_classes = [PartnerScope]
    required_scope = Scope.KEYS

    @extend_schema(responses=ApiKeyOut, tags=["keys"])
    def get(self, request: Request, key_id: str) -> Response:
        return Response(ApiKeyOut(selectors.api_key_get(partner=request_partner(request), key_id=key_id)).data)


class ApiKeyRevokeApi(APIView):
    """Revoke one of the partner's keys (final)."""

    permission_classes = [PartnerScope]
    required_scope = Scope.KEYS

    @extend_schema(request=RevokeIn, responses=ApiKeyOut, tags=["keys"])
    def post(self, request: Request, key_id: str) -> Response:
        data = valid(RevokeIn, request.data)
        key = selectors.api_key_get(partner=request_partner(request), key_id=key_id)
        return Response(ApiKeyOut(services.api_key_revoke(key=key, reason=data["reason"])).data)


# --- Reviewer: partners ----------------------------------------------------------------------------------


class ReviewPartnerListApi(APIView):
    """All partners, newest first, filterable by status."""

    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=["applied", "approved", "rejected", "suspended"])],
        responses=PartnerReviewOut(many=True),
        tags=["review"],
    )
    def get(self, request: Request) -> Response:
        filters = valid(PartnerListFilter, request.query_params)
        paginator = Cursor()
        page = paginator.paginate_queryset(selectors.partner_list(status=filters.get("status")), request, view=self)
        return paginator.get_paginated_response(PartnerReviewOut(page, many=True).data)


class ReviewPartnerDetailApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=PartnerReviewOut, tags=["review"])
    def get(self, request: Request, partner_id: str) -> Response:
        return Response(PartnerReviewOut(selectors.partner_get(partner_id=partner_id)).data)


def _partner_decide(request: Request, partner_id: str, action: str, comment: str, **extra: Any) -> Response:
    partner = services.partner_decide(
        partner=selectors.partner_get(partner_id=partner_id),
        reviewer=request.user,
        action=action,
        comment=comment,
        **extra,
    )
    return Response(PartnerReviewOut(partner).data)


class ReviewPartnerApproveApi(APIView):
    """Approve an application (reviewers only); the approved use cases default to the declared one."""

    permission_classes = [IsReviewer]

    @extend_schema(
        request=ApproveIn, responses=PartnerReviewOut, tags=["review"], operation_id="review_partner_approve"
    )
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(ApproveIn, request.data)
        return _partner_decide(request, partner_id, "approve", data["comment"], use_cases=data.get("use_cases"))


class ReviewPartnerRejectApi(APIView):
    """Reject an application (reviewers only)."""

    permission_classes = [IsReviewer]

    @extend_schema(
        request=DecisionIn, responses=PartnerReviewOut, tags=["review"], operation_id="review_partner_reject"
    )
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(DecisionIn, request.data)
        return _partner_decide(request, partner_id, "reject", data["reason"])


class ReviewPartnerSuspendApi(APIView):
    """Suspend an approved partner (reviewers only); its keys stop at once."""

    permission_classes = [IsReviewer]

    @extend_schema(
        request=DecisionIn, responses=PartnerReviewOut, tags=["review"], operation_id="review_partner_suspend"
    )
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(DecisionIn, request.data)
        return _partner_decide(request, partner_id, "suspend", data["reason"])


class ReviewPartnerReinstateApi(APIView):
    """Lift a partner's suspension (reviewers only)."""

    permission_classes = [IsReviewer]

    @extend_schema(
        request=ReinstateIn, responses=PartnerReviewOut, tags=["review"], operation_id="review_partner_reinstate"
    )
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(ReinstateIn, request.data)
        return _partner_decide(request, partner_id, "reinstate", data["comment"])


class ReviewPartnerLimitsApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(request=LimitsIn, responses=PartnerReviewOut, tags=["review"])
    def patch(self, request: Request, partner_id: str) -> Response:
        data = valid(LimitsIn, request.data)
        partner = services.partner_set_limits(
            partner=selectors.partner_get(partner_id=partner_id),
            reviewer=request.user,
            limits=data,
        )
        return Response(PartnerReviewOut(partner).data)


class ReviewPartnerConsentPolicyApi(APIView):
    """Whether this partner's consents may be verified without a reviewer (default: every one is reviewed)."""

    permission_classes = [IsReviewer]

    @extend_schema(request=ConsentPolicyIn, responses=PartnerReviewOut, tags=["review"])
    def post(self, request: Request, partner_id: str) -> Response:
        data = valid(ConsentPolicyIn, request.data)
        partner = services.partner_set_consent_policy(
            partner=selectors.partner_get(partner_id=partner_id), reviewer=request.user, **data
        )
        return Response(PartnerReviewOut(partner).data)


# --- Reviewer: audit log --------------------------------------------------------------------------------------

_AUDIT_FILTER_PARAMS = [
    OpenApiParameter("since", OpenApiTypes.DATETIME),
    OpenApiParameter("until", OpenApiTypes.DATETIME),
    OpenApiParameter("partner", OpenApiTypes.UUID),
    OpenApiParameter("actor", str, description="e.g. key:<uuid>, user:<id>, anonymous, system"),
    OpenApiParameter("kind", str, enum=["request", "event"]),
    OpenApiParameter("event_type", str, description="Exact type, or a prefix ending in '.' (e.g. 'partner.')"),
    OpenApiParameter("path", str, description="Path prefix"),
    OpenApiParameter("status", int),
    OpenApiParameter("status_class", str, enum=["2xx", "3xx", "4xx", "5xx"]),
    OpenApiParameter("request_id", str),
    OpenApiParameter("client_request_id", str, description="The X-Request-ID the caller sent"),
    OpenApiParameter("target_type", str),
    OpenApiParameter("target_id", str),
]


class AuditSearchApi(APIView):
    """Search the audit log (newest first, cursor pagination)."""

    permission_classes = [IsReviewer]

    @extend_schema(parameters=_AUDIT_FILTER_PARAMS, responses=AuditEntryOut(many=True), tags=["audit"])
    def get(self, request: Request) -> Response:
        filters = valid(AuditFilterIn, request.query_params)
        paginator = IdCursor()
        page = paginator.paginate_queryset(selectors.audit_search(filters), request, view=self)
        return paginator.get_paginated_response(AuditEntryOut(page, many=True).data)


class AuditExportApi(APIView):
    """Export the filtered audit log as JSON Lines (default) or CSV, streamed."""

    permission_classes = [IsReviewer]

    @extend_schema(
        parameters=[*_AUDIT_FILTER_PARAMS, OpenApiParameter("format", str, enum=["jsonl", "csv"])],
        responses={(200, "application/x-ndjson"): OpenApiTypes.STR, (200, "text/csv"): OpenApiTypes.STR},
        tags=["audit"],
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = valid(AuditFilterIn, request.query_params)
        fmt = filters.pop("format", "jsonl")
        return export_response(filters, fmt)


class AuditVerifyApi(APIView):
    """Walk the hash chain now and report the first broken entry, if any."""

    permission_classes = [IsReviewer]

    @extend_schema(request=None, responses=ChainReportOut, tags=["audit"])
    def post(self, request: Request) -> Response:
        report = audit.verify_chain_recorded()
        return Response(ChainReportOut(report.as_dict()).data)
