"""Motion: per-frame face and head parameters from audio features, phones and the caller's controls."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import AudioFeatures, PhoneSegment

# Parameter layout of one frame. Expression parameters drive the landmark rig linearly;
# head parameters drive a rigid 3D transform.
EXPR = ("jaw", "width", "round", "press", "smile", "brow", "furrow", "lid", "eye_wide", "gaze_x", "gaze_y")
HEAD = ("yaw", "pitch", "roll", "tx", "ty", "scale")
PARAMS = EXPR + HEAD
IDX = {name: i for i, name in enumerate(PARAMS)}

# Viseme targets per CMU phone: jaw opening, lip spread, lip rounding, lip press.
# Values follow the usual Preston Blair / Rhubarb grouping, tuned by eye on this rig.
VISEMES: dict[str, tuple[float, float, float, float]] = {
    "SIL": (0.0, 0.0, 0.0, 0.0),
    "P": (0.0, 0.0, 0.0, 1.0),
    "B": (0.0, 0.0, 0.0, 1.0),
    "M": (0.0, 0.0, 0.0, 1.0),
    "F": (0.12, 0.1, 0.0, 0.5),
    "V": (0.12, 0.1, 0.0, 0.5),
    "TH": (0.22, 0.1, 0.0, 0.0),
    "DH": (0.22, 0.1, 0.0, 0.0),
    "T": (0.25, 0.2, 0.0, 0.0),
    "D": (0.25, 0.2, 0.0, 0.0),
    "N": (0.22, 0.2, 0.0, 0.0),
    "S": (0.15, 0.35, 0.0, 0.0),
    "Z": (0.15, 0.35, 0.0, 0.0),
    "L": (0.3, 0.1, 0.0, 0.0),
    "K": (0.35, 0.1, 0.0, 0.0),
    "G": (0.35, 0.1, 0.0, 0.0),
    "NG": (0.3, 0.1, 0.0, 0.0),
    "CH": (0.22, -0.2, 0.6, 0.0),
    "JH": (0.22, -0.2, 0.6, 0.0),
    "SH": (0.22, -0.2, 0.6, 0.0),
    "ZH": (0.22, -0.2, 0.6, 0.0),
    "R": (0.2, -0.1, 0.5, 0.0),
    "W": (0.12, -0.3, 0.9, 0.0),
    "Y": (0.2, 0.4, 0.0, 0.0),
    "HH": (0.35, 0.0, 0.0, 0.0),
    "AA": (1.0, 0.1, 0.0, 0.0),
    "AE": (0.8, 0.4, 0.0, 0.0),
    "AH": (0.65, 0.1, 0.0, 0.0),
    "AO": (0.8, -0.1, 0.5, 0.0),
    "AW": (0.8, 0.0, 0.3, 0.0),
    "AY": (0.85, 0.2, 0.0, 0.0),
    "EH": (0.55, 0.4, 0.0, 0.0),
    "ER": (0.35, -0.1, 0.4, 0.0),
    "EY": (0.45, 0.5, 0.0, 0.0),
    "IH": (0.35, 0.45, 0.0, 0.0),
    "IY": (0.25, 0.7, 0.0, 0.0),
    "OW": (0.55, -0.2, 0.8, 0.0),
    "OY": (0.6, -0.1, 0.6, 0.0),
    "UH": (0.35, -0.1, 0.6, 0.0),
    "UW": (0.25, -0.3, 1.0, 0.0),
}
# Jaw opening: the widest, and the curve that makes ordinary syllables open less than the widest vowel.
JAW_MAX = 1.1
JAW_CURVE = 1.5
# Iris shift (gaze units) per degree of head turn that keeps the eyes on the camera: an eyeball of ~12 mm radius
# against an eye-mouth distance of ~70 mm, and the rig's 0.065 (x) / 0.035 (y) eye-mouth units per gaze unit.
GAZE_PER_YAW = 0.046
GAZE_PER_PITCH = -0.04
VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"}

EMOTION_OFFSETS: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"smile": 0.8, "brow": 0.1, "width": 0.2},
    "surprised": {"brow": 0.9, "eye_wide": 0.6, "jaw": 0.12},
    "angry": {"furrow": 1.0, "smile": -0.5, "lid": 0.25, "press": 0.2},
}
GAZE_TARGETS: dict[str, tuple[float, float]] = {
    "front": (0.0, 0.0),
    "left": (-1.0, 0.0),
    "right": (1.0, 0.0),
    "up": (0.0, -1.0),
}


@dataclass
class MotionControls:
    """The caller's choices that shape motion."""

    fps: int
    seed: int
    motion: float = 1.0
    gaze: str = "front"
    emotion: str = "neutral"


