"""The replay index's keys and the packet-based length check, on real speech."""

from __future__ import annotations

import io

import av
import numpy as np

from moderation.verification import decode_audio, index_keys, make_fingerprint
from moderation.verification.media import measure_duration

from .conftest import ENGINE, FACES, write_video


def _aac_copy(samples: np.ndarray, bit_rate: int) -> np.ndarray:
    """``samples`` through an AAC encode at 44.1 kHz and back, as a re-encoded upload would carry them."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as c:
        stream = c.add_stream("aac", rate=44100)
        stream.layout, stream.bit_rate = "mono", bit_rate
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=44100)
        pcm = (samples * 32767).astype(np.int16)
        for start in range(0, len(pcm), 1024):
            frame = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
            frame.sample_rate, frame.pts = 16000, start
            for resampled in resampler.resample(frame):
                c.mux(stream.encode(resampled))
        c.mux(stream.encode(None))
    path = io.BytesIO(out.getvalue())
    with av.open(path) as c:
        back = av.AudioResampler(format="s16", layout="mono", rate=16000)
        chunks = [f.to_ndarray().reshape(-1) for frame in c.decode(audio=0) for f in back.resample(frame)]
    return np.concatenate(chunks).astype(np.float32) / 32768.0


def test_a_re_encoded_copy_shares_index_keys_and_other_speech_does_not() -> None:
    speech = decode_audio(str(FACES / "consent_tiger_orange_piano.wav"))
    keys = set(index_keys(make_fingerprint(speech, [], None)))
    assert len(keys) == 8
    for bit_rate in (64000, 32000):
        # A little silence in front as well: the contour starts at the speech, not at the file's start.
        copy = np.concatenate([np.zeros(3000, np.float32), _aac_copy(speech, bit_rate)])
        assert keys & set(index_keys(make_fingerprint(copy, [], None))), bit_rate
    other = decode_audio(str(ENGINE / "harvard_16k.wav"))
    assert not keys & set(index_keys(make_fingerprint(other, [], None)))


def test_mouth_motion_gets_keys_of_its_own() -> None:
    mouth = [float(0.1 + 0.05 * np.sin(i / 2.0) * (i % 7)) for i in range(60)]
    fingerprint = make_fingerprint(np.zeros(16000, np.float32), mouth, None)
    assert len(index_keys(fingerprint)) == 8, "silence gives no audio keys; the mouth still gives its own"
    shifted = [v + 0.002 for v in mouth]
    assert set(index_keys(fingerprint)) == set(index_keys(make_fingerprint(np.zeros(16000), shifted, None)))


def test_the_length_is_read_from_packets_and_reading_stops_past_the_limit(tmp_path) -> None:
    frames = [np.full((32, 32, 3), i * 9 % 255, np.uint8) for i in range(25 * 8)]
    path = write_video(frames, np.zeros(16000 * 8, np.float32), tmp_path / "eight.mp4")
    assert 7.9 < measure_duration(str(path), 60) < 8.2
    assert 3.0 < measure_duration(str(path), 3.0) < 3.5
