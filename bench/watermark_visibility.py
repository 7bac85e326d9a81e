"""How visible a watermark is: pixel bounds, colour fringes on edges, flicker on moving edges, and an edge gallery.

PSNR and SSIM average the change over the frame and barely notice a string of strong dots along one edge; these
measures look at the worst pixels instead. All take the original and the marked frames, uint8 RGB (N, H, W, 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

# A pixel is on a strong edge when its luminance gradient (Sobel, in levels per pixel) is at least this: a white
# collar against a dark suit is 40-120, skin texture 2-10.
EDGE_GRADIENT = 20.0
# A pixel moved between two frames when its luminance changed by more than this many levels.
MOTION_LEVELS = 8.0
BOUNDS = (12, 40)  # "changed by more than" these many levels, counted per pixel over its R, G and B


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 Cb, Cr (full range) of float RGB, shaped (..., 2)."""
    m = np.array([[-0.168736, 0.5], [-0.331264, -0.418688], [0.5, -0.081312]], dtype=np.float32)
    return rgb[..., :3].astype(np.float32) @ m


def gradient(y: np.ndarray) -> np.ndarray:
    """Sobel gradient magnitude in levels per pixel of luminance frames (N, H, W)."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    x = F.pad(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[:, None], (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(x, kx[None, None])
    gy = F.conv2d(x, kx.T.contiguous()[None, None])
    return (2.0 * torch.sqrt(gx * gx + gy * gy))[:, 0].numpy()


@dataclass
class Visibility:
    """Worst-pixel measures of one clip's mark (levels are 8-bit)."""

    max_change: int  # largest change of any R, G or B value
    over: dict[int, float]  # bound -> fraction of pixels whose R, G or B changed by more than it
    edge_chroma_max: float  # largest colour change sqrt(dCb^2 + dCr^2) on strong-edge pixels
    edge_chroma_p999: float
    edge_luma_max: float  # largest luminance change on strong-edge pixels
    flicker_edges: float  # mean |dY_t - dY_t-1| of the mark on moving strong-edge pixels
    flicker_edges_p99: float
    flicker_static: float  # the same on pixels that neither move nor lie on an edge (reference)


def visibility(orig: np.ndarray, marked: np.ndarray) -> Visibility:
    """Measure a marked clip against its original (uint8 RGB, (N, H, W, 3))."""
    delta = marked.astype(np.int16) - orig.astype(np.int16)
    worst = np.abs(delta).max(axis=-1)
    y = _luma(orig)
    edges = gradient(y) >= EDGE_GRADIENT
    dchroma = np.linalg.norm(_chroma(marked) - _chroma(orig), axis=-1)
    dy = _luma(marked) - y
    on_edges = dchroma[edges]
    # Flicker: the mark's own change from one frame to the next, where the picture moves along an edge.
    moving = (np.abs(y[1:] - y[:-1]) > MOTION_LEVELS) & edges[1:]
    still = (np.abs(y[1:] - y[:-1]) <= 1.0) & ~edges[1:]
    step = np.abs(dy[1:] - dy[:-1])
    return Visibility(
        max_change=int(worst.max()),
        over={b: float(np.mean(worst > b)) for b in BOUNDS},
        edge_chroma_max=float(on_edges.max()) if on_edges.size else 0.0,
        edge_chroma_p999=float(np.quantile(on_edges, 0.999)) if on_edges.size else 0.0,
        edge_luma_max=float(np.abs(dy[edges]).max()) if edges.any() else 0.0,
        flicker_edges=float(step[moving].mean()) if moving.any() else 0.0,
        flicker_edges_p99=float(np.quantile(step[moving], 0.99)) if moving.any() else 0.0,
        flicker_static=float(step[still].mean()) if still.any() else 0.0,
    )


def summary(measures: list[Visibility]) -> dict[str, str]:
    """Table cells over clips: worst case for bounds, mean (max) for the rest."""
    if not measures:
        return {}

    def mean_max(values: list[float], fmt: str = "{:.1f}") -> str:
        return f"{fmt.format(np.mean(values))} (max {fmt.format(np.max(values))})"

    return {
        "max px": str(max(m.max_change for m in measures)),
        **{f">{b}": f"{100 * max(m.over[b] for m in measures):.3f} %" for b in BOUNDS},
        "edge dC max": mean_max([m.edge_chroma_max for m in measures]),
        "edge dY max": mean_max([m.edge_luma_max for m in measures]),
        "flicker edges": mean_max([m.flicker_edges for m in measures], "{:.2f}"),
        "flicker p99": mean_max([m.flicker_edges_p99 for m in measures]),
        "flicker still": mean_max([m.flicker_static for m in measures], "{:.2f}"),
    }


def clean_edges(y: np.ndarray, min_gradient: float = 2 * EDGE_GRADIENT, min_coherence: float = 0.8) -> np.ndarray:
    """Pixels of one luminance frame (H, W) on clean, straight, strong edges (a collar, a jaw line), not texture.

    Coherence of the structure tensor over 5x5 pixels: 1 where all gradients point one way, 0 for texture.
    """
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 4.0
    x = F.pad(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))[None, None], (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(x, kx[None, None]), F.conv2d(x, kx.T.contiguous()[None, None])
    jxx, jyy, jxy = (F.avg_pool2d(v, 5, stride=1, padding=2) for v in (gx * gx, gy * gy, gx * gy))
    coherence = torch.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy + 1e-6)
    strong = torch.sqrt(gx * gx + gy * gy) >= min_gradient
    return (strong & (coherence >= min_coherence))[0, 0].numpy()


def worst_edge_crop(orig: np.ndarray, marked: np.ndarray, side: int = 48, margin: int = 8) -> tuple[int, int]:
    """Top-left corner of the side x side crop of one frame where the mark changes clean-edge pixels most.

    The frame's outer `margin` pixels are left out (a crop there shows the frame's border, not an edge in it).
    """
    edges = clean_edges(_luma(orig[None])[0])
    change = np.abs(marked.astype(np.int16) - orig.astype(np.int16)).max(axis=-1).astype(np.float32)
    change = np.where(edges, change, 0.0)
    change[:margin], change[-margin:], change[:, :margin], change[:, -margin:] = 0, 0, 0, 0
    # Sum over the crop window, so that the crop holds a string of changed pixels, not one.
    window = F.avg_pool2d(torch.from_numpy(change)[None, None], side, stride=4)[0, 0].numpy()
    iy, ix = np.unravel_index(int(np.argmax(window)), window.shape)
    h, w = edges.shape
    return min(iy * 4, h - side), min(ix * 4, w - side)


def gallery_strip(orig: np.ndarray, versions: dict[str, np.ndarray], corner: tuple[int, int], side: int = 48,
                  zoom: int = 5) -> np.ndarray:  # fmt: skip
    """One row of the gallery: the original crop, each marked version, and each version's change x4 around grey."""
    y0, x0 = corner
    crop = (slice(y0, y0 + side), slice(x0, x0 + side))
    tiles = [orig[crop]]
    tiles += [v[crop] for v in versions.values()]
    for v in versions.values():
        d = v[crop].astype(np.int16) - orig[crop].astype(np.int16)
        tiles.append(np.clip(128 + 4 * d, 0, 255).astype(np.uint8))
    gap = np.full((side, 2, 3), 255, np.uint8)
    row = np.concatenate([t for tile in tiles for t in (tile, gap)][:-1], axis=1)
    return np.repeat(np.repeat(row, zoom, axis=0), zoom, axis=1)


def save_png(image: np.ndarray, path: Path) -> None:
    """Write an RGB array as PNG."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path, optimize=True)
