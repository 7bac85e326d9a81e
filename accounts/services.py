"""Writes for partners, API keys and reviewers: typed, keyword-only, each audited."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.logins import normalise_username
from accounts.models import PARTNER_SCOPES, ApiKey, Partner, PartnerStatus, Role, Scope, User
from core.errors import Conflict, DomainError, Forbidden, NotFound

KEY_PREFIX_LEN = 12


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- Partners ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """A new application and the one-time token its applicant uses to collect the first key."""

    partner: Partner
    claim_token: str


def partner_apply(
    *,
    name: str,
    contact_name: str,
    contact_email: str,
    use_case: str,
    use_case_description: str,
    website: str = "",
) -> Application:
    """Register a partner application (status ``applied``)."""
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        partner = Partner.objects.create(
            name=name,
            contact_name=contact_name,
            contact_email=contact_email,
            website=website,
            use_case=use_case,
            use_case_description=use_case_description,
            approved_use_cases=[],
            claim_token_hash=_sha256(token),
        )
        audit.record(
            "partner.applied",
            target=partner,
            partner_id=partner.id,
            payload={"name": name, "use_case": use_case},
        )
    return Application(partner=partner, claim_token=token)


def _transition(
    *,
    partner: Partner,
    expected: Iterable[str],
    new: str,
    reviewer: User,
    reason: str,
    event: str,
    extra: dict[str, object] | None = None,
) -> Partner:
    """A guarded status change: only from an expected status, recorded with who and why."""
    expected = list(expected)
    now = timezone.now()
    with transaction.atomic():
        updates: dict[str, object] = {
            "status": new,
            "status_reason": reason,
            "decided_at": now,
            "decided_by": reviewer,
            "updated_at": now,
        }
        updates.update(extra or {})
        changed = Partner.objects.filter(id=partner.id, status__in=expected).update(**updates)
        if not changed:
            partner.refresh_from_db()
            raise Conflict(
                f"The partner is {partner.status}; this action needs {' or '.join(expected)}.",
                code="invalid_transition",
                details={"status": partner.status},
            )
        audit.record(
            event,
            target=partner,
            partner_id=partner.id,
            actor=f"user:{reviewer.pk}",
            payload={"from": expected, "to": new, "reason": reason, **(extra or {})},
        )
    partner.refresh_from_db()
    return partner


def partner_approve(*, partner: Partner, reviewer: User, comment: str, use_cases: list[str] | None = None) -> Partner:
    """Approve an application; the approved use cases default to the declared one."""
    approved = sorted(set(use_cases or [partner.use_case]))
    return _transition(
        partner=partner,
        expected=[PartnerStatus.APPLIED],
        new=PartnerStatus.APPROVED,
        reviewer=reviewer,
        reason=comment,
        event="partner.approved",
        extra={"approved_use_cases": approved},
    )


def partner_reject(*, partner: Partner, reviewer: User, reason: str) -> Partner:
    """Reject an application."""
    return _transition(
        partner=partner,
        expected=[PartnerStatus.APPLIED],
        new=PartnerStatus.REJECTED,
        reviewer=reviewer,
        reason=reason,
        event="partner.rejected",
    )


def partner_suspend(*, partner: Partner, reviewer: User, reason: str) -> Partner:
    """Suspend an approved partner: every key stops working at once (keys check the partner's status)."""
    return _transition(
        partner=partner,
        expected=[PartnerStatus.APPROVED],
        new=PartnerStatus.SUSPENDED,
        reviewer=reviewer,
        reason=reason,
        event="partner.suspended",
    )


def partner_reinstate(*, partner: Partner, reviewer: User, comment: str) -> Partner:
    """Lift a suspension."""
    return _transition(
        partner=partner,
        expected=[PartnerStatus.SUSPENDED],
        new=PartnerStatus.APPROVED,
        reviewer=reviewer,
        reason=comment,
        event="partner.reinstated",
    )


PARTNER_ACTIONS = ("approve", "reject", "suspend", "reinstate")


def partner_decide(
    *, partner: Partner, reviewer: User, action: str, comment: str, use_cases: list[str] | None = None
) -> Partner:
    """Apply one lifecycle action; the API's and the console's decisions both come through here."""
    if action == "approve":
        return partner_approve(partner=partner, reviewer=reviewer, comment=comment, use_cases=use_cases)
    if use_cases:
        raise DomainError("Only an approval names use cases.", code="use_cases_not_allowed")
    if action == "reject":
        return partner_reject(partner=partner, reviewer=reviewer, reason=comment)
    if action == "suspend":
        return partner_suspend(partner=partner, reviewer=reviewer, reason=comment)
    if action == "reinstate":
        return partner_reinstate(partner=partner, reviewer=reviewer, comment=comment)
    raise DomainError(f"Actions are {', '.join(PARTNER_ACTIONS)}.", code="invalid_action", details=action)


LIMIT_FIELDS = ("rate_limit_per_minute", "max_concurrent_jobs", "monthly_video_seconds", "max_audio_seconds")


def partner_set_limits(*, partner: Partner, reviewer: User, limits: dict[str, int]) -> Partner:
    """Change some of a partner's limits (request rate and generation quotas)."""
    unknown = set(limits) - set(LIMIT_FIELDS)
    if unknown or not limits:
        raise DomainError(f"Limits are {', '.join(LIMIT_FIELDS)}.", code="invalid_limits", details=sorted(unknown))
    with transaction.atomic():
        current = Partner.objects.select_for_update().get(id=partner.id)
        changes = {name: {"from": getattr(current, name), "to": value} for name, value in limits.items()}
        Partner.objects.filter(id=partner.id).update(**limits, updated_at=timezone.now())
        audit.record(
            "partner.limits_changed",
            target=partner,
            partner_id=partner.id,
            actor=f"user:{reviewer.pk}",
            payload=changes,
        )
    partner.refresh_from_db()
    return partner


def partner_set_consent_policy(*, partner: Partner, reviewer: User, auto_verify: bool, comment: str) -> Partner:
    """Allow or stop verifying this partner's consents without a reviewer (live captures, service switch on)."""
    if not comment.strip():
        raise DomainError("A policy change needs a comment.", code="comment_required")
    with transaction.atomic():
        current = Partner.objects.select_for_update().get(id=partner.id)
        Partner.objects.filter(id=partner.id).update(consent_auto_verify=auto_verify, updated_at=timezone.now())
        audit.record("partner.consent_policy_changed", target=partner, partner_id=partner.id,
                     actor=f"user:{reviewer.pk}",
                     payload={"auto_verify": {"from": current.consent_auto_verify, "to": auto_verify},
                              "comment": comment})  # fmt: skip
    partner.refresh_from_db()
    return partner


def partner_claim_first_key(*, partner_id: UUID, claim_token: str) -> tuple[ApiKey, str]:
    """Exchange the application's claim token for the partner's first key (once, after approval)."""
    with transaction.atomic():
        partner = Partner.objects.select_for_update().filter(id=partner_id).first()
        # The same answer for "no such application" and "wrong token", so ids cannot be probed.
        if (
            partner is None
            or not partner.claim_token_hash
            or not hmac.compare_digest(partner.claim_token_hash, _sha256(claim_token))
        ):
            raise NotFound("No application matches this id and token.", code="application_not_found")
        if partner.status != PartnerStatus.APPROVED:
            raise Conflict(
                f"The application is {partner.status}.",
                code="application_not_approved",
                details={"status": partner.status},
            )
        if partner.claimed_at is not None:
            raise Conflict("The first key was already collected.", code="application_already_claimed")
        partner.claimed_at = timezone.now()
        partner.claim_token_hash = ""
        partner.save(update_fields=["claimed_at", "claim_token_hash", "updated_at"])
        return api_key_create(
            partner=partner, name="initial", scopes=list(PARTNER_SCOPES), created_by="application-claim"
        )


# --- API keys ------------------------------------------------------------------------------------------------


def _new_key_material() -> tuple[str, str]:
    prefix = "tg" + secrets.token_hex(KEY_PREFIX_LEN // 2 - 1)
    return prefix, secrets.token_urlsafe(32)


def api_key_create(
    *,
    partner: Partner | None = None,
    user: User | None = None,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    created_by: str = "",
    granted_by: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its plaintext ``prefix.secret`` (shown once, never stored).

    ``granted_by`` is the key asking for it: a key can only hand out scopes it holds itself, so a narrow key
    cannot mint a broader one.
    """
    if (partner is None) == (user is None):
        raise ValueError("a key belongs to exactly one partner or one user")
    if granted_by is not None:
        missing = sorted(set(scopes) - set(granted_by.scopes))
        if missing:
            raise Forbidden("A key cannot grant scopes it does not hold.", code="scope_escalation", details=missing)
    allowed = set(PARTNER_SCOPES) if partner is not None else {Scope.REVIEW}
    unknown = sorted(set(scopes) - allowed)
    if unknown or not scopes:
        raise DomainError(
            f"Scopes must be a non-empty subset of {sorted(allowed)}.", code="invalid_scopes", details=unknown
        )
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("expires_at must be in the future.", code="invalid_expiry")
    prefix, secret = _new_key_material()
    with transaction.atomic():
        key = ApiKey.objects.create(
            partner=partner,
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=_sha256(secret),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
            created_by=created_by,
        )
        audit.record(
            "api_key.created",
            target=key,
            partner_id=partner.id if partner else None,
            payload={"name": name, "prefix": prefix, "scopes": key.scopes, "expires_at": expires_at},
        )
    return key, f"{prefix}.{secret}"


def api_key_revoke(*, key: ApiKey, reason: str = "") -> ApiKey:
    """Revoke a key for good; already-revoked keys stay as they were."""
    with transaction.atomic():
        changed = ApiKey.objects.filter(id=key.id, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_reason=reason[:200]
        )
        if changed:
            audit.record(
                "api_key.revoked",
                target=key,
                partner_id=key.partner_id,
                payload={"prefix": key.prefix, "reason": reason[:200]},
            )
    key.refresh_from_db()
    return key


class KeyRefused(DomainError):
    """A bearer token that does not authenticate; ``status`` says 401 or 403."""

    status = 401


def api_key_resolve(token: str) -> ApiKey:
    """Find the live key for a ``prefix.secret`` token, or raise KeyRefused with a precise code."""
    prefix, dot, secret = token.partition(".")
    if not dot or not prefix or not secret or len(prefix) > 16:
        raise KeyRefused("The API key is malformed; expected prefix.secret.", code="api_key_malformed")
    key = ApiKey.objects.select_related("partner", "user").filter(prefix=prefix).first()
    # Compare even when no key matched, so timing does not reveal which prefixes exist.
    stored = key.secret_hash if key is not None else "0" * 64
    if not hmac.compare_digest(stored, _sha256(secret)) or key is None:
        raise KeyRefused("The API key is not valid.", code="api_key_invalid")
    now = timezone.now()
    if key.revoked_at is not None:
        raise KeyRefused("The API key has been revoked.", code="api_key_revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused("The API key has expired.", code="api_key_expired")
    if key.partner is not None and key.partner.status != PartnerStatus.APPROVED:
        raise KeyRefused(
            f"The partner account is {key.partner.status}.", code=f"partner_{key.partner.status}", status=403
        )
    if key.user is not None and not key.user.is_reviewer:
        raise KeyRefused("The key's owner is no longer a reviewer.", code="api_key_owner_inactive", status=403)
    resolution = timedelta(seconds=settings.TALKGATE_KEY_LAST_USED_RESOLUTION_S)
    if key.last_used_at is None or now - key.last_used_at >= resolution:
        ApiKey.objects.filter(id=key.id).update(last_used_at=now)
        key.last_used_at = now
    return key


# --- People ----------------------------------------------------------------------------------------------------


def reviewer_create(*, username: str, email: str, password: str | None, role: str = Role.REVIEWER) -> User:
    """Create a reviewer (or admin) who can log in and review."""
    if role not in (Role.REVIEWER, Role.ADMIN):
        raise DomainError("A reviewer's role is reviewer or admin.", code="invalid_role")
    # Sign-in matches names in their normal form, so a look-alike of an existing name is the same name.
    wanted = normalise_username(username)
    if any(
        normalise_username(u) == wanted
        for u in User.objects.filter(username__iexact=wanted).values_list("username", flat=True)
    ):
        raise Conflict(f"A user named {username!r} exists.", code="user_exists")
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            email=email,
            password=password,
            role=role,
            is_staff=True,
            is_superuser=role == Role.ADMIN,
        )
        audit.record("user.created", target=user, payload={"username": username, "role": role})
    return user


def require_reviewer(user: object) -> User:
    """The user as a reviewer, or Forbidden."""
    if not isinstance(user, User) or not user.is_reviewer:
        raise Forbidden("Reviewers only.", code="reviewer_required")
    return user
