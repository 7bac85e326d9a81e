"""HTTP endpoints for a partner's webhook endpoints and their delivery log."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import request_partner
from accounts.models import Scope
from accounts.permissions import PartnerScope
from core.api import valid
from core.pagination import Cursor
from webhooks import selectors, services
from webhooks.serializers import DeliveryOut, WebhookCreatedOut, WebhookCreateIn, WebhookOut


class WebhookListApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.WEBHOOKS

    @extend_schema(responses=WebhookOut(many=True), tags=["webhooks"])
    def get(self, request: Request) -> Response:
        paginator = Cursor()
        page = paginator.paginate_queryset(selectors.webhook_list(partner=request_partner(request)), request, view=self)
        return paginator.get_paginated_response(WebhookOut(page, many=True).data)

    @extend_schema(request=WebhookCreateIn, responses={201: WebhookCreatedOut}, tags=["webhooks"])
    def post(self, request: Request) -> Response:
        data = valid(WebhookCreateIn, request.data)
        endpoint, secret = services.endpoint_create(
            partner=request_partner(request), url=data["url"], description=data["description"]
        )
        return Response(WebhookCreatedOut({**WebhookOut(endpoint).data, "secret": secret}).data, status=201)


class WebhookDetailApi(APIView):
    permission_classes = [PartnerScope]
    required_scope = Scope.WEBHOOKS

    @extend_schema(responses=WebhookOut, tags=["webhooks"])
    def get(self, request: Request, endpoint_id: str) -> Response:
        return Response(
            WebhookOut(selectors.webhook_get(partner=request_partner(request), endpoint_id=endpoint_id)).data
        )

    @extend_schema(responses=WebhookOut, tags=["webhooks"])
    def delete(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.webhook_get(partner=request_partner(request), endpoint_id=endpoint_id)
        return Response(WebhookOut(services.endpoint_disable(endpoint=endpoint)).data)


class WebhookRotateApi(APIView):
    """Give the endpoint a new signing secret, shown once in the response (no request body)."""

    permission_classes = [PartnerScope]
    required_scope = Scope.WEBHOOKS

    @extend_schema(request=None, responses=WebhookCreatedOut, tags=["webhooks"])
    def post(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.webhook_get(partner=request_partner(request), endpoint_id=endpoint_id)
        secret = services.endpoint_rotate_secret(endpoint=endpoint)
        return Response(WebhookCreatedOut({**WebhookOut(endpoint).data, "secret": secret}).data)


class WebhookDeliveriesApi(APIView):
    """The endpoint's delivery log, newest first."""

    permission_classes = [PartnerScope]
    required_scope = Scope.WEBHOOKS

    @extend_schema(responses=DeliveryOut(many=True), tags=["webhooks"])
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.webhook_get(partner=request_partner(request), endpoint_id=endpoint_id)
        paginator = Cursor()
        page = paginator.paginate_queryset(selectors.delivery_list(endpoint=endpoint), request, view=self)
        return paginator.get_paginated_response(DeliveryOut(page, many=True).data)
