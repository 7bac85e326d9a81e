"""Real-photo "talking" clips and the social-network attacks used by the tests and the benchmark."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from . import media

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

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
    # Extra libx264 settings for the re-encode (e.g. one key frame in the whole file).
    x264_params: str | None = None
    # The attack takes the whole published clip (4 s in the benchmark), not its first 2 s.
    long_source: bool = False
    # Seconds of the output that carry the mark (None: all of it), for checking the reported marked span.
    marked_span: tuple[float, float] | None = None


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


def _mirror(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    return np.ascontiguousarray(f[:, :, ::-1]), fps


def _rotate(frames: np.ndarray, degrees: float, crop: bool) -> np.ndarray:
    """Rotate about the centre (bilinear, black corners); crop: cut the largest upright square inside the rotated
    frame and scale it back to the original size, as an editor's "straighten" does."""
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
    n, _, h, w = x.shape
    a = math.radians(degrees)
    theta = torch.zeros(n, 2, 3)
    # affine_grid maps output to input coordinates in [-1, 1]; the aspect ratio enters through h / w.
    theta[:, 0, 0], theta[:, 0, 1] = math.cos(a), -math.sin(a) * h / w
    theta[:, 1, 0], theta[:, 1, 1] = math.sin(a) * w / h, math.cos(a)
    grid = F.affine_grid(theta, [n, 3, h, w], align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    if crop:
        share = 1.0 / (abs(math.cos(a)) + abs(math.sin(a)))
        ch, cw = int(h * share), int(w * share)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        out = out[..., y0 : y0 + ch, x0 : x0 + cw]
        out = F.interpolate(out, size=(h, w), mode="bilinear", antialias=False, align_corners=False)
    return _to_uint8(out)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    # Pillow's own bundled font: no system font needed.
    return ImageFont.load_default(size=size)


def _overlay(frames: np.ndarray, draw: Callable[[ImageDraw.ImageDraw, int, int], None]) -> np.ndarray:
    """Burn the same drawing (PIL ImageDraw callback on an RGBA layer) into every frame."""
    from PIL import Image, ImageDraw

    h, w = frames.shape[1:3]
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw(ImageDraw.Draw(layer), w, h)
    rgba = np.asarray(layer).astype(np.float32)
    alpha = rgba[..., 3:4] / 255.0
    out = frames.astype(np.float32) * (1 - alpha) + rgba[..., :3] * alpha
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


CAPTION = "and that is why we never skip the warm-up"


def _caption_bar(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """White caption text in an opaque black bar across the bottom sixth (platform auto-captions)."""

    def draw(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        bar = h // 6
        d.rectangle((0, h - bar, w, h), fill=(0, 0, 0, 255))
        d.text((w // 2, h - bar // 2), CAPTION, fill=(255, 255, 255, 255), font=_font(h // 22), anchor="mm")

    return _overlay(f, draw), fps


def _subtitle(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """White subtitle text with a black outline and no bar, two lines near the bottom."""

    def draw(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        font = _font(h // 18)
        for line, y in ((CAPTION[:18], h * 0.80), (CAPTION[19:], h * 0.89)):
            d.text((w // 2, y), line, fill=(255, 255, 255, 255), font=font, anchor="mm", stroke_width=2,
                   stroke_fill=(0, 0, 0, 255))  # fmt: skip

    return _overlay(f, draw), fps


def _logo25(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    """An opaque sticker (coloured panel, emblem and text) over a quarter of the frame, top right."""

    def draw(d: ImageDraw.ImageDraw, w: int, h: int) -> None:
        x0, y1 = w // 2, h // 2
        d.rounded_rectangle((x0, 0, w, y1), radius=w // 24, fill=(232, 64, 52, 255))
        cx, cy, r = (x0 + w) // 2, y1 * 2 // 5, w // 10
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, 255))
        d.polygon([(cx - r // 2, cy - r // 2), (cx - r // 2, cy + r // 2), (cx + r // 2, cy)], fill=(232, 64, 52, 255))
        d.text((cx, y1 * 4 // 5), "WATCH NOW", fill=(255, 255, 255, 255), font=_font(h // 20), anchor="mm")

    return _overlay(f, draw), fps


def _filler(n: int, like: np.ndarray) -> np.ndarray:
    """n frames of unmarked video of another photo, sized like `like` (a different scene, chosen from its
    content so that each marked clip gets its own)."""
    seed = 70_000 + int(like[0, ::16, ::16].sum()) % 10_000
    return make_clip(seed, n, size=like.shape[1])


def _splice(seconds: float, before: float, after: float) -> Callable[[np.ndarray, float], tuple[np.ndarray, float]]:
    """A marked segment of `seconds` cut from the middle of the clip, between unmarked video."""

    def splice(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
        n = round(seconds * fps)
        start = max(0, (len(f) - n) // 2)
        head, tail = _filler(round(before * fps), f), _filler(round(after * fps), f[::-1])
        return np.concatenate([head, f[start : start + n], tail]), fps

    return splice


def _combined(f: np.ndarray, fps: float) -> tuple[np.ndarray, float]:
    f = _crop(f, 0.9)
    return _resize(f, f.shape[1] // 2, f.shape[2] // 2), fps


ONE_KEY_FRAME = "keyint=10000:min-keyint=10000:scenecut=0"
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
    # Issue 18's transformations: geometry, occlusion, editing.
    Attack("mirror", _mirror),
    Attack("rot2crop", lambda f, fps: (_rotate(f, 2.0, crop=True), fps)),
    Attack("rot5", lambda f, fps: (_rotate(f, 5.0, crop=False), fps)),
    Attack("rot-5crop", lambda f, fps: (_rotate(f, -5.0, crop=True), fps)),
    Attack("caption", _caption_bar),
    Attack("subtitle", _subtitle),
    Attack("logo25", _logo25),
    # One key frame at the very start: the marked segment holds none (x264 would otherwise put one at the cut).
    Attack("splice3s", _splice(3.0, 3.0, 4.0), x264_params=ONE_KEY_FRAME, long_source=True, marked_span=(3.0, 6.0)),
    Attack("splice2s", _splice(2.0, 4.0, 4.0), x264_params=ONE_KEY_FRAME, long_source=True, marked_span=(4.0, 6.0)),
)
ATTACKS_BY_NAME = {a.name: a for a in ATTACKS}


def encode(frames: np.ndarray, fps: float = 25, crf: int = 18, x264_params: str | None = None) -> bytes:
    """H.264-encode RGB frames into MP4 bytes."""
    buf = io.BytesIO()
    media.encode_h264(frames, buf, fps=fps, crf=crf, x264_params=x264_params)
    return buf.getvalue()


def attack(published: np.ndarray, fps: float, which: Attack) -> bytes:
    """Apply an attack to decoded published frames and re-encode them as a social network would."""
    frames, out_fps = which.transform(published, fps)
    return encode(frames, out_fps, which.crf, which.x264_params)
