"""Validation and output shapes for jobs, uploads and usage."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from core.api import StrictSerializer
from generation.models import Job, JobStatus, Upload
from gpu_worker.engine.options import OPTION_SPECS, OptionSpec
from moderation.models import Consent, Subject


def _option_field(spec: OptionSpec) -> serializers.Field:
    """The API field of one engine option, with the engine's own range, default and help."""
    common: dict[str, Any] = {"help_text": spec.help}
    if spec.multiple_of:
        common["validators"] = [_multiple_of(spec)]
    if spec.nullable:
        common.update(required=False, allow_null=True, default=None)
    else:
        common["default"] = spec.default
    if spec.choices is not None:
        return serializers.ChoiceField(choices=list(spec.choices), **common)
    if spec.kind is str:
        return serializers.CharField(max_length=spec.max_length, required=False, allow_blank=True, **common)
    field = serializers.IntegerField if spec.kind is int else serializers.FloatField
    return field(min_value=spec.minimum, max_value=spec.maximum, **common)


def _multiple_of(spec: OptionSpec) -> Any:
    def check(value: Any) -> None:
        if value % spec.multiple_of:
            raise serializers.ValidationError(f"{spec.name} must be a multiple of {spec.multiple_of}.")

    return check


# The engine's options as a base serializer: names, ranges and defaults come from gpu_worker/engine/options.py.
EngineOptionsIn = type("EngineOptionsIn", (StrictSerializer,), {s.name: _option_field(s) for s in OPTION_SPECS})


class JobCreateIn(EngineOptionsIn):  # type: ignore[misc, valid-type]
    """A job: inputs as files (multipart) or upload ids (JSON), the consent, and the engine's options."""

    consent_id = serializers.UUIDField()
    photo = serializers.FileField(required=False, allow_empty_file=False)
    audio = serializers.FileField(required=False, allow_empty_file=False)
    photo_upload_id = serializers.UUIDField(required=False)
    audio_upload_id = serializers.UUIDField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        for kind in ("photo", "audio"):
            has_file, has_id = kind in attrs, f"{kind}_upload_id" in attrs
            if has_file == has_id:
                raise serializers.ValidationError(
                    {kind: [f"Give either {kind} (a file) or {kind}_upload_id, exactly one."]}
                )
        return attrs

    def options(self) -> dict[str, Any]:
        """The engine options of the request, under the API's names (as the job stores them)."""
        return {spec.name: self.validated_data[spec.name] for spec in OPTION_SPECS}


class UploadIn(StrictSerializer):
    kind = serializers.ChoiceField(choices=Upload.Kind.choices)
    file = serializers.FileField(allow_empty_file=False)


class UploadOut(serializers.ModelSerializer):
    class Meta:
        model = Upload
        fields = ["id", "kind", "content_type", "size_bytes", "sha256", "metadata", "created_at"]


class JobOut(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=JobStatus.choices)
    stage = serializers.CharField()
    progress = serializers.IntegerField(help_text="0-100")
    reason_codes = serializers.ListField(child=serializers.CharField())
    consent_id = serializers.UUIDField(allow_null=True)
    options = serializers.DictField()
    inputs = serializers.DictField(source="inputs_meta")
    output = serializers.SerializerMethodField()
    engine_name = serializers.CharField(help_text="The engine that rendered the output (empty before the render).")
    engine_version = serializers.CharField()
    attempts = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    links = serializers.SerializerMethodField()

    def get_output(self, job: Any) -> dict[str, Any] | None:
        return job.output_meta or None

    def get_links(self, job: Any) -> dict[str, str | None]:
        base = f"/v1/generations/{job.id}"
        return {
            "self": base,
            "cancel": None if job.is_final else f"{base}/cancel",
            "video": f"{base}/video" if job.status == JobStatus.SUCCEEDED else None,
        }


class JobFilterIn(StrictSerializer):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)
    consent_id = serializers.UUIDField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class UsageOut(serializers.Serializer):
    month_start = serializers.DateTimeField()
    video_seconds_used = serializers.FloatField()
    video_seconds_limit = serializers.IntegerField()
    video_seconds_remaining = serializers.FloatField()
    concurrent_jobs_active = serializers.IntegerField()
    concurrent_jobs_limit = serializers.IntegerField()
    max_audio_seconds = serializers.IntegerField()


# --- The review queue (consents and jobs) ---


class QueueFilterIn(StrictSerializer):
    type = serializers.ChoiceField(choices=["consent", "job"], required=False)


def _subject(subject: Subject) -> dict[str, str]:
    return {"id": str(subject.id), "name": subject.display_name, "kind": subject.kind}


class QueueItemOut(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.UUIDField()
    partner_id = serializers.UUIDField()
    partner = serializers.CharField()
    subject = serializers.DictField()
    reason_codes = serializers.ListField(child=serializers.CharField())
    report = serializers.DictField()
    links = serializers.DictField()
    created_at = serializers.DateTimeField()

    @staticmethod
    def for_consent(consent: Consent) -> dict[str, Any]:
        evidence = consent.evidence.first()
        return {
            "type": "consent",
            "id": consent.id,
            "partner_id": consent.partner_id,
            "partner": consent.partner.name,
            "subject": _subject(consent.subject),
            "reason_codes": consent.reason_codes,
            "report": consent.verification_report,
            "links": {
                "decide": f"/v1/review/consents/{consent.id}/decide",
                "evidence": f"/v1/review/consents/{consent.id}/evidence" if evidence else None,
            },
            "created_at": consent.created_at,
        }

    @staticmethod
    def for_job(job: Job) -> dict[str, Any]:
        subject = job.consent.subject if job.consent else None
        return {
            "type": "job",
            "id": job.id,
            "partner_id": job.partner_id,
            "partner": job.partner.name,
            "subject": _subject(subject) if subject else {},
            "reason_codes": job.reason_codes,
            "report": job.screening_report,
            "links": {"decide": f"/v1/review/jobs/{job.id}/decide"},
            "created_at": job.created_at,
        }
