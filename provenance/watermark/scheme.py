"""Talkgate's own watermark: a tiled spread-spectrum pattern in the luminance's mid frequencies.

Embedding adds a 128x128 tile, repeated over the frame, to Y: the sum of a sync pattern and +-1 times one pattern
per coded payload bit, shaped by a perceptual mask, with amplitudes chosen against the frame's own interference.
Detection searches the scale (undoes resizes) on the key frames, folds each frame onto one tile, finds the tile
offset (undoes crops) by FFT correlation with the sync pattern, weights frames by how clearly they show it, then
reads the 108 coded bits by correlation and Viterbi-decodes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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
DEFAULT_STRENGTH = 3.0  # RMS luminance change in 8-bit levels (masking keeps the RMS): PSNR ~= 39 dB
WHITEN_POWER = 0.75  # detector weights each in-band frequency by |X|^-0.75 (partly phase-only)
HOST_CANCEL = 1.0  # share of the frame's own projection on each pattern that embedding removes
ACTIVITY_REF = 25.0  # local luminance std (8-bit levels) at which the mask is 1
MASK_RANGE = (0.1, 3.0)
_LUMA = torch.tensor([0.299, 0.587, 0.114])


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


class OwnEmbedder:
    """Adds the tiled pattern of one watermark id to batches of RGB frames."""

    def __init__(
        self,
        wm_id: str,
        strength: float | None = None,
        device: str | torch.device | None = None,
        host_cancel: float = HOST_CANCEL,
        masking: bool = True,
    ):
        self.wm_id = wm_id
        self.strength = DEFAULT_STRENGTH if strength is None else float(strength)
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
        # Perceptual masking: less pattern on flat areas (where noise is visible and SSIM suffers), more on texture.
        # Activity is measured on a 4x subsampled luminance: cheap, and a mask needs no detail.
        small = y[:, None, ::4, ::4]
        mu = F.avg_pool2d(small, 5, stride=1, padding=2, count_include_pad=False)
        var = F.avg_pool2d(small * small, 5, stride=1, padding=2, count_include_pad=False) - mu * mu
        w = (var.clamp_min(0).sqrt() / ACTIVITY_REF).clamp(MASK_RANGE[0], MASK_RANGE[1])
        # Normalise to unit mean square: `strength` is then the RMS luminance change of every frame (PSNR fixed).
        w = w / w.pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return F.interpolate(w, size=y.shape[1:], mode="bilinear", align_corners=False)[:, 0]

    def _amplitudes(self, y: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
        """Per-frame amplitude of each pattern: informed embedding against the detector's own view of the frame.

        The detector folds the high-passed frame onto one tile and weights frequencies by |X|^-0.75. In that view
        the frame already has a projection h_k on each pattern, and adding a*P_k moves it by a*g_k. Choosing
        a_k = (tau*t_k - h_k) / g_k cancels the host's interference; tau is set so every frame spends the same
        energy (sum a_k^2 = strength^2), which keeps quality constant from frame to frame.
        """
        n, h, w = y.shape
        spec = torch.fft.fft2(_fold(_highpass(y))).reshape(n, -1)[:, self._bins]
        inv = 1.0 / (spec.abs().pow(WHITEN_POWER) + 1e-6)
        white = spec * inv
        host = torch.einsum("nf,kf->nk", white.real, self._pspec.real) + torch.einsum(
            "nf,kf->nk", white.imag, self._pspec.imag
        )
        g = torch.einsum("nf,kf->nk", inv, self._pabs2) * (h * w / TILE**2) * gain[:, None]
        host = host * self.host_cancel
        t = self._target[None]
        a_ = (t / g).pow(2).sum(1)
        b_ = (t * host / g.pow(2)).sum(1)
        c_ = (host / g).pow(2).sum(1)
        budget = torch.full_like(a_, self.strength**2)
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
        y = (x.to(torch.float32) * _LUMA.to(self.device)).sum(-1)
        weight = self._mask(y) if self.masking else torch.ones_like(y)
        gain = weight.mean(dim=(1, 2)).clamp_min(0.1)
        amps = self._amplitudes(y, gain)
        tiles = torch.einsum("nk,khw->nhw", amps, self._pats)
        reps = (math.ceil(h / TILE), math.ceil(w / TILE))
        # The pattern is anchored at the frame's top-left corner; detection recovers the offset after crops.
        delta = (tiles.repeat(1, *reps)[:, :h, :w] * weight).round_().to(torch.int16)
        # Adding the same value to R, G and B changes luminance by exactly that value and leaves chroma alone.
        out = (x.to(torch.int16) + delta[..., None]).clamp_(0, 255).to(torch.uint8)
        if single:
            out = out[0]
        if as_numpy:
            return out.cpu().numpy()
        return out.to(frames.device)


@dataclass
class Reading:
    """What the detector found: sync score, scale and offset, soft coded bits and the decoded id (if the CRC holds)."""

    sync_z: float
    wm_id: str | None
    bit_accuracy: float
    scale: tuple[float, float]
    offset: tuple[int, int]
    soft: np.ndarray = field(repr=False)


def _whiten(spec: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # Partial phase-only weighting evens out the host's strong frequencies.
    if WHITEN_POWER == 0:
        return spec * mask
    return spec * mask / (spec.abs().pow(WHITEN_POWER) + 1e-6)


def _highpass(img: torch.Tensor) -> torch.Tensor:
    """Remove the host's low frequencies (and the leakage they would cause at tile seams when folding).

    A 16x16 block mean, bilinearly upsampled, is a cheap low-pass whose cut-off sits below the pattern's band.
    """
    x = img[None, None] if img.ndim == 2 else img[:, None]
    h, w = x.shape[-2:]
    low = F.avg_pool2d(x, 16, stride=16, ceil_mode=True)
    low = F.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)
    out = x - low
    return out[0, 0] if img.ndim == 2 else out[:, 0]


def _fold(img: torch.Tensor) -> torch.Tensor:
    """Sum an image (or a batch of images) over all TILExTILE tiles anchored at the top-left corner."""
    h, w = img.shape[-2:]
    ph, pw = math.ceil(h / TILE) * TILE, math.ceil(w / TILE) * TILE
    if (ph, pw) != (h, w):
        padded = img.new_zeros(*img.shape[:-2], ph, pw)
        padded[..., :h, :w] = img
        img = padded
    lead = img.shape[:-2]
    return img.reshape(*lead, ph // TILE, TILE, pw // TILE, TILE).sum(dim=(-4, -2))


def _prepare(x: torch.Tensor, sx: float, sy: float) -> torch.Tensor:
    """Undo the scale of high-passed frames, fold onto one tile and whiten: (B, H, W) -> (B, TILE, TILE)."""
    h, w = x.shape[-2:]
    if (sx, sy) != (1.0, 1.0):
        nh, nw = max(8, round(h / sy)), max(8, round(w / sx))
        # Anti-aliasing only matters when shrinking (the suspect was upscaled); skipping it otherwise is faster.
        x = F.interpolate(x[:, None], size=(nh, nw), mode="bilinear", align_corners=False, antialias=nh < h)[:, 0]
    return _whiten(torch.fft.fft2(_fold(x)), _detect_mask(round(min(sx, sy, 1.0), 2)))


@lru_cache(maxsize=1)
def _sync_spectrum_conj() -> torch.Tensor:
    return torch.fft.fft2(patterns()[0]).conj()


def _sync_surfaces(spectra: torch.Tensor) -> torch.Tensor:
    """Correlation of each folded tile with the sync pattern at every cyclic offset, in units of its std."""
    corr = torch.fft.ifft2(spectra * _sync_spectrum_conj()).real
    corr = corr - corr.mean(dim=(-2, -1), keepdim=True)
    return corr / (corr.std(dim=(-2, -1), keepdim=True) + 1e-12)


def _bits_at(spectra: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Soft payload values (B, CODED_BITS) of folded tiles at offset (dy, dx), each row in units of its std."""
    aligned = torch.roll(torch.fft.ifft2(spectra).real, shifts=(-dy, -dx), dims=(-2, -1))
    soft = torch.einsum("bhw,khw->bk", aligned, patterns()[1:])
    return soft / (soft.std(dim=1, keepdim=True) + 1e-12)


