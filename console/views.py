"""The reviewer console: thin server-rendered views over the apps' selectors and services."""

from __future__ import annotations

import contextlib
import mimetypes
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import audit, logins, selectors, services
from accounts.export import export_response
from accounts.middleware import client_ip
from accounts.models import PartnerStatus
from console.capture import capture_timeline
from console.forms import (
    AuditFilterForm,
    ConsentDecisionForm,
    ConsentPolicyForm,
    DecisionForm,
    PartnerActionForm,
    PartnerLimitsForm,
    ProtectedPersonForm,
    ReviewerLoginForm,
    VerifyUploadForm,
)
from console.usage import bar_chart, usage
from core.errors import DomainError, NotFound
from generation import review as generation_review
from generation import selectors as generation_selectors
from generation.models import Job, JobStatus
from moderation import selectors as moderation_selectors
from moderation import services as moderation_services
from moderation.models import Consent, ConsentStatus
from verifier.services import verify_upload

View = Callable[..., HttpResponse]

# --- Access ----------------------------------------------------------------------------------------------------


class LockedLoginMixin:
    """Django's LoginView behind the shared sign-in lock (per account and per address), every outcome audited."""

    channel = "console"
    request: HttpRequest

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            logins.login_attempt_check(
                username=request.POST.get("username", ""), address=client_ip(request), channel=self.channel
            )
        except logins.LoginLocked:
            return self.locked_response()
        return super().post(request, *args, **kwargs)  # type: ignore[misc]

    def locked_response(self) -> HttpResponse:
        form = self.get_form()  # type: ignore[attr-defined]
        minutes = max(1, settings.TALKGATE_LOGIN_LOCK_SECONDS // 60)
        context = self.get_context_data(form=form, locked=True, lock_minutes=minutes)  # type: ignore[attr-defined]
        return render(self.request, self.template_name, context, status=429)  # type: ignore[attr-defined]

    def form_invalid(self, form: Any) -> HttpResponse:
        logins.login_failure_record(
            username=self.request.POST.get("username", ""), address=client_ip(self.request), channel=self.channel
        )
        return super().form_invalid(form)  # type: ignore[misc]

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)  # type: ignore[misc]
        logins.login_success_record(user=form.get_user(), channel=self.channel)
        return response


class LoginView(LockedLoginMixin, auth_views.LoginView):
    """Session login for reviewers."""

    template_name = "console/login.html"
    authentication_form = ReviewerLoginForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return reverse("console:queue")


class AdminLoginView(LockedLoginMixin, auth_views.LoginView):
    """The Django admin's login page, behind the same lock and audit as the console's."""

    channel = "admin"
    template_name = "admin/login.html"
    authentication_form = AdminAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(admin.site.each_context(self.request))
        context.setdefault("title", "Log in")
        context["app_path"] = self.request.get_full_path()
        context.setdefault(REDIRECT_FIELD_NAME, reverse("admin:index"))
        return context

    def get_default_redirect_url(self) -> str:
        return reverse("admin:index")


