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
from accounts.errors import Conflict, DomainError, Forbidden, TooMany
from accounts.models import Partner, User
from generation import enqueue, inputs, storage
from moderation import faces
from moderation.models import (
    BlockedPhrase,
    Consent,
    ConsentEvidence,
    ConsentStatus,
    EvidenceSource,
    FingerprintKey,
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


def consent_transition(
    *,
    consent: Consent,
    expected: tuple[str, ...] | list[str],
    new: str,
    event: str | None = None,
    actor: str = "system",
    fields: dict[str, Any] | None = None,
    payload: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
) -> bool:
    """The one way a consent changes status: a guarded update, then its audit entry and webhook, or nothing.

    Call inside ``transaction.atomic`` when other writes must land with it. Returns whether it moved.
    """
    now = timezone.now()
    moved = Consent.objects.filter(id=consent.id, status__in=list(expected), **(where or {})).update(
        status=new, updated_at=now, **(fields or {})
    )
    if not moved:
        return False
    consent.refresh_from_db()
    body = {"from": list(expected), "reasons": list(consent.reason_codes or []), **(payload or {})}
    audit.record(event or f"consent.{new}", target=consent, partner_id=consent.partner_id, actor=actor, payload=body)
    _consent_event(consent, new)
    return True


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
    artwork = subject.kind == SubjectKind.ARTWORK
    status = ConsentStatus.NEEDS_REVIEW if artwork else ConsentStatus.PENDING
    with transaction.atomic():
        consent = Consent.objects.create(
            partner=partner, subject=subject, use_case=use_case, valid_from=valid_from, valid_until=valid_until,
            max_generations=max_generations, status=status, challenge_phrase=challenge,
            challenge_expires_at=expires, revocation_token_hash=_sha256(token),
            challenge_history=[timezone.now().isoformat()], reason_codes=["artwork_review"] if artwork else [],
        )  # fmt: skip
        consent.statement = statement_text(consent)
        consent.save(update_fields=["statement"])
        audit.record("consent.created", target=consent, partner_id=partner.id,
                     payload={"subject_id": str(subject.id), "use_case": use_case, "status": status})  # fmt: skip
    return consent, token


def _may_retry(consent: Consent) -> bool:
    """A recording the checks rejected may be followed by another, up to the attempt limit; a reviewer's no is final."""
    return (
        consent.status == ConsentStatus.REJECTED
        and consent.reviewed_by_id is None
        and consent.rejected_attempts < settings.TALKGATE_MAX_REJECTED_RECORDINGS
    )


def consent_new_challenge(*, consent: Consent) -> Consent:
    """A fresh challenge phrase (and statement): for a pending capture, or a retry after a rejected recording.

    At most TALKGATE_CHALLENGES_PER_HOUR per consent (429 with Retry-After), so nobody can fish for words.
    """
    with transaction.atomic():
        consent = Consent.objects.select_for_update().get(id=consent.id)
        if consent.status != ConsentStatus.PENDING and not _may_retry(consent):
            raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
        now = timezone.now()
        recent = sorted(t for t in consent.challenge_history if datetime.fromisoformat(t) > now - timedelta(hours=1))
        if len(recent) >= settings.TALKGATE_CHALLENGES_PER_HOUR:
            wait = (datetime.fromisoformat(recent[0]) + timedelta(hours=1) - now).total_seconds()
            raise TooMany(f"At most {settings.TALKGATE_CHALLENGES_PER_HOUR} new challenges per consent per hour.",
                          code="challenge_limit", retry_after=wait)  # fmt: skip
        challenge, expires = _new_challenge()
        consent.challenge_phrase, consent.challenge_expires_at, consent.challenge_used_at = challenge, expires, None
        consent.challenge_history = [*recent, now.isoformat()]
        consent.statement = statement_text(consent)
        consent.save(update_fields=["challenge_phrase", "challenge_expires_at", "challenge_used_at", "statement",
                                    "challenge_history"])  # fmt: skip
        audit.record("consent.challenge_renewed", target=consent, partner_id=consent.partner_id)
        if consent.status == ConsentStatus.REJECTED:
            consent_transition(consent=consent, expected=[ConsentStatus.REJECTED], new=ConsentStatus.PENDING,
                               event="consent.retry_opened", actor="partner",
                               fields={"reason_codes": []})  # fmt: skip
    return consent


def _check_recording(data: bytes) -> float:
    """The recording must decode as video with an audio track, and really last no longer than the limit.

    The length is read from the packets, not the header (a WebM without a duration header says nothing), and
    reading stops just past the limit: nothing of a too-long recording is decoded or stored.
    """
    from moderation.verification.media import MediaError, measure_duration

    limit = settings.TALKGATE_MAX_RECORDING_SECONDS
    try:
        with av.open(io.BytesIO(data), metadata_errors="ignore") as container:
            if not container.streams.video or not container.streams.audio:
                raise DomainError("The recording needs a video and an audio track.", code="recording_invalid")
            next(container.decode(video=0))
        duration = measure_duration(io.BytesIO(data), limit + 0.5)
    except DomainError:
        raise
    except (av.FFmpegError, MediaError, StopIteration, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DomainError("The recording is not a decodable video.", code="recording_invalid") from exc
    if duration > limit + 0.5:
        raise DomainError(f"Recordings may last {limit} s at most.", code="recording_too_long")
    return duration


def evidence_submit(*, consent: Consent, fileobj: IO[bytes], source: str = EvidenceSource.UPLOAD) -> ConsentEvidence:
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
            claimed = consent_transition(
                consent=consent, expected=[ConsentStatus.PENDING], new=ConsentStatus.VERIFYING,
                event="consent.evidence_received", actor="partner", where={"challenge_used_at__isnull": True},
                fields={"challenge_used_at": now, "reason_codes": []},
                payload={"evidence_id": str(evidence_id), "duration_s": round(duration, 2), "source": source},
            )  # fmt: skip
            if not claimed:
                raise Conflict("Evidence was already submitted for this challenge.", code="challenge_used")
            evidence = ConsentEvidence.objects.create(
                id=evidence_id, consent=consent, recording=name, size_bytes=len(data), source=source,
                sha256=hashlib.sha256(data).hexdigest(), challenge_phrase=consent.challenge_phrase,
            )  # fmt: skip
            enqueue.after_commit(VERIFY_EVIDENCE, evidence.id)
    except Exception:
        storage.delete(name)
        raise
    return evidence


def _generated_media_check() -> Any:
    """The provenance check: our watermark (service and engine outputs) or an AI-generated C2PA manifest."""
    from provenance.checks import generated_media_reading

    return generated_media_reading


# How many earlier recordings, found through the index, are compared in full: a fixed bound, so one
# verification costs the same however many recordings are stored.
REPLAY_CANDIDATES = 20


def _replay_lookup(exclude_id: object) -> Any:
    """Earlier fingerprints that share index keys with a new one (of any subject, of any partner)."""
    from django.db.models import Count

    from moderation.verification.fingerprint import index_keys

    def lookup(fingerprint: dict[str, Any]) -> list[dict[str, Any]]:
        keys = index_keys(fingerprint)
        if not keys:
            return []
        best = (
            FingerprintKey.objects.filter(key__in=keys)
            .exclude(evidence_id=exclude_id)
            .values("evidence_id")
            .annotate(hits=Count("id"))
            .order_by("-hits")[:REPLAY_CANDIDATES]
        )
        ids = [row["evidence_id"] for row in best]
        return list(ConsentEvidence.objects.filter(id__in=ids).values_list("fingerprint", flat=True))

    return lookup


def auto_verify_allowed(partner: Partner) -> bool:
    """Whether a consent of this partner may become verified without a reviewer (both switches on)."""
    return settings.TALKGATE_CONSENT_AUTO_VERIFY and partner.consent_auto_verify


def _outcome(consent: Consent, evidence: ConsentEvidence, decision: str, reasons: list[str]) -> tuple[str, list[str]]:
    """The consent's next status and its reason codes, from the checks' decision and the review policy."""
    if decision == "rejected":
        if consent.rejected_attempts + 1 >= settings.TALKGATE_MAX_REJECTED_RECORDINGS:
            return ConsentStatus.NEEDS_REVIEW, ["too_many_attempts", *reasons]
        return ConsentStatus.REJECTED, reasons
    review = list(reasons)  # borderline checks, when the decision is needs_review
    if evidence.source != EvidenceSource.LIVE:
        review.append("uploaded_evidence")
    if not auto_verify_allowed(consent.partner):
        review.append("policy_review")
    return (ConsentStatus.NEEDS_REVIEW, review) if review else (ConsentStatus.VERIFIED, [])


def evidence_verify(*, evidence_id: object) -> str | None:
    """Run automatic verification of one recording and move the consent on (verified only by policy)."""
    evidence = (
        ConsentEvidence.objects.select_related("consent", "consent__subject", "consent__partner")
        .filter(id=evidence_id)
        .first()
    )
    if evidence is None or evidence.decision or evidence.consent.status != ConsentStatus.VERIFYING:
        return None
    from moderation.verification import index_keys, verify_recording

    consent = evidence.consent
    references = [r.embedding for r in consent.subject.references.all()]
    with storage.local_copy(evidence.recording) as path:
        report = verify_recording(
            str(path),
            references=references,
            # The library aligns the fixed lead first, then looks for the challenge words after it.
            statement=STATEMENT_LEAD,
            challenge=evidence.challenge_phrase,
            replay_lookup=_replay_lookup(evidence.id),
            generated_media_check=_generated_media_check(),
        )
    body = report.as_dict()
    new_status, reasons = _outcome(consent, evidence, report.decision, list(report.reasons))
    now = timezone.now()
    with transaction.atomic():
        ConsentEvidence.objects.filter(id=evidence.id).update(
            decision=report.decision, report=body, fingerprint=report.fingerprint, verified_at=now
        )
        FingerprintKey.objects.filter(evidence_id=evidence.id).delete()
        FingerprintKey.objects.bulk_create(
            FingerprintKey(evidence_id=evidence.id, key=k) for k in index_keys(report.fingerprint)
        )
        attempts = consent.rejected_attempts + (report.decision == "rejected")
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.VERIFYING], new=new_status,
            fields={"verification_report": body, "reason_codes": reasons, "rejected_attempts": attempts,
                    "verified_at": now if new_status == ConsentStatus.VERIFIED else None},
            payload={"evidence_id": str(evidence.id), "source": evidence.source},
        )  # fmt: skip
    return new_status if moved else None


