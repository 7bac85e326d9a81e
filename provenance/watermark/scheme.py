"""Talkgate's own watermark: a tiled spread-spectrum pattern in the luminance's mid frequencies.

Embedding adds a 128x128 tile, repeated over the frame, to Y: the sum of a sync pattern and +-1 times one pattern
per coded payload bit, shaped by a perceptual mask, with amplitudes chosen against the frame's own interference.
Detection searches the scale (undoes resizes) on the key frames, folds each frame onto one tile, finds the tile
offset (undoes crops) by FFT correlation with the sync pattern, weights frames by how clearly they show it, then
reads the 108 coded bits by correlation and decodes them with a list Viterbi decoder checked by the CRC.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
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
    ):
        self.wm_id = wm_id
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
        budget = torch.full_like(a_, (self.strength_for(h, w) * LUMA_PER_RGB_RMS) ** 2)
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
        weight = self._mask(y) if self.masking else torch.ones_like(y)
        gain = weight.mean(dim=(1, 2)).clamp_min(0.1)
        amps = self._amplitudes(y, gain)
        tiles = torch.einsum("nk,khw->nhw", amps, self._pats)
        reps = (math.ceil(h / TILE), math.ceil(w / TILE))
        # The pattern is anchored at the frame's top-left corner; detection recovers the offset after crops.
        delta = tiles.repeat(1, *reps)[:, :h, :w] * weight
        # Every frame's R, G and B values change by exactly `strength` RMS levels: PSNR is set here.
        luma_rms = self.strength_for(h, w) * LUMA_PER_RGB_RMS
        delta *= luma_rms / delta.pow(2).mean(dim=(1, 2), keepdim=True).sqrt().clamp_min(1e-6)
        # Each channel gets its share of the luminance change (see RGB_SPLIT), rounded on its own.
        rgb = (delta[..., None] * torch.tensor(RGB_SPLIT, device=delta.device)).round_().to(torch.int16)
        out = (x.to(torch.int16) + rgb).clamp_(0, 255).to(torch.uint8)
        if single:
            out = out[0]
        if as_numpy:
            return out.cpu().numpy()
        return out.to(frames.device)


@dataclass
class Reading:
    """What the detector found: scores, scale and offset, soft coded bits and the decoded id (if the CRC holds).

    `score` is the detection statistic: the correlation, in units of its std over all tile offsets, of the whole
    pattern rebuilt from the decoded bits (sync + payload) with what was read. `sync_z` is the sync pattern's alone.
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


def _highpass(img: torch.Tensor) -> torch.Tensor:
    """Remove the host's low frequencies (and the leakage they would cause at tile seams when folding).

    A 16x16 block mean, bilinearly upsampled, is a cheap low-pass whose cut-off sits below the pattern's band.
    """
    x = img[None, None] if img.ndim == 2 else img[:, None]
    h, w = x.shape[-2:]
    low = F.avg_pool2d(x, HP_BLOCK, stride=HP_BLOCK, ceil_mode=True)
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
# Scales whose sync peaks are read in full (best first). After strong compression the true scale's sync peak can
# be beaten by a chance peak elsewhere in the search; decoding a few candidates lets the payload decide.
SCALE_CANDIDATES = 3
RANKED_PEAKS = 12  # best sync peaks of the grid re-ranked with the payload's energy (6 kept the true scale less)


def _sync_z(hp: torch.Tensor, sx: float, sy: float) -> float:
    return _peak(_sync_surfaces(_prepare(hp[None], sx, sy))[0])[0]


def _locate_z(ref: torch.Tensor, sx: float, sy: float) -> float:
    return _locate(_prepare(ref[None], sx, sy)[0])[0]


def _refine(
    ref: torch.Tensor,
    best: tuple[float, float],
    best_z: float,
    judge: Callable[[torch.Tensor, float, float], float],
    deadline: float | None = None,
) -> tuple[float, float]:
    """Hill-climb a scale per axis in steps of 0.5 % then 0.2 %, starting from `best` whose judged value is
    `best_z` (already known to the caller): folding needs the period to a fraction of a pixel over the whole
    image."""
    for step in (0.005, 0.002):
        sx0, sy0 = best
        for ex in (-1, 0, 1):
            for ey in (-1, 0, 1):
                if ex == ey == 0:
                    continue
                cand = (sx0 * (1 + ex * step), sy0 * (1 + ey * step))
                _check(deadline)
                z = judge(ref, *cand)
                if z > best_z:
                    best_z, best = z, cand
    return best