def _peak(surface: torch.Tensor) -> tuple[float, int, int]:
    flat = surface.flatten()
    i = int(torch.argmax(flat))
    z = float((flat[i] - flat.mean()) / (flat.std() + 1e-12))
    dy, dx = divmod(i, TILE)
    return z, dy, dx


def _finish(soft: np.ndarray, z: float, sx: float, sy: float, dy: int, dx: int) -> Reading:
    msg = payload.viterbi_decode(soft)
    recoded = payload.conv_encode(msg)
    acc = float(np.mean((soft < 0).astype(np.uint8) == recoded))
    return Reading(z, payload.decode_message(msg), acc, (sx, sy), (dx, dy), soft)


def _read_at_scale(hp: torch.Tensor, sx: float, sy: float) -> Reading:
    spectra = _prepare(hp[None], sx, sy)
    z, dy, dx = _peak(_sync_surfaces(spectra)[0])
    soft = _bits_at(spectra, dy, dx)[0].double().numpy()
    return _finish(soft, z, sx, sy, dy, dx)


# Scales tried when searching for a resize: 0.45x to 1.6x in 1.2 % steps (a coarse fold still shows the sync),
# then refined. Scale here is (size of the suspect frame) / (size of the watermarked frame).
SCALE_GRID = tuple(float(v) for v in np.exp(np.arange(np.log(0.45), np.log(1.6), 0.012)))


