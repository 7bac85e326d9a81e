"""Consent verification: faces, recordings and speech (a plain library, no Django)."""

from .faces import DEFAULT_MATCH_DISTANCE, Face, FaceError, FaceModel, get_face_model, load_image, match_gallery
from .fingerprint import index_keys, make_fingerprint, replay_scores
from .media import MediaError, decode_audio, decode_recording
from .report import NEEDS_REVIEW, REJECTED, VERIFIED, EvidenceReport, Thresholds
from .speech import CHALLENGE_WORDS, check_spoken, find_phrases, new_challenge_phrase, transcribe, unknown_words
from .verify import verify_recording

__all__ = [
    "CHALLENGE_WORDS",
    "DEFAULT_MATCH_DISTANCE",
    "NEEDS_REVIEW",
    "REJECTED",
    "VERIFIED",
    "EvidenceReport",
    "Face",
    "FaceError",
    "FaceModel",
    "MediaError",
    "Thresholds",
    "check_spoken",
    "decode_audio",
    "decode_recording",
    "find_phrases",
    "get_face_model",
    "index_keys",
    "load_image",
    "make_fingerprint",
    "match_gallery",
    "new_challenge_phrase",
    "replay_scores",
    "transcribe",
    "unknown_words",
    "verify_recording",
]
