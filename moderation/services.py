"""Writes for subjects, consents (capture, evidence, verification, review, revocation), protected persons and
the audio policy. Every write is audited; partner-facing ones are scoped to the partner."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from datetime import datetime, timedelta
from typing import IO, Any

import av
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.errors import Conflict, DomainError, Forbidden
from accounts.models import Partner, User
from generation import enqueue, inputs, storage
from moderation import faces
from moderation.models import (
    BlockedPhrase,
    Consent,
    ConsentEvidence,
    ConsentStatus,
    ProtectedPerson,
    ProtectedPersonPhoto,
    Subject,
    SubjectKind,
    SubjectReference,
)

VERIFY_EVIDENCE = "moderation.tasks.verify_evidence"
FINAL_CONSENT_STATUSES = (ConsentStatus.REJECTED, ConsentStatus.REVOKED, ConsentStatus.EXPIRED)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _consent_event(consent: Consent, status: str) -> None:
    """The partner's webhooks hear about consent decisions too (no personal data: ids, status, reasons)."""
    from generation.webhooks import notify

    notify(partner_id=consent.partner_id, event_type=f"consent.{status}",
           data={"id": str(consent.id), "subject_id": str(consent.subject_id), "status": status,
                 "reason_codes": list(consent.reason_codes or [])})  # fmt: skip


# --- Subjects ------------------------------------------------------------------------------------------------


def _embed_photos(photos: list[IO[bytes]], owner: str) -> list[tuple[bytes, list[float]]]:
    """Check each photo, then embed its one face; the error names which photo failed."""
    if not photos:
        raise DomainError("Give at least one reference photo.", code="photos_required")
    if len(photos) > settings.TALKGATE_MAX_REFERENCE_PHOTOS:
        raise DomainError(f"At most {settings.TALKGATE_MAX_REFERENCE_PHOTOS} photos.", code="too_many_photos")
    embedded = []
    for index, fileobj in enumerate(photos):
        try:
            checked = inputs.check_photo(fileobj)
            embedding = faces.single_embedding(checked.png, what=f"{owner} photo {index + 1}")
        except DomainError as exc:
            exc.details = {"photo_index": index}
            raise
        embedded.append((checked.png, embedding))
    return embedded


def subject_create(*, partner: Partner, display_name: str, kind: str, photos: list[IO[bytes]]) -> Subject:
    """Register a person or artwork with reference photos (exactly one face each) and their embeddings."""
    embedded = _embed_photos(photos, "reference")
    subject_id = uuid.uuid4()
    names = [
        storage.save_bytes(storage.input_name(partner.id, f"subject-{subject_id}", f"ref-{i}.png"), png)
        for i, (png, _) in enumerate(embedded)
    ]
    try:
        with transaction.atomic():
            subject = Subject.objects.create(id=subject_id, partner=partner, display_name=display_name, kind=kind)
            SubjectReference.objects.bulk_create(
                SubjectReference(subject=subject, photo=name, embedding=emb)
                for name, (_, emb) in zip(names, embedded, strict=True)
            )
            audit.record("subject.created", target=subject, partner_id=partner.id,
                         payload={"kind": kind, "references": len(names)})  # fmt: skip
    except Exception:
        for name in names:
            storage.delete(name)
        raise
    return subject


# --- Consents: capture ---------------------------------------------------------------------------------------

# What the subject says aloud: short, common words a keyword spotter hears reliably, then the challenge.
STATEMENT_LEAD = "I agree that my photo may be animated by this service. My challenge words are"
STATEMENT = STATEMENT_LEAD + " {challenge}."
# What the subject reads (and the consent record keeps): who, for what, until when.
TERMS = (
    "{name} agrees that {partner} may use their likeness through Talkgate to create talking videos for "
    "{use_case}, from {start} until {end}, at most {limit} times. Consent can be withdrawn at any time with the "
    "private link given with this consent."
)


def _new_challenge() -> tuple[str, datetime]:
    from moderation.verification import new_challenge_phrase

    return new_challenge_phrase(), timezone.now() + timedelta(seconds=settings.TALKGATE_CHALLENGE_TTL_S)


def statement_text(consent: Consent) -> str:
    """The words the subject says aloud in the recording (with the challenge phrase)."""
    return STATEMENT.format(challenge=consent.challenge_phrase)


