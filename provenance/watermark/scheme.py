"""Talkgate's own watermark: a tiled spread-spectrum pattern in the luminance's mid frequencies.

Embedding adds a 128x128 tile, repeated over the frame, to Y: the sum of a sync pattern and +-1 times one pattern
per coded payload bit, shaped by an edge-aware texture mask, with amplitudes chosen against the frame's own
interference, as the same bounded change on R, G and B. Detection searches the geometry (resizes, mirroring,
rotations) on the key frames, folds each frame onto one tile, finds the tile offset (undoes crops) by FFT
correlation with the sync pattern, weights frames by how clearly they show it, then reads the 108 coded bits by
correlation and decodes them with a list Viterbi decoder checked by the CRC.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from . import payload

TILE = 128
# Radial band in cycles per pixel of the embedded frame: low enough to survive a 0.5x downscale followed by
# H.264, high enough to stay out of the host image's strong low frequencies and to stay invisible.
BAND = (0.05, 0.2)
# Share of the pattern's energy that goes to the sync pattern (finds scale and offset) vs. the payload.
SYNC_SHARE = 0.2
PATTERN_SEED = 0x7A1C_6A7E
DEFAULT_STRENGTH = 3.05  # RMS change of every frame's R, G and B values in 8-bit levels: PSNR ~= 38.5 dB
REFERENCE_AREA = 512 * 512  # frames at least this large get DEFAULT_STRENGTH
SMALL_FRAME_BOOST = 1.65  # most the strength rises for smaller frames (256x256: 5.0 levels, PSNR ~34 dB)
WHITEN_POWER = 0.75  # detector weights each in-band frequency by |X|^-0.75 (partly phase-only)
HOST_CANCEL = 1.0  # share of the frame's own projection on each pattern that embedding removes
ACTIVITY_REF = 25.0  # local luminance std (8-bit levels) at which the mask is 1
MASK_RANGE = (0.02, 4.0)
MASK_POWER = 1.5  # mask = clamped activity ** MASK_POWER
HP_BLOCK = 16  # block size of the detector's low-pass (its cut-off must sit below BAND[0])
_LUMA = (0.299, 0.587, 0.114)
# How a luminance change d is spread over R, G and B: d * LUMA / |LUMA|^2 changes Y by exactly d with the least
# change of the RGB values (0.67d, 1.31d, 0.26d instead of d, d, d). For the same luminance pattern the RGB error
# is 1.27 dB smaller, so at the same PSNR the mark is 16 % stronger; SSIM, averaged over the three channels, is
# no worse (measured on 16 clips: 0.989 vs 0.988). The colour change it adds is small, at mid spatial
# frequencies where the eye is far less sensitive to colour than to luminance, and codecs subsample it away.
RGB_SPLIT = tuple(c / sum(v * v for v in _LUMA) for c in _LUMA)
# Luminance RMS per RMS level of R, G and B under that split (1 / sqrt(mean(RGB_SPLIT^2)) ~= 1.158).
LUMA_PER_RGB_RMS = 1.0 / math.sqrt(sum(c * c for c in RGB_SPLIT) / 3)


def _box3(x: torch.Tensor) -> torch.Tensor:
    # 3x3 box mean (edges replicated) as shifted sums: several times faster on CPU than avg_pool2d.
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    rows = p[..., :, :-2] + p[..., :, 1:-1] + p[..., :, 2:]
    return (rows[..., :-2, :] + rows[..., 1:-1, :] + rows[..., 2:, :]) / 9.0


def _half(y: torch.Tensor) -> torch.Tensor:
    """(N, H, W) -> (N, 1, ceil(H/2), ceil(W/2)) by 2x2 means (strided slices: cheaper than avg_pool2d)."""
    x = y[:, None]
    if x.shape[-2] % 2 or x.shape[-1] % 2:
        x = F.pad(x, (0, x.shape[-1] % 2, 0, x.shape[-2] % 2), mode="replicate")
    return (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2]) * 0.25


# After a downscale by s, nothing above the new Nyquist frequency (0.5 cycles per new pixel, i.e. 0.5*s in the
# watermark's frequencies) survives; whitening would only amplify the empty bins there, so they are left out.
RESAMPLED_CUTOFF = 0.5


@lru_cache(maxsize=64)
def _detect_mask(scale: float = 1.0) -> torch.Tensor:
    return _band_mask(TILE, BAND[0] * 0.8, min(BAND[1] * 1.15, RESAMPLED_CUTOFF * scale))


def _band_mask(n: int, lo: float, hi: float) -> torch.Tensor:
    f = torch.fft.fftfreq(n, dtype=torch.float64)
    r = torch.sqrt(f[:, None] ** 2 + f[None, :] ** 2)
    return ((r >= lo) & (r <= hi)).to(torch.float32)


@lru_cache(maxsize=2)
def patterns() -> torch.Tensor:
    """The keyed patterns (1 sync + CODED_BITS payload), each TILExTILE, band-limited, unit RMS."""
    gen = torch.Generator().manual_seed(PATTERN_SEED)
    noise = torch.randn(1 + payload.CODED_BITS, TILE, TILE, generator=gen)
    spec = torch.fft.fft2(noise) * _band_mask(TILE, *BAND)
    pats = torch.fft.ifft2(spec).real
    pats = pats - pats.mean(dim=(1, 2), keepdim=True)
    return pats / pats.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()


# The mark's bound per pixel, in 8-bit levels of R, G and B: a change of a few levels in texture is invisible,
# a dot of 40 or more on a clean edge is not.
MAX_CHANGE = 12
# The texture mask grows with activity ** TEXTURE_POWER. A steeper mask keeps smooth areas cleaner, which SSIM
# rewards, but x264's adaptive quantisation spends its bits on smooth blocks and starves busy ones, so the mark then
# sits where CRF 35 removes it (16 clips: power 2.0 gave SSIM 0.987 and CRF 35 11/16; 1.5 gives SSIM 0.980 and
# keeps CRF 35; docs/watermark.md, "Visibility").
TEXTURE_POWER = 1.5
# Share of MAX_CHANGE that bounds a clean, straight edge's pixels (texture gets all of it). 0.5 made edges visibly
# cleaner at 5x zoom, but the re-aimed RMS then went to smooth areas: 8 photos SSIM 0.978 instead of 0.981, and
# fewer hard CRF 35 clips recovered (3 of 5 instead of 4); docs/watermark.md, "Visibility".
EDGE_BOUND_SHARE = 1.0
# Share of the activity mask that a clean, straight edge keeps (texture keeps all of it): see texture_mask.
EDGE_SHARE = 0.25
# How many times the frame's RMS may be re-aimed after the per-pixel bound cut it (each round moves energy from
# the bounded pixels to the others).
BOUND_ROUNDS = 3


def texture_mask(y: torch.Tensor) -> torch.Tensor:
    """Where the mark hides: texture, less on clean edges, little on flat areas. (N, H, W) luminance -> weights.

    Local activity (standard deviation over ~6x6 pixels) is as high on a clean edge as in texture, so the first
    mask put the most mark where a viewer sees it best: along a collar or a jaw line. The structure tensor over the
    same window tells the two apart: on a straight edge the gradients all point one way (eigenvalues l1 >> l2), in
    texture every way (l1 ~ l2). The activity mask is multiplied by EDGE_SHARE + (1 - EDGE_SHARE) * l2 / l1: full
    in texture, a quarter on a clean edge. A quarter, not nothing: SSIM barely notices noise in high-contrast
    windows and much of the budget would otherwise go to low-contrast texture, where SSIM punishes it; on an edge the
    change is bounded and colourless (see _add_grey), which is what made the earlier mark visible there.
    """
    return _texture_and_isotropy(y)[0]


def _texture_and_isotropy(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """texture_mask and the isotropy l2 / l1 it uses (0 on a clean edge, up to 1 in texture), both (N, H, W)."""
    h, w = y.shape[1:]
    small = _half(y)
    mu, mean_sq = _box3(small), _box3(small * small)
    act = (mean_sq - mu * mu).clamp_min(0).sqrt() / ACTIVITY_REF
    p = F.pad(small, (1, 1, 1, 1), mode="replicate")
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) * 0.5
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) * 0.5
    jxx, jyy, jxy = _box3(gx * gx), _box3(gy * gy), _box3(gx * gy)
    mean = (jxx + jyy) * 0.5
    spread = (((jxx - jyy) * 0.5).pow(2) + jxy * jxy).sqrt()
    isotropy = (mean - spread).clamp_min(0) / (mean + spread + 1e-3)
    m = act.clamp(MASK_RANGE[0], MASK_RANGE[1]).pow(TEXTURE_POWER) * (EDGE_SHARE + (1 - EDGE_SHARE) * isotropy)
    m = m / m.pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
    both = F.interpolate(torch.cat([m, isotropy], dim=1), size=(h, w), mode="bilinear", align_corners=False)
    return both[:, 0], both[:, 1]


def _add_grey(x: torch.Tensor, delta: torch.Tensor, rgb_rms: float, bound: torch.Tensor) -> torch.Tensor:
    """Add a luminance change to uint8 RGB frames as the same value on R, G and B, bounded per pixel.

    The same change on all three channels moves Y and nothing else: Cb and Cr (differences of B and R from Y) stay
    exactly as they were, so the mark can draw no coloured dots. Each pixel's change is bounded by MAX_CHANGE and by
    its own headroom (no channel clips, which would change the colour), and the frame's RMS is re-aimed at
    `rgb_rms` a few times so the bound moves energy to other pixels rather than dropping it. `bound` (N, H, W): each
    pixel's own limit, at most MAX_CHANGE.
    """
    xi = x.to(torch.int16)
    lo = torch.maximum((-xi.amin(dim=-1)).to(delta.dtype), -bound)
    hi = torch.minimum((255 - xi.amax(dim=-1)).to(delta.dtype), bound)
    d = delta
    for _ in range(BOUND_ROUNDS):
        d = d * (rgb_rms / d.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-6))
        d = torch.maximum(torch.minimum(d, hi), lo)
    step = d.round_().to(torch.int16)
    return (xi + step[..., None]).to(torch.uint8)


class OwnEmbedder:
    """Adds the tiled pattern of one watermark id to batches of RGB frames."""

    def __init__(
        self,
        wm_id: str,
        strength: float | None = None,
        device: str | torch.device | None = None,
        host_cancel: float = HOST_CANCEL,
        masking: bool = True,
        base_strength: float = DEFAULT_STRENGTH,
        legacy: bool = False,
    ):
        self.wm_id = wm_id
        # legacy: the first published embedding (activity mask, luminance spread over R, G and B, no per-pixel
        # bound), kept to measure against and to make marks like the service's earlier outputs in tests.
        self.legacy = legacy
        # None: base_strength, raised for frames smaller than 512x512 (see strength_for); a number: exactly that.
        self.strength = None if strength is None else float(strength)
        self.base_strength = float(base_strength)
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.host_cancel = host_cancel
        self.masking = masking
        signs = torch.from_numpy(1.0 - 2.0 * payload.encode_id(wm_id).astype(np.float32))
        # Wanted detector response of each pattern, sync first: the sync gets SYNC_SHARE of the energy.
        sync = math.sqrt(SYNC_SHARE / (1 - SYNC_SHARE) * len(signs))
        self._target = torch.cat([torch.tensor([sync]), signs]).to(self.device)
        pats = patterns().to(self.device)
        self._pats = pats
        # Only the detector's band matters; keeping just those FFT bins makes the projections ~8x cheaper.
        self._bins = torch.nonzero(_detect_mask().reshape(-1)).squeeze(1).to(self.device)
        spec = torch.fft.fft2(pats).reshape(len(pats), -1)[:, self._bins]
        self._pspec = spec
        self._pabs2 = spec.abs().pow(2)

    def _mask(self, y: torch.Tensor) -> torch.Tensor:
        if self.legacy:
            return self._activity_mask(y)
        return texture_mask(y)

    def _activity_mask(self, y: torch.Tensor) -> torch.Tensor:
        # Perceptual masking: less pattern on flat areas (where noise is visible and SSIM suffers), more on texture.
        # Activity is the local std over ~6x6 pixels (about SSIM's 7x7 window) on a 2x subsampled luminance, and
        # the mask grows faster than linearly with it: SSIM punishes noise in flat windows far more than in busy
        # ones, and busy areas also keep the pattern best through a codec.
        h, w = y.shape[1:]
        small = _half(y)
        mu, mean_sq = _box3(small), _box3(small * small)
        act = (mean_sq - mu * mu).clamp_min(0).sqrt() / ACTIVITY_REF
        m = act.clamp(MASK_RANGE[0], MASK_RANGE[1]).pow(MASK_POWER)
        # Normalise to unit mean square: embed_batch then sets the frame's RMS change exactly (PSNR fixed).
        m = m / m.pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return F.interpolate(m, size=(h, w), mode="bilinear", align_corners=False)[:, 0]

    def strength_for(self, h: int, w: int) -> float:
        """RMS luminance change for frames of this size.

        Detection evidence grows with the number of pixels. Below 512x512 the base strength rises with
        sqrt(512^2 / (h * w)), up to SMALL_FRAME_BOOST times, so a small output is as detectable as a 512 px one
        (PSNR ~34 dB at 256 px instead of ~38.5): every output must stay recognisable.
        """
        if self.strength is not None:
            return self.strength
        return self.base_strength * min(max(math.sqrt(REFERENCE_AREA / (h * w)), 1.0), SMALL_FRAME_BOOST)

    def _project(self, spec: torch.Tensor, inv: torch.Tensor) -> torch.Tensor:
        """Detector response (N, K) of each pattern to folded spectra restricted to the band bins."""
        white = spec * inv
        return torch.einsum("nf,kf->nk", white.real, self._pspec.real) + torch.einsum(
            "nf,kf->nk", white.imag, self._pspec.imag
        )

    def _amplitudes(self, y: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """Per-frame amplitude of each pattern: informed embedding against the detector's own view of the frame.

        The detector folds the high-passed frame onto one tile and weights frequencies by |X|^-0.75. In that view
        the frame already has a projection h_k on each pattern, and adding a*P_k moves it by a*g_k. Choosing
        a_k = (tau*t_k - h_k) / g_k cancels the host's interference; tau is set so every frame spends the same
        energy budget (sum a_k^2 = luminance RMS^2); embed_batch then scales the masked result to exactly that RMS.
        """
        n, h, w = y.shape
        full = torch.fft.fft2(_fold(_highpass(y)))
        spec = full.reshape(n, -1)[:, self._bins]
        inv = _inverse_level(full).reshape(n, -1)[:, self._bins]
        host = self._project(spec, inv)
        g = torch.einsum("nf,kf->nk", inv, self._pabs2) * (h * w / TILE**2) * gain[:, None]
        host = host * self.host_cancel
        t = self._target[None]
        a_ = (t / g).pow(2).sum(1)
        b_ = (t * host / g.pow(2)).sum(1)
        c_ = (host / g).pow(2).sum(1)
        luma_per_rgb = LUMA_PER_RGB_RMS if self.legacy else 1.0
        budget = torch.full_like(a_, (self.strength_for(h, w) * luma_per_rgb) ** 2)
        # If the host alone would eat most of the budget, cancel only part of it.
        shrink = torch.clamp(torch.sqrt(0.5 * budget / c_.clamp_min(1e-12)), max=1.0)
        b_, c_, host = b_ * shrink, c_ * shrink**2, host * shrink[:, None]
        tau = (b_ + torch.sqrt((b_ * b_ - a_ * (c_ - budget)).clamp_min(0))) / a_
        return (tau[:, None] * t - host) / g

    def embed_batch(self, frames: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Watermark uint8 RGB frames shaped (N, H, W, 3); returns the same type, shape and dtype."""
        as_numpy = isinstance(frames, np.ndarray)
        x = torch.from_numpy(frames) if as_numpy else frames
        single = x.ndim == 3
        if single:
            x = x[None]
        if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError("expected uint8 frames shaped (N, H, W, 3)")
        x = x.to(self.device)
        h, w = x.shape[1:3]
        # Plane by plane: much faster on CPU than a weighted sum over the interleaved channel axis.
        y = x[..., 0].to(torch.float32) * _LUMA[0] + x[..., 1].to(torch.float32) * _LUMA[1]
        y += x[..., 2].to(torch.float32) * _LUMA[2]
        if self.legacy or not self.masking:
            weight, isotropy = (self._mask(y) if self.masking else torch.ones_like(y)), torch.ones_like(y)
        else:
            weight, isotropy = _texture_and_isotropy(y)
        gain = weight.mean(dim=(1, 2)).clamp_min(0.1)
        amps = self._amplitudes(y, gain)
        tiles = torch.einsum("nk,khw->nhw", amps, self._pats)
        reps = (math.ceil(h / TILE), math.ceil(w / TILE))
        # The pattern is anchored at the frame's top-left corner; detection recovers the offset after crops.
        delta = tiles.repeat(1, *reps)[:, :h, :w] * weight
        if self.legacy:
            # Every frame's R, G and B values change by exactly `strength` RMS levels: PSNR is set here.
            luma_rms = self.strength_for(h, w) * LUMA_PER_RGB_RMS
            delta *= luma_rms / delta.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-6)
            # Each channel gets its share of the luminance change (see RGB_SPLIT), rounded on its own.
            rgb = (delta[..., None] * torch.tensor(RGB_SPLIT, device=delta.device)).round_().to(torch.int16)
            out = (x.to(torch.int16) + rgb).clamp_(0, 255).to(torch.uint8)
        else:
            # Clean edges get a tighter bound than texture: the re-aimed RMS would fill them to MAX_CHANGE too.
            bound = MAX_CHANGE * (EDGE_BOUND_SHARE + (1 - EDGE_BOUND_SHARE) * isotropy)
            out = _add_grey(x, delta, self.strength_for(h, w), bound)
        if single:
            out = out[0]
        if as_numpy:
            return out.cpu().numpy()
        return out.to(frames.device)