def _gauss_smooth(x: np.ndarray, sigma_frames: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 with edge replication."""
    if sigma_frames <= 0:
        return x
    r = max(1, int(3 * sigma_frames))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma_frames) ** 2)
    k /= k.sum()
    pad = np.pad(x, [(r, r)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(pad, k, mode="valid")
    return np.stack([np.convolve(pad[:, j], k, mode="valid") for j in range(x.shape[1])], axis=1)


class ClipMotion:
    """Clip-wide, seed-driven parts of motion (blinks, head noise), computed once so chunks agree."""

    def __init__(self, controls: MotionControls, n_frames: int) -> None:
        self.c = controls
        self.n = n_frames
        rng = np.random.default_rng(np.random.SeedSequence([controls.seed, 0x7A1C]))
        self.blink = self._blink_track(rng)
        self.noise = self._noise_track(rng)
        self.saccade = self._saccade_track(rng)
        self._head: np.ndarray | None = None

    def _blink_track(self, rng: np.random.Generator) -> np.ndarray:
        """Blink closure per frame: gamma-distributed gaps (mean ~3.3 s); each blink shuts the lids fully and
        lasts 100-150 ms (a fast close, a moment shut, a slightly slower opening)."""
        fps = self.c.fps
        track = np.zeros(self.n, dtype=np.float32)
        t = rng.uniform(0.6, 2.5)
        dur = self.n / fps
        while t < dur:
            close, hold, opening = rng.uniform(0.035, 0.045), rng.uniform(0.015, 0.035), rng.uniform(0.05, 0.07)
            # Sampled at the frame rate a 0.12 s blink can fall between frames; every frame that overlaps the
            # shut moment is drawn shut, the ones overlapping the motion part way.
            step = 1.0 / fps
            for i in range(max(0, int(t * fps) - 1), min(self.n, int((t + close + hold + opening) * fps) + 2)):
                a, b = i / fps, i / fps + step
                us = np.linspace(a - t, b - t, 9)
                v = np.where(
                    us < 0,
                    0.0,
                    np.where(
                        us < close,
                        us / close,
                        np.where(us < close + hold, 1.0, np.clip(1.0 - (us - close - hold) / opening, 0.0, 1.0)),
                    ),
                )
                track[i] = max(track[i], float(v.max()))
            # Occasionally a quick double blink, as people do.
            t += 0.35 if rng.random() < 0.08 else max(1.2, rng.gamma(4.0, 0.8))
        return track

    def _noise_track(self, rng: np.random.Generator) -> np.ndarray:
        """Smooth head noise (yaw, pitch, roll, tx, ty) as sums of incommensurate sinusoids of time."""
        t = np.arange(self.n) / self.c.fps
        out = np.zeros((self.n, 5), dtype=np.float64)
        amps = np.array([2.2, 1.3, 1.2, 0.012, 0.008])  # degrees, degrees, degrees, em, em
        for j in range(5):
            for _ in range(4):
                f = rng.uniform(0.05, 0.45)
                out[:, j] += np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * rng.uniform(0.4, 1.0)
            out[:, j] *= amps[j] / 2.0
        return out

    def _saccade_track(self, rng: np.random.Generator) -> np.ndarray:
        """Gaze held on the camera with small, quick saccades: fixations of 0.6-2 s a little off centre."""
        fps = self.c.fps
        out = np.zeros((self.n, 2), dtype=np.float64)
        i = 0
        while i < self.n:
            hold = max(1, int(rng.uniform(0.6, 2.0) * fps))
            # Most fixations land back on the lens; some a little beside it.
            offset = rng.normal(0, [0.07, 0.04]) if rng.random() < 0.6 else np.zeros(2)
            out[i : i + hold] = offset
            i += hold
        return _gauss_smooth(out, 0.6)

    def head_track(self, feats: AudioFeatures) -> np.ndarray:
        """Head yaw, pitch, roll (degrees) for the whole clip, following the speech's phrasing.

        The head settles on a new pose at the start of each phrase and on strongly stressed syllables, moving
        there in about half a second; in pauses it eases back and holds still. Computed once per clip from the
        clip-wide loudness, so every chunk of a long render agrees.
        """
        if self._head is not None:
            return self._head
        fps, n = self.c.fps, self.n
        rng = np.random.default_rng(np.random.SeedSequence([self.c.seed, 0x4EAD]))
        loud = np.asarray(feats.loudness[:n], dtype=np.float64)
        if loud.size < n:
            loud = np.pad(loud, (0, n - loud.size))
        speech = _gauss_smooth((loud > 0.3).astype(np.float64), 0.06 * fps) > 0.5
        accent = np.clip(_gauss_smooth(loud, 0.04 * fps) - _gauss_smooth(loud, 0.35 * fps), 0, None)
        accent = _gauss_smooth(accent, 0.05 * fps) * speech
        events: list[tuple[int, float]] = []  # (frame, strength)
        last = -(10**9)
        gap = int(0.6 * fps)
        for i in range(n):
            onset = speech[i] and (i == 0 or not speech[max(0, i - int(0.25 * fps)) : i].any())
            peak = 0 < i < n - 1 and accent[i] >= accent[i - 1] and accent[i] > accent[i + 1] and accent[i] > 0.12
            # A turn takes about half a second; one that would run on into a pause waits for the next phrase.
            lasting = speech[i : i + int(0.4 * fps)].mean() > 0.8
            if (onset or peak) and lasting and i - last >= gap:
                events.append((i, 1.0 if onset else float(np.clip(accent[i] / 0.3, 0.4, 1.0))))
                last = i
        pose = np.zeros((n, 3))
        current = np.zeros(3)
        target = np.zeros(3)
        start, src = 0, np.zeros(3)
        k = 0
        move = max(2, int(0.5 * fps))
        for i in range(n):
            if k < len(events) and events[k][0] == i:
                strength = events[k][1]
                # Turns swing back and forth across the middle rather than drifting off to one side.
                yaw = np.clip(-0.4 * target[0] + rng.normal(0, 8.0) * strength, -14.0, 14.0)
                pitch = np.clip(rng.normal(0, 3.0) * strength, -7.0, 7.0)
                roll = np.clip(0.2 * yaw + rng.normal(0, 1.8) * strength, -6.0, 6.0)
                target = np.array([yaw, pitch, roll])
                start, src = i, current.copy()
                k += 1
            elif not speech[i] and not speech[max(0, i - int(0.6 * fps)) : i + 1].any() and start < i - move:
                # A pause: ease back towards a calmer pose, slowly.
                target = target * 0.985
                start, src = i - move, current.copy()
            u = min(1.0, (i - start) / move)
            ease = u**3 * (10 - 15 * u + 6 * u**2)  # minimum-jerk: no sudden starts or stops
            current = src + (target - src) * ease
            pose[i] = current
        self._head = pose
        return pose


def phone_targets(phones: list[PhoneSegment], times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Viseme targets (jaw, width, round, press) at each time, the phone's vowel flag and duration."""
    n = times.size
    tgt = np.zeros((n, 4), dtype=np.float64)
    vowel = np.zeros(n, dtype=bool)
    seg_dur = np.zeros(n)
    if not phones:
        return tgt, vowel, seg_dur
    starts = np.array([p.start for p in phones])
    idx = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, len(phones) - 1)
    for i, k in enumerate(idx):
        p = phones[k]
        if not p.start <= times[i] < p.end:
            continue
        name = p.phone.rstrip("012")
        tgt[i] = VISEMES.get(name, VISEMES["AH"] if name not in ("SIL", "+NSN+", "+SPN+") else VISEMES["SIL"])
        vowel[i] = name in VOWELS
        seg_dur[i] = p.end - p.start
    return tgt, vowel, seg_dur


