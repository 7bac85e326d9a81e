"""Audio decoding in five formats, features, voice activity and phones on real speech."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from gpu_worker.engine.audio import AudioTrack, decode_audio, frame_features

FORMATS = {
    "wav": ("wav", "pcm_s16le", 16000),
    "mp3": ("mp3", "libmp3lame", 16000),
    "m4a": ("mp4", "aac", 16000),
    "ogg": ("ogg", "libopus", 48000),
    "flac": ("flac", "flac", 16000),
}


def _encode(src: Path, dst: Path, fmt: str, codec: str, rate: int) -> None:
    """Re-encode the fixture WAV with PyAV, as a user's upload would arrive."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        pts = 0
        for frame in inp.decode(audio=0):
            for r in resampler.resample(frame):
                r.pts = pts
                r.time_base = Fraction(1, rate)
                pts += r.samples
                for pkt in stream.encode(r):
                    out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)


@pytest.mark.parametrize("ext", list(FORMATS))
def test_every_common_audio_format_decodes_to_the_same_speech(fixtures, tmp_path, ext):
    ref = decode_audio(str(fixtures / "harvard_16k.wav"))
    path = tmp_path / f"speech.{ext}"
    _encode(fixtures / "harvard_16k.wav", path, *FORMATS[ext])
    got = decode_audio(str(path))
    assert abs(got.duration_s - ref.duration_s) < 0.1
    n = int(min(got.duration_s, ref.duration_s) * 25)
    env_ref = frame_features(ref, 25, n).db
    env_got = frame_features(got, 25, n).db
    # Codecs add delay and change the waveform, but the loudness envelope must survive.
    best = max(np.corrcoef(env_ref[: n - 3], env_got[k : n - 3 + k])[0, 1] for k in range(3))
    assert best > 0.9


def test_pitch_of_a_pure_tone_is_found():
    t = np.arange(16000) / 16000
    track = AudioTrack(
        samples=(0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32),
        duration_s=1.0,
        source_rate=16000,
        source_channels=1,
    )
    pitch = frame_features(track, 25, 25).pitch[2:-2]
    assert np.all(np.abs(pitch - 180) < 5)


def test_voice_activity_is_high_in_speech_and_low_in_silence(engine, fixtures):
    track = decode_audio(str(fixtures / "harvard_16k.wav"))
    feats = frame_features(track, 25, 270)
    vad = engine.vad.per_frame(track.samples, 0.0, 25, 270)
    loud, quiet = feats.loudness > 0.7, feats.loudness < 0.05
    assert loud.sum() > 50 and quiet.sum() > 10
    assert vad[loud].mean() > 0.8
    assert vad[quiet].mean() < vad[loud].mean() - 0.3


def test_phone_decoding_hears_the_bilabials_of_the_harvard_sentences(engine, fixtures):
    track = decode_audio(str(fixtures / "harvard_16k.wav"))
    phones = engine.phones.decode(track.samples[: 3 * 16000], 0.0)
    names = [p.phone for p in phones]
    assert {"B", "M", "P"} & set(names)  # "birch", "smooth", "planks"
    assert all(b.start >= a.start for a, b in itertools.pairwise(phones))
    assert phones[-1].end <= 3.05


def test_forced_alignment_places_the_transcript_phones_in_order(engine, fixtures):
    track = decode_audio(str(fixtures / "espeak_peter.wav"))
    text = "Peter picked a basket of apples by the old mill."
    phones = engine.phones.align(track.samples, text)
    assert phones is not None
    spoken = [p.phone for p in phones if p.phone != "SIL"]
    assert spoken[:4] == ["P", "IY", "T", "ER"]
    assert spoken[-3:] == ["M", "IH", "L"]
    starts = [p.start for p in phones]
    assert starts == sorted(starts) and phones[-1].end <= track.duration_s + 0.02


def test_transcript_with_an_unknown_word_falls_back_to_phone_decoding(engine, fixtures):
    track = decode_audio(str(fixtures / "espeak_peter.wav"))
    assert engine.phones.align(track.samples, "Peter picked a qxzvbnmw") is None