def _scale_candidates(
    ref: torch.Tensor, k: int = SCALE_CANDIDATES, deadline: float | None = None
) -> Iterator[tuple[float, float]]:
    """The k scales (sx, sy) at which one high-passed reference image most likely holds the pattern, best first.

    Lazily: the search runs only if the caller asks for more than the first, unscaled candidate (most suspect
    copies were never resized). The sync alone ranks the whole grid; its best local maxima are refined and
    re-ranked by how strongly the sync and the payload's correlation energy peak together (_locate). Past
    `deadline` (time.monotonic()) it raises DeadlineExceeded between two steps.
    """
    yield (1.0, 1.0)
    grid = np.array(SCALE_GRID)
    zs = np.zeros(len(grid))
    for i, s in enumerate(grid):
        _check(deadline)
        zs[i] = _sync_z(ref, s, s)
    # Local maxima of the grid only: neighbours of one peak are the same candidate.
    peaks = [i for i in range(len(grid)) if zs[i] >= zs[max(i - 1, 0)] and zs[i] >= zs[min(i + 1, len(grid) - 1)]]
    peaks = sorted(peaks, key=lambda i: -zs[i])[:RANKED_PEAKS]
    refined = [_refine(ref, (float(grid[i]), float(grid[i])), float(zs[i]), _sync_z, deadline) for i in peaks]
    # A peak that refines to 1.0 is the unscaled candidate again (a 1 % resize, though, is its own candidate).
    refined = [sc for sc in refined if max(abs(sc[0] - 1.0), abs(sc[1] - 1.0)) > 0.003]
    located = []
    for sc in refined:
        _check(deadline)
        located.append((_locate_z(ref, *sc), sc))
    ranked = sorted(located, key=lambda item: -item[0])[: k - 1]
    # The candidates that will be read are refined again, judged like the offset (sync and payload energy
    # together): after a downscale and strong compression the sync's own peak sits a few tenths of a percent of
    # scale off, enough to smear the finest payload frequencies across the frame (32 combined-attack clips: 22
    # recovered instead of 19). Only these few: each step costs a 109-pattern correlation.
    for z, sc in ranked:
        yield _refine(ref, sc, z, _locate_z, deadline)


# Paths of the list Viterbi decoder tried against the CRC per reading: ~1 dB over plain Viterbi (on 16 combined-
# attack dev clips 8 recovered instead of 6), paid for with 16 chances instead of one for noise to pass the CRC.
LIST_SIZE = 16
WEIGHT_FLOOR = 2.0  # per-frame strength (z) below which a frame adds nothing
MAX_FRAMES = 48  # frames read per clip (evenly spaced, key frames always): enough evidence, bounded time
BATCH_PIXELS = 16 * 512 * 512  # pixels prepared at once when reading frames
REFERENCE_MIN_FRAMES = 4  # fewer key frames than this: a second search from key frames + spread frames averaged
REFERENCE_SPREAD = 8
# Readings one clip may get: the unscaled one, then SCALE_CANDIDATES - 1 scales from each of two searches.
MAX_READINGS = 1 + 2 * (SCALE_CANDIDATES - 1)