def compute_motion(
    clip: ClipMotion,
    feats: AudioFeatures,
    vad: np.ndarray,
    phones: list[PhoneSegment],
    start: int,
    stop: int,
) -> np.ndarray:
    """Parameters (stop - start, len(PARAMS)) for frames [start, stop) of the clip."""
    c = clip.c
    fps = c.fps
    n = stop - start
    sl = slice(start, stop)
    times = (np.arange(start, stop) + 0.5) / fps
    loud = feats.loudness[sl].astype(np.float64)
    speech = np.clip(np.maximum(vad, (loud > 0.35).astype(np.float64) * 0.8), 0, 1)
    loud_gate = loud * np.clip(speech * 1.5, 0.0, 1.0)

    tgt, _vowel, seg_dur = phone_targets(phones, times)
    # How much to trust the phone decoder: little where it hears silence or consonants during
    # loud voiced sound (singing, long held vowels) — there loudness and spectrum lead.
    voiced = feats.voiced[sl].astype(np.float64)
    # A real consonant is short; a "consonant" held for a quarter second of loud voicing is a sung
    # vowel the decoder did not know what to do with.
    unsure = ((tgt[:, 0] < 0.2) & (voiced > 0) & (loud > 0.5) & (seg_dur > 0.25)) | (seg_dur > 0.45)
    trust = np.where(unsure, 0.25, 1.0)
    if not phones:
        trust[:] = 0.0

    centroid = feats.centroid[sl].astype(np.float64)
    # Spectral shape stands in for vowel quality: bright spectra spread the lips, dark ones round them.
    bright = np.clip((centroid - 1400.0) / 1600.0, -1.0, 1.0)
    spec_width = np.clip(bright, 0, 1) * 0.5
    spec_round = np.clip(-bright, 0, 1) * 0.6

    jaw_phone = tgt[:, 0] * (0.45 + 0.75 * loud_gate)
    jaw_loud = 0.95 * loud_gate
    jaw = trust * (0.45 * jaw_phone + 0.55 * jaw_loud) + (1 - trust) * jaw_loud
    width = trust * tgt[:, 1] + (1 - trust) * spec_width * loud_gate
    rnd = trust * tgt[:, 2] + (1 - trust) * spec_round * loud_gate
    press = tgt[:, 3] * trust

    # Coarticulation: neighbouring visemes blend (about +-50 ms), lips anticipate what comes next.
    sig = 0.045 * fps
    jaw = _gauss_smooth(jaw, sig)
    width = _gauss_smooth(width, sig * 1.3)
    rnd = _gauss_smooth(rnd, sig * 1.3)
    press = _gauss_smooth(press, sig * 0.6)
    # Bilabials must actually close the lips whatever the neighbours do.
    jaw = jaw * (1.0 - np.clip(press * 1.6, 0, 1))
    # Silence: mouth rests closed.
    jaw = jaw * np.clip(speech * 2.0, 0, 1)
    # Real speech opens the jaw far less on most syllables than on the widest vowel: a convex curve keeps the
    # order (and so the sync with loudness) while pulling ordinary syllables down.
    jaw = JAW_MAX * (np.clip(jaw, 0, JAW_MAX) / JAW_MAX) ** JAW_CURVE

    # Accents: where loudness rises above its slower trend — drives nods and brow raises.
    accent = np.clip(_gauss_smooth(loud, 0.04 * fps) - _gauss_smooth(loud, 0.35 * fps), 0, None)
    accent = _gauss_smooth(accent, 0.06 * fps) * speech
    pitch = feats.pitch[sl].astype(np.float64)
    voiced_pitch = pitch[pitch > 0]
    pitch_ref = float(np.median(voiced_pitch)) if voiced_pitch.size else 150.0
    pitch_dev = np.where(pitch > 0, np.log2(np.maximum(pitch, 1.0) / pitch_ref), 0.0)
    pitch_dev = _gauss_smooth(np.clip(pitch_dev, -1, 1), 0.08 * fps)

    m = c.motion
    out = np.zeros((n, len(PARAMS)), dtype=np.float64)
    out[:, IDX["jaw"]] = np.clip(jaw, 0, JAW_MAX)
    out[:, IDX["width"]] = np.clip(width, -0.6, 1)
    out[:, IDX["round"]] = np.clip(rnd, 0, 1)
    out[:, IDX["press"]] = np.clip(press, 0, 1)
    out[:, IDX["brow"]] = np.clip(accent * 2.2 + np.clip(pitch_dev, 0, None) * 0.4, 0, 1) * m
    out[:, IDX["lid"]] = clip.blink[sl]
    out[:, IDX["gaze_x"]] = clip.saccade[sl, 0] * m
    out[:, IDX["gaze_y"]] = clip.saccade[sl, 1] * m
    talk = _gauss_smooth(speech, 0.5 * fps)
    noise = clip.noise[sl]
    # Still in pauses: the small sway and the nods live only while talking.
    amp = m * (0.25 + 0.75 * talk)
    # Nods: the head dips on accents and lifts with rising pitch.
    nod = _gauss_smooth(accent, 0.1 * fps) * 9.0 - pitch_dev * 2.0
    head = clip.head_track(feats)[sl]
    out[:, IDX["yaw"]] = m * head[:, 0] + noise[:, 0] * amp * 0.5
    out[:, IDX["pitch"]] = m * head[:, 1] + (noise[:, 1] * 0.5 + nod) * amp
    out[:, IDX["roll"]] = m * head[:, 2] + noise[:, 2] * amp * 0.5
    out[:, IDX["tx"]] = noise[:, 3] * amp
    out[:, IDX["ty"]] = noise[:, 4] * amp + _gauss_smooth(accent, 0.1 * fps) * 0.02 * m
    out[:, IDX["scale"]] = 1.0
    # The eyes stay on the camera while the head turns (the vestibulo-ocular reflex): they counter-rotate.
    out[:, IDX["gaze_x"]] += GAZE_PER_YAW * out[:, IDX["yaw"]]
    out[:, IDX["gaze_y"]] += GAZE_PER_PITCH * out[:, IDX["pitch"]]

    for name, value in EMOTION_OFFSETS.get(c.emotion, {}).items():
        out[:, IDX[name]] += value
    gx, gy = GAZE_TARGETS.get(c.gaze, (0.0, 0.0))
    out[:, IDX["gaze_x"]] += gx
    out[:, IDX["gaze_y"]] += gy
    out[:, IDX["lid"]] = np.clip(out[:, IDX["lid"]], 0, 1)
    return out.astype(np.float32)
