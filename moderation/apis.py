"""HTTP endpoints: partners' subjects and consents, reviewers' queue and gallery, the subject's revocation page."""

from __future__ import annotations

import mimetypes

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_protect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_partner
from accounts.models import Scope
from accounts.permissions import IsReviewer, PartnerScope
from accounts.throttling import address_throttle_wait
from core.api import valid
from core.errors import NotFound, throttled_response
from core.pagination import Cursor
from core.parsers import JSONParser  # bounded depth, objects only
from moderation import selectors, services
from moderation.models import ConsentStatus
from moderation.serializers import (
    BlockedPhraseIn,
    BlockedPhraseOut,
    CaptureSessionCreatedOut,
    CaptureSessionOut,
    ConsentCreatedOut,
    ConsentCreateIn,
    ConsentDecisionIn,
    ConsentFilterIn,
    ConsentOut,
    ConsentReviewOut,
    EvidenceIn,
    EvidenceOut,
    ProtectedPersonIn,
    ProtectedPersonOut,
    RevokeConsentIn,
    SubjectCreateIn,
    SubjectOut,
)


def _files(request: Request, name: str) -> list:
    return request.FILES.getlist(name) if hasattr(request, "FILES") else []


def _multi(request: Request, files_field: str) -> dict:
    """Multipart data with a repeated file field as a list (DRF's QueryDict would keep only the last one)."""
    data = {k: v for k, v in request.data.items() if k != files_field}
    data[files_field] = _files(request, files_field)
    return data


# --- Partner: subjects and consents --------------------------------------------------------------------------


class SubjectListApi(APIView):
    permission_classes = [PartnerScope]
    required_scopes = {"GET": Scope.READ, "POST": Scope.CONSENT}
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(responses=SubjectOut(many=True), tags=["consent"])
    def get(self, request: Request) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(selectors.subject_list(partner=request_partner(request)), request, view=self)
        return paginator.get_paginated_response(SubjectOut(page, many=True).data)

    @extend_schema(request={"multipart/form-data": SubjectCreateIn}, responses={201: SubjectOut}, tags=["consent"])
    def post(self, request: Request) -> Response:
        data = valid(SubjectCreateIn, _multi(request, "photos"))
        subject = services.subject_create(
            partner=request_partner(request),
            display_name=data["display_name"],
            kind=data["kind"],
            photos=data["photos"],
        )
        return Response(SubjectOut(subject).data, status=201)


class SubjectDetailApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses=SubjectOut, tags=["consent"])
    def get(self, request: Request, subject_id: str) -> Response:
        return Response(SubjectOut(selectors.subject_get(partner=request_partner(request), subject_id=subject_id)).data)


class SubjectConsentCreateApi(APIView):
    """Open a consent capture: the statement to read with a fresh challenge phrase, and the revocation link."""

    permission_classes = [PartnerScope]
    required_scope = Scope.CONSENT

    @extend_schema(request=ConsentCreateIn, responses={201: ConsentCreatedOut}, tags=["consent"])
    def post(self, request: Request, subject_id: str) -> Response:
        partner = request_partner(request)
        subject = selectors.subject_get(partner=partner, subject_id=subject_id)  # 404 before any validation
        data = valid(ConsentCreateIn, request.data)
        consent, token = services.consent_create(partner=partner, subject=subject, **data)
        context = {"revocation_url": services.revocation_url(token)}
        return Response(ConsentCreatedOut(consent, context=context).data, status=201)


class ConsentListApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(parameters=[OpenApiParameter("status", str), OpenApiParameter("subject_id", OpenApiTypes.UUID)],
                   responses=ConsentOut(many=True), tags=["consent"])  # fmt: skip
    def get(self, request: Request) -> Response:
        filters = valid(ConsentFilterIn, request.query_params)
        paginator = Cursor()
        qs = selectors.consent_list(partner=request_partner(request), filters=filters)
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(ConsentOut(page, many=True).data)


class ConsentDetailApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses=ConsentOut, tags=["consent"])
    def get(self, request: Request, consent_id: str) -> Response:
        return Response(ConsentOut(selectors.consent_get(partner=request_partner(request), consent_id=consent_id)).data)


