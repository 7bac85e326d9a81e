"""Forms of the reviewer console: they validate input; writes go through the apps' services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts.models import Partner, UseCase
from accounts.services import PARTNER_ACTIONS


class ReviewerLoginForm(AuthenticationForm):
    """Django's login form, refusing anyone who is not a reviewer (partner members use API keys)."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "not_reviewer": "Only reviewers may sign in to the console.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not getattr(user, "is_reviewer", False):
            raise forms.ValidationError(self.error_messages["not_reviewer"], code="not_reviewer")


class DecisionForm(forms.Form):
    """Approve or reject, always with a comment: the comment is what the audit log keeps as the reason."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, strip=True)

    @property
    def approve(self) -> bool:
        return self.cleaned_data["decision"] == "approve"


class ConsentDecisionForm(DecisionForm):
    """A consent can also be unlocked: back to pending so the subject may record again."""

    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject"), ("unlock", "Unlock")])


class ConsentPolicyForm(forms.Form):
    """Whether this partner's consents may be verified without a reviewer (live captures only)."""

    auto_verify = forms.BooleanField(required=False)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, strip=True)


class PartnerActionForm(forms.Form):
    """A lifecycle action with its reason; an approval may narrow or widen the use cases (default: declared)."""

    action = forms.ChoiceField(choices=[(a, a.title()) for a in PARTNER_ACTIONS])
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, strip=True)
    use_cases = forms.MultipleChoiceField(
        choices=UseCase.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Approved use cases"
    )


class PartnerLimitsForm(forms.ModelForm):
    """The four limits partner_set_limits accepts; only changed ones are sent."""

    class Meta:
        model = Partner
        fields = ["rate_limit_per_minute", "max_concurrent_jobs", "monthly_video_seconds", "max_audio_seconds"]


STATUS_CLASSES = ["2xx", "3xx", "4xx", "5xx"]


class AuditFilterForm(forms.Form):
    """The audit search filters, turned into the dict accounts.selectors.audit_search expects."""

    since = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    partner = forms.UUIDField(required=False)
    actor = forms.CharField(required=False, max_length=80)
    event_type = forms.CharField(required=False, max_length=64, help_text='End with "." for a prefix: job.')
    path = forms.CharField(required=False, max_length=500, help_text="Prefix of the request path")
    status = forms.CharField(required=False, max_length=3, help_text="e.g. 403 or 4xx")
    request_id = forms.CharField(required=False, max_length=64, label="Request id")

    def clean_status(self) -> str:
        value = self.cleaned_data["status"].strip().lower()
        if value and value not in STATUS_CLASSES and not (value.isdigit() and 100 <= int(value) <= 599):
            raise forms.ValidationError("A status code (100-599) or a class such as 4xx.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "until is before since.")
        return data

    def filters(self) -> dict[str, Any]:
        """Only the filters that were given, keyed as audit_search names them."""
        data = self.cleaned_data
        names = ("since", "until", "partner", "actor", "path", "request_id")
        out: dict[str, Any] = {k: data[k] for k in names if data.get(k)}
        if data.get("event_type"):
            out["event_type"] = data["event_type"]
        status = data.get("status")
        if status in STATUS_CLASSES:
            out["status_class"] = status
        elif status:
            out["status"] = int(status)
        return out


class VerifyUploadForm(forms.Form):
    file = forms.FileField(help_text="A video or image you suspect was made with Talkgate")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input (Django's documented pattern)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class ProtectedPersonForm(forms.Form):
    name = forms.CharField(max_length=200)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000)
    photos = MultipleFileField(help_text="One face per photo")
