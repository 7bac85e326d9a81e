"""A live capture verified end to end on real material: the statement said in its window, the head turned when asked,
chunks arriving in real time. The only path on which a consent becomes verified without a reviewer."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import av
import numpy as np
import pytest
from django.utils import timezone

from moderation import services
from moderation.models import CaptureStatus, ConsentStatus
from moderation.verification import decode_audio
from moderation.verification.checks.stream import stream_timing
from moderation.verification.report import Thresholds
from tests.conftest import PartnerActor
from tests.moderation.capture_helpers import install_clock
from tests.moderation.test_evidence import _consent
from tests.moderation.verification.conftest import FACES, square_portrait
from tests.moderation.verification.face_mesh import turned

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

TIGER = FACES / "consent_tiger_orange_piano.wav"
FPS = 10
SPEECH_AT = 3.5  # media seconds: the subject starts reading just after the statement appears (at about 3 s)


def write_webm(frames: list[np.ndarray], audio: np.ndarray, out: Path) -> Path:
    """A WebM (VP8 + Opus) as a browser's MediaRecorder writes one."""
    with av.open(str(out), "w", format="webm") as c:
        vs = c.add_stream("libvpx", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        vs.bit_rate = 600_000
        st = c.add_stream("libopus", rate=48000, layout="mono")
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            c.mux(vs.encode(frame))
        c.mux(vs.encode(None))
        pcm = np.clip(audio, -1, 1).astype(np.float32)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=48000)
        for start in range(0, len(pcm), 1600):
            af = av.AudioFrame.from_ndarray(pcm[None, start : start + 1600], format="flt", layout="mono")
            af.sample_rate, af.pts = 16000, start
            for rf in resampler.resample(af):
                c.mux(st.encode(rf))
        c.mux(st.encode(None))
    return out


