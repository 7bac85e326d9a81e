"""What the OpenAPI schema says about every operation, in one place: list envelopes and error responses.

Views declare their success responses; this module adds what all of them share, so the schema matches what
the service really answers without each view repeating it.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.pagination import BasePagination
from rest_framework.permissions import AllowAny

ERROR_COMPONENT = "Error"
_ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable (see the README's list)."},
                "message": {"type": "string"},
                "request_id": {"type": "string"},
                "details": {"description": "Field errors for validation_error; otherwise absent or free-form."},
            },
        }
    },
}
_DESCRIPTIONS = {
    "400": "Malformed or invalid request (`malformed_request`, `validation_error`, `unknown_field`, ...).",
    "401": "No key, or a key that is not valid (`not_authenticated`, `api_key_invalid`, ...).",
    "403": "The key may not do this (`scope_missing`, `reviewer_required`, `partner_suspended`, quotas, ...).",
    "404": "No such object for this caller (`not_found`).",
    "409": "The object is not in a state that allows this (`invalid_transition`, `idempotency_in_progress`, ...).",
    "413": "The body is over the size limit (`request_too_large`).",
    "415": "Unsupported content type (`unsupported_media_type`).",
    "422": "The request conflicts with an earlier one (`idempotency_key_reused`).",
    "429": "Over a rate limit or quota (`throttled`, `quota_concurrent_jobs`); see `Retry-After`.",
}
_UNSAFE = {"post", "put", "patch", "delete"}


class ListEnvelope(BasePagination):
    """How every list answers: ``results``, plus ``next``/``previous`` cursor links where the list is paginated."""

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {**link, "description": "The next page (cursor pagination); absent for unpaginated lists."},
                "previous": {**link, "description": "The previous page; absent for unpaginated lists."},
                "results": schema,
            },
        }


class TalkgateAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the list envelope the views return and the error responses they give."""

    def _get_paginator(self) -> BasePagination:
        # Views paginate by hand (core.pagination) or wrap a short list in {"results": ...}; either way a
        # list response is an object, never a bare array.
        return ListEnvelope()

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        """The operation, plus the error statuses its view can give (from its throttles, security, path, body)."""
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation.setdefault("responses", {})
        for code in _error_codes(self.path, self.method.lower(), operation, self.view):
            responses.setdefault(
                code, {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": _ERROR_REF}}}
            )
        return operation


def _error_codes(path: str, method: str, operation: dict[str, Any], view: Any) -> list[str]:
    codes = ["400", "413"]
    if getattr(view, "throttle_classes", None):
        codes.append("429")
    # Any view that authenticates answers a bad or refused key with 401/403, even where no key is needed.
    if getattr(view, "authentication_classes", None):
        codes += ["401", "403"]
    if re.search(r"\{[^}]+\}", path):
        codes.append("404")
    if "requestBody" in operation:
        codes.append("415")
    public = all(issubclass(p, AllowAny) for p in getattr(view, "permission_classes", []))
    if method in _UNSAFE and not public:
        codes.append("409")
    return codes


def add_error_component(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: the error body every error response refers to."""
    result.setdefault("components", {}).setdefault("schemas", {})[ERROR_COMPONENT] = _ERROR_SCHEMA
    return result