# --- Review ----------------------------------------------------------------------------------------------------


def _no_conflict_of_interest(reviewer: User, partner_id: object) -> None:
    if reviewer.partner_id is not None and reviewer.partner_id == partner_id:
        raise Forbidden("Reviewers cannot review work of a partner they belong to.", code="conflict_of_interest")


class ReviewDecision:
    """What a reviewer may decide on a consent in review."""

    APPROVE = "approve"
    REJECT = "reject"
    # Back to pending with the attempt count reset: the subject may record again (after too_many_attempts).
    UNLOCK = "unlock"


_REVIEW_EVENTS = {
    ReviewDecision.APPROVE: "consent.review_approved",
    ReviewDecision.REJECT: "consent.review_rejected",
    ReviewDecision.UNLOCK: "consent.review_unlocked",
}


def consent_review(
    *, consent: Consent, reviewer: User, decision: str, comment: str, protected_person: ProtectedPerson | None = None
) -> Consent:
    """A reviewer's decision on a consent in review: approve, reject (final) or unlock for another recording."""
    _no_conflict_of_interest(reviewer, consent.partner_id)
    if not comment.strip():
        raise DomainError("A decision needs a comment.", code="comment_required")
    now = timezone.now()
    review = {"reviewed_by": reviewer, "reviewed_at": now, "review_comment": comment}
    if decision == ReviewDecision.APPROVE:
        new, fields = ConsentStatus.VERIFIED, {**review, "verified_at": now, "reason_codes": [],
                                               "approved_protected_person": protected_person}  # fmt: skip
    elif decision == ReviewDecision.REJECT:
        new, fields = ConsentStatus.REJECTED, {**review, "verified_at": None, "reason_codes": ["reviewer_rejected"]}
    elif decision == ReviewDecision.UNLOCK:
        # reviewed_by stays empty: an unlocked consent is not a reviewer's final word.
        new, fields = ConsentStatus.PENDING, {"rejected_attempts": 0, "reason_codes": [], "review_comment": comment}
    else:
        raise DomainError(f"Unknown decision {decision!r}.", code="validation_error")
    with transaction.atomic():
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.NEEDS_REVIEW], new=new,
            event=_REVIEW_EVENTS[decision],
            actor=f"user:{reviewer.pk}", fields=fields,
            payload={"comment": comment,
                     "protected_person_id": str(protected_person.id) if protected_person else None},
        )  # fmt: skip
        if not moved:
            consent.refresh_from_db()
            raise Conflict(f"The consent is {consent.status}, not in review.", code="not_in_review")
    return consent


