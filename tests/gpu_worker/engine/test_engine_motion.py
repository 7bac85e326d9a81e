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


def test_blinks_shut_fully_and_last_100_to_150_ms():
    fps = 50  # fine enough in time to see a blink's length
    clip = ClipMotion(MotionControls(fps=fps, seed=5), n_frames=60 * fps)
    lid = clip.blink
    starts = _blink_starts(lid)
    assert len(starts) >= 8
    for s in starts:
        a, b = s, s
        while a > 0 and lid[a - 1] > 0.05:
            a -= 1
        while b < len(lid) - 1 and lid[b + 1] > 0.05:
            b += 1
        length_s = (b - a + 1) / fps
        assert 0.08 <= length_s <= 0.18, length_s
        assert lid[a : b + 1].max() == 1.0  # shut, not half-closed


def _speech_with_a_pause(fps: int) -> AudioFeatures:
    t = np.arange(10 * fps) / fps
    # 4 s of syllables (4 per second, loud on every third), a 2 s pause, 4 s of syllables.
    syllables = 0.55 + 0.35 * np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 2
    stress = np.where((np.floor(t * 4) % 3) == 0, 1.0, 0.75)
    loud = np.where((t < 4) | (t >= 6), syllables * stress, 0.0).astype(np.float32)
    feats = _feats(len(t), 0.0)
    feats.loudness = loud
    return feats


def test_the_head_turns_with_the_phrases_and_holds_still_in_pauses():
    fps = 25
    feats = _speech_with_a_pause(fps)
    n = len(feats.loudness)
    speaking = feats.loudness > 0.3
    turns, pause_speed, talk_speed = [], [], []
    for seed in range(6):
        clip = ClipMotion(MotionControls(fps=fps, seed=seed), n)
        p = compute_motion(clip, feats, speaking.astype(float), [], 0, n)
        yaw = p[:, IDX["yaw"]]
        turns.append(np.abs(yaw).max())
        speed = np.abs(np.diff(yaw)) * fps
        pause_speed.append(speed[int(4.6 * fps) : int(6.0 * fps)].mean())  # after the last turn has settled
        talk_speed.append(speed[speaking[1:]].mean())
    assert np.median(turns) >= 8.0 and max(turns) >= 10.0 and max(turns) <= 16.0, turns
    assert np.mean(pause_speed) < 0.25 * np.mean(talk_speed), (pause_speed, talk_speed)


def test_the_eyes_stay_on_the_camera_while_the_head_turns():
    fps = 25
    feats = _speech_with_a_pause(fps)
    n = len(feats.loudness)
    clip = ClipMotion(MotionControls(fps=fps, seed=1), n)
    p = compute_motion(clip, feats, (feats.loudness > 0.3).astype(float), [], 0, n)
    yaw, gaze = p[:, IDX["yaw"]], p[:, IDX["gaze_x"]]
    # The irises counter-rotate with the head (and saccades stay small around that).
    assert np.corrcoef(yaw, gaze)[0, 1] > 0.9
    assert np.abs(gaze - 0.046 * yaw).max() < 0.3