def _locate(ref_spectrum: torch.Tensor) -> tuple[float, int, int]:
    """Tile offset in one reference: where the sync AND the payload's correlation energy peak together.

    The sync carries a fifth of the energy; after strong compression its peak can drown among chance peaks while
    the 108 payload patterns, whose signs are unknown here, still show as excess squared correlation. Returns the
    combined peak's strength (z units) and the offset.
    """
    # The products are spectra of real images: half of each is enough (irfft2), half the inverse-FFT work.
    half = TILE // 2 + 1
    prod = ref_spectrum[None, :, :half] * _pattern_spectra_conj()[..., :half]
    corr = _z_surfaces(torch.fft.irfft2(prod, s=(TILE, TILE)))
    energy = _z_surfaces(corr[1:].pow(2).sum(0))
    return _peak(corr[0] + energy)


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
    weights: list[torch.Tensor], spectra: list[torch.Tensor], dy: int, dx: int
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted soft coded bits at the offset and the Viterbi-decoded message."""
    soft = torch.zeros(payload.CODED_BITS, dtype=torch.float64)
    for w, sp in zip(weights, spectra, strict=True):
        soft += torch.einsum("b,bk->k", w, _bits_at(sp, dy, dx)).double()
    return soft.numpy(), payload.crc_list_decode(soft.numpy(), LIST_SIZE)


def _read_at(stack: list[torch.Tensor], ref: torch.Tensor, sx: float, sy: float, batch: int) -> Reading:
    """Read all frames at one scale: find the offset, weight frames by how clearly they show it, decode."""
    _, dy, dx = _locate(_prepare(ref[None], sx, sy)[0])
    spectra = [
        _prepare(_highpass(torch.stack(stack[i : i + batch]).to(torch.float32)), sx, sy)
        for i in range(0, len(stack), batch)
    ]
    syncs = [_sync_surfaces(sp) for sp in spectra]
    # A frame's weight grows with its sync strength at the offset. Frames where the codec let the pattern go
    # (P-frames moved it along with the content) must count for almost nothing: their payload readings are the
    # host's, and the host is the same from frame to frame, so it would not average out.
    if len(stack) == 1:
        weights = [torch.ones(1)]
    else:
        weights = [_frame_weights(surf[:, dy, dx]) for surf in syncs]
        if float(sum(w.sum() for w in weights)) == 0.0:
            weights = [torch.ones_like(w) for w in weights]
    soft, msg = _decode(weights, spectra, dy, dx)
    recoded = payload.conv_encode(msg)
    templates = _templates(spectra, recoded)
    # Second pass, decision-directed: the whole pattern the first decode describes is five times the sync's
    # energy, so it tells much better which frames still carry the mark.
    if len(stack) > 1:
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
    return Reading(score, sync_z, payload.decode_message(msg), acc, (sx, sy), (dx, dy), soft)


def read_frames(
    frames: list[np.ndarray],
    key_frames: list[bool] | None = None,
    batch: int = 16,
    *,
    select: bool = True,
    deadline: float | None = None,
) -> Reading:
    """Read the watermark from luminance frames, weighting each frame by how clearly it shows the sync.

    Candidate scales are read best first; the first whose payload passes the CRC wins, otherwise the one with the
    highest score is returned (not detected). The null calibration covers the whole procedure. `select=False`
    reads every frame given (the caller already picked them, as media.read_video_luma does). The unscaled
    reading always runs; past `deadline` (time.monotonic()) the scale search stops and the best reading so far
    comes back with `complete=False`.
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
    if len(keys) < REFERENCE_MIN_FRAMES:
        spread = np.linspace(0, len(stack) - 1, min(len(stack), REFERENCE_SPREAD)).round().astype(int)
        refs.append(_highpass(torch.stack([*keys, *(stack[i] for i in spread)]).to(torch.float32).mean(0)))
    # Batches of about 16 frames of 512x512: larger frames go fewer at a time (the scale search resamples a batch
    # up to 2.2x per side), so memory does not grow with the frame size.
    batch = max(1, min(batch, BATCH_PIXELS // max(1, stack[0].numel())))
    best: Reading | None = None
    try:
        for n, ref in enumerate(refs):
            for sx, sy in _scale_candidates(ref, deadline=deadline):
                if n and (sx, sy) == (1.0, 1.0):
                    continue  # the unscaled reading does not depend on the search's reference
                # The scale search runs only once the unscaled reading has failed (most copies are unscaled).
                reading = _read_at(stack, ref, sx, sy, batch)
                reading.frames_checked = len(stack)
                if reading.wm_id is not None:
                    return reading
                if best is None or reading.score > best.score:
                    best = reading
                _check(deadline)
    except DeadlineExceeded:
        assert best is not None  # the unscaled candidate is read before any check
        best.complete = False
    assert best is not None
    return best