def terms_text(consent: Consent) -> str:
    """What the subject agrees to, in full."""
    return TERMS.format(
        name=consent.subject.display_name,
        partner=consent.partner.name,
        use_case=consent.use_case.replace("_", " "),
        start=consent.valid_from.date().isoformat(),
        end=consent.valid_until.date().isoformat(),
        limit=consent.max_generations,
    )


def revocation_url(token: str) -> str:
    return f"{settings.TALKGATE_PUBLIC_BASE_URL.rstrip('/')}/revoke/{token}"


def consent_create(
    *,
    partner: Partner,
    subject: Subject,
    use_case: str,
    valid_from: datetime,
    valid_until: datetime,
    max_generations: int,
) -> tuple[Consent, str]:
    """Open a consent capture: statement + fresh challenge; returns the consent and its secret revocation token."""
    if use_case not in (partner.approved_use_cases or []):
        raise DomainError(
            f"The use case {use_case!r} is not among your approved ones.",
            code="use_case_not_approved",
            details={"approved": partner.approved_use_cases},
        )
    if valid_until <= valid_from or valid_until <= timezone.now():
        raise DomainError("valid_until must be after valid_from and in the future.", code="invalid_window")
    token = secrets.token_urlsafe(32)
    challenge, expires = _new_challenge()
    # An artwork has nobody to record a statement: a reviewer approves each such consent instead.
    status = ConsentStatus.NEEDS_REVIEW if subject.kind == SubjectKind.ARTWORK else ConsentStatus.PENDING
    with transaction.atomic():
        consent = Consent.objects.create(
            partner=partner, subject=subject, use_case=use_case, valid_from=valid_from, valid_until=valid_until,
            max_generations=max_generations, status=status, challenge_phrase=challenge,
            challenge_expires_at=expires, revocation_token_hash=_sha256(token),
        )  # fmt: skip
        consent.statement = statement_text(consent)
        consent.save(update_fields=["statement"])
        audit.record("consent.created", target=consent, partner_id=partner.id,
                     payload={"subject_id": str(subject.id), "use_case": use_case, "status": status})  # fmt: skip
    return consent, token


def consent_new_challenge(*, consent: Consent) -> Consent:
    """A fresh challenge phrase (and statement) for a capture that has not received evidence yet."""
    if consent.status != ConsentStatus.PENDING:
        raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
    challenge, expires = _new_challenge()
    with transaction.atomic():
        consent.challenge_phrase, consent.challenge_expires_at, consent.challenge_used_at = challenge, expires, None
        consent.statement = statement_text(consent)
        consent.save(update_fields=["challenge_phrase", "challenge_expires_at", "challenge_used_at", "statement"])
        audit.record("consent.challenge_renewed", target=consent, partner_id=consent.partner_id)
    return consent


