"""Domain errors and the one exception handler that turns every error into the same JSON shape.

``{"error": {"code": "...", "message": "...", "request_id": "...", "details": ...}}``; ``code`` is stable and
machine-readable, ``message`` is for people.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from core.context import current_context


class DomainError(Exception):
    """An error a service raises on purpose; carries a stable code and an HTTP status."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "permission_denied"


class TooMany(DomainError):
    """A per-resource limit (not the request throttle): 429 with the seconds until it allows again."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: float, code: str | None = None, details: Any = None):
        super().__init__(message, code=code, details=details)
        self.retry_after = max(1, math.ceil(retry_after))


# DRF's own default codes are already stable; these few get clearer names.
_CODE_ALIASES = {"parse_error": "malformed_request", "invalid": "validation_error", "error": "bad_request"}


def _request_id() -> str:
    ctx = current_context()
    return ctx.request_id if ctx else ""


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The JSON body every error uses."""
    body: dict[str, Any] = {"code": code, "message": message, "request_id": _request_id()}
    if details is not None:
        body["details"] = details
    return {"error": body}


def _flatten_codes(codes: Any) -> list[str]:
    if isinstance(codes, dict):
        return [c for v in codes.values() for c in _flatten_codes(v)]
    if isinstance(codes, list):
        return [c for v in codes for c in _flatten_codes(v)]
    return [str(codes)]


def _api_exception(exc: drf.APIException) -> tuple[int, str, str, Any]:
    if isinstance(exc, drf.ValidationError):
        codes = _flatten_codes(exc.get_codes())
        code = "unknown_field" if "unknown_field" in codes else "validation_error"
        return exc.status_code, code, "The request has invalid fields.", exc.detail
    detail = exc.detail
    code = getattr(detail, "code", None) or exc.default_code
    message = str(detail) if not isinstance(detail, dict | list) else str(exc.default_detail)
    return exc.status_code, _CODE_ALIASES.get(code, code), message, None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER: every known error becomes the JSON error shape; unknown ones propagate (500)."""
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        status, code, message, details = exc.status, exc.code, exc.message, exc.details
        if isinstance(exc, TooMany):
            headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, Http404):
        status, code, message, details = 404, "not_found", "Not found.", None
    elif isinstance(exc, DjangoPermissionDenied):
        status, code, message, details = 403, "permission_denied", "Permission denied.", None
    elif isinstance(exc, RequestDataTooBig):
        status, code, message, details = 413, "request_too_large", str(exc), None
    elif isinstance(exc, SuspiciousOperation):
        status, code, message, details = 400, "bad_request", "The request was refused as malformed.", None
    elif isinstance(exc, drf.APIException):
        status, code, message, details = _api_exception(exc)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if isinstance(exc, drf.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
    else:
        return None
    ctx = current_context()
    if ctx is not None:
        ctx.notes.setdefault("error_code", code)
    return Response(error_body(code, message, details), status=status, headers=headers)


def json_error_response(status: int, code: str, message: str) -> JsonResponse:
    """An error response outside DRF (middleware, Django's handler404/500)."""
    ctx = current_context()
    if ctx is not None:
        ctx.notes.setdefault("error_code", code)
    return JsonResponse(error_body(code, message), status=status)


def throttled_response(wait: float) -> JsonResponse:
    """429 ``throttled`` with Retry-After, for plain Django views."""
    response = json_error_response(429, "throttled", "Too many requests; try again later.")
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response(400, "bad_request", "The request was refused as malformed.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response(403, "permission_denied", "Permission denied.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return json_error_response(404, "not_found", "No such endpoint.")


def handler500(request: HttpRequest) -> JsonResponse:
    return json_error_response(500, "internal_error", "An internal error occurred; it has been logged.")