def _sync_z(hp: torch.Tensor, sx: float, sy: float) -> float:
    return _peak(_sync_surfaces(_prepare(hp[None], sx, sy))[0])[0]


def _search_scale(ref: torch.Tensor) -> tuple[float, float]:
    """The (sx, sy) scale at which one high-passed reference image shows the sync most clearly."""
    best_z, best = _sync_z(ref, 1.0, 1.0), (1.0, 1.0)
    for s in SCALE_GRID:
        z = _sync_z(ref, s, s)
        if z > best_z:
            best_z, best = z, (s, s)
    # Refine, also per axis: folding needs the period to a fraction of a pixel over the whole image.
    for step in (0.005, 0.002):
        sx0, sy0 = best
        for ex in (-1, 0, 1):
            for ey in (-1, 0, 1):
                if ex == ey == 0:
                    continue
                cand = (sx0 * (1 + ex * step), sy0 * (1 + ey * step))
                z = _sync_z(ref, *cand)
                if z > best_z:
                    best_z, best = z, cand
    return best


MAX_FRAMES = 64  # frames read per clip (evenly spaced, key frames always): enough evidence, bounded time


def read_frames(frames: list[np.ndarray], key_frames: list[bool] | None = None, batch: int = 16) -> Reading:
    """Read the watermark from luminance frames, weighting each frame by how clearly it shows the sync."""
    flags = list(key_frames or [False] * len(frames))
    keep = set(np.linspace(0, len(frames) - 1, min(len(frames), MAX_FRAMES)).round().astype(int).tolist())
    keep |= {i for i, k in enumerate(flags) if k}
    stack = [torch.as_tensor(frames[i], dtype=torch.float32) for i in sorted(keep)]
    keys = [t for t, i in zip(stack, sorted(keep), strict=True) if flags[i]] or stack[:1]
    # After strong compression intra-coded frames keep the pattern best: they are the reference for the search.
    ref = _highpass(torch.stack(keys).mean(0))
    sx, sy = _search_scale(ref)
    if len(frames) == 1:
        return _read_at_scale(ref, sx, sy)
    _, dy0, dx0 = _peak(_sync_surfaces(_prepare(ref[None], sx, sy))[0])
    total_surface = torch.zeros(TILE, TILE)
    soft_parts: list[tuple[torch.Tensor, torch.Tensor]] = []
    for i in range(0, len(stack), batch):
        spectra = _prepare(_highpass(torch.stack(stack[i : i + batch])), sx, sy)
        surfaces = _sync_surfaces(spectra)
        # A frame's weight grows with its sync strength at the reference offset. Frames where the codec let the
        # pattern go (P-frames moved it along with the content) must count for almost nothing: their payload
        # readings are the host's, and the host is the same from frame to frame, so it would not average out.
        weights = (surfaces[:, dy0, dx0] - 2.0).clamp_min(0.0).pow(2)
        total_surface += torch.einsum("b,bhw->hw", weights, surfaces)
        soft_parts.append((weights, spectra))
    z, dy, dx = _peak(total_surface)
    soft = torch.zeros(payload.CODED_BITS, dtype=torch.float64)
    for weights, spectra in soft_parts:
        soft += torch.einsum("b,bk->k", weights, _bits_at(spectra, dy, dx)).double()
    return _finish(soft.numpy(), z, sx, sy, dy, dx)