def _check_recording(data: bytes) -> float:
    """The recording must decode as video with an audio track, within the length limit."""
    try:
        with av.open(io.BytesIO(data), metadata_errors="ignore") as container:
            if not container.streams.video or not container.streams.audio:
                raise DomainError("The recording needs a video and an audio track.", code="recording_invalid")
            duration = float(container.duration or 0) / av.time_base
            if not duration:
                stream = container.streams.video[0]
                duration = float((stream.duration or 0) * (stream.time_base or 0))
            next(container.decode(video=0))
    except DomainError:
        raise
    except (av.FFmpegError, StopIteration, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DomainError("The recording is not a decodable video.", code="recording_invalid") from exc
    if duration > settings.TALKGATE_MAX_RECORDING_SECONDS + 0.5:
        raise DomainError(f"Recordings may last {settings.TALKGATE_MAX_RECORDING_SECONDS} s at most.",
                          code="recording_too_long")  # fmt: skip
    return duration


def evidence_submit(*, consent: Consent, fileobj: IO[bytes]) -> ConsentEvidence:
    """Store the subject's recording (single use of the challenge) and queue its automatic verification."""
    if consent.status != ConsentStatus.PENDING:
        raise Conflict(f"The consent is {consent.status}; evidence is taken only while pending.",
                       code="consent_not_pending")  # fmt: skip
    now = timezone.now()
    if consent.challenge_used_at is not None:
        raise Conflict("This challenge phrase was already used; ask for a new one.", code="challenge_used")
    if consent.challenge_expires_at is None or consent.challenge_expires_at <= now:
        raise Conflict("The challenge phrase expired; ask for a new one.", code="challenge_expired")
    data = fileobj.read(settings.TALKGATE_MAX_RECORDING_BYTES + 1)
    if len(data) > settings.TALKGATE_MAX_RECORDING_BYTES:
        raise DomainError("The recording is too large.", code="recording_too_large", status=413)
    duration = _check_recording(data)
    evidence_id = uuid.uuid4()
    name = storage.save_bytes(
        storage.input_name(consent.partner_id, f"consent-{consent.id}", f"evidence-{evidence_id}.mp4"), data
    )
    try:
        with transaction.atomic():
            claimed = Consent.objects.filter(
                id=consent.id, status=ConsentStatus.PENDING, challenge_used_at__isnull=True
            ).update(status=ConsentStatus.VERIFYING, challenge_used_at=now, updated_at=now)
            if not claimed:
                raise Conflict("Evidence was already submitted for this challenge.", code="challenge_used")
            evidence = ConsentEvidence.objects.create(
                id=evidence_id, consent=consent, recording=name, size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(), challenge_phrase=consent.challenge_phrase,
            )  # fmt: skip
            audit.record("consent.evidence_received", target=consent, partner_id=consent.partner_id,
                         payload={"evidence_id": str(evidence_id), "duration_s": round(duration, 2)})  # fmt: skip
            enqueue.after_commit(VERIFY_EVIDENCE, evidence.id)
    except Exception:
        storage.delete(name)
        raise
    return evidence


def _generated_media_check() -> Any:
    """The provenance check (our watermark or an AI-generated C2PA manifest), once that library exists."""
    try:
        from provenance.checks import is_generated_media
    except ImportError:  # the provenance issue adds it
        return None
    return is_generated_media


def evidence_verify(*, evidence_id: object) -> str | None:
    """Run automatic verification of one recording and move the consent to verified, rejected or review."""
    evidence = ConsentEvidence.objects.select_related("consent", "consent__subject").filter(id=evidence_id).first()
    if evidence is None or evidence.decision or evidence.consent.status != ConsentStatus.VERIFYING:
        return None
    from moderation.verification import verify_recording

    consent = evidence.consent
    references = [r.embedding for r in consent.subject.references.all()]
    earlier = list(
        ConsentEvidence.objects.exclude(id=evidence.id).exclude(fingerprint={}).values_list("fingerprint", flat=True)
    )
    with storage.local_copy(evidence.recording) as path:
        report = verify_recording(
            str(path),
            references=references,
            # The library aligns the fixed lead first, then looks for the challenge words after it.
            statement=STATEMENT_LEAD,
            challenge=evidence.challenge_phrase,
            earlier_fingerprints=earlier,
            generated_media_check=_generated_media_check(),
        )
    body = report.as_dict()
    new_status = {
        "verified": ConsentStatus.VERIFIED,
        "rejected": ConsentStatus.REJECTED,
    }.get(report.decision, ConsentStatus.NEEDS_REVIEW)
    now = timezone.now()
    with transaction.atomic():
        ConsentEvidence.objects.filter(id=evidence.id).update(
            decision=report.decision, report=body, fingerprint=report.fingerprint, verified_at=now
        )
        moved = Consent.objects.filter(id=consent.id, status=ConsentStatus.VERIFYING).update(
            status=new_status, verification_report=body, reason_codes=list(report.reasons),
            verified_at=now if new_status == ConsentStatus.VERIFIED else None, updated_at=now,
        )  # fmt: skip
        if moved:
            audit.record(f"consent.{new_status}", target=consent, partner_id=consent.partner_id, actor="system",
                         payload={"evidence_id": str(evidence.id), "reasons": list(report.reasons)})  # fmt: skip
            consent.reason_codes = list(report.reasons)
            _consent_event(consent, new_status)
    return new_status if moved else None


# --- Review ----------------------------------------------------------------------------------------------------


def _no_conflict_of_interest(reviewer: User, partner_id: object) -> None:
    if reviewer.partner_id is not None and reviewer.partner_id == partner_id:
        raise Forbidden("Reviewers cannot review work of a partner they belong to.", code="conflict_of_interest")


def consent_review(
    *, consent: Consent, reviewer: User, approve: bool, comment: str, protected_person: ProtectedPerson | None = None
) -> Consent:
    """A reviewer's decision on a consent in review (artworks always come here)."""
    _no_conflict_of_interest(reviewer, consent.partner_id)
    if not comment.strip():
        raise DomainError("A decision needs a comment.", code="comment_required")
    now = timezone.now()
    new = ConsentStatus.VERIFIED if approve else ConsentStatus.REJECTED
    with transaction.atomic():
        moved = Consent.objects.filter(id=consent.id, status=ConsentStatus.NEEDS_REVIEW).update(
            status=new, reviewed_by=reviewer, reviewed_at=now, review_comment=comment, updated_at=now,
            verified_at=now if approve else None,
            approved_protected_person=protected_person if approve else None,
            reason_codes=[] if approve else ["reviewer_rejected"],
        )  # fmt: skip
        if not moved:
            consent.refresh_from_db()
            raise Conflict(f"The consent is {consent.status}, not in review.", code="not_in_review")
        audit.record(f"consent.review_{'approved' if approve else 'rejected'}", target=consent,
                     partner_id=consent.partner_id, actor=f"user:{reviewer.pk}",
                     payload={"comment": comment, "protected_person_id": str(protected_person.id)
                              if protected_person else None})  # fmt: skip
        consent.refresh_from_db()
        _consent_event(consent, consent.status)
    return consent


def job_review(*, job_id: object, reviewer: User, approve: bool, comment: str) -> Any:
    """A reviewer's decision on a job in review: approved jobs are queued for rendering, others rejected."""
    from generation import pipeline
    from generation.models import Job, JobStatus

    job = Job.objects.filter(id=job_id).first()
    if job is None:
        from accounts.errors import NotFound

        raise NotFound("No such job.", code="job_not_found")
    _no_conflict_of_interest(reviewer, job.partner_id)
    if not comment.strip():
        raise DomainError("A decision needs a comment.", code="comment_required")
    if job.status != JobStatus.NEEDS_REVIEW:
        raise Conflict(f"The job is {job.status}, not in review.", code="not_in_review")
    audit.record(f"job.review_{'approved' if approve else 'rejected'}", target=job, partner_id=job.partner_id,
                 actor=f"user:{reviewer.pk}", payload={"comment": comment})  # fmt: skip
    return pipeline.review_decided(job_id=str(job.id), approve=approve, reviewer_id=reviewer.pk)


# --- Revocation ------------------------------------------------------------------------------------------------


def consent_revoke(*, consent: Consent, actor: str, reason: str = "") -> Consent:
    """Withdraw consent for good: queued jobs are cancelled, finished outputs marked revoked."""
    from generation.models import ACTIVE_STATUSES, Job, JobStatus
    from generation.services import job_transition

    now = timezone.now()
    with transaction.atomic():
        moved = (
            Consent.objects.filter(id=consent.id)
            .exclude(status=ConsentStatus.REVOKED)
            .update(status=ConsentStatus.REVOKED, revoked_at=now, revoked_by=actor[:80], updated_at=now)
        )
        if not moved:
            raise Conflict("The consent is already revoked.", code="consent_revoked")
        audit.record("consent.revoked", target=consent, partner_id=consent.partner_id, actor=actor,
                     payload={"reason": reason[:500]})  # fmt: skip
        _consent_event(consent, ConsentStatus.REVOKED)
        for job_id in Job.objects.filter(consent=consent, status__in=ACTIVE_STATUSES).values_list("id", flat=True):
            job_transition(job_id=job_id, expected=ACTIVE_STATUSES, new=JobStatus.CANCELLED,
                           fields={"reason_codes": ["consent_revoked"], "cancel_requested": True,
                                   "stage": "cancelled"})  # fmt: skip
        for job_id in Job.objects.filter(consent=consent, status=JobStatus.SUCCEEDED).values_list("id", flat=True):
            job_transition(job_id=job_id, expected=[JobStatus.SUCCEEDED], new=JobStatus.REVOKED,
                           fields={"reason_codes": ["consent_revoked"], "stage": "revoked"})  # fmt: skip
    consent.refresh_from_db()
    return consent


def consent_by_revocation_token(token: str) -> Consent | None:
    """The consent a subject's secret link names, if any."""
    if not token or len(token) > 200:
        return None
    return Consent.objects.select_related("subject", "partner").filter(revocation_token_hash=_sha256(token)).first()


# --- Protected persons and the audio policy -------------------------------------------------------------------


def protected_person_create(*, name: str, notes: str, photos: list[IO[bytes]], reviewer: User) -> ProtectedPerson:
    """Enrol someone in the protected gallery with photos of their face."""
    embedded = _embed_photos(photos, "protected person")
    person_id = uuid.uuid4()
    names = [storage.save_bytes(f"protected/{person_id}/photo-{i}.png", png) for i, (png, _) in enumerate(embedded)]
    with transaction.atomic():
        person = ProtectedPerson.objects.create(id=person_id, name=name, notes=notes, created_by=reviewer)
        ProtectedPersonPhoto.objects.bulk_create(
            ProtectedPersonPhoto(person=person, photo=n, embedding=emb)
            for n, (_, emb) in zip(names, embedded, strict=True)
        )
        audit.record("protected_person.enrolled", target=person, actor=f"user:{reviewer.pk}",
                     payload={"name": name, "photos": len(names)})  # fmt: skip
    return person


def protected_person_remove(*, person: ProtectedPerson, reviewer: User) -> ProtectedPerson:
    with transaction.atomic():
        ProtectedPerson.objects.filter(id=person.id, active=True).update(active=False, removed_at=timezone.now())
        audit.record("protected_person.removed", target=person, actor=f"user:{reviewer.pk}",
                     payload={"name": person.name})  # fmt: skip
    person.refresh_from_db()
    return person


def blocked_phrase_add(*, phrase: str, reviewer: User) -> BlockedPhrase:
    cleaned = " ".join(phrase.lower().split())
    if not cleaned:
        raise DomainError("The phrase is empty.", code="phrase_invalid")
    with transaction.atomic():
        item, created = BlockedPhrase.objects.get_or_create(phrase=cleaned, defaults={"created_by": reviewer})
        if not created and not item.active:
            BlockedPhrase.objects.filter(id=item.id).update(active=True)
        audit.record("policy.phrase_added", target=item, actor=f"user:{reviewer.pk}", payload={"phrase": cleaned})
    item.refresh_from_db()
    return item


def blocked_phrase_remove(*, item: BlockedPhrase, reviewer: User) -> None:
    with transaction.atomic():
        BlockedPhrase.objects.filter(id=item.id).update(active=False)
        audit.record("policy.phrase_removed", target=item, actor=f"user:{reviewer.pk}", payload={"phrase": item.phrase})


def consents_expire(*, now: datetime | None = None) -> int:
    """Mark consents past their window as expired (screening already refuses them; this keeps lists honest)."""
    now = now or timezone.now()
    open_statuses = [ConsentStatus.PENDING, ConsentStatus.VERIFYING, ConsentStatus.VERIFIED, ConsentStatus.NEEDS_REVIEW]
    expired = 0
    for consent in Consent.objects.filter(status__in=open_statuses, valid_until__lte=now).only("id", "partner_id"):
        with transaction.atomic():
            moved = Consent.objects.filter(id=consent.id, status__in=open_statuses).update(
                status=ConsentStatus.EXPIRED, updated_at=now
            )
            if moved:
                audit.record("consent.expired", target=consent, partner_id=consent.partner_id, actor="system")
                _consent_event(consent, ConsentStatus.EXPIRED)
                expired += 1
    return expired


def consent_send_to_review(*, consent: Consent, note: str, actor: str) -> Consent:
    """Hand a pending capture to a reviewer without a recording (e.g. the subject cannot record one)."""
    with transaction.atomic():
        moved = Consent.objects.filter(id=consent.id, status=ConsentStatus.PENDING).update(
            status=ConsentStatus.NEEDS_REVIEW, reason_codes=["sent_to_review"], updated_at=timezone.now()
        )
        if not moved:
            raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
        audit.record("consent.sent_to_review", target=consent, partner_id=consent.partner_id, actor=actor,
                     payload={"note": note[:500]})  # fmt: skip
    consent.refresh_from_db()
    return consent