class ConsentChallengeApi(APIView):
    """A new challenge phrase for a pending capture (the old one expired or was shown to the wrong person)."""

    permission_classes = [PartnerScope]
    required_scope = Scope.CONSENT

    @extend_schema(request=None, responses=ConsentOut, tags=["consent"])
    def post(self, request: Request, consent_id: str) -> Response:
        consent = selectors.consent_get(partner=request_partner(request), consent_id=consent_id)
        return Response(ConsentOut(services.consent_new_challenge(consent=consent)).data)


class ConsentEvidenceApi(APIView):
    """Upload the subject's recording (video with audio, up to 60 s); verification runs in the background."""

    permission_classes = [PartnerScope]
    required_scope = Scope.CONSENT
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": EvidenceIn}, responses={202: EvidenceOut}, tags=["consent"])
    def post(self, request: Request, consent_id: str) -> Response:
        consent = selectors.consent_get(partner=request_partner(request), consent_id=consent_id)
        data = valid(EvidenceIn, request.data)
        evidence = services.evidence_submit(consent=consent, fileobj=data["recording"])
        body = {"id": evidence.id, "consent_id": consent.id, "status": ConsentStatus.VERIFYING}
        return Response(EvidenceOut(body).data, status=202)


class ConsentCaptureSessionCreateApi(APIView):
    """A single-use link (and its QR code) to the hosted page where the subject records live."""

    permission_classes = [PartnerScope]
    required_scope = Scope.CONSENT

    @extend_schema(request=None, responses={201: CaptureSessionCreatedOut}, tags=["consent"])
    def post(self, request: Request, consent_id: str) -> Response:
        consent = selectors.consent_get(partner=request_partner(request), consent_id=consent_id)
        session, token = services.capture_session_create(consent=consent)
        url = services.capture_url(token)
        context = {"capture_url": url, "qr": services.capture_qr(url)}
        return Response(CaptureSessionCreatedOut(session, context=context).data, status=201)


class CaptureSessionDetailApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.READ

    @extend_schema(responses=CaptureSessionOut, tags=["consent"])
    def get(self, request: Request, session_id: str) -> Response:
        session = selectors.capture_session_get(partner=request_partner(request), session_id=session_id)
        return Response(CaptureSessionOut(services.capture_session_refresh(session=session)).data)


class ConsentRevokeApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.CONSENT

    @extend_schema(request=RevokeConsentIn, responses=ConsentOut, tags=["consent"])
    def post(self, request: Request, consent_id: str) -> Response:
        consent = selectors.consent_get(partner=request_partner(request), consent_id=consent_id)
        data = valid(RevokeConsentIn, request.data)
        revoked = services.consent_revoke(consent=consent, actor=f"key:{request.auth.id}", reason=data["reason"])
        return Response(ConsentOut(revoked).data)


# --- Reviewer: queue, decisions, gallery, policy ----------------------------------------------------------------


class ReviewConsentDetailApi(APIView):
    """A consent with its verification report and recordings' reports and fingerprints (an audited read)."""

    permission_classes = [IsReviewer]

    @extend_schema(responses=ConsentReviewOut, tags=["review"])
    def get(self, request: Request, consent_id: str) -> Response:
        consent = selectors.consent_for_review(consent_id=consent_id)
        services.evidence_viewed(consent=consent, reviewer=request.user, what="report")
        return Response(ConsentReviewOut(consent).data)


class ReviewConsentDecideApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(request=ConsentDecisionIn, responses=ConsentReviewOut, tags=["review"])
    def post(self, request: Request, consent_id: str) -> Response:
        data = valid(ConsentDecisionIn, request.data)
        person = None
        if data["protected_person_id"]:
            person = selectors.protected_person_get(person_id=data["protected_person_id"])
        consent = services.consent_review(
            consent=selectors.consent_for_review(consent_id=consent_id), reviewer=request.user,
            decision=data["decision"], comment=data["comment"], protected_person=person,
        )  # fmt: skip
        return Response(ConsentReviewOut(consent).data)


