"""The live recording protocol: chunks about every second, prompts revealed while recording, resume, finish."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.errors import DomainError
from moderation import services
from moderation.models import CaptureChunk, CaptureStatus, ConsentEvidence, ConsentStatus, EvidenceSource
from moderation.verification import CHALLENGE_WORDS
from tests.conftest import PartnerActor
from tests.moderation.capture_helpers import install_clock, record, small_webm, split, started
from tests.moderation.test_capture_sessions import open_link, pending_consent, token_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _short_windows(settings) -> None:  # type: ignore[no-untyped-def]
    """Short prompt windows, so a whole capture fits in a dozen chunks."""
    settings.TALKGATE_CAPTURE_LEAD_S = 2.0
    settings.TALKGATE_CAPTURE_STATEMENT_WINDOW_S = 3.0
    settings.TALKGATE_CAPTURE_MOVE_WINDOW_S = 2.0


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    return install_clock(monkeypatch)


def code_of(call) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


def test_prompts_are_revealed_one_at_a_time_after_the_first_seconds_of_video(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    session, key = started(pending_consent(alice))
    answers = record(session, key, [b"x" * 100] * 12, clock)
    assert [a["prompt"] for a in answers[:1]] == [None], "nothing is shown before the first seconds arrived"
    shown = [a["prompt"]["kind"] for a in answers if a["prompt"]]
    order = [k for i, k in enumerate(shown) if i == 0 or shown[i - 1] != k]
    session.refresh_from_db()
    assert order == [p["kind"] for p in session.prompts], "in the server's order, each once"
    assert "statement" in order and 2 <= len(order) - 1 <= 3
    assert len(set(order)) == len(order)
    assert answers[-1]["done"] and answers[-1]["prompt"] is None
    words = session.challenge_phrase.split()
    assert len(words) == 3 and set(words) <= set(CHALLENGE_WORDS)
    statement = next(p for p in session.prompts if p["kind"] == "statement")
    assert statement["text"].endswith(session.challenge_phrase + ".")
    reveals = [datetime.fromisoformat(p["revealed_at"]) for p in session.prompts]
    deadlines = [datetime.fromisoformat(p["deadline_at"]) for p in session.prompts]
    assert reveals == sorted(reveals) and all(r >= d for r, d in zip(reveals[1:], deadlines, strict=False))
    first_chunk = CaptureChunk.objects.get(session=session, seq=0).received_at
    assert (reveals[0] - first_chunk).total_seconds() >= 1.0
    arrivals = list(CaptureChunk.objects.filter(session=session).values_list("received_at", flat=True))
    assert arrivals == sorted(arrivals) and len(arrivals) == 12


def test_the_words_are_fresh_for_every_capture_and_not_the_consents_own(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    phrases = set()
    for _ in range(3):
        session, key = started(pending_consent(alice))
        record(session, key, [b"x"] * 12, clock)
        session.refresh_from_db()
        phrases.add(session.challenge_phrase)
    assert len(phrases) == 3 and "tiger orange piano" not in phrases


def test_a_chunk_sent_again_is_acknowledged_and_a_gap_or_a_changed_copy_refused(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    session, key = started(pending_consent(alice))
    record(session, key, [b"a", b"b"], clock)
    again = services.capture_chunk(session=session, upload_key=key, seq=1, data=b"b")
    assert again["received"] == 1 and CaptureChunk.objects.filter(session=session).count() == 2
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=1, data=b"c")) == (
        "chunk_conflict"
    )
    with pytest.raises(DomainError) as gap:
        services.capture_chunk(session=session, upload_key=key, seq=5, data=b"f")
    assert gap.value.code == "chunk_out_of_order" and gap.value.details == {"expected": 2}


def test_chunks_are_bounded_in_size_count_and_total(alice: PartnerActor, clock, settings) -> None:  # type: ignore[no-untyped-def]
    session, key = started(pending_consent(alice))
    settings.TALKGATE_CAPTURE_MAX_CHUNK_BYTES = 1000
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=0, data=b"x" * 1001)) == (
        "chunk_too_large"
    )
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=0, data=b"")) == "chunk_empty"
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=90, data=b"x")) == (
        "capture_too_many_chunks"
    )
    settings.TALKGATE_MAX_RECORDING_BYTES = 1500
    record(session, key, [b"x" * 1000], clock)
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=1, data=b"x" * 600)) == (
        "recording_too_large"
    )
    settings.TALKGATE_MAX_RECORDING_SECONDS = 5
    clock.tick(6)
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=1, data=b"x")) == (
        "recording_too_long"
    )


def test_only_the_browser_that_started_may_add_to_the_recording(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    session, _ = started(pending_consent(alice))
    assert code_of(lambda: services.capture_chunk(session=session, upload_key="guess", seq=0, data=b"x")) == (
        "capture_key_invalid"
    )
    assert code_of(lambda: services.capture_start(session=session, mime_type="video/webm")) == "capture_link_used"


def test_a_dropped_connection_resumes_within_seconds_else_the_recording_restarts(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    session, key = started(pending_consent(alice))
    record(session, key, [b"a", b"b", b"c", b"d"], clock)
    clock.tick(5)  # a short drop: the same sequence goes on
    assert services.capture_chunk(session=session, upload_key=key, seq=4, data=b"e")["received"] == 4
    assert code_of(lambda: services.capture_start(session=session, mime_type="video/webm", upload_key=key)) == (
        "capture_resumable"
    )
    session.refresh_from_db()
    revealed = [p["text"] for p in session.prompts if p["revealed_at"]]
    assert revealed
    clock.tick(9)  # too long: what was revealed is spent
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=5, data=b"f")) == (
        "capture_interrupted"
    )
    session, new_key = services.capture_start(session=session, mime_type="video/webm", upload_key=key)
    assert session.status == CaptureStatus.RECORDING and session.restarts == 1 and new_key != key
    assert not [p for p in session.prompts if p["revealed_at"]] and session.challenge_phrase == ""
    assert code_of(lambda: services.capture_chunk(session=session, upload_key=key, seq=0, data=b"x")) == (
        "capture_key_invalid"
    )
    assert services.capture_chunk(session=session, upload_key=new_key, seq=0, data=b"x")["received"] == 0


def test_finish_assembles_the_chunks_and_submits_them_as_live_evidence(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    consent = pending_consent(alice)
    session, key = started(consent)
    webm = small_webm(12.0)
    chunks = split(webm, 12)
    record(session, key, chunks[:6], clock)
    assert code_of(lambda: services.capture_finish(session=session, upload_key=key)) == "capture_incomplete"
    record_from = len(chunks[:6])
    for seq, chunk in enumerate(chunks[record_from:], start=record_from):
        clock.tick(1.0)
        services.capture_chunk(session=session, upload_key=key, seq=seq, data=chunk)
    session = services.capture_finish(session=session, upload_key=key)
    assert session.status == CaptureStatus.SUBMITTED
    evidence = ConsentEvidence.objects.get(consent=consent)
    assert evidence.source == EvidenceSource.LIVE and evidence.challenge_phrase == session.challenge_phrase
    assert evidence.size_bytes == len(webm) and evidence.recording.endswith(".webm"), "players go by the name"
    assert session.evidence_id == evidence.id
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.VERIFYING
    assert not CaptureChunk.objects.filter(session=session).exclude(stored_as="").exists(), "pieces deleted"
    assert code_of(lambda: services.capture_finish(session=session, upload_key=key)) == "capture_not_recording"


def test_a_recording_that_does_not_decode_ends_the_link_as_rejected(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    consent = pending_consent(alice)
    session, key = started(consent)
    record(session, key, [b"not a video"] * 12, clock)
    assert code_of(lambda: services.capture_finish(session=session, upload_key=key)) == "recording_invalid"
    session.refresh_from_db()
    assert session.status == CaptureStatus.REJECTED and session.reason_codes == ["recording_invalid"]
    consent.refresh_from_db()
    assert consent.status == ConsentStatus.PENDING


def test_the_page_calls_answer_with_stable_codes_over_http(alice: PartnerActor, anon) -> None:  # type: ignore[no-untyped-def]
    token = token_of(open_link(alice, pending_consent(alice)))
    assert anon.post("/capture/nope/start", {}, format="json").json()["error"]["code"] == "capture_link_unknown"
    bad = anon.post(f"/capture/{token}/start", data=b"[", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_request"
    wrong = anon.post(f"/capture/{token}/start", {"mime_type": "image/gif"}, format="json")
    assert wrong.status_code == 415 and wrong.json()["error"]["code"] == "unsupported_media_type"
    begun = anon.post(f"/capture/{token}/start", {"mime_type": "video/webm;codecs=vp9,opus"}, format="json")
    assert begun.status_code == 200 and begun.json()["status"] == "recording"
    key = begun.json()["upload_key"]
    chunk = anon.post(f"/capture/{token}/chunks/0", data=b"\x1a\x45\xdf\xa3", content_type="application/octet-stream",
                      HTTP_X_CAPTURE_KEY=key)  # fmt: skip
    assert chunk.status_code == 200 and chunk.json() == {"received": 0, "next_seq": 1, "prompt": None, "done": False}
    big = anon.post(f"/capture/{token}/chunks/1", data=b"x" * (4 * 1024 * 1024 + 1),
                    content_type="application/octet-stream", HTTP_X_CAPTURE_KEY=key)  # fmt: skip
    assert big.status_code == 413 and big.json()["error"]["code"] == "chunk_too_large"
    assert anon.get(f"/capture/{token}/chunks/1").status_code == 405
    assert anon.post(f"/capture/{token}/finish", HTTP_X_CAPTURE_KEY=key).json()["error"]["code"] == (
        "capture_incomplete"
    )
    again = anon.post(f"/capture/{token}/start", {"mime_type": "video/webm"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "capture_link_used"
    assert anon.get(f"/capture/{token}").status_code == 410, "a second use of the link is refused"


def test_the_capture_ends_as_its_verification_decides_and_the_partner_hears_it(
    alice: PartnerActor, clock, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from moderation import verification
    from moderation.verification import REJECTED, EvidenceReport
    from webhooks.models import WebhookDelivery, WebhookEndpoint

    WebhookEndpoint.objects.create(partner=alice.partner, url="https://hooks.alice.example/t", secret="s")
    consent = pending_consent(alice)
    session, key = started(consent)
    record(session, key, split(small_webm(12.0), 12), clock)
    session = services.capture_finish(session=session, upload_key=key)
    # The checks themselves are tested on real material elsewhere; here their verdict is given.
    verdict = EvidenceReport(REJECTED, ["no_face"], {"face_match": {"passed": False}})
    monkeypatch.setattr(verification, "verify_recording", lambda *args, **kwargs: verdict)
    services.evidence_verify(evidence_id=session.evidence_id)  # what the cpu worker runs
    session.refresh_from_db()
    assert session.status == CaptureStatus.REJECTED and "no_face" in session.reason_codes
    hooks = WebhookDelivery.objects.filter(event_type__startswith="capture_session.").order_by("created_at")
    assert [h.payload["data"]["status"] for h in hooks] == ["recording", "submitted", "rejected"]


def test_a_recording_begun_in_time_may_finish_after_the_link_expires(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    from moderation.models import CaptureSession

    session, key = started(pending_consent(alice))
    record(session, key, [b"a", b"b"], clock)
    CaptureSession.objects.filter(id=session.id).update(expires_at=clock.now)
    clock.tick(1)
    assert services.capture_chunk(session=session, upload_key=key, seq=2, data=b"c")["received"] == 2
    assert services.capture_sessions_expire(now=clock.now) == 0


def test_an_abandoned_recording_expires_and_its_pieces_are_deleted(alice: PartnerActor, clock) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.storage import default_storage

    session, key = started(pending_consent(alice))
    record(session, key, [b"a", b"b"], clock)
    names = list(CaptureChunk.objects.filter(session=session).values_list("stored_as", flat=True))
    assert all(default_storage.exists(n) for n in names)
    later = clock.tick(70)
    assert services.capture_sessions_expire(now=later) == 1
    session.refresh_from_db()
    assert session.status == CaptureStatus.EXPIRED and session.reason_codes == ["recording_abandoned"]
    assert not any(default_storage.exists(n) for n in names)


def test_a_link_whose_consent_was_revoked_meanwhile_records_nothing(alice: PartnerActor) -> None:
    consent = pending_consent(alice)
    session, _ = services.capture_session_create(consent=consent)
    services.consent_revoke(consent=consent, actor="subject", reason="changed my mind")
    assert code_of(lambda: services.capture_start(session=session, mime_type="video/webm")) == "consent_not_pending"
