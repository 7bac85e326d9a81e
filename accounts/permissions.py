"""Permission classes: partner scopes and reviewer-only endpoints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from accounts.authentication import is_reviewer, partner_of, scopes_of
from core.errors import Forbidden

if TYPE_CHECKING:
    from rest_framework.views import APIView


class PartnerScope(BasePermission):
    """The caller is a partner key holding the view's ``required_scope`` (``read`` for safe methods if unset)."""

    message = "This endpoint is for partner API keys."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if partner_of(request) is None:
            self.message = "This endpoint is for partner API keys."
            self.code = "partner_key_required"
            return False
        needed = getattr(view, "required_scopes", {}).get(request.method, getattr(view, "required_scope", None))
        if needed and needed not in scopes_of(request):
            self.message = f"The API key lacks the '{needed}' scope."
            self.code = "scope_missing"
            return False
        return True


class IsReviewer(BasePermission):
    """Reviewers and admins only."""

    message = "Reviewers only."
    code = "reviewer_required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_reviewer(request)


def ensure_independent_reviewer(*, reviewer: Any, partner_id: object) -> None:
    """Reviewers may not decide on the work of a partner they belong to."""
    if getattr(reviewer, "partner_id", None) is not None and reviewer.partner_id == partner_id:
        raise Forbidden("Reviewers cannot review work of a partner they belong to.", code="conflict_of_interest")
