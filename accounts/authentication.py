"""Bearer API-key authentication for DRF, and the principal a partner key authenticates as."""

from __future__ import annotations

import re
from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from accounts.models import ApiKey, Partner, User
from accounts.services import KEY_PREFIX_LEN, KeyRefused, api_key_resolve
from core import context

# What api_key_create issues: "tg" and hex. Anything else in front of the dot is not known to be public.
_PREFIX_SHAPE = re.compile(rf"^tg[0-9a-f]{{{KEY_PREFIX_LEN - 2}}}$")


@dataclass(frozen=True)
class PartnerPrincipal:
    """``request.user`` for a partner key: the partner, acting through one key."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_reviewer = False
    is_active = True
    pk = None

    @property
    def partner(self) -> Partner:
        assert self.api_key.partner is not None
        return self.api_key.partner

    def __str__(self) -> str:
        return f"key:{self.api_key.id}"


class ApiKeyAuthentication(BaseAuthentication):
    """``Authorization: Bearer <prefix>.<secret>``."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[object, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        ctx = context.current_context()
        if len(parts) != 2:
            self._note_failure(ctx, "api_key_malformed", b" ".join(parts[1:]).decode("latin-1"))
            raise exceptions.AuthenticationFailed(
                "Use 'Authorization: Bearer <prefix>.<secret>'.", code="api_key_malformed"
            )
        try:
            token = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            self._note_failure(ctx, "api_key_malformed", parts[1].decode("latin-1"))
            raise exceptions.AuthenticationFailed("The API key is malformed.", code="api_key_malformed") from exc
        try:
            key = api_key_resolve(token)
        except KeyRefused as exc:
            self._note_failure(ctx, exc.code, token)
            if exc.status == 403:
                raise exceptions.PermissionDenied(exc.message, code=exc.code) from exc
            raise exceptions.AuthenticationFailed(exc.message, code=exc.code) from exc
        principal: object = key.user if key.user is not None else PartnerPrincipal(api_key=key)
        if ctx is not None:
            ctx.actor = f"key:{key.id}"
            ctx.partner_id = key.partner_id
        return principal, key

    @staticmethod
    def _note_failure(ctx: context.RequestContext | None, code: str, token: str | None) -> None:
        # A well-formed key's prefix is public (it is how keys are listed). Of anything else only the length is
        # kept: a value without the prefix shape may be a bare secret pasted on its own.
        if ctx is None:
            return
        ctx.notes["auth_failure"] = code
        if token is None:
            return
        if code != "api_key_malformed" and _PREFIX_SHAPE.match(token.partition(".")[0]):
            ctx.notes["key_prefix"] = token.partition(".")[0]
        else:
            ctx.notes["credential_length"] = len(token)

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="talkgate"'


def partner_of(request: Request) -> Partner | None:
    """The partner a request acts for: a partner key's partner, or a partner member's organisation."""
    user = request.user
    if isinstance(user, PartnerPrincipal):
        return user.partner
    return None


def request_partner(request: Request) -> Partner:
    """The partner of a request that a partner-only permission has already admitted."""
    partner = partner_of(request)
    assert partner is not None  # PartnerScope admitted the request
    return partner


def scopes_of(request: Request) -> set[str]:
    """The scopes the request's key grants (empty for session logins)."""
    auth = request.auth
    return set(auth.scopes) if isinstance(auth, ApiKey) else set()


def is_reviewer(request: Request) -> bool:
    """Whether the caller is a reviewer or admin (by session or by a reviewer key)."""
    user = request.user
    return isinstance(user, User) and user.is_reviewer


class ApiKeySchemeExtension(OpenApiAuthenticationExtension):
    """Tells drf-spectacular how the bearer key looks in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "prefix.secret"}
