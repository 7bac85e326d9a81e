"""Real-photo "talking" clips and the social-network attacks used by the tests and the benchmark."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import media

# Real photographs that ship inside scikit-image (no download). Portraits first; the rest add texture variety,
# flat skies and dark areas.
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "immunohistochemistry", "moon", "hubble_deep_field")


def photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as uint8 RGB."""
    import skimage.data

    img = getattr(skimage.data, name)()
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    return np.ascontiguousarray(img[..., :3])


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb).permute(2, 0, 1).float()[None]


def _to_uint8(x: torch.Tensor) -> np.ndarray:
    return x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def make_clip(seed: int, n_frames: int = 50, size: int = 512, photo_name: str | None = None) -> np.ndarray:
    """A clip of a real photo that moves like a talking portrait: small sway, breathing zoom, light flicker."""
    rng = np.random.default_rng(seed)
    name = photo_name or PHOTOS[seed % len(PHOTOS)]
    img = photo(name)
    h, w = img.shape[:2]
    side = int(min(h, w) * rng.uniform(0.7, 1.0))
    y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
    base = F.interpolate(
        _to_tensor(img[y0 : y0 + side, x0 : x0 + side]), size=(size, size), mode="bilinear", antialias=True
    )
    t = torch.arange(n_frames, dtype=torch.float32) / 25.0
    ph = rng.uniform(0, 2 * math.pi, 4)
    amp = rng.uniform(0.005, 0.02, 3)  # in units of half the frame: up to ~5 px of sway at 512
    fr = rng.uniform(0.2, 0.8, 3)
    tx = amp[0] * torch.sin(2 * math.pi * fr[0] * t + ph[0])
    ty = amp[1] * torch.sin(2 * math.pi * fr[1] * t + ph[1])
    zoom = 1.0 - 0.02 - amp[2] * torch.sin(2 * math.pi * fr[2] * t + ph[2])
    theta = torch.zeros(n_frames, 2, 3)
    theta[:, 0, 0] = zoom
    theta[:, 1, 1] = zoom
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, [n_frames, 3, size, size], align_corners=False)
    frames = F.grid_sample(
        base.expand(n_frames, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=False
    )
    light = 1.0 + 0.03 * torch.sin(2 * math.pi * 0.3 * t + float(ph[3]))
    return _to_uint8(frames * light[:, None, None, None])


def _resize(frames: np.ndarray, h: int, w: int) -> np.ndarray:
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    return _to_uint8(F.interpolate(x, size=(h, w), mode="bilinear", antialias=True, align_corners=False))


def _crop(frames: np.ndarray, share: float) -> np.ndarray:
    h, w = frames.shape[1:3]
    ch, cw = int(h * share), int(w * share)
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return frames[:, y0 : y0 + ch, x0 : x0 + cw]


def _levels(frames: np.ndarray, gain: float, pivot: float) -> np.ndarray:
    x = (frames.astype(np.float32) - pivot) * gain + pivot
    return np.clip(np.round(x), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Attack:
    """A transformation of decoded frames followed by an H.264 re-encode at crf."""

    name: str
    transform: Callable[[np.ndarray, float], tuple[np.ndarray, float]]
    crf: int = 23


def _keep(frames: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    return frames, fps


def _fps15(frames: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    idx = np.unique(np.round(np.arange(0, len(frames), fps / 15.0)).astype(int))
    return frames[idx[idx < len(frames)]], 15.0


def _middle_excerpt(frames: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    n = round(2 * fps)
    start = max(0, (len(frames) - n) // 2)
    return frames[start : start + n], fps


def _down_half(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    return _resize(f, f.shape[1] // 2, f.shape[2] // 2), fps


def _to_360p(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    return _resize(f, 360, round(f.shape[2] * 360 / f.shape[1] / 2) * 2), fps


def _combined(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    f = _crop(f, 0.9)
    return _resize(f, f.shape[1] // 2, f.shape[2] // 2), fps


# Brightness and contrast follow CSS filter semantics: brightness scales values, contrast scales around mid-grey.
ATTACKS: tuple[Attack, ...] = (
    Attack("crf23", _keep, 23),
    Attack("crf28", _keep, 28),
    Attack("crf35", _keep, 35),
    Attack("down0.5", _down_half),
    Attack("360p", _to_360p),
    Attack("crop80", lambda f, fps: (_crop(f, 0.8), fps)),
    Attack("crop90", lambda f, fps: (_crop(f, 0.9), fps)),
    Attack("bright+15", lambda f, fps: (_levels(f, 1.15, 0.0), fps)),
    Attack("bright-15", lambda f, fps: (_levels(f, 0.85, 0.0), fps)),
    Attack("contr+15", lambda f, fps: (_levels(f, 1.15, 127.5), fps)),
    Attack("contr-15", lambda f, fps: (_levels(f, 0.85, 127.5), fps)),
    Attack("fps15", _fps15),
    Attack("excerpt", _middle_excerpt),
    Attack("combined", _combined, 28),
)
ATTACKS_BY_NAME = {a.name: a for a in ATTACKS}


def encode(frames: np.ndarray, fps: float = 25, crf: int = 18) -> bytes:
    """H.264-encode RGB frames into MP4 bytes."""
    buf = io.BytesIO()
    media.encode_h264(frames, buf, fps=fps, crf=crf)
    return buf.getvalue()


def attack(published: np.ndarray, fps: float, which: Attack) -> bytes:
    """Apply an attack to decoded published frames and re-encode them as a social network would."""
    frames, out_fps = which.transform(published, fps)
    return encode(frames, out_fps, which.crf)
