"""Validation and output shapes for subjects, consents, evidence, protected persons and the review queue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from accounts.models import UseCase
from core.api import StrictSerializer
from moderation.models import (
    BlockedPhrase,
    CaptureSession,
    Consent,
    ConsentStatus,
    ProtectedPerson,
    Subject,
    SubjectKind,
)


class SubjectCreateIn(StrictSerializer):
    display_name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=SubjectKind.choices, default=SubjectKind.PERSON)
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=False), min_length=1, max_length=5)


class SubjectOut(serializers.ModelSerializer):
    references = serializers.SerializerMethodField()

    class Meta:
        model = Subject
        fields = ["id", "display_name", "kind", "references", "created_at"]

    def get_references(self, subject: Subject) -> int:
        return subject.references.count()


class ConsentCreateIn(StrictSerializer):
    use_case = serializers.ChoiceField(choices=UseCase.choices)
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField()
    max_generations = serializers.IntegerField(min_value=1, max_value=100_000)


class ConsentOut(serializers.ModelSerializer):
    """What a partner sees of a consent: decisions and reason codes, never scores, thresholds or fingerprints."""

    subject_id = serializers.UUIDField()
    terms = serializers.SerializerMethodField()
    attempts_left = serializers.SerializerMethodField(help_text="Recordings that may still be rejected before "
                                                      "the consent locks for a reviewer.")  # fmt: skip

    class Meta:
        model = Consent
        fields = ["id", "subject_id", "use_case", "valid_from", "valid_until", "max_generations", "generations_used",
                  "status", "reason_codes", "attempts_left", "terms", "statement", "challenge_phrase",
                  "challenge_expires_at", "verified_at", "revoked_at", "created_at"]  # fmt: skip

    def get_terms(self, consent: Consent) -> str:
        from moderation.services import terms_text

        return terms_text(consent)

    def get_attempts_left(self, consent: Consent) -> int:
        return max(0, settings.TALKGATE_MAX_REJECTED_RECORDINGS - consent.rejected_attempts)


class ConsentReviewOut(ConsentOut):
    """A reviewer's view: the verification report (scores, thresholds, timings) and the review."""

    partner_id = serializers.UUIDField()
    evidence = serializers.SerializerMethodField()

    class Meta(ConsentOut.Meta):
        fields = [*ConsentOut.Meta.fields, "partner_id", "rejected_attempts", "verification_report", "evidence",
                  "review_comment", "reviewed_at"]  # fmt: skip

    def get_evidence(self, consent: Consent) -> list[dict[str, Any]]:
        return [{"id": str(e.id), "source": e.source, "decision": e.decision, "size_bytes": e.size_bytes,
                 "created_at": e.created_at.isoformat(), "report": e.report, "fingerprint": e.fingerprint}
                for e in consent.evidence.all()]  # fmt: skip


class ConsentCreatedOut(ConsentOut):
    revocation_url = serializers.SerializerMethodField(help_text="Secret, shown once: give it to the subject.")

    class Meta(ConsentOut.Meta):
        fields = [*ConsentOut.Meta.fields, "revocation_url"]

    def get_revocation_url(self, consent: Consent) -> str:
        return self.context["revocation_url"]


class ConsentFilterIn(StrictSerializer):
    status = serializers.ChoiceField(choices=ConsentStatus.choices, required=False)
    subject_id = serializers.UUIDField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class EvidenceIn(StrictSerializer):
    recording = serializers.FileField(allow_empty_file=False)


class EvidenceOut(serializers.Serializer):
    id = serializers.UUIDField()
    consent_id = serializers.UUIDField()
    status = serializers.CharField()


class RevokeConsentIn(StrictSerializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReviewDecisionIn(StrictSerializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    comment = serializers.CharField(max_length=5000)


class ConsentDecisionIn(StrictSerializer):
    decision = serializers.ChoiceField(
        choices=["approve", "reject", "unlock"], help_text="unlock: back to pending, so the subject may record again"
    )
    comment = serializers.CharField(max_length=5000)
    protected_person_id = serializers.UUIDField(required=False, allow_null=True, default=None)


class ProtectedPersonIn(StrictSerializer):
    name = serializers.CharField(max_length=200)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    photos = serializers.ListField(child=serializers.FileField(allow_empty_file=False), min_length=1, max_length=5)


class ProtectedPersonOut(serializers.ModelSerializer):
    photos = serializers.SerializerMethodField()

    class Meta:
        model = ProtectedPerson
        fields = ["id", "name", "notes", "active", "photos", "created_at", "removed_at"]

    def get_photos(self, person: ProtectedPerson) -> int:
        return person.photos.count()


class BlockedPhraseIn(StrictSerializer):
    phrase = serializers.CharField(max_length=200)


class BlockedPhraseOut(serializers.ModelSerializer):
    class Meta:
        model = BlockedPhrase
        fields = ["id", "phrase", "active", "created_at"]


class CaptureSessionOut(serializers.ModelSerializer):
    """What a partner sees of a live capture: its status and reasons, never the words, prompts or timings."""

    consent_id = serializers.UUIDField()

    class Meta:
        model = CaptureSession
        fields = ["id", "consent_id", "status", "reason_codes", "expires_at", "created_at", "started_at",
                  "submitted_at", "decided_at"]  # fmt: skip


class CaptureSessionCreatedOut(CaptureSessionOut):
    capture_url = serializers.SerializerMethodField(help_text="Secret, shown once: give it to the subject.")
    qr_svg = serializers.SerializerMethodField(help_text="The link as a QR code (SVG).")
    qr_png_base64 = serializers.SerializerMethodField(help_text="The link as a QR code (PNG, base64).")

    class Meta(CaptureSessionOut.Meta):
        fields = [*CaptureSessionOut.Meta.fields, "capture_url", "qr_svg", "qr_png_base64"]

    def get_capture_url(self, session: CaptureSession) -> str:
        return self.context["capture_url"]

    def get_qr_svg(self, session: CaptureSession) -> str:
        return self.context["qr"]["svg"]

    def get_qr_png_base64(self, session: CaptureSession) -> str:
        return self.context["qr"]["png_base64"]
