"""Writes for subjects and consents, one file per idea; every write is audited, partner-facing ones scoped.

``lifecycle`` holds the one consent transition; the others are the flows that use it: ``subjects``,
``capture`` (statement, challenge, terms), ``evidence`` (recordings, verification, the review policy),
``live_capture`` (the hosted page's sessions), ``review``, ``revocation`` and ``protection`` (protected persons,
blocked phrases).
"""

from moderation.services.capture import (
    STATEMENT,
    STATEMENT_LEAD,
    TERMS,
    consent_create,
    consent_new_challenge,
    revocation_url,
    statement_text,
    terms_text,
)
from moderation.services.evidence import (
    REPLAY_CANDIDATES,
    VERIFY_EVIDENCE,
    auto_verify_allowed,
    evidence_submit,
    evidence_verify,
)
from moderation.services.lifecycle import (
    FINAL_CONSENT_STATUSES,
    consent_send_to_review,
    consent_transition,
    consents_expire,
)
from moderation.services.live_capture import (
    capture_chunk,
    capture_finish,
    capture_qr,
    capture_session_by_token,
    capture_session_create,
    capture_session_decline,
    capture_session_refresh,
    capture_session_transition,
    capture_sessions_expire,
    capture_start,
    capture_url,
)
from moderation.services.protection import (
    blocked_phrase_add,
    blocked_phrase_remove,
    protected_person_create,
    protected_person_remove,
)
from moderation.services.review import ReviewDecision, consent_review, evidence_viewed
from moderation.services.revocation import consent_by_revocation_token, consent_revoke
from moderation.services.subjects import embed_photos, subject_create

__all__ = [
    "FINAL_CONSENT_STATUSES",
    "REPLAY_CANDIDATES",
    "STATEMENT",
    "STATEMENT_LEAD",
    "TERMS",
    "VERIFY_EVIDENCE",
    "ReviewDecision",
    "auto_verify_allowed",
    "blocked_phrase_add",
    "blocked_phrase_remove",
    "capture_chunk",
    "capture_finish",
    "capture_qr",
    "capture_session_by_token",
    "capture_session_create",
    "capture_session_decline",
    "capture_session_refresh",
    "capture_session_transition",
    "capture_sessions_expire",
    "capture_start",
    "capture_url",
    "consent_by_revocation_token",
    "consent_create",
    "consent_new_challenge",
    "consent_review",
    "consent_revoke",
    "consent_send_to_review",
    "consent_transition",
    "consents_expire",
    "embed_photos",
    "evidence_submit",
    "evidence_verify",
    "evidence_viewed",
    "protected_person_create",
    "protected_person_remove",
    "revocation_url",
    "statement_text",
    "subject_create",
    "terms_text",
]