@dataclass(frozen=True)
class Geometry:
    """How a suspect frame maps back onto the marked one: mirrored left-right first, then rotated and scaled.

    Scale is (size in the suspect) / (size in the marked frame) per axis; angle in degrees. Translation is not part
    of it: the tile offset search finds it.
    """

    sx: float = 1.0
    sy: float = 1.0
    angle: float = 0.0
    mirrored: bool = False

    def moved(self, dsx: float = 1.0, dsy: float = 1.0, dangle: float = 0.0) -> Geometry:
        """This geometry with its scales multiplied and its angle shifted."""
        return replace(self, sx=self.sx * dsx, sy=self.sy * dsy, angle=self.angle + dangle)

    @property
    def identity(self) -> bool:
        """No geometric change at all."""
        return self == Geometry()


@dataclass
class Reading:
    """What the detector found: scores, geometry and offset, soft coded bits and the decoded id (if the CRC holds).

    `score` is the detection statistic: the correlation, in units of its std over all tile offsets, of the whole
    pattern rebuilt from the decoded bits (sync + payload) with what was read. `sync_z` is the sync pattern's alone.
    `frame_z`: each frame's own correlation (z) with that whole pattern at the offset, in reading order (which
    frames carry the mark: a marked segment inside unmarked video shows as a run of high values).
    """

    score: float
    sync_z: float
    wm_id: str | None
    bit_accuracy: float
    scale: tuple[float, float]
    offset: tuple[int, int]
    soft: np.ndarray = field(repr=False)
    frames_checked: int = 1
    # False when the caller's deadline stopped the scale search before every candidate was read.
    complete: bool = True
    angle: float = 0.0
    mirrored: bool = False
    frame_z: list[float] = field(default_factory=list, repr=False)


