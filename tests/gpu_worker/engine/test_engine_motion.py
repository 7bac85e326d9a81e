"""Motion parameters: blinks, bilabial closures, seeds, controls."""

from __future__ import annotations

import numpy as np

from gpu_worker.engine.audio import AudioFeatures, PhoneSegment
from gpu_worker.engine.motion import IDX, ClipMotion, MotionControls, compute_motion


def _blink_starts(track: np.ndarray) -> np.ndarray:
    closed = track > 0.5
    return np.nonzero(closed[1:] & ~closed[:-1])[0] + 1


def test_blinks_happen_at_a_natural_rate_and_irregular_intervals():
    fps = 25
    clip = ClipMotion(MotionControls(fps=fps, seed=11), n_frames=120 * fps)
    starts = _blink_starts(clip.blink)
    per_minute = len(starts) / 2.0
    assert 8 <= per_minute <= 30
    gaps = np.diff(starts) / fps
    assert gaps.std() / gaps.mean() > 0.25  # not periodic
    assert len(set(np.round(gaps, 1))) > len(gaps) // 2


def _feats(n: int, loud: float) -> AudioFeatures:
    return AudioFeatures(
        loudness=np.full(n, loud, np.float32),
        db=np.full(n, -20.0, np.float32),
        pitch=np.full(n, 150.0, np.float32),
        centroid=np.full(n, 1500.0, np.float32),
        voiced=np.ones(n, np.float32),
    )


def test_lips_close_on_a_bilabial_between_open_vowels():
    fps, n = 25, 50
    phones = [PhoneSegment("AA", 0.0, 0.8), PhoneSegment("M", 0.8, 0.96), PhoneSegment("AA", 0.96, 2.0)]
    clip = ClipMotion(MotionControls(fps=fps, seed=0), n)
    p = compute_motion(clip, _feats(n, 0.9), np.ones(n), phones, 0, n)
    jaw = p[:, IDX["jaw"]]
    m_frame = int(0.88 * fps)
    assert jaw[10] > 0.5 and jaw[40] > 0.5
    assert jaw[m_frame] < 0.2 * jaw[10]
    assert p[m_frame, IDX["press"]] > 0.5


def test_mouth_rests_closed_in_silence():
    fps, n = 25, 50
    clip = ClipMotion(MotionControls(fps=fps, seed=0), n)
    p = compute_motion(clip, _feats(n, 0.0), np.zeros(n), [PhoneSegment("SIL", 0, 2)], 0, n)
    assert np.abs(p[:, IDX["jaw"]]).max() < 0.02


def test_singing_without_confident_phones_still_opens_the_mouth_with_loudness():
    fps, n = 25, 50
    loud = np.where(np.arange(n) % 20 < 10, 0.9, 0.2).astype(np.float32)
    feats = _feats(n, 0.0)
    feats.loudness = loud
    clip = ClipMotion(MotionControls(fps=fps, seed=0), n)
    # A held vowel the decoder mislabels as one long consonant.
    p = compute_motion(clip, feats, np.ones(n), [PhoneSegment("N", 0.0, 2.0)], 0, n)
    jaw = p[:, IDX["jaw"]]
    assert jaw[loud > 0.5].mean() > 2 * jaw[loud < 0.5].mean()
    assert jaw[loud > 0.5].mean() > 0.4


def test_controls_shift_gaze_and_expression():
    fps, n = 25, 25
    feats, vad = _feats(n, 0.0), np.zeros(n)
    base = compute_motion(ClipMotion(MotionControls(fps=fps, seed=1), n), feats, vad, [], 0, n)
    left = compute_motion(ClipMotion(MotionControls(fps=fps, seed=1, gaze="left"), n), feats, vad, [], 0, n)
    happy = compute_motion(ClipMotion(MotionControls(fps=fps, seed=1, emotion="happy"), n), feats, vad, [], 0, n)
    still = compute_motion(ClipMotion(MotionControls(fps=fps, seed=1, motion=0.0), n), feats, vad, [], 0, n)
    assert (left[:, IDX["gaze_x"]] < base[:, IDX["gaze_x"]] - 0.5).all()
    assert (happy[:, IDX["smile"]] > base[:, IDX["smile"]] + 0.5).all()
    assert np.abs(still[:, IDX["yaw"]]).max() == 0.0 and np.abs(base[:, IDX["yaw"]]).max() > 0.0
