"""The inside of an opening mouth: a shaded procedural model painted between the warped inner lips.

Upper teeth hang from the skull just under the upper lip, lower teeth rise with the jaw behind the lower lip, a
tongue lies low in the mouth and the throat is dark; everything is shaded from the photo's own colours. The model
lives in the mouth's frame (u across from corner to corner, v down in pixels), so it follows turns and tilts.
"""

from __future__ import annotations

import cv2
import numpy as np

# Where one tooth meets the next, across the mouth from its middle (0) to a corner (1). Teeth nearer the corners
# turn away from the camera and look narrower.
UPPER_BOUNDS = np.array([0.0, 0.3, 0.52, 0.7, 0.83, 0.93])
LOWER_BOUNDS = np.array([0.0, 0.2, 0.39, 0.56, 0.71, 0.84])


def _smooth(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _soft_step(x: np.ndarray) -> np.ndarray:
    """Coverage of a pixel by a half-plane whose edge lies ``x`` pixels away (anti-aliasing over one pixel)."""
    return np.clip(x + 0.5, 0.0, 1.0)


def _tooth_pattern(u: np.ndarray, half: float, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance in pixels to the nearest tooth boundary, and the place (0..1) across the tooth a pixel is in."""
    au = np.abs(u)
    edges = np.concatenate([bounds, [1.2]])
    k = np.clip(np.searchsorted(edges, au, side="right") - 1, 0, len(edges) - 2)
    lo, hi = edges[k], edges[k + 1]
    across = np.clip((au - lo) / (hi - lo), 0.0, 1.0)
    # The middle gap (u = 0) is one boundary shared by both central incisors.
    dist = np.minimum(au - lo, hi - au) * half
    return dist, across


class MouthPainter:
    """Paints the mouth interior of one portrait; colours are taken from the photo once."""

    def __init__(self, lip_color: np.ndarray, teeth_color: np.ndarray, skin_luma: float, em: float) -> None:
        self.em = em
        lip = np.asarray(lip_color, dtype=np.float32)
        # Light in the photo: teeth and tongue are relit to the face's own brightness.
        light = float(np.clip(skin_luma / 170.0, 0.55, 1.15))
        self.teeth = np.clip(np.asarray(teeth_color, dtype=np.float32) * light, 0, 255)
        self.throat = lip * 0.16
        self.throat_rim = lip * 0.42
        self.tongue = np.clip(lip * 0.78 + np.array([18.0, 2.0, 6.0]), 0, 255) * min(light, 1.0)
        self.gum = lip * 0.7

    def paint(
        self,
        frame: np.ndarray,
        upper: np.ndarray,
        lower: np.ndarray,
        strength: float,
        own_teeth: bool = False,
    ) -> None:
        """Paint into ``frame`` between the upper inner-lip contour and the lower one (corner to corner, pixels).

        ``upper`` and ``lower`` run from the left corner to the right corner, corners included in both.
        ``own_teeth`` is True when the photo shows its own teeth: they stay attached to their lips (upper to the
        upper lip, lower to the jaw), so only the throat and tongue are painted between them.
        """
        left, right = upper[0], upper[-1]
        across = right - left
        width = float(np.linalg.norm(across))
        if width < 4 or strength <= 0:
            return
        ex = across / width
        ey = np.array([-ex[1], ex[0]])
        mid = (left + right) / 2
        half = width / 2
        pts = np.vstack([upper, lower])
        x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 3
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        rel_x, rel_y = xx - mid[0], yy - mid[1]
        u = (rel_x * ex[0] + rel_y * ex[1]) / half
        v = rel_x * ey[0] + rel_y * ey[1]

        def contour(points: np.ndarray) -> np.ndarray:
            r = points - mid
            pu = (r @ ex) / half
            pv = r @ ey
            order = np.argsort(pu)
            return np.interp(u, pu[order], pv[order])

        top, bottom = contour(upper), contour(lower)
        opening = np.maximum(bottom - top, 0.0)
        # The corners stay closed a little longer than the middle, so the painting fades out towards them.
        inside = _soft_step(v - top) * _soft_step(bottom - v) * _smooth(0.0, 0.18, 1.0 - np.abs(u))
        if float(inside.max()) <= 0.0:
            return
        em = self.em
        side = np.abs(u)

        # Throat: dark, a little lighter and redder just inside the lips where light still reaches.
        depth = np.minimum(v - top, bottom - v) / max(0.05 * em, 1.0)
        rim = np.exp(-np.clip(depth, 0, None) * 1.6)[..., None]
        colour = self.throat + rim * (self.throat_rim - self.throat)
        colour = colour * (1.0 - 0.35 * side**2)[..., None]

        # Tongue: a low dome resting on the floor of the mouth, seen once the mouth is open a little.
        tongue_h = np.minimum(0.4 * opening, 0.11 * em) * np.sqrt(np.clip(1 - side**2, 0, 1))
        tongue_top = bottom - tongue_h
        tongue = _soft_step(v - tongue_top) * (tongue_h > 0.5)
        t_depth = np.clip((v - tongue_top) / np.maximum(tongue_h, 1e-3), 0, 1)
        tongue_col = self.tongue * (0.55 + 0.45 * t_depth)[..., None] * (1.0 - 0.4 * side**2)[..., None]
        colour = colour + tongue[..., None] * (tongue_col - colour)

        # Corner teeth turn away into the cheeks' shadow.
        lit = 1.0 - 0.85 * _smooth(0.3, 1.0, side)

        # Lower teeth: rise with the jaw behind the lower lip, in shadow; their edges show once the mouth opens.
        low_len = 0.035 * em * (1 - 0.35 * side**2)
        low_edge = bottom - low_len
        gap_l, pos_l = _tooth_pattern(u, half, LOWER_BOUNDS)
        low = _soft_step(v - low_edge) * _soft_step(0.8 * half - side * half)
        low *= np.clip((opening - 0.09 * em) / (0.06 * em), 0, 1) * (not own_teeth)
        low_shade = 0.62 * lit * (0.92 + 0.08 * np.sin(np.pi * pos_l))
        low_shade *= 1.0 - 0.2 * np.exp(-((gap_l / 0.5) ** 2))
        low_col = self.teeth * low_shade[..., None]
        low_col = low_col + 0.25 * (self.throat_rim - low_col)  # lit by light bounced off the lips and tongue
        colour = colour + low[..., None] * (low_col - colour)

        if not own_teeth:
            # Upper teeth: fixed to the skull just under the upper lip; the incisors are longest, and each
            # tooth's edge rounds off towards its neighbours, leaving a small notch between them.
            gap_u, pos_u = _tooth_pattern(u, half, UPPER_BOUNDS)
            length = 0.078 * em * (1 - 0.5 * side**2)
            notch = 0.18 * length * np.exp(-((gap_u / max(0.01 * em, 0.7)) ** 2))
            edge = top + length - notch
            teeth = _soft_step(edge - v) * _soft_step(0.92 * half - side * half)
            shade = lit * (0.9 + 0.1 * np.sin(np.pi * pos_u))
            shade *= 1.0 - 0.32 * np.exp(-((gap_u / 0.5) ** 2))
            # The upper lip shades the top of the teeth.
            shade *= 1.0 - 0.3 * np.exp(-(v - top) / max(0.018 * em, 0.6))
            gum = np.exp(-(v - top) / max(0.008 * em, 0.4)) * 0.25
            tooth_col = self.teeth * shade[..., None]
            tooth_col = tooth_col + gum[..., None] * (self.gum - tooth_col)
            colour = colour + teeth[..., None] * (tooth_col - colour)

        # A touch of blur: a camera never renders teeth and lips with crisper edges than the rest of the face.
        blur = max(0.35, 0.005 * em)
        colour = cv2.GaussianBlur(colour.astype(np.float32), (0, 0), blur)
        alpha = cv2.GaussianBlur((inside * strength).astype(np.float32), (0, 0), blur * 0.7)[..., None]
        roi = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(roi + alpha * (colour - roi), 0, 255).astype(np.uint8)