def reviewer_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-reviewers are refused."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            return auth_views.redirect_to_login(request.get_full_path(), reverse("console:login"))
        if not getattr(user, "is_reviewer", False):
            return render(request, "console/refused.html", status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _refusal(request: HttpRequest, exc: DomainError) -> None:
    messages.error(request, f"{exc.message} ({exc.code})")


# --- Queues ----------------------------------------------------------------------------------------------------


@reviewer_required
def queue(request: HttpRequest) -> HttpResponse:
    """Everything waiting for a reviewer: applications, consents and jobs."""
    context = {
        "applications": selectors.partner_list(status=PartnerStatus.APPLIED).order_by("created_at"),
        "consents": generation_review.review_queue(item_type="consent"),
        "jobs": generation_review.review_queue(item_type="job"),
    }
    return render(request, "console/queue.html", context)


@reviewer_required
def partner_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    partners = selectors.partner_list(status=status).order_by("name")
    return render(
        request, "console/partners.html", {"partners": partners, "status": status, "statuses": PartnerStatus.choices}
    )


def _get_or_404(getter: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return getter(**kwargs)
    except (NotFound, ValueError, ValidationError) as exc:  # ValidationError: a malformed UUID in the URL
        raise Http404(str(exc)) from exc


@reviewer_required
@require_http_methods(["GET", "POST"])
def partner_detail(request: HttpRequest, partner_id: str) -> HttpResponse:
    """One partner: its lifecycle actions (with a reason) and its limits."""
    partner = _get_or_404(selectors.partner_get, partner_id=partner_id)
    action_form = PartnerActionForm()
    limits_form = PartnerLimitsForm(instance=partner)
    policy_form = ConsentPolicyForm(initial={"auto_verify": partner.consent_auto_verify})
    status = 200
    if request.method == "POST" and "consent_policy" in request.POST:
        policy_form = ConsentPolicyForm(request.POST)
        if policy_form.is_valid():
            try:
                services.partner_set_consent_policy(partner=partner, reviewer=request.user, **policy_form.cleaned_data)
            except DomainError as exc:
                _refusal(request, exc)
            else:
                messages.success(request, f"{partner.name}: consent review policy saved.")
            return redirect("console:partner", partner_id=partner.id)
        status = 400
    elif request.method == "POST" and "action" in request.POST:
        action_form = PartnerActionForm(request.POST)
        if action_form.is_valid():
            action = action_form.cleaned_data["action"]
            try:
                services.partner_decide(
                    partner=partner,
                    reviewer=request.user,
                    action=action,
                    comment=action_form.cleaned_data["comment"],
                    use_cases=action_form.cleaned_data["use_cases"] or None,
                )
            except DomainError as exc:
                _refusal(request, exc)
            else:
                messages.success(request, f"{partner.name}: {action} done.")
            return redirect("console:partner", partner_id=partner.id)
        status = 400
    elif request.method == "POST":
        limits_form = PartnerLimitsForm(request.POST, instance=selectors.partner_get(partner_id=partner.id))
        if limits_form.is_valid():
            # Compared with the stored partner, so the audit entry names only what this reviewer changed.
            changed = {
                name: value for name, value in limits_form.cleaned_data.items() if value != getattr(partner, name)
            }
            if changed:
                try:
                    services.partner_set_limits(partner=partner, reviewer=request.user, limits=changed)
                except DomainError as exc:
                    _refusal(request, exc)
                else:
                    messages.success(request, f"Limits changed: {', '.join(sorted(changed))}.")
            else:
                messages.info(request, "No limit changed.")
            return redirect("console:partner", partner_id=partner.id)
        status = 400
    partner.refresh_from_db()
    context = {"partner": partner, "action_form": action_form, "limits_form": limits_form,
               "policy_form": policy_form, "service_auto_verify": settings.TALKGATE_CONSENT_AUTO_VERIFY}  # fmt: skip
    return render(request, "console/partner.html", context, status=status)


@reviewer_required
@require_http_methods(["GET", "POST"])
def consent_detail(request: HttpRequest, consent_id: str) -> HttpResponse:
    """A consent in review: its evidence video, the verification checks against their thresholds, a decision."""
    consent: Consent = _get_or_404(moderation_selectors.consent_for_review, consent_id=consent_id)
    form = ConsentDecisionForm()
    status = 200
    if request.method == "POST":
        form = ConsentDecisionForm(request.POST)
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            try:
                moderation_services.consent_review(
                    consent=consent, reviewer=request.user, decision=decision, comment=form.cleaned_data["comment"]
                )
            except DomainError as exc:
                _refusal(request, exc)
                return redirect("console:consent", consent_id=consent.id)
            verdict = {"approve": "approved", "reject": "rejected", "unlock": "unlocked"}[decision]
            messages.success(request, f"Consent for {consent.subject.display_name} {verdict}.")
            return redirect("console:queue")
        status = 400
    checks = (consent.verification_report or {}).get("checks", {})
    moderation_services.evidence_viewed(consent=consent, reviewer=request.user, what="report")
    evidence = consent.evidence.first()
    live = evidence and moderation_selectors.capture_session_for_evidence(evidence_id=evidence.id)
    context = {
        "consent": consent,
        "evidence": evidence,
        "capture": capture_timeline(live, evidence.report or {}) if live else None,
        "checks": sorted(checks.items()),
        "in_review": consent.status == ConsentStatus.NEEDS_REVIEW,
        "unlockable": "too_many_attempts" in (consent.reason_codes or []),
        "form": form,
    }
    return render(request, "console/consent.html", context, status=status)


@reviewer_required
def consent_evidence(request: HttpRequest, consent_id: str) -> FileResponse:
    """The consent recording, streamed only to reviewers (never a public media URL)."""
    consent: Consent = _get_or_404(moderation_selectors.consent_for_review, consent_id=consent_id)
    evidence = consent.evidence.first()
    if evidence is None:
        raise Http404("This consent has no recording.")
    moderation_services.evidence_viewed(consent=consent, reviewer=request.user, what="recording")
    return _stream(evidence.recording, "video/mp4")


def _stream(name: str, fallback_type: str) -> FileResponse:
    if not name or not default_storage.exists(name):
        raise Http404("The file is gone (deleted after retention, or never stored).")
    content_type = mimetypes.guess_type(name)[0] or fallback_type
    response = FileResponse(default_storage.open(name, "rb"), content_type=content_type)
    # Consent recordings and job inputs are personal data: keep them out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


@reviewer_required
@require_http_methods(["GET", "POST"])
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """A job: its inputs, the screening report and, when in review, a decision."""
    job: Job = _get_or_404(generation_selectors.job_for_review, job_id=job_id)
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                generation_review.job_review(
                    job_id=job.id, reviewer=request.user, approve=form.approve, comment=form.cleaned_data["comment"]
                )
            except DomainError as exc:
                _refusal(request, exc)
                return redirect("console:job", job_id=job.id)
            messages.success(request, f"Job {job.id} {'approved' if form.approve else 'rejected'}.")
            return redirect("console:queue")
        status = 400
    report = job.screening_report or {}
    protected = report.get("protected") or {}
    protected_person = None
    if protected.get("closest_person_id"):
        with contextlib.suppress(NotFound):  # a person removed since screening shows as unnamed
            protected_person = moderation_selectors.protected_person_get(person_id=protected["closest_person_id"])
    context = {
        "job": job,
        "report": report,
        "face": report.get("face") or {},
        "protected": protected,
        "protected_person": protected_person,
        "in_review": job.status == JobStatus.NEEDS_REVIEW,
        "inputs_present": not job.inputs_deleted_at,
        "form": form,
    }
    return render(request, "console/job.html", context, status=status)


@reviewer_required
def job_input(request: HttpRequest, job_id: str, which: str) -> FileResponse:
    """A job's photo or audio, streamed only to reviewers."""
    job: Job = _get_or_404(generation_selectors.job_for_review, job_id=job_id)
    if which == "photo":
        return _stream(job.photo, "image/png")
    if which == "audio":
        return _stream(job.audio, "audio/wav")
    raise Http404("Unknown input.")


# --- Audit -----------------------------------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@reviewer_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Search the audit log; the same filter feeds the export links."""
    form = AuditFilterForm(request.GET or None)
    filters: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        filters = form.filters()
    entries = selectors.audit_search(filters) if not form.is_bound or form.is_valid() else selectors.audit_search({})
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "invalid": form.is_bound and not form.is_valid(),
    }
    return render(request, "console/audit.html", context, status=400 if context["invalid"] else 200)


@reviewer_required
def audit_export(request: HttpRequest, fmt: str) -> StreamingHttpResponse:
    """The current filter as CSV or JSON Lines, streamed by the same writer as the API's export."""
    if fmt not in ("csv", "jsonl"):
        raise Http404("Unknown format.")
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return render(request, "console/audit.html", {"form": form, "invalid": True}, status=400)
    return export_response(form.filters() if form.is_bound else {}, fmt)


@reviewer_required
@require_POST
def audit_verify_chain(request: HttpRequest) -> HttpResponse:
    """Walk the hash chain now and show the result."""
    report = audit.verify_chain_recorded()
    return render(request, "console/chain.html", {"report": report})


@reviewer_required
def job_trail(request: HttpRequest) -> HttpResponse:
    """One job's whole audit trail, oldest first; the job id comes from the lookup form."""
    job_id = request.GET.get("job", "").strip()
    job = None
    entries: list[Any] = []
    if job_id:
        with contextlib.suppress(NotFound):
            job = generation_selectors.job_for_review(job_id=job_id)
        if job is not None:
            filters = {"target_type": "generation.job", "target_id": str(job.id)}
            entries = list(reversed(selectors.audit_search(filters)))
    context = {"job_id": job_id, "job": job, "entries": entries, "not_found": bool(job_id) and job is None}
    return render(request, "console/trail.html", context, status=404 if context["not_found"] else 200)


# --- Verification lookup ---------------------------------------------------------------------------------------


@reviewer_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Upload a suspect file and see everything a reviewer may see about it."""
    form = VerifyUploadForm()
    result = None
    status = 200
    if request.method == "POST":
        form = VerifyUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                actor = f"user:{request.user.pk}"
                result = verify_upload(fileobj=form.cleaned_data["file"], reviewer=True, actor=actor)
            except DomainError as exc:
                form.add_error("file", f"{exc.message} ({exc.code})")
                status = exc.status if 400 <= exc.status < 500 else 400
        else:
            status = 400
    return render(request, "console/verify.html", {"form": form, "result": result}, status=status)


# --- Usage -----------------------------------------------------------------------------------------------------


@reviewer_required
def usage_page(request: HttpRequest) -> HttpResponse:
    """Per partner or overall: jobs per day by outcome, rejection reasons, seconds, quota use and p95 latency."""
    partner = None
    if request.GET.get("partner"):
        partner = _get_or_404(selectors.partner_get, partner_id=request.GET["partner"])
    result = usage(partner_id=partner.id if partner else None)
    context = {
        "partner": partner,
        "partners": selectors.partner_list().order_by("name"),
        "usage": result,
        "chart": bar_chart(result),
        # The enforced figure, so the console never disagrees with quota checks and /v1/usage.
        "quota": generation_selectors.usage_get(partner=partner) if partner else None,
    }
    return render(request, "console/usage.html", context)


# --- Protected persons -----------------------------------------------------------------------------------------


@reviewer_required
@require_http_methods(["GET", "POST"])
def protected_persons(request: HttpRequest) -> HttpResponse:
    """The protected gallery: enrol someone with photos of their face, list the enrolled with thumbnails."""
    form = ProtectedPersonForm()
    status = 200
    if request.method == "POST":
        form = ProtectedPersonForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                person = moderation_services.protected_person_create(
                    name=form.cleaned_data["name"],
                    notes=form.cleaned_data["notes"],
                    photos=form.cleaned_data["photos"],
                    reviewer=request.user,
                )
            except DomainError as exc:
                form.add_error("photos", f"{exc.message} ({exc.code})")
                status = 400
            else:
                messages.success(request, f"{person.name} is now protected.")
                return redirect("console:protected")
        else:
            status = 400
    people = moderation_selectors.protected_person_list()
    return render(request, "console/protected.html", {"form": form, "people": people}, status=status)


@reviewer_required
@require_POST
def protected_person_remove(request: HttpRequest, person_id: str) -> HttpResponse:
    person = _get_or_404(moderation_selectors.protected_person_get, person_id=person_id)
    moderation_services.protected_person_remove(person=person, reviewer=request.user)
    messages.success(request, f"{person.name} was removed from the protected gallery.")
    return redirect("console:protected")


@reviewer_required
def protected_photo(request: HttpRequest, photo_id: int) -> FileResponse:
    """A protected person's photo, streamed only to reviewers."""
    photo = _get_or_404(moderation_selectors.protected_photo_get, photo_id=photo_id)
    return _stream(photo.photo, "image/png")