class ReviewConsentEvidenceApi(APIView):
    """The latest recording of a consent, for a reviewer to watch (an audited read)."""

    permission_classes = [IsReviewer]

    @extend_schema(responses={(200, "video/mp4"): OpenApiTypes.BINARY}, tags=["review"])
    def get(self, request: Request, consent_id: str) -> FileResponse:
        consent = selectors.consent_for_review(consent_id=consent_id)
        evidence = consent.evidence.first()
        if evidence is None:
            raise NotFound("This consent has no recording.", code="evidence_not_found")
        services.evidence_viewed(consent=consent, reviewer=request.user, what="recording")
        # Live captures are WebM from most browsers; players go by the type.
        content_type = mimetypes.guess_type(evidence.recording)[0] or "video/mp4"
        return FileResponse(default_storage.open(evidence.recording, "rb"), content_type=content_type)


class ReviewConsentRevokeApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(request=RevokeConsentIn, responses=ConsentReviewOut, tags=["review"])
    def post(self, request: Request, consent_id: str) -> Response:
        data = valid(RevokeConsentIn, request.data)
        consent = services.consent_revoke(consent=selectors.consent_for_review(consent_id=consent_id),
                                          actor=f"user:{request.user.pk}", reason=data["reason"])  # fmt: skip
        return Response(ConsentReviewOut(consent).data)


class ProtectedPersonListApi(APIView):
    permission_classes = [IsReviewer]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema(responses=ProtectedPersonOut(many=True), tags=["review"])
    def get(self, request: Request) -> Response:
        return Response({"results": ProtectedPersonOut(selectors.protected_person_list(), many=True).data})

    @extend_schema(request={"multipart/form-data": ProtectedPersonIn}, responses={201: ProtectedPersonOut},
                   tags=["review"])  # fmt: skip
    def post(self, request: Request) -> Response:
        data = valid(ProtectedPersonIn, _multi(request, "photos"))
        person = services.protected_person_create(name=data["name"], notes=data["notes"], photos=data["photos"],
                                                  reviewer=request.user)  # fmt: skip
        return Response(ProtectedPersonOut(person).data, status=201)


class ProtectedPersonDetailApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=ProtectedPersonOut, tags=["review"])
    def delete(self, request: Request, person_id: str) -> Response:
        person = services.protected_person_remove(person=selectors.protected_person_get(person_id=person_id),
                                                  reviewer=request.user)  # fmt: skip
        return Response(ProtectedPersonOut(person).data)


class BlockedPhraseListApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses=BlockedPhraseOut(many=True), tags=["review"])
    def get(self, request: Request) -> Response:
        return Response({"results": BlockedPhraseOut(selectors.blocked_phrase_list(), many=True).data})

    @extend_schema(request=BlockedPhraseIn, responses={201: BlockedPhraseOut}, tags=["review"])
    def post(self, request: Request) -> Response:
        data = valid(BlockedPhraseIn, request.data)
        item = services.blocked_phrase_add(phrase=data["phrase"], reviewer=request.user)
        return Response(BlockedPhraseOut(item).data, status=201)


class BlockedPhraseDetailApi(APIView):
    permission_classes = [IsReviewer]

    @extend_schema(responses={204: None}, tags=["review"])
    def delete(self, request: Request, phrase_id: int) -> Response:
        services.blocked_phrase_remove(item=selectors.blocked_phrase_get(phrase_id=phrase_id), reviewer=request.user)
        return Response(status=204)


# --- Public: the subject's revocation page ---------------------------------------------------------------------


@csrf_protect
def revoke_page(request: HttpRequest, token: str) -> HttpResponse:
    """The subject's secret link: shows what they consented to and asks for confirmation before revoking."""
    wait = address_throttle_wait(request, "revoke")  # the token is a secret: no guessing at speed
    if wait is not None:
        return throttled_response(wait)
    consent = services.consent_by_revocation_token(token)
    if consent is None:
        return render(request, "moderation/revoke.html", {"state": "unknown"}, status=404)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            context = {"state": "ask", "consent": consent, "error": "Tick the box to confirm."}
            return render(request, "moderation/revoke.html", context, status=400)
        if consent.status != ConsentStatus.REVOKED:
            consent = services.consent_revoke(consent=consent, actor="subject", reason="revoked by the subject")
        return render(request, "moderation/revoke.html", {"state": "done", "consent": consent})
    if consent.status == ConsentStatus.REVOKED:
        return render(request, "moderation/revoke.html", {"state": "done", "consent": consent})
    return render(request, "moderation/revoke.html", {"state": "ask", "consent": consent})