@pytest.fixture(scope="module")
def live_recording(tmp_path_factory, videos) -> Path:  # type: ignore[no-untyped-def]
    """22 s at 10 fps: frontal; the statement read from 3.5 s; a turn to the left at 14-16 s, to the right at 18-20 s.

    The speaking face is the camera stand-in (the engine's unmarked frames, see tests/moderation/verification); the
    turns are the real face mesh of the same photo turned in 3D.
    """
    folder = tmp_path_factory.mktemp("live")
    pose = {a: square_portrait(turned(FACES / "obama.jpg", a)) for a in (0, 15, 30, -15, -30)}
    with av.open(str(videos["obama_right"])) as c:  # the camera stand-in reading the statement
        speaking = [f.to_ndarray(format="rgb24") for i, f in enumerate(c.decode(video=0)) if i % (25 // 5) < 2]
    speaking = speaking[: int(len(decode_audio(str(TIGER))) / 16000 * FPS)]
    turn = [15] + [30] * 18 + [15]  # two seconds
    plan = [pose[0]] * int(SPEECH_AT * FPS) + speaking
    plan += [pose[0]] * (14 * FPS - len(plan)) + [pose[a] for a in turn] + [pose[0]] * 2 * FPS
    plan += [pose[-a] for a in turn] + [pose[0]] * 2 * FPS
    audio = np.random.default_rng(1).standard_normal(len(plan) * 1600).astype(np.float32) * 1e-3
    speech = decode_audio(str(TIGER))
    audio[int(SPEECH_AT * 16000) : int(SPEECH_AT * 16000) + len(speech)] += speech
    return write_webm(plan, audio, folder / "live.webm")


def second_chunks(path: Path) -> list[bytes]:
    """The file cut where each second of media begins, as a recorder with a one-second timeslice sends it."""
    data = path.read_bytes()
    cuts = [0]
    with av.open(str(path)) as c:
        for packet in c.demux():
            if packet.pts is None or packet.pos is None or packet.pos < 0:
                continue
            if float(packet.pts * packet.time_base) >= len(cuts) and packet.pos > cuts[-1]:
                cuts.append(packet.pos)
    cuts.append(len(data))
    return [data[a:b] for a, b in itertools.pairwise(cuts) if b > a]


def capture(alice: PartnerActor, chunks: list[bytes], monkeypatch, order: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Send ``chunks`` one a second (arriving 0.2 s after each second of media), then finish and verify."""
    from moderation.services import live_capture
    from moderation.verification import speech

    clock = install_clock(monkeypatch)
    monkeypatch.setattr(live_capture, "_schedule", lambda rng: [
        {"kind": k, "window_s": 10.0 if k == "statement" else 4.0, "text": "", "revealed_at": None,
         "deadline_at": None} for k in order])  # fmt: skip
    # The fixture speech was recorded for these words: the draw is fixed, everything else is as in service.
    monkeypatch.setattr(speech, "new_challenge_phrase", lambda: "tiger orange piano")
    consent = _consent(alice)
    session, _ = services.capture_session_create(consent=consent)
    session, key = services.capture_start(session=session, mime_type="video/webm;codecs=vp8,opus")
    start = clock.now
    for seq, chunk in enumerate(chunks):
        clock.now = start + timezone.timedelta(seconds=seq + 1.2)
        services.capture_chunk(session=session, upload_key=key, seq=seq, data=chunk)
    clock.tick(1.0)  # the page sends finish once the last prompt's time ran out and its last chunk went
    session = services.capture_finish(session=session, upload_key=key)
    t = time.perf_counter()
    services.evidence_verify(evidence_id=session.evidence_id)
    elapsed = time.perf_counter() - t
    session.refresh_from_db()
    consent.refresh_from_db()
    return session, consent, elapsed


def test_a_live_capture_that_passes_every_check_is_verified_without_a_reviewer(
    alice: PartnerActor, live_recording: Path, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_CONSENT_AUTO_VERIFY = True
    alice.partner.consent_auto_verify = True
    alice.partner.save(update_fields=["consent_auto_verify"])
    chunks = second_chunks(live_recording)
    session, consent, elapsed = capture(alice, chunks, monkeypatch, ("statement", "turn_left", "turn_right"))
    checks = consent.verification_report["checks"]
    assert consent.status == ConsentStatus.VERIFIED, (consent.reason_codes, checks)
    assert session.status == CaptureStatus.VERIFIED and session.reason_codes == []
    assert checks["spoken_in_time"]["passed"] and checks["stream_timing"]["passed"]
    assert [p["kind"] for p in checks["movement"]["prompts"]] == ["turn_left", "turn_right"]
    assert all(p["turn_deg"] >= 20 for p in checks["movement"]["prompts"])
    timings = consent.verification_report["timings"]
    print(f"\nlast chunk to decision: {elapsed:.2f} s for {len(chunks)} chunks; timings {timings}")


def test_a_statement_said_before_it_was_shown_is_rejected_for_its_timing(
    alice: PartnerActor, live_recording: Path, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_CAPTURE_LEAD_S = 8.0  # the statement appears at 8 s; the recording says it from 3.5 s
    session, consent, _ = capture(alice, second_chunks(live_recording), monkeypatch, ("statement", "turn_left"))
    assert consent.status == ConsentStatus.REJECTED and "timing_failed" in consent.reason_codes
    assert consent.verification_report["checks"]["spoken_in_time"]["said_before_shown"] is True
    assert session.status == CaptureStatus.REJECTED and "timing_failed" in session.reason_codes


def test_a_stream_sent_faster_than_real_time_fails_the_stream_check(live_recording: Path) -> None:
    chunks = second_chunks(live_recording)
    offsets = np.cumsum([0] + [len(c) for c in chunks[:-1]]).tolist()
    live = [{"offset": o, "received_s": k + 1.2} for k, o in enumerate(offsets)]
    check, start = stream_timing(str(live_recording), live, Thresholds())
    assert check["passed"] is True and 0 <= start < 1.0 and check["score"] < 1.5
    # The first 15 seconds pushed within 3 s (a file streamed out), the rest in real time.
    burst = [{"offset": o, "received_s": (0.2 * k if k < 15 else k - 11.0)} for k, o in enumerate(offsets)]
    assert stream_timing(str(live_recording), burst, Thresholds())[0]["passed"] is False
    # A gap filled afterwards: seconds 8-12 held back and sent 12 s late.
    late = [{**c, "received_s": c["received_s"] + (12 if 8 <= k <= 12 else 0)} for k, c in enumerate(live)]
    assert stream_timing(str(live_recording), late, Thresholds())[0]["passed"] is False