def evidence_viewed(*, consent: Consent, reviewer: User, what: str) -> None:
    """Record that a reviewer read a consent's evidence (its recording, or its report with biometric data)."""
    audit.record("consent.evidence_viewed", target=consent, partner_id=consent.partner_id,
                 actor=f"user:{reviewer.pk}", payload={"what": what})  # fmt: skip


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
    open_statuses = [c for c in ConsentStatus.values if c != ConsentStatus.REVOKED]
    with transaction.atomic():
        moved = consent_transition(consent=consent, expected=open_statuses, new=ConsentStatus.REVOKED, actor=actor,
                                   fields={"revoked_at": now, "revoked_by": actor[:80]},
                                   payload={"reason": reason[:500]})  # fmt: skip
        if not moved:
            raise Conflict("The consent is already revoked.", code="consent_revoked")
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
    for consent in Consent.objects.filter(status__in=open_statuses, valid_until__lte=now):
        with transaction.atomic():
            expired += consent_transition(consent=consent, expected=open_statuses, new=ConsentStatus.EXPIRED,
                                          where={"valid_until__lte": now})  # fmt: skip
    return expired


def consent_send_to_review(*, consent: Consent, note: str, actor: str) -> Consent:
    """Hand a pending capture to a reviewer without a recording (e.g. the subject cannot record one)."""
    with transaction.atomic():
        moved = consent_transition(
            consent=consent, expected=[ConsentStatus.PENDING], new=ConsentStatus.NEEDS_REVIEW,
            event="consent.sent_to_review", actor=actor,
            fields={"reason_codes": ["sent_to_review"]}, payload={"note": note[:500]},
        )  # fmt: skip
        if not moved:
            consent.refresh_from_db()
            raise Conflict(f"The consent is {consent.status}.", code="consent_not_pending")
    return consent