class DeadlineExceeded(Exception):
    """The caller's time budget ran out."""


def _check(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise DeadlineExceeded


def _inverse_level(spec: torch.Tensor) -> torch.Tensor:
    """Per-frequency weight |X|^-WHITEN_POWER of the detector (and of the embedder's model of it)."""
    return 1.0 / (spec.abs().pow(WHITEN_POWER) + 1e-6)


def _whiten(spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # Partial phase-only weighting evens out the host's strong frequencies.
    if WHITEN_POWER == 0:
        return spec * mask
    return spec * mask * _inverse_level(spec)


# Blocks of the high-passed frame whose RMS exceeds LIMIT_RATIO times the frame's median block RMS are scaled down to
# it. Burned-in text, a sticker's outline, the black border of a rotated copy and the scene's own strong edges are
# the strongest things in a frame but carry little or no mark (the embedder bounds every pixel's change and keeps
# clean edges light), so unlimited they dominate the fold and drown the pattern. The embedder models the detector
# through the same function, so its host cancellation sees the same view.
LIMIT_BLOCK = 16
LIMIT_RATIO = 1.5


def _limit(x: torch.Tensor) -> torch.Tensor:
    """Scale down blocks of high-passed frames (B, H, W) whose energy stands far above the frame's typical block."""
    h, w = x.shape[-2:]
    energy = F.avg_pool2d((x * x)[:, None], LIMIT_BLOCK, stride=LIMIT_BLOCK, ceil_mode=True)
    typical = energy.flatten(1).median(dim=1).values.clamp_min(1e-6)[:, None, None, None]
    gain = (LIMIT_RATIO**2 * typical / energy.clamp_min(1e-12)).clamp(max=1.0).sqrt()
    gain = F.interpolate(gain, size=(h, w), mode="bilinear", align_corners=False)
    return x * gain[:, 0]


def _highpass(img: torch.Tensor) -> torch.Tensor:
    """Remove the host's low frequencies (and the leakage they would cause at tile seams when folding), then limit
    blocks far stronger than the frame's typical one (see _limit).

    A 16x16 block mean, bilinearly upsampled, is a cheap low-pass whose cut-off sits below the pattern's band.
    """
    x = img[None, None] if img.ndim == 2 else img[:, None]
    h, w = x.shape[-2:]
    low = F.avg_pool2d(x, HP_BLOCK, stride=HP_BLOCK, ceil_mode=True)
    low = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    out = _limit((x - low)[:, 0])
    return out[0] if img.ndim == 2 else out


def _fold(img: torch.Tensor) -> torch.Tensor:
    """Sum an image (or a batch of images) over all TILExTILE tiles anchored at the top-left corner."""
    h, w = img.shape[-2:]
    ph, pw = math.ceil(h / TILE) * TILE, math.ceil(w / TILE) * TILE
    if (ph, pw) != (h, w):
        img = F.pad(img, (0, pw - w, 0, ph - h))
    tiles = img.reshape(*img.shape[:-2], ph // TILE, TILE, pw // TILE, TILE)
    # Added up slice by slice: several times faster on CPU than one strided sum over two axes.
    rows = tiles[..., 0, :, :, :]
    for i in range(1, ph // TILE):
        rows = rows + tiles[..., i, :, :, :]
    out = rows[..., 0, :]
    for j in range(1, pw // TILE):
        out = out + rows[..., j, :]
    return out


def _rotation_grid(n: int, h: int, w: int, g: Geometry) -> torch.Tensor:
    """grid_sample grid that maps the marked frame's pixels (covering the whole suspect) into n suspects h x w."""
    a = math.radians(g.angle)
    c, s = math.cos(a), math.sin(a)
    # Marked-frame coordinates q (pixels about the centre) land in the suspect at p = diag(sx, sy) R(angle) q; the
    # output covers the suspect's whole area mapped back.
    oh = math.ceil(h / g.sy * abs(c) + w / g.sx * abs(s))
    ow = math.ceil(w / g.sx * abs(c) + h / g.sy * abs(s))
    # In grid_sample's normalised coordinates (align_corners=False) a pixel offset d from the centre is 2d / size.
    theta = torch.tensor(
        [[g.sx * c * ow / w, -g.sx * s * oh / w, 0.0], [g.sy * s * ow / h, g.sy * c * oh / h, 0.0]],
        dtype=torch.float32,
    )
    return F.affine_grid(theta[None].expand(n, -1, -1), [n, 1, oh, ow], align_corners=False)


def _resample(x: torch.Tensor, g: Geometry) -> torch.Tensor:
    """Undo a geometry on high-passed frames (B, H, W): back onto the marked frame's pixel grid."""
    if g.mirrored:
        x = x.flip(-1)
    h, w = x.shape[-2:]
    if g.angle:
        grid = _rotation_grid(len(x), h, w, g)
        return F.grid_sample(x[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False)[:, 0]
    if (g.sx, g.sy) != (1.0, 1.0):
        nh, nw = max(8, round(h / g.sy)), max(8, round(w / g.sx))
        # Anti-aliasing only matters when shrinking (the suspect was upscaled); skipping it otherwise is faster.
        x = F.interpolate(x[:, None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=nh < h)[:, 0]
    return x


def _prepare(x: torch.Tensor, g: Geometry) -> torch.Tensor:
    """Undo the geometry of high-passed frames, fold onto one tile and whiten: (B, H, W) -> (B, TILE, TILE)."""
    return _whiten(torch.fft.fft2(_fold(_resample(x, g))), _detect_mask(round(min(g.sx, g.sy, 1.0), 2)))


@lru_cache(maxsize=1)
def _pattern_spectra_conj() -> torch.Tensor:
    """Conjugate spectra of all patterns, sync first."""
    return torch.fft.fft2(patterns()).conj().contiguous()


def _sync_spectrum_conj() -> torch.Tensor:
    return _pattern_spectra_conj()[0]


def _z_surfaces(corr: torch.Tensor) -> torch.Tensor:
    """Correlation surfaces in units of their own std over all offsets (mean removed)."""
    corr = corr - corr.mean(dim=(-2, -1), keepdim=True)
    return corr / (corr.std(dim=(-2, -1), keepdim=True) + 1e-12)


def _sync_surfaces(spectra: torch.Tensor) -> torch.Tensor:
    """Correlation of each folded tile with the sync pattern at every cyclic offset, in units of its std."""
    return _z_surfaces(torch.fft.ifft2(spectra * _sync_spectrum_conj()).real)


def _bits_at(spectra: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Soft payload values (B, CODED_BITS) of folded tiles at offset (dy, dx), each row in units of its std."""
    aligned = torch.roll(torch.fft.ifft2(spectra).real, shifts=(-dy, -dx), dims=(-2, -1))
    soft = torch.einsum("bhw,khw->bk", aligned, patterns()[1:])
    return soft / (soft.std(dim=1, keepdim=True) + 1e-12)


def _z_at(surface: torch.Tensor, dy: int, dx: int) -> float:
    return float((surface[dy, dx] - surface.mean()) / (surface.std() + 1e-12))


def _peak(surface: torch.Tensor) -> tuple[float, int, int]:
    dy, dx = divmod(int(torch.argmax(surface)), TILE)
    return _z_at(surface, dy, dx), dy, dx


def _template_conj(coded: np.ndarray) -> torch.Tensor:
    """Conjugate spectrum of the whole pattern (sync + payload) embedded for these coded bits (0/1)."""
    signs = torch.from_numpy(1.0 - 2.0 * coded.astype(np.float32))
    sync = math.sqrt(SYNC_SHARE / (1 - SYNC_SHARE) * len(signs))
    weights = torch.cat([torch.tensor([sync]), signs])
    return torch.fft.fft2(torch.einsum("k,khw->hw", weights, patterns())).conj()


# Scales tried when searching for a resize: 0.45x to 1.6x in 1.2 % steps (a coarse fold still shows the sync),
# then refined. Scale here is (size of the suspect frame) / (size of the watermarked frame).
SCALE_GRID = tuple(float(v) for v in np.exp(np.arange(np.log(0.45), np.log(1.6), 0.012)))
# Geometries whose peaks are read in full (best first) per search. After strong compression the true scale's sync
# peak can be beaten by a chance peak elsewhere in the search; decoding a few candidates lets the payload decide.
SCALE_CANDIDATES = 3
RANKED_PEAKS = 12  # best sync peaks of the grid re-ranked with the payload's energy (6 kept the true scale less)


def _sync_peaks(spectra: torch.Tensor) -> list[float]:
    """Peak z of the sync correlation of each whitened folded spectrum (B, TILE, TILE): one pass, no surfaces kept."""
    half = TILE // 2 + 1
    corr = torch.fft.irfft2(spectra[..., :half] * _sync_spectrum_conj()[..., :half], s=(TILE, TILE)).flatten(1)
    std, mean = torch.std_mean(corr, dim=1)
    return ((corr.amax(dim=1) - mean) / (std + 1e-12)).tolist()


def _sync_z_pair(hp: torch.Tensor, g: Geometry) -> tuple[float, float]:
    """Sync peak z of one high-passed reference at a geometry, as it is and mirrored (one resampling for both: the
    mirrored fold is the fold mirrored, up to a cyclic shift the offset search absorbs)."""
    folded = _fold(_resample(hp[None], replace(g, mirrored=False)))[0]
    spectra = _whiten(
        torch.fft.fft2(torch.stack([folded, folded.flip(-1)])), _detect_mask(round(min(g.sx, g.sy, 1.0), 2))
    )
    plain, mirrored = _sync_peaks(spectra)
    return plain, mirrored


def _sync_z(hp: torch.Tensor, g: Geometry) -> float:
    return _sync_peaks(_prepare(hp[None], g))[0]


def _locate_z(ref: torch.Tensor, g: Geometry) -> float:
    return _locate(_prepare(ref[None], g)[0])[0]


def _refine(
    ref: torch.Tensor,
    best: Geometry,
    best_z: float,
    judge: Callable[[torch.Tensor, Geometry], float],
    deadline: float | None = None,
) -> Geometry:
    """Hill-climb a geometry from `best`, whose judged value `best_z` the caller already knows: the scale per axis
    in steps of 0.5 % then 0.2 % (folding needs the period to a fraction of a pixel over the whole image), and for a
    rotated candidate the angle with the scale (steps of 0.1 then 0.05 degrees; the two trade off against each
    other along the frame's diagonal)."""
    if best.angle:
        moves = [[(1 + es * ss, 1 + es * ss, ea * sa) for es, ea in ((-1, 0), (1, 0), (0, -1), (0, 1))]
                 for ss, sa in ((0.004, 0.1), (0.002, 0.05))]  # fmt: skip
    else:
        # The isotropic scale first, then each axis on its own: 8 judgements instead of 16 for the full 3x3 steps.
        iso = [(1 + e * step, 1 + e * step, 0.0) for step in (0.005, 0.002) for e in (-1, 1)]
        axes = [(1 + e * 0.002, 1.0, 0.0) for e in (-1, 1)] + [(1.0, 1 + e * 0.002, 0.0) for e in (-1, 1)]
        moves = [iso, axes]
    for round_moves in moves:
        start = best
        for dsx, dsy, da in round_moves:
            cand = start.moved(dsx, dsy, da)
            _check(deadline)
            z = judge(ref, cand)
            if z > best_z:
                best_z, best = z, cand
    return best


# Rotation is found from the tile lattice, not by a search over angles: the mark repeats every TILE pixels, so the
# frame's autocorrelation (after whitening) peaks on a square lattice of period TILE * scale turned by the angle,
# whatever the payload and the offset. Angles within ROTATION_MIN of upright are left to the scale search (codec
# block edges also make an upright lattice).
ROTATION_RANGE = 6.0  # degrees
ROTATION_MIN = 0.3
LATTICE_PEAKS = 8  # best lattice peaks, judged by the sync in the fold they imply
LATTICE_CANDIDATES = 2  # of those, refined and ranked with the other candidates
LATTICE_FRAMES = 8  # frames whose power spectra are averaged
LATTICE_BAND = (0.02, 0.45)
LATTICE_SMOOTH = 15  # cycles per pixel of the suspect: the pattern's band after any scale searched
# Lattice vectors (in tile periods) whose autocorrelation is summed: the two axes and the two diagonals.
_LATTICE_POINTS = ((1, 0), (0, 1), (1, 1), (1, -1))


def _lattice_candidates(frames: torch.Tensor) -> list[Geometry]:
    """Rotated geometries (angle and isotropic scale) at which the tile lattice shows in high-passed frames (B, H, W).

    The frames' power spectra are averaged (not the frames): the lattice's comb is the same in every frame, while
    each frame's own spectrum fluctuates, so the comb stands out better the more frames are averaged.
    """
    h, w = frames.shape[-2:]
    ph, pw = 2 * h, 2 * w  # zero-padded: a linear, not circular, autocorrelation
    power = torch.fft.rfft2(frames.to(torch.float32), s=(ph, pw)).abs().pow(2).mean(0)
    fy = torch.fft.fftfreq(ph)[:, None]
    fx = torch.fft.rfftfreq(pw)[None, :]
    r = torch.sqrt(fx * fx + fy * fy)
    band = (r >= LATTICE_BAND[0]) & (r <= LATTICE_BAND[1])
    # Whitened power: each frequency's power over its neighbourhood's. The host's smooth spectrum becomes flat, the
    # mark's comb of lattice frequencies stands out (its spacing, 2 * size / (TILE * scale) bins, is 5-18 bins).
    local = F.avg_pool2d(power[None, None], LATTICE_SMOOTH, stride=1, padding=LATTICE_SMOOTH // 2,
                         count_include_pad=False)[0, 0]  # fmt: skip
    ac = torch.fft.irfft2(torch.where(band, power / (local + 1e-9) - 1.0, torch.zeros(())), s=(ph, pw))
    ac = torch.fft.fftshift(ac)
    # Normalise each lag by how many pixel pairs it overlaps.
    ly = torch.arange(ph, dtype=torch.float32)[:, None] - ph // 2
    lx = torch.arange(pw, dtype=torch.float32)[None, :] - pw // 2
    overlap = ((h - ly.abs()).clamp_min(0) * (w - lx.abs()).clamp_min(0)).clamp_min(1.0)
    ac = ac * (h * w) / overlap
    ring = (ly.pow(2) + lx.pow(2)).sqrt()
    sel = (ring > TILE * SCALE_GRID[0] * 0.8) & (ring < min(h, w) * 0.7)
    ac = (ac - ac[sel].mean()) / (ac[sel].std() + 1e-12)
    scales = torch.tensor(np.exp(np.arange(np.log(SCALE_GRID[0]), np.log(SCALE_GRID[-1]), 0.004)), dtype=torch.float32)
    angles = torch.arange(-ROTATION_RANGE, ROTATION_RANGE + 1e-6, 0.15)
    s, a = torch.meshgrid(scales, angles, indexing="ij")
    rad = torch.deg2rad(a)
    total = torch.zeros_like(s)
    count = torch.zeros_like(s)

    def sample(vx: torch.Tensor, vy: torch.Tensor) -> torch.Tensor:
        grid = torch.stack([(vx + pw // 2 + 0.5) / pw * 2 - 1, (vy + ph // 2 + 0.5) / ph * 2 - 1], dim=-1)
        return F.grid_sample(ac[None, None], grid[None], mode="bilinear", align_corners=False)[0, 0]

    for nx, ny in _LATTICE_POINTS:
        vx = TILE * s * (torch.cos(rad) * nx - torch.sin(rad) * ny)
        vy = TILE * s * (torch.sin(rad) * nx + torch.cos(rad) * ny)
        inside = (vx.abs() < w * 0.7) & (vy.abs() < h * 0.7)
        # A peak, not a ridge: long straight edges (a rotated copy's black corners, a caption bar) make ridges
        # through the origin along their direction, equally high at every scale; the lattice's peaks stand above
        # their radial neighbours.
        val = sample(vx, vy) - 0.5 * (sample(vx * 0.95, vy * 0.95) + sample(vx * 1.05, vy * 1.05))
        total += torch.where(inside, val, torch.zeros(()))
        count += inside.float()
    score = total / count.clamp_min(1.0).sqrt()
    score[:, a[0].abs() < ROTATION_MIN] = -math.inf
    # Local maxima of the (scale, angle) map, best first.
    pooled = F.max_pool2d(score[None, None], 5, stride=1, padding=2)[0, 0]
    peaks = torch.nonzero((score == pooled) & torch.isfinite(score))
    order = torch.argsort(score[peaks[:, 0], peaks[:, 1]], descending=True)[:LATTICE_PEAKS]
    return [Geometry(float(scales[i]), float(scales[i]), float(angles[j])) for i, j in peaks[order].tolist()]


# Rotations tried directly, at two scales each: the frame turned in place (scale 1, corners cut or filled) and
# "straightened" (the largest upright rectangle inside cut out and scaled back to the frame's size: scale
# |cos| + |sin|), the two ways editors and apps rotate. The fold tolerates about a tenth of a degree over a 512 px
# frame, so steps of ROTATION_STEP leave the sync well visible; the refinement does the rest.
ROTATION_STEP = 0.3


def _edit_rotations() -> list[Geometry]:
    """Rotated geometries tried by the sync directly, whatever the lattice shows."""
    angles = np.arange(ROTATION_MIN, ROTATION_RANGE + 1e-6, ROTATION_STEP)
    out = []
    for a in (*angles, *(-angles)):
        r = math.radians(float(a))
        for scale in (1.0, abs(math.cos(r)) + abs(math.sin(r))):
            out.append(Geometry(scale, scale, float(a)))
    return out


def _search(ref: torch.Tensor, frames: torch.Tensor, deadline: float | None = None) -> list[tuple[float, Geometry]]:
    """Candidate geometries for one high-passed reference, judged by the offset measure (best first).

    The sync alone ranks the scale grid, upright and mirrored (the mirrored fold is the fold mirrored: one more
    correlation per scale, no resampling); its best local maxima are refined. The lattice adds rotated
    candidates, tried both ways round. All are then ranked by how strongly the sync and the payload's
    correlation energy peak together (_locate), including the unscaled mirrored frame.
    """
    grid = np.array(SCALE_GRID)
    zs = np.zeros((2, len(grid)))
    for i, s in enumerate(grid):
        _check(deadline)
        zs[0, i], zs[1, i] = _sync_z_pair(ref, Geometry(float(s), float(s)))
    peaks = [
        (zs[m, i], Geometry(float(grid[i]), float(grid[i]), mirrored=bool(m)))
        for m in (0, 1)
        for i in range(len(grid))
        if zs[m, i] >= zs[m, max(i - 1, 0)] and zs[m, i] >= zs[m, min(i + 1, len(grid) - 1)]
    ]
    peaks = sorted(peaks, key=lambda item: -item[0])[:RANKED_PEAKS]
    found = [_refine(ref, g, float(z), _sync_z, deadline) for z, g in peaks]
    # A peak that refines to 1.0 is the unscaled candidate again (a 1 % resize, though, is its own candidate).
    found = [g for g in found if g.mirrored or max(abs(g.sx - 1.0), abs(g.sy - 1.0)) > 0.003]
    found.append(Geometry(mirrored=True))
    judged = []
    for g in [*_edit_rotations(), *_lattice_candidates(frames)]:
        _check(deadline)
        plain, mirrored = _sync_z_pair(ref, g)
        # The pair's mirrored reading is the turned fold mirrored, i.e. the mirrored frame turned the other way.
        judged.append((plain, g) if plain >= mirrored else (mirrored, replace(g, angle=-g.angle, mirrored=True)))
    for z, g in sorted(judged, key=lambda item: -item[0])[:LATTICE_CANDIDATES]:
        found.append(_refine(ref, g, z, _sync_z, deadline))
    located = []
    for g in found:
        _check(deadline)
        located.append((_locate_z(ref, g), g))
    return sorted(located, key=lambda item: -item[0])


def _candidates(
    ref: torch.Tensor, frames: torch.Tensor, k: int = SCALE_CANDIDATES, deadline: float | None = None
) -> Iterator[Geometry]:
    """The k geometries at which one high-passed reference most likely holds the pattern, best first.

    Lazily: the search runs only if the caller asks for more than the first, untouched candidate (most suspect
    copies were never resized, turned or mirrored). Past `deadline` (time.monotonic()) it raises DeadlineExceeded
    between two steps.
    """
    yield Geometry()
    # The candidates that will be read are refined again, judged like the offset (sync and payload energy
    # together): after a downscale and strong compression the sync's own peak sits a few tenths of a percent of
    # scale off, enough to smear the finest payload frequencies across the frame. Only these few: each step costs
    # a 109-pattern correlation.
    for z, g in _search(ref, frames, deadline)[: k - 1]:
        yield _refine(ref, g, z, _locate_z, deadline)


# Paths of the list Viterbi decoder tried against the CRC per reading: ~1 dB over plain Viterbi (on 16 combined-
# attack dev clips 8 recovered instead of 6), paid for with 16 chances instead of one for noise to pass the CRC.
LIST_SIZE = 16
WEIGHT_FLOOR = 2.0  # per-frame strength (z) below which a frame adds nothing
MAX_FRAMES = 48  # frames read per clip (evenly spaced, key frames always): enough evidence, bounded time
BATCH_PIXELS = 16 * 512 * 512  # pixels prepared at once when reading frames
REFERENCE_MIN_FRAMES = 4  # fewer key frames than this: a second search from key frames + spread frames averaged
REFERENCE_SPREAD = 8
# Readings one clip may get: the untouched one, then SCALE_CANDIDATES - 1 geometries from each of two searches.
MAX_READINGS = 1 + 2 * (SCALE_CANDIDATES - 1)


def _locate_surface(ref_spectrum: torch.Tensor) -> torch.Tensor:
    """Offset evidence of one reference: sync correlation plus the payload's correlation energy (z units)."""
    # The products are spectra of real images: half of each is enough (irfft2), half the inverse-FFT work.
    half = TILE // 2 + 1
    prod = ref_spectrum[None, :, :half] * _pattern_spectra_conj()[..., :half]
    corr = torch.fft.irfft2(prod, s=(TILE, TILE))
    # Each surface's std over all offsets from its spectrum (Parseval; the band leaves out DC, so the mean is 0):
    # the columns of the half spectrum other than the first and the last stand for two.
    power = prod.real.square() + prod.imag.square()
    total = 2 * power.sum(dim=(-2, -1)) - power[..., 0].sum(-1) - power[..., -1].sum(-1)
    corr = corr / (total.sqrt() / TILE**2 + 1e-12)[:, None, None]
    energy = _z_surfaces(corr[1:].square().sum(0))
    return corr[0] + energy


def _locate(ref_spectrum: torch.Tensor) -> tuple[float, int, int]:
    """Tile offset in one reference: where the sync AND the payload's correlation energy peak together.

    The sync carries a fifth of the energy; after strong compression its peak can drown among chance peaks while
    the 108 payload patterns, whose signs are unknown here, still show as excess squared correlation. Returns the
    combined peak's strength (z units) and the offset.
    """
    return _peak(_locate_surface(ref_spectrum))


def _frame_weights(z: torch.Tensor) -> torch.Tensor:
    """Weight of each frame from its strength (z) at the offset: nothing below WEIGHT_FLOOR, then quadratic."""
    return (z - WEIGHT_FLOOR).clamp_min(0.0).pow(2)


def _weighted(weights: list[torch.Tensor], surfaces: list[torch.Tensor]) -> torch.Tensor:
    return sum(torch.einsum("b,bhw->hw", w, surf) for w, surf in zip(weights, surfaces, strict=True))


def _templates(spectra: list[torch.Tensor], coded: np.ndarray) -> list[torch.Tensor]:
    """Per-frame correlation surfaces (z units) of the whole pattern these coded bits describe."""
    conj = _template_conj(coded)
    return [_z_surfaces(torch.fft.ifft2(sp * conj).real) for sp in spectra]


def _decode(
    weights: list[torch.Tensor], spectra: list[torch.Tensor], dy: int, dx: int, list_size: int = LIST_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted soft coded bits at the offset and the Viterbi-decoded message (list_size 1: plain Viterbi, which
    never consults the CRC)."""
    soft = torch.zeros(payload.CODED_BITS, dtype=torch.float64)
    for w, sp in zip(weights, spectra, strict=True):
        soft += torch.einsum("b,bk->k", w, _bits_at(sp, dy, dx)).double()
    if list_size == 1:
        return soft.numpy(), payload.viterbi_decode(soft.numpy())
    return soft.numpy(), payload.crc_list_decode(soft.numpy(), list_size)


# Frames read per window when the offset is looked for in a stretch of the video rather than the whole of it, and
# how many of the strongest windows offer their offset.
OFFSET_WINDOW = 8
OFFSET_WINDOWS_TRIED = 2


def _offsets(ref_spectrum: torch.Tensor, surfaces: torch.Tensor) -> list[tuple[int, int]]:
    """Candidate tile offsets, the reference's first: where its sync and payload energy peak, and where the frames'
    own sync surfaces (B, TILE, TILE) peak summed over all frames and over the strongest windows of frames.

    The reference (key frames) is the best single view after strong compression, but it may not hold the mark at
    all: a marked segment spliced into unmarked video without a key frame of its own. The frames that do carry the
    mark still agree on one offset; summed over a window that holds only the segment, unmarked frames stay out.
    """
    _, dy, dx = _locate(ref_spectrum)
    found = [(dy, dx)]
    if len(surfaces) < 2:
        return found
    whole = _peak(_z_surfaces(surfaces.sum(0)))
    starts = range(0, max(1, len(surfaces) - OFFSET_WINDOW + 1), OFFSET_WINDOW // 2)
    windows = [_peak(_z_surfaces(surfaces[i : i + OFFSET_WINDOW].sum(0))) for i in starts]
    for _, fy, fx in [whole, *sorted(windows, key=lambda peak: -peak[0])[:OFFSET_WINDOWS_TRIED]]:
        if (fy, fx) not in found:
            found.append((fy, fx))
    return found


def _first_pass(
    spectra: list[torch.Tensor], syncs: list[torch.Tensor], dy: int, dx: int, list_size: int = LIST_SIZE
) -> tuple[list[torch.Tensor], np.ndarray, np.ndarray, list[torch.Tensor], float]:
    """Frames weighted by their sync at one offset, soft bits, message, its templates and their score there."""
    # A frame's weight grows with its sync strength at the offset. Frames where the codec let the pattern go
    # (P-frames moved it along with the content) must count for almost nothing: their payload readings are the
    # host's, and the host is the same from frame to frame, so it would not average out.
    if sum(len(sp) for sp in spectra) == 1:
        weights = [torch.ones(1)]
    else:
        weights = [_frame_weights(surf[:, dy, dx]) for surf in syncs]
        if float(sum(w.sum() for w in weights)) == 0.0:
            weights = [torch.ones_like(w) for w in weights]
    soft, msg = _decode(weights, spectra, dy, dx, list_size)
    templates = _templates(spectra, payload.conv_encode(msg))
    return weights, soft, msg, templates, _z_at(_weighted(weights, templates), dy, dx)


def _read_at(batches: list[torch.Tensor], ref: torch.Tensor, g: Geometry) -> Reading:
    """Read all frames (high-passed, in batches) at one geometry: find the offset, weight frames by how clearly they
    show it, decode."""
    spectra = [_prepare(hp.to(torch.float32), g) for hp in batches]
    syncs = [_sync_surfaces(sp) for sp in spectra]
    offsets = _offsets(_prepare(ref[None], g)[0], torch.cat(syncs))
    if len(offsets) > 1:
        # Several offsets: the whole pattern, read with plain Viterbi (no CRC consulted, so no more chances for
        # noise to pass it), says which holds the mark. The reference's offset wins ties.
        scores = [_first_pass(spectra, syncs, oy, ox, list_size=1)[-1] for oy, ox in offsets]
        offsets = [offsets[int(np.argmax(scores))]]
    dy, dx = offsets[0]
    weights, soft, msg, templates, _ = _first_pass(spectra, syncs, dy, dx)
    recoded = payload.conv_encode(msg)
    # Second pass, decision-directed: the whole pattern the first decode describes is five times the sync's
    # energy, so it tells much better which frames still carry the mark.
    if sum(len(hp) for hp in batches) > 1:
        reweighted = [_frame_weights(surf[:, dy, dx]) for surf in templates]
        if float(sum(w.sum() for w in reweighted)) > 0.0:
            weights = reweighted
            soft, second = _decode(weights, spectra, dy, dx)
            if not np.array_equal(second, msg):
                msg, recoded = second, payload.conv_encode(second)
                templates = _templates(spectra, recoded)
    acc = float(np.mean((soft < 0).astype(np.uint8) == recoded))
    # Score the whole pattern the decoded bits describe, the same way the sync is scored: weighted correlation
    # surface of the rebuilt template, z at the found offset. A correct decode scores about twice the sync alone.
    score = _z_at(_weighted(weights, templates), dy, dx)
    sync_z = _z_at(_weighted(weights, syncs), dy, dx)
    frame_z = [float(v) for surf in templates for v in surf[:, dy, dx]]
    return Reading(
        score, sync_z, payload.decode_message(msg), acc, (g.sx, g.sy), (dx, dy), soft,
        angle=g.angle, mirrored=g.mirrored, frame_z=frame_z,
    )  # fmt: skip


def read_frames(
    frames: list[np.ndarray],
    key_frames: list[bool] | None = None,
    batch: int = 16,
    *,
    select: bool = True,
    deadline: float | None = None,
) -> Reading:
    """Read the watermark from luminance frames, weighting each frame by how clearly it shows the sync.

    Candidate geometries are read best first; the first whose payload passes the CRC wins, otherwise the one with
    the highest score is returned (not detected). The null calibration covers the whole procedure. `select=False`
    reads every frame given (the caller already picked them, as media.read_video_luma does). The untouched
    reading always runs; past `deadline` (time.monotonic()) the search stops and the best reading so far comes
    back with `complete=False`. The reading's frame_z follows the frames read, in order.
    """
    flags = list(key_frames or [False] * len(frames))
    if select:
        keep = set(np.linspace(0, len(frames) - 1, min(len(frames), MAX_FRAMES)).round().astype(int).tolist())
        keep |= {i for i, k in enumerate(flags) if k}
    else:
        keep = set(range(len(frames)))
    # Held as they came (8-bit) and made float a batch at a time: a quarter of the memory, the same values.
    stack = [torch.as_tensor(frames[i]) for i in sorted(keep)]
    keys = [t for t, i in zip(stack, sorted(keep), strict=True) if flags[i]]
    # After strong compression intra-coded frames keep the pattern best: they are the reference for the search.
    refs = [_highpass(torch.stack(keys or stack[:1]).to(torch.float32).mean(0))]
    # A phone or platform encode often has one key frame in the whole clip, and one frame alone can let the scale
    # search lock onto a chance peak (2 of 6 engine clips re-encoded at 0.75x, 30 fps, 250 kbit/s were missed).
    # Then a second search starts from a few evenly spaced frames averaged (the pattern is the same in every
    # frame, the picture is not); it runs only when the first found nothing, so whatever the first finds stays.
    if len(keys) < REFERENCE_MIN_FRAMES and len(stack) > 1:
        spread = np.linspace(0, len(stack) - 1, min(len(stack), REFERENCE_SPREAD)).round().astype(int)
        refs.append(_highpass(torch.stack([*keys, *(stack[i] for i in spread)]).to(torch.float32).mean(0)))
    # Batches of about 16 frames of 512x512: larger frames go fewer at a time (the scale search resamples a batch
    # up to 2.2x per side), so memory does not grow with the frame size.
    batch = max(1, min(batch, BATCH_PIXELS // max(1, stack[0].numel())))
    # High-passed once for all readings, kept at half precision (the correlations need ~3 digits): half the memory
    # of float32 frames, and no reading repeats the high-pass.
    batches = [
        _highpass(torch.stack(stack[i : i + batch]).to(torch.float32)).to(torch.float16)
        for i in range(0, len(stack), batch)
    ]
    every = torch.cat(batches)
    lattice_frames = every[np.linspace(0, len(every) - 1, min(len(every), LATTICE_FRAMES)).round().astype(int)]
    best: Reading | None = None
    try:
        for n, ref in enumerate(refs):
            for g in _candidates(ref, lattice_frames, deadline=deadline):
                if n and g.identity:
                    continue  # the untouched reading does not depend on the search's reference
                # The search runs only once the untouched reading has failed (most copies are untouched).
                reading = _read_at(batches, ref, g)
                reading.frames_checked = len(stack)
                if reading.wm_id is not None:
                    return reading
                if best is None or reading.score > best.score:
                    best = reading
                _check(deadline)
    except DeadlineExceeded:
        assert best is not None  # the untouched candidate is read before any check
        best.complete = False
    assert best is not None
    return best
