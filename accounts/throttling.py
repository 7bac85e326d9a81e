"""Per-partner throttling on the shared cache, with each partner's limit read from its row."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from rest_framework import exceptions as drf
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle

from accounts.authentication import is_reviewer, partner_of
from accounts.middleware import client_ip
from core import errors

if TYPE_CHECKING:
    from rest_framework.views import APIView


class TalkgateRateThrottle(SimpleRateThrottle):
    """One budget per partner (all its keys together), per reviewer, or per client IP for anonymous calls."""

    scope = "talkgate"

    def __init__(self) -> None:
        # The rate depends on the caller, so it is chosen in allow_request rather than at construction.
        self.rate = None
        self.num_requests = 0
        self.duration = 60

    def allow_request(self, request: Request, view: APIView) -> bool:
        partner = partner_of(request)
        if partner is not None:
            self.rate = f"{partner.rate_limit_per_minute}/min"
            self.key = f"throttle:partner:{partner.id}"
        elif is_reviewer(request):
            self.rate = self.THROTTLE_RATES["reviewer"]
            self.key = f"throttle:user:{request.user.pk}"
        else:
            self.rate = self.THROTTLE_RATES["anon"]
            self.key = f"throttle:anon:{client_ip(request._request) or 'unknown'}"
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return getattr(self, "key", None)


class VerifyRateThrottle(SimpleRateThrottle):
    """Public verification is costly (decoding, detection): its own per-address budget."""

    scope = "verify"

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return f"throttle:verify:{client_ip(request._request) or 'unknown'}"


class AddressRateThrottle(SimpleRateThrottle):
    """A per-address budget for one scope, usable from plain Django views and from the error handler."""

    def __init__(self, scope: str) -> None:
        self.scope = scope
        super().__init__()

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        raw = request._request if isinstance(request, Request) else request
        return f"throttle:{self.scope}:{client_ip(raw) or 'unknown'}"


def address_throttle_wait(request: HttpRequest | Request, scope: str) -> float | None:
    """Count one request against its address's budget for ``scope``: None while within it, else seconds to wait."""
    throttle = AddressRateThrottle(scope)
    if throttle.allow_request(request, None):  # type: ignore[arg-type]
        return None
    return throttle.wait() or 1.0


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The API's error handler (``core.errors``), after counting failed authentication against the address."""
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed) and "request" in context:
        # Permissions run before throttles in DRF, so requests without a valid key would never reach the anonymous
        # budget. Failed authentication counts against its address here; over the budget it is answered 429.
        wait = address_throttle_wait(context["request"], "anon")
        if wait is not None:
            exc = drf.Throttled(wait=wait)
    return errors.exception_handler(exc, context)
