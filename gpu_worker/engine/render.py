"""Render: landmark rig -> thin-plate-spline flow -> grid_sample, with mouth interior and still background."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from . import face as fl
from .face import Canvas, eye_mouth_frame
from .motion import EXPR, IDX
from .mouth import MouthPainter

# Largest depth change per pixel of image distance the rig's 3D turns see (see _warp_depth): at 15 degrees the far
# cheek then shrinks to no less than about a third of its width instead of folding.
DEPTH_SLOPE = 2.5
# Heads reach further above the face oval (hair, hats) than beside it: heights count this much.
HEAD_TALL = 0.7
# Newton steps inverting the flow; residuals fall below a tenth of a pixel on the grid.
INVERT_STEPS = 4

UPPER_INNER = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
UPPER_OUTER = [185, 40, 39, 37, 0, 267, 269, 270, 409]
LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Thin-plate radial basis r^2 log r^2 between two point sets."""
    d2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return d2 * np.log(np.maximum(d2, 1e-12))


class Rig:
    """Everything precomputed for one canvas: control points, expression basis, TPS weights, layers."""

    def __init__(self, canvas: Canvas, person_mask: np.ndarray, device: torch.device) -> None:
        self.device = device
        img = canvas.image
        lms = canvas.landmarks.copy()
        lms[:, 2] = _warp_depth(lms, DEPTH_SLOPE)
        self.h, self.w = img.shape[:2]
        _eyes, self.mouth, self.ex, self.em = eye_mouth_frame(lms)
        self.eye_centres = [
            lms[fl.RIGHT_EYE_UPPER + fl.RIGHT_EYE_LOWER, :2].mean(axis=0),
            lms[fl.LEFT_EYE_UPPER + fl.LEFT_EYE_LOWER, :2].mean(axis=0),
        ]
        self.ey = np.array([-self.ex[1], self.ex[0]])
        self.chin_v = float(self._local(lms[152])[1])

        ids, pos, src, z, uv = self._face_points(lms)
        src, uv, z, copies = self._teeth_points(lms, pos, src, uv, z)
        k_face = len(src)
        basis = self._expression_basis(lms, pos, uv, k_face)
        for k, orig in zip(range(len(ids), k_face), copies, strict=True):
            basis[:, k] = basis[:, orig]
        oval = lms[fl.FACE_OVAL, :2]
        extra_pts, extra_z, extra_w, extra_jaw = self._follow_points(lms, person_mask)
        extra = _thin(np.array(extra_pts), src, 0.02 * self.em * 10)
        ctrl = np.vstack([src, np.array(extra_pts)[extra]])
        ctrl_z = np.concatenate([z, np.array(extra_z)[extra]])
        rigid_w = np.concatenate([np.ones(k_face), np.array(extra_w)[extra]])
        full_basis = np.zeros((len(EXPR), ctrl.shape[0], 2))
        # basis is in face units (em along ex/ey); convert to pixels
        full_basis[:, :k_face] = self.em * (basis[..., :1] * self.ex + basis[..., 1:] * self.ey)
        # The skin under the chin stretches as the jaw drops: without this the chin would fold onto the neck.
        full_basis[EXPR.index("jaw"), k_face:] = self.em * np.array(extra_jaw)[extra][:, None] * self.ey

        # A turn carries the nose about half an eye-mouth distance sideways; a face near the frame's edge (full
        # frame) turns less, so it never leaves the picture.
        room = min(oval[:, 0].min(), self.w - oval[:, 0].max(), oval[:, 1].min(), self.h - oval[:, 1].max())
        self.pose_room = float(np.clip(room / (0.7 * self.em), 0.3, 1.0))
        self.k_face = k_face
        self.pos = pos
        self.ctrl = ctrl
        self._colours(img, lms)
        grid, wg = self._spline_weights(ctrl)
        grid_infl = self._influence(grid, oval)
        self.still = np.ascontiguousarray(img)
        self._tensors(lms, grid, wg, grid_infl, full_basis, ctrl, ctrl_z, rigid_w)
        self._layers(img, person_mask)
        left, right = pos[78], pos[308]
        self.inner_idx = [left, *self.cavity_upper, right, *reversed(self.cavity_lower)]
        self.upper_inner_idx = [left, *self.cavity_upper, right]
        self.mid_pairs = list(zip(self.cavity_upper, self.cavity_lower, strict=True))[3:6]
        self.rest_sep = float(np.mean([(src[b] - src[a]) @ self.ey for a, b in self.mid_pairs])) / self.em
        self._lip_split(pos, src)
        self._blocks()

    def _lip_split(self, pos: dict[int, int], src: np.ndarray) -> None:
        """Which points lie on each side of the parting of the lips, and a map of that side over the canvas.

        The lips part across a gap of a pixel or two, far finer than the flow grid, and a single spline across it
        stretches and thins both lips. So the picture is warped twice, once with the lower inner lip moving
        with the upper one and once the other way round; each pixel takes the warp of its side of the parting.
        """
        upper = [pos[a] for a in UPPER_INNER] + list(self.cavity_upper)
        lower = [pos[b] for b in LOWER_INNER] + list(self.cavity_lower)
        partner_of_lower = self.cavity_upper + self.cavity_upper
        partner_of_upper = self.cavity_lower + self.cavity_lower
        self.t_lower_ids = torch.as_tensor(lower, device=self.device)
        self.t_lower_from = torch.as_tensor(partner_of_lower, device=self.device)
        self.t_upper_ids = torch.as_tensor(upper, device=self.device)
        self.t_upper_from = torch.as_tensor(partner_of_upper, device=self.device)
        # The parting: midway between the inner lips, corner to corner, continued straight past the corners.
        line = [src[pos[78]]]
        line += [(src[a] + src[b]) / 2 for a, b in zip(self.cavity_upper, self.cavity_lower, strict=True)]
        line += [src[pos[308]]]
        lu = np.array([(q - self.mouth) @ self.ex for q in line])
        lv = np.array([(q - self.mouth) @ self.ey for q in line])
        order = np.argsort(lu)
        lu, lv = lu[order], lv[order]
        yy, xx = np.mgrid[: self.h, : self.w].astype(np.float32)
        rx, ry = xx - self.mouth[0], yy - self.mouth[1]
        u = rx * self.ex[0] + ry * self.ex[1]
        v = rx * self.ey[0] + ry * self.ey[1]
        along = np.interp(u, lu, lv)
        # A sharp side between the corners; past them the two warps blend over a band that widens with the
        # distance, so the cheeks stay continuous.
        beyond = np.maximum(np.maximum(lu[0] - u, u - lu[-1]), 0.0)
        width = 0.5 + 1.5 * beyond
        side = np.clip(0.5 + (v - along) / (2 * width), 0.0, 1.0).astype(np.float32)
        self.t_side = torch.as_tensor(side, device=self.device)[None, None]

    def _blocks(self) -> None:
        """The grid blocks every batch works on: the moving block of the frame and, inside it, the mouth's.

        Only the block round the mouth needs the second (below-the-parting) warp: its difference from the first
        falls under a tenth of a pixel 1.1 eye-mouth distances from the mouth, and fades to nothing at the box.
        """
        j0, j1, i0, i1 = self.roi_grid
        gw = self.gw
        wg = self.t_wg.view(self.gh, gw, -1)
        self.t_wg_roi = wg[j0 : j1 + 1, i0 : i1 + 1].reshape((j1 - j0 + 1) * (i1 - i0 + 1), -1).contiguous()
        self.t_base_roi = self.t_base[j0 : j1 + 1, i0 : i1 + 1].contiguous()
        y0, y1, x0, x1 = self.roi_px
        self.t_up_roi = (self._upsampler(j1 - j0, y1 - y0 + 1), self._upsampler(i1 - i0, x1 - x0 + 1))
        # The mouth's box: 1.1 eye-mouth distances either side of the mouth, 0.8 above it, 1.1 below (the jaw).
        em, reach = self.em, (1.1, 0.8, 1.1)
        sides, heights = (-reach[0], reach[0]), (-reach[1], reach[2])
        corners = np.array([self.mouth + em * (a * self.ex + b * self.ey) for a in sides for b in heights])
        lo = np.floor(corners.min(axis=0) / self.step).astype(int)
        hi = np.ceil(corners.max(axis=0) / self.step).astype(int)
        bj0, bj1 = max(int(lo[1]), j0), min(int(hi[1]), j1)
        bi0, bi1 = max(int(lo[0]), i0), min(int(hi[0]), i1)
        self.box_grid = (bj0, bj1, bi0, bi1)
        self.t_wg_box = wg[bj0 : bj1 + 1, bi0 : bi1 + 1].reshape((bj1 - bj0 + 1) * (bi1 - bi0 + 1), -1).contiguous()
        self.t_base_box = self.t_base[bj0 : bj1 + 1, bi0 : bi1 + 1].contiguous()
        # Pixels of the box inside the moving block (the last grid point may lie past the frame).
        py0, px0 = bj0 * self.step, bi0 * self.step
        py1, px1 = min(bj1 * self.step, y1), min(bi1 * self.step, x1)
        self.box_px = (py0, py1, px0, px1)
        self.t_up_box = (self._upsampler(bj1 - bj0, py1 - py0 + 1), self._upsampler(bi1 - bi0, px1 - px0 + 1))
        yy, xx = np.mgrid[py0 : py1 + 1, px0 : px1 + 1].astype(np.float32)
        rel = np.stack([xx - self.mouth[0], yy - self.mouth[1]], axis=-1)
        u, v = np.abs(rel @ self.ex) / em, rel @ self.ey / em
        window = (
            (1 - _smoothstep(reach[0] - 0.25, reach[0] - 0.02, u))
            * (1 - _smoothstep(reach[2] - 0.25, reach[2] - 0.02, v))
            * (1 - _smoothstep(reach[1] - 0.25, reach[1] - 0.02, -v))
        )
        self.t_window = self._tensor(window)[None, :, :, None]

    def _upsampler(self, cells: int, size: int) -> torch.Tensor:
        """Matrix (size, cells + 1) that upsamples ``cells`` grid steps bilinearly onto pixels (grid point k on
        pixel k * step); one matrix product per axis is much faster on a CPU than interpolate()."""
        pos = np.arange(size, dtype=np.float64) / self.step
        k = np.clip(np.floor(pos).astype(int), 0, max(cells - 1, 0))
        frac = pos - k
        m = np.zeros((size, cells + 1), np.float32)
        m[np.arange(size), k] = 1 - frac
        m[np.arange(size), np.minimum(k + 1, cells)] += frac
        return self._tensor(m)

    def _tall(self, d: np.ndarray) -> np.ndarray:
        """Offsets from the face's centre stretched upwards: hair and hats rise well above the face oval."""
        up = d @ self.ey
        stretch = np.where(up < 0, 1.0 / HEAD_TALL, 1.0)
        return d + ((stretch - 1.0) * up)[..., None] * self.ey

    def _head_distance(self, pts: np.ndarray, centre: np.ndarray, radius: float) -> np.ndarray:
        """Distance from the face's centre in face radii, counting height above the face as less (see _tall)."""
        d = pts - centre
        up = d @ self.ey
        shrink = np.where(up < 0, HEAD_TALL, 1.0)
        return np.linalg.norm(d + ((shrink - 1.0) * up)[..., None] * self.ey, axis=-1) / radius

    def _local(self, p: np.ndarray) -> np.ndarray:
        """Points in face units: along the eye line and down from the mouth, scaled by the eye-mouth distance."""
        rel = p[..., :2] - self.mouth
        return np.stack([rel @ self.ex, rel @ self.ey], axis=-1) / self.em

    def _face_points(self, lms: np.ndarray) -> tuple[list[int], dict[int, int], np.ndarray, np.ndarray, np.ndarray]:
        """The face's control points (landmark ids, their index, pixels, depth, face units)."""
        ids: list[int] = []
        for group in (
            fl.FACE_OVAL,
            fl.LIPS_OUTER_UPPER,
            fl.LIPS_OUTER_LOWER,
            fl.LIPS_INNER_UPPER,
            fl.LIPS_INNER_LOWER,
            fl.RIGHT_EYE_UPPER,
            fl.RIGHT_EYE_LOWER,
            fl.LEFT_EYE_UPPER,
            fl.LEFT_EYE_LOWER,
            fl.RIGHT_BROW,
            fl.LEFT_BROW,
            fl.RIGHT_IRIS,
            fl.LEFT_IRIS,
            fl.NOSE,
            fl.CHEEKS,
        ):
            for i in group:
                if i not in ids:
                    ids.append(i)
        pos = {lm: k for k, lm in enumerate(ids)}
        src = lms[ids, :2].copy()
        z = lms[ids, 2].copy()
        uv = self._local(lms[ids])
        mouth, ex, ey, em = self.mouth, self.ex, self.ey, self.em

        # A closed mouth has upper and lower inner lip on the same line; the spline needs them apart
        # to open the lips, so pull each pair to a small virtual gap.
        self.open0 = float(
            np.mean(
                [
                    (self._local(lms[b])[1] - self._local(lms[a])[1])
                    for a, b in zip(UPPER_INNER, LOWER_INNER, strict=True)
                ][3:6]
            )
        )
        vgap = max(0.035, 2.0 / em)
        # How far each inner-lip point was pulled off the real lip line (face units, towards the other lip's
        # side): the mouth's painting starts that much inside, so it never covers the lips' own edges.
        self.lip_pull = np.zeros((len(UPPER_INNER), 2))
        for i, (a, b) in enumerate(zip(UPPER_INNER, LOWER_INNER, strict=True)):
            ga, gb = uv[pos[a], 1], uv[pos[b], 1]
            if gb - ga < vgap:
                mid = (ga + gb) / 2
                self.lip_pull[i] = (ga - (mid - vgap / 2), (mid + vgap / 2) - gb)
                for lm, v in ((a, mid - vgap / 2), (b, mid + vgap / 2)):
                    uv[pos[lm], 1] = v
                    src[pos[lm]] = mouth + em * (uv[pos[lm], 0] * ex + v * ey)
        return ids, pos, src, z, uv

    def _teeth_points(
        self, lms: np.ndarray, pos: dict[int, int], src: np.ndarray, uv: np.ndarray, z: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
        """Points inside a mouth open in the photo; returns the grown arrays and which point each copies."""
        mouth, ex, ey, em = self.mouth, self.ex, self.ey, self.em
        # An open mouth in the photo shows teeth: keep them attached to their lip by adding points
        # inside the opening that move with the upper (teeth) and lower lip; the tear opens between.
        self.photo_open = self.open0 > 0.06
        self.cavity_upper: list[int] = []
        self.cavity_lower: list[int] = []
        copies: list[int] = []
        for a, b in zip(UPPER_INNER, LOWER_INNER, strict=True):
            gap = uv[pos[b], 1] - uv[pos[a], 1]
            if self.photo_open and gap > 0.03:
                for lm, frac in ((a, 0.6), (b, -0.2)):
                    q = uv[pos[lm]] + np.array([0.0, frac * gap])
                    uv = np.vstack([uv, q])
                    src = np.vstack([src, mouth + em * (q[0] * ex + q[1] * ey)])
                    z = np.append(z, lms[lm, 2])
                    copies.append(pos[lm])
                    (self.cavity_upper if frac > 0 else self.cavity_lower).append(len(src) - 1)
            else:
                self.cavity_upper.append(pos[a])
                self.cavity_lower.append(pos[b])
        return src, uv, z, copies

    def _expression_basis(self, lms: np.ndarray, pos: dict[int, int], uv: np.ndarray, k_face: int) -> np.ndarray:
        """How each face point moves per unit of each expression parameter (face units)."""
        em, chin_v = self.em, self.chin_v
        basis = np.zeros((len(EXPR), k_face, 2))
        mw = float(np.linalg.norm(lms[291, :2] - lms[61, :2]) / 2 / em)
        u, v = uv[:, 0], uv[:, 1]
        lips_upper = {pos[i] for i in UPPER_INNER + UPPER_OUTER}
        lips_lower = {pos[i] for i in LOWER_INNER + LOWER_OUTER}
        corners = {pos[i] for i in fl.MOUTH_CORNERS}
        lips = lips_upper | lips_lower | corners
        inner_lower = {pos[i] for i in LOWER_INNER}
        brows = {pos[i] for i in fl.RIGHT_BROW + fl.LEFT_BROW}
        upper_lids = {pos[i] for i in fl.RIGHT_EYE_UPPER + fl.LEFT_EYE_UPPER}
        lower_lids = {pos[i] for i in fl.RIGHT_EYE_LOWER + fl.LEFT_EYE_LOWER}
        irises = {pos[i] for i in fl.RIGHT_IRIS + fl.LEFT_IRIS}
        j = {name: i for i, name in enumerate(EXPR)}
        for k in range(k_face):
            uk, vk = u[k], v[k]
            side = np.sign(uk) if abs(uk) > 1e-6 else 0.0
            rel = min(abs(uk) / max(mw, 1e-3), 1.5)
            # jaw: lower lip and chin drop, corners a little, upper lip lifts slightly
            if k in corners:
                basis[j["jaw"], k] = (0, 0.07)
            elif k in lips_lower:
                # inner lip curves more than the outer one, so the opening is an ellipse, not a slot
                curve = 0.9 if k in inner_lower else 0.6
                basis[j["jaw"], k] = (0, 0.22 * max(1 - curve * rel**2, 0.08))
            elif k in lips_upper:
                basis[j["jaw"], k] = (0, -0.025)
            elif vk > 0.08 and k not in lips:
                fall = max(0.0, 1 - (abs(uk) / 1.45) ** 2)
                # the skin under the lower lip goes down with it (a slower ramp squashed the lip into the chin)
                basis[j["jaw"], k] = (0, 0.22 * min(1.0, vk / 0.15) * fall)
            if k in lips:
                basis[j["width"], k] = (0.10 * uk, 0)
                dv = -0.03 if k in lips_upper else (0.03 if k in lips_lower else 0)
                basis[j["round"], k] = (-0.30 * uk, dv)
                basis[j["smile"], k] = (0.10 * side * rel**1.5 * mw, -0.09 * min(rel, 1.0) ** 2)
            elif abs(uk) < 1.3 and -0.8 < vk < 0.5 and k not in irises and k not in lower_lids | upper_lids:
                near = max(0.0, 1 - abs(abs(uk) - mw) / 0.7) * max(0.0, 1 - abs(vk + 0.15) / 0.65)
                basis[j["width"], k] = (0.03 * side * near, 0)
                basis[j["smile"], k] = (0.025 * side * near, -0.05 * near)
            if k in corners:
                basis[j["smile"], k] = (0.10 * side * mw, -0.10)
            if k in brows:
                basis[j["brow"], k] = (0, -0.09)
                inner = max(0.0, 1 - abs(uk) / 1.0)
                # inner ends pull down and together more than the outer ends (the corrugator)
                basis[j["furrow"], k] = (-0.08 * side * inner, 0.04 + 0.06 * inner)
            if k in upper_lids:
                basis[j["brow"], k] = (0, -0.012)
                basis[j["furrow"], k] = (0, 0.012)
            if k in lower_lids:
                basis[j["smile"], k] = (0, -0.03)  # cheeks push the lower lids up in a real smile
            if vk < chin_v and vk < -1.35 and k not in brows and k not in upper_lids and k not in irises:
                basis[j["brow"], k] = (0, -0.025)
        # press: inner lips meet, outer lips compress a touch
        for a, b in zip(UPPER_INNER, LOWER_INNER, strict=True):
            gap = uv[pos[b], 1] - uv[pos[a], 1]
            basis[j["press"], pos[a]] = (0, gap * 0.5)
            basis[j["press"], pos[b]] = (0, -gap * 0.5)
        for a, b in zip(UPPER_OUTER, LOWER_OUTER, strict=True):
            basis[j["press"], pos[a]] = (0, 0.012)
            basis[j["press"], pos[b]] = (0, -0.012)
        # eyelids: each upper-lid point closes onto the lower lid below it; irises follow down
        for upper, lower, iris in (
            (fl.RIGHT_EYE_UPPER, fl.RIGHT_EYE_LOWER, fl.RIGHT_IRIS),
            (fl.LEFT_EYE_UPPER, fl.LEFT_EYE_LOWER, fl.LEFT_IRIS),
        ):
            lu = np.array([uv[pos[i]] for i in lower])
            for i in upper:
                p = uv[pos[i]]
                target_v = np.interp(
                    p[0],
                    *zip(*sorted(zip(lu[:, 0], lu[:, 1], strict=False), key=lambda t: t[0]), strict=False),
                )
                gap = max(target_v - p[1], 0.0)
                basis[j["lid"], pos[i]] = (0, gap * 1.0)
                basis[j["eye_wide"], pos[i]] = (0, -gap * 0.3)
                basis[j["gaze_y"], pos[i]] = (0, 0.02)
            lower_mid = float(np.max(lu[:, 1]))
            for i in iris:
                p = uv[pos[i]]
                basis[j["lid"], pos[i]] = (0, max(lower_mid - p[1], 0) * 0.8)
                basis[j["gaze_x"], pos[i]] = (0.065, 0)
                basis[j["gaze_y"], pos[i]] = (0, 0.035)
        return basis

    def _follow_points(self, lms: np.ndarray, person_mask: np.ndarray) -> tuple[list, list, list, list]:
        """Points beyond the face: positions, depths, how rigidly each follows the head (0: held still), jaw drop."""
        em, chin_v = self.em, self.chin_v
        # Hair, ears and neck follow the head through rings around the face oval; far rings and the frame
        # border stay put so the torso holds still. Beside and above the head a ring follows whether it lies
        # on the person or on the background: the background is a separate still plate, so moving it costs
        # nothing, while pinning it would squeeze the head's outline into a fold (a light line) as it turns.
        oval = lms[fl.FACE_OVAL, :2]
        oval_z = lms[fl.FACE_OVAL, 2]
        centre = oval.mean(axis=0)
        chin_drop = 0.22
        extra_pts, extra_z, extra_w, extra_jaw = [], [], [], []
        for factor, weight, neck, jaw_share in ((1.25, 0.95, 0.65, 0.55), (1.6, 0.7, 0.35, 0.2), (2.4, 0.0, 0.0, 0.0)):
            for p, pz in zip(oval, oval_z, strict=True):
                q = centre + factor * self._tall(p - centre)
                if not (-0.25 * self.w <= q[0] <= 1.25 * self.w and -0.25 * self.h <= q[1] <= 1.25 * self.h):
                    continue
                lq = self._local(np.array([q[0], q[1], 0.0]))
                w_, jaw = weight, 0.0
                # The frame's border is held still; a ring close to it moves less, or the strip between would fold.
                edge = min(q[0], self.w - 1 - q[0], q[1], self.h - 1 - q[1])
                w_ = w_ * float(np.clip(edge / (0.5 * em), 0.0, 1.0))
                if lq[1] > chin_v - 0.1:
                    # the neck twists part of the way with the head (all the way, and the jaw would slide over
                    # the collar; too little, and a turn would fold the jaw's edge onto the neck)
                    w_ = neck * float(np.clip(edge / (0.5 * em), 0.0, 1.0))
                if lq[1] > 0.3:
                    # below the mouth: carried down with the jaw, less the further from the chin
                    fall = max(0.0, 1 - (abs(lq[0]) / 1.45) ** 2)
                    jaw = chin_drop * jaw_share * fall * min(1.0, (lq[1] - 0.08) / 0.3)
                extra_pts.append(q)
                extra_z.append(pz)
                extra_w.append(w_)
                extra_jaw.append(jaw)
        # Torso and everything far from the head: a sparse lattice of fixed points, so the spline
        # cannot drag the shoulders or the room along with a nod.
        lattice = 0.8 * em
        for y in np.arange(lattice / 2, self.h, lattice):
            for x in np.arange(lattice / 2, self.w, lattice):
                q = np.array([x, y])
                lq = self._local(np.array([x, y, 0.0]))
                r = self._head_distance(q, centre, max(np.ptp(oval, axis=0).max() / 2, 1.0))
                if r > 2.1 or lq[1] > chin_v + 0.9:
                    extra_pts.append(q)
                    extra_z.append(0.0)
                    extra_w.append(0.0)
                    extra_jaw.append(0.0)
        step = max(self.w, self.h) / 6
        for x in np.arange(0, self.w + 1e-6, step):
            for y in (0.0, self.h - 1.0):
                extra_pts.append((x, y))
                extra_z.append(0.0)
                extra_w.append(0.0)
                extra_jaw.append(0.0)
        for y in np.arange(step, self.h - 1e-6, step):
            for x in (0.0, self.w - 1.0):
                extra_pts.append((x, y))
                extra_z.append(0.0)
                extra_w.append(0.0)
                extra_jaw.append(0.0)
        return extra_pts, extra_z, extra_w, extra_jaw

    def _colours(self, img: np.ndarray, lms: np.ndarray) -> None:
        """Lip and teeth colours for the painted mouth interior, sampled from the photo."""
        self.lip_color = img[
            np.clip(lms[fl.LIPS_OUTER_LOWER, 1].astype(int), 0, self.h - 1),
            np.clip(lms[fl.LIPS_OUTER_LOWER, 0].astype(int), 0, self.w - 1),
        ].mean(axis=0)
        skin = img[
            np.clip(lms[fl.CHEEKS, 1].astype(int), 0, self.h - 1),
            np.clip(lms[fl.CHEEKS, 0].astype(int), 0, self.w - 1),
        ].mean(axis=0)
        # Teeth are a warm off-white, tinted by the photo's colour cast; where the photo shows its own teeth,
        # their brightest pixels give the colour directly.
        cast = skin / max(float(skin.mean()), 1.0)
        self.teeth_color = np.clip(np.array([236.0, 228.0, 210.0]) * (0.85 + 0.15 * cast), 0, 255)
        skin_luma = float(skin @ np.array([0.299, 0.587, 0.114]))
        inner = np.round(lms[fl.LIPS_INNER_UPPER + fl.LIPS_INNER_LOWER[::-1], :2]).astype(np.int32)
        poly = np.zeros((self.h, self.w), np.uint8)
        cv2.fillPoly(poly, [inner], 1)
        shown = img[poly > 0].astype(np.float32)
        if len(shown) >= 12:
            luma = shown @ np.array([0.299, 0.587, 0.114])
            bright = shown[luma >= np.percentile(luma, 85)]
            if float(luma.max()) > 1.15 * skin_luma:
                self.teeth_color = bright.mean(axis=0)
                skin_luma = 170.0  # already lit as the photo is
        self.mouth_painter = MouthPainter(self.lip_color, self.teeth_color, skin_luma, self.em)
        # The lash line's colour: the darkest pixels along the upper lids.
        lids = np.round(lms[fl.RIGHT_EYE_UPPER + fl.LEFT_EYE_UPPER, :2]).astype(int)
        lids = img[np.clip(lids[:, 1], 0, self.h - 1), np.clip(lids[:, 0], 0, self.w - 1)].astype(np.float32)
        luma = lids @ np.array([0.299, 0.587, 0.114])
        self.lash_color = lids[luma <= np.percentile(luma, 40)].mean(axis=0) * 0.8

    def _spline_weights(self, ctrl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The coarse flow grid (pixels) and the thin-plate weights from control-point moves to grid moves."""
        k_all = ctrl.shape[0]
        # Thin-plate spline: weights mapping control-point displacements to a coarse flow grid.
        norm = float(max(self.w, self.h))
        self.step = max(2, round(max(self.w, self.h) / 128))
        gw = int(np.ceil((self.w - 1) / self.step)) + 1
        gh = int(np.ceil((self.h - 1) / self.step)) + 1
        # Grid point i sits exactly on pixel i * step (the last may lie past the edge), so a block of
        # the grid upsamples onto a block of pixels without resampling error.
        gx = np.arange(gw) * float(self.step)
        gy = np.arange(gh) * float(self.step)
        grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
        c = ctrl / norm
        kk = _tps_kernel(c, c) + np.eye(k_all) * 1e-5
        pp = np.hstack([np.ones((k_all, 1)), c])
        system = np.zeros((k_all + 3, k_all + 3))
        system[:k_all, :k_all] = kk
        system[:k_all, k_all:] = pp
        system[k_all:, :k_all] = pp.T
        inv = np.linalg.inv(system)[:, :k_all]  # (K+3, K): displacements -> spline coefficients
        g = torch.as_tensor(grid / norm, dtype=torch.float32)
        # The grid-by-control-point kernel is the big one; torch's cdist is much faster than numpy here.
        d2 = torch.cdist(g, torch.as_tensor(c, dtype=torch.float32)).square_()
        kernel = torch.xlogy(d2, d2)  # r^2 log r^2, and 0 at r = 0
        lin = torch.cat([kernel, torch.ones(g.shape[0], 1), g], dim=1)
        wg = (lin @ torch.as_tensor(inv, dtype=torch.float32)).numpy()
        self.gh, self.gw = gh, gw
        return grid, wg

    def _influence(self, grid: np.ndarray, oval: np.ndarray) -> np.ndarray:
        """How much the head may move each grid point; sets the block of the frame that can change."""
        gh, gw, mouth, ey, em, chin_v = self.gh, self.gw, self.mouth, self.ey, self.em, self.chin_v
        centre = oval.mean(axis=0)
        # Where the head may move the picture at all: 1 over face, hair and upper neck, falling smoothly
        # to exactly 0 beyond, so the torso and the far background are the photo's own pixels.
        radius = max(float(np.ptp(oval, axis=0).max()) / 2, 1.0)

        def influence(pts: np.ndarray) -> np.ndarray:
            r = self._head_distance(pts, centre, radius)
            rel = pts - mouth
            below = (rel @ ey) / em
            return (1 - _smoothstep(1.7, 2.3, r)) * (1 - _smoothstep(chin_v + 0.4, chin_v + 1.1, below))

        grid_infl = influence(grid)
        # Only this block of the picture can change; the rest of every frame is the canvas itself.
        moving = np.argwhere(grid_infl.reshape(gh, gw) > 0)
        if moving.size == 0:
            moving = np.array([[0, 0], [gh - 1, gw - 1]])
        (j0, i0), (j1, i1) = moving.min(axis=0), moving.max(axis=0)
        j0, i0 = max(j0 - 1, 0), max(i0 - 1, 0)
        j1, i1 = min(j1 + 1, gh - 1), min(i1 + 1, gw - 1)
        self.roi_grid = (int(j0), int(j1), int(i0), int(i1))
        self.roi_px = (
            int(j0 * self.step),
            min(int(j1 * self.step), self.h - 1),
            int(i0 * self.step),
            min(int(i1 * self.step), self.w - 1),
        )
        return grid_infl

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float32, device=self.device)

    def _tensors(
        self,
        lms: np.ndarray,
        grid: np.ndarray,
        wg: np.ndarray,
        grid_infl: np.ndarray,
        full_basis: np.ndarray,
        ctrl: np.ndarray,
        ctrl_z: np.ndarray,
        rigid_w: np.ndarray,
    ) -> None:
        """What every batch reads, on the render device."""
        t = self._tensor
        self.t_wg = t(wg * grid_infl[:, None])  # (G, K), already faded by the influence
        self.t_basis = t(full_basis.reshape(len(EXPR), -1))
        self.t_ctrl = t(ctrl)
        self.t_ctrl3 = t(np.hstack([ctrl, ctrl_z[:, None]]))
        self.t_rigid_w = t(rigid_w)[:, None]
        face_z = float(np.mean(lms[fl.FACE_OVAL, 2]))
        pivot = self.mouth + self.ey * 0.3 * self.em
        self.t_pivot = t(np.array([pivot[0], pivot[1], face_z + 1.2 * self.em]))
        self.t_ex, self.t_ey = t(self.ex), t(self.ey)
        self.t_base = t(grid.reshape(self.gh, self.gw, 2))

    def _layers(self, img: np.ndarray, person_mask: np.ndarray) -> None:
        """The person layer (premultiplied, with its mask) and the background plate, as tensors."""
        t = self._tensor
        # Layers: the photo, its person mask, and a background with the person filled in
        # (seen only where the head moves away from where it was).
        mask = _refine_mask(img, person_mask)
        bg = _background_plate(img, mask)
        # The plate is the photo itself away from the person, so the person layer carries nothing of the room
        # with it; a plate mixed back towards the photo where the head's influence fades would keep a ghost of a
        # tall hat or hair there.
        bg = bg.astype(np.float32)
        # The person layer is premultiplied (photo minus the background's share at soft edges), so a
        # still frame reproduces the photo exactly and a moving head carries its hair fringe along
        # instead of leaving a ghost outline on the plate.
        premult = img.astype(np.float32) - (1.0 - mask[..., None]) * bg
        # Kept in 0-255 units, and the mask as the plate's share (1 - mask): sampling is linear, so the frame is
        # one multiply-add of the two sampled layers, with no extra passes over it.
        # (+0.5: the rounding to 8 bits, folded in here once instead of over every frame.)
        self.t_img = t(np.dstack([premult + 0.5, 1.0 - mask]).transpose(2, 0, 1))[None]
        self.t_bg = t(bg.astype(np.float32).transpose(2, 0, 1))[None]

    def displacements(self, params: torch.Tensor) -> torch.Tensor:
        """Control-point displacements (B, K, 2) in pixels for a batch of parameter rows."""
        b = params.shape[0]
        expr = (params[:, : len(EXPR)] @ self.t_basis).view(b, -1, 2)
        yaw = torch.deg2rad(params[:, IDX["yaw"]] * self.pose_room)
        pitch = torch.deg2rad(params[:, IDX["pitch"]] * self.pose_room)
        roll = torch.deg2rad(params[:, IDX["roll"]] * self.pose_room)
        cy, sy, cp, sp, cr, sr = yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin(), roll.cos(), roll.sin()
        one, zero = torch.ones_like(cy), torch.zeros_like(cy)
        ry = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(b, 3, 3)
        rx = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).view(b, 3, 3)
        rz = torch.stack([cr, -sr, zero, sr, cr, zero, zero, zero, one], -1).view(b, 3, 3)
        rot = rz @ ry @ rx
        pts = self.t_ctrl3.unsqueeze(0).repeat(b, 1, 1)
        pts[..., :2] = pts[..., :2] + expr
        rel = pts - self.t_pivot
        moved = (rel @ rot.transpose(1, 2)) * params[:, IDX["scale"], None, None] + self.t_pivot
        shift = self.em * (params[:, IDX["tx"], None] * self.t_ex + params[:, IDX["ty"], None] * self.t_ey)
        rigid = moved[..., :2] + shift[:, None, :] - pts[..., :2]
        return expr + self.t_rigid_w * rigid

    @torch.no_grad()
    def render(self, params: np.ndarray) -> np.ndarray:
        """Frames (B, H, W, 3) uint8 RGB for a batch of parameter rows."""
        p = torch.as_tensor(params, dtype=torch.float32, device=self.device)
        b = p.shape[0]
        disp = self.displacements(p)  # (B, K, 2)
        # One warp for above the parting of the lips and one for below (see _lip_split), the second only round
        # the mouth (see _blocks).
        above, below = disp.clone(), disp.clone()
        above[:, self.t_lower_ids] = disp[:, self.t_lower_from]
        below[:, self.t_upper_ids] = disp[:, self.t_upper_from]
        j0, j1, i0, i1 = self.roi_grid
        bj0, bj1, bi0, bi1 = self.box_grid
        step = self.step
        flow = self._spline(self.t_wg_roi, above, j1 - j0 + 1, i1 - i0 + 1)
        flow_box = self._spline(self.t_wg_box, below, bj1 - bj0 + 1, bi1 - bi0 + 1)
        # The spline gives forward displacements at source points; invert them so every output pixel knows
        # where to sample from.
        src = self.invert(flow, self.t_base_roi.expand(b, -1, -1, -1), (i0 * step, j0 * step))
        src_box = self.invert(flow_box, self.t_base_box.expand(b, -1, -1, -1), (bi0 * step, bj0 * step))
        y0, y1, x0, x1 = self.roi_px
        # Normalising commutes with bilinear upsampling, so do it on the small grid.
        grid = self._upsample(self._normalise(src), *self.t_up_roi)
        grid_below = self._upsample(self._normalise(src_box), *self.t_up_box)
        # A pixel whose source under the lower warp lies below the parting belongs to the lower lip and jaw.
        side = F.grid_sample(
            self.t_side.expand(b, -1, -1, -1), grid_below, mode="bilinear", padding_mode="border", align_corners=True
        ).permute(0, 2, 3, 1)
        py0, py1, px0, px1 = self.box_px
        inner = grid[:, py0 - y0 : py1 - y0 + 1, px0 - x0 : px1 - x0 + 1]
        inner.copy_(torch.lerp(inner, grid_below, side * self.t_window))
        warped = F.grid_sample(
            self.t_img.expand(b, -1, -1, -1), grid, mode="bilinear", padding_mode="border", align_corners=True
        )
        bg = self.t_bg[:, :, y0 : y1 + 1, x0 : x1 + 1]
        out = torch.addcmul(warped[:, :3], warped[:, 3:4], bg).clamp_(0, 255).to(torch.uint8)
        roi = out.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        frames = np.repeat(self.still[None], b, axis=0)
        frames[:, y0 : y1 + 1, x0 : x1 + 1] = roi
        targets = (self.t_ctrl[None] + disp).cpu().numpy()
        lids = params[:, IDX["lid"]]
        for i in range(b):
            self._mouth_interior(frames[i], targets[i])
            if lids[i] > 0.5:
                self._lash_line(frames[i], targets[i], float(lids[i]))
        return frames

    def flow(self, disp: torch.Tensor) -> torch.Tensor:
        """Forward flow (B, 2, gh, gw) in pixels on the coarse grid for control-point displacements (B, K, 2)."""
        return (self.t_wg @ disp).view(disp.shape[0], self.gh, self.gw, 2).permute(0, 3, 1, 2)

    def invert(
        self,
        flow: torch.Tensor,
        base: torch.Tensor,
        origin: tuple[float, float] = (0.0, 0.0),
        steps: int = INVERT_STEPS,
    ) -> torch.Tensor:
        """Source point (B, h, w, 2) of every point of a grid block under its forward flow (B, 2, h, w), by Newton.

        ``base`` holds the block's pixel positions and ``origin`` its first point. Plain fixed-point iteration
        diverges where the flow compresses the picture (under a dropping chin, on the far side of a turned head)
        and there put duplicated strips of the outline into the frame.
        """
        h, w = flow.shape[2:]
        step = float(self.step)
        # Jacobian of the forward map x -> x + flow(x), per grid cell, sampled along with the flow.
        fx = torch.gradient(flow, dim=3)[0] / step
        fy = torch.gradient(flow, dim=2)[0] / step
        field = torch.cat([flow, fx, fy], dim=1)  # u, v, du/dx, dv/dx, du/dy, dv/dy
        # Work channel-first (B, 2, h, w): every plane below is contiguous, which is what makes the elementwise
        # steps cheap on a CPU; only the sampling grid is viewed channel-last.
        span = torch.tensor([2.0 / ((w - 1) * step), 2.0 / ((h - 1) * step)], device=flow.device)[None, :, None, None]
        shift = torch.tensor(origin, device=flow.device, dtype=flow.dtype)[None, :, None, None]
        target = base.permute(0, 3, 1, 2)
        src = target - flow
        limit = 3 * step  # a poor Jacobian must not throw a point far away
        for _ in range(steps):
            grid = ((src - shift) * span - 1.0).permute(0, 2, 3, 1)
            f = F.grid_sample(field, grid, mode="bilinear", padding_mode="border", align_corners=True)
            rx = src[:, 0] + f[:, 0] - target[:, 0]
            ry = src[:, 1] + f[:, 1] - target[:, 1]
            a, c, bb, d = 1.0 + f[:, 2], f[:, 4], f[:, 3], 1.0 + f[:, 5]
            inv_det = 1.0 / (a * d - c * bb).clamp_(min=0.05)
            dx = ((d * rx - c * ry) * inv_det).clamp_(-limit, limit)
            dy = ((a * ry - bb * rx) * inv_det).clamp_(-limit, limit)
            src = src - torch.stack([dx, dy], dim=1)
        return src.permute(0, 2, 3, 1)

    @staticmethod
    def _spline(weights: torch.Tensor, disp: torch.Tensor, h: int, w: int) -> torch.Tensor:
        """Flow (B, 2, h, w) of a grid block from its spline weights (h*w, K) and displacements (B, K, 2).

        One product for the whole batch: the weights are read once, not once per frame (they are the big operand).
        """
        b, k = disp.shape[:2]
        flat = disp.permute(1, 0, 2).reshape(k, 2 * b)
        return (weights @ flat).view(h, w, b, 2).permute(2, 3, 0, 1).contiguous()

    @staticmethod
    def _upsample(coarse: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """(B, h, w, 2) grid block -> (B, H, W, 2) on pixels, by the two upsampling matrices."""
        c = coarse.permute(0, 3, 1, 2)  # (B, 2, h, w)
        return (rows @ (c @ cols.T)).permute(0, 2, 3, 1)

    def _normalise(self, pts: torch.Tensor) -> torch.Tensor:
        scale = torch.tensor([2.0 / (self.w - 1), 2.0 / (self.h - 1)], device=pts.device)
        return pts * scale - 1.0

    def _lash_line(self, frame: np.ndarray, pts: np.ndarray, lid: float) -> None:
        """Draw the lashes along a closing upper lid.

        A shut lid squeezes the eye's white into its crease, which the warp leaves as a thin light line; a real
        closed eye shows a dark line of lashes there instead.
        """
        strength = float(np.clip((lid - 0.5) / 0.4, 0, 1))
        shift = 2  # quarter-pixel coordinates for smooth lines
        width = max(1, round(0.012 * self.em))
        for upper, corners in ((fl.RIGHT_EYE_UPPER, (33, 133)), (fl.LEFT_EYE_UPPER, (263, 362))):
            line = np.vstack([pts[self.pos[corners[0]]], pts[[self.pos[i] for i in upper]], pts[self.pos[corners[1]]]])
            order = np.argsort(line[:, 0])
            x0, y0 = np.floor(line.min(axis=0)).astype(int) - 4
            x1, y1 = np.ceil(line.max(axis=0)).astype(int) + 5
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, self.w), min(y1, self.h)
            if x1 - x0 < 3 or y1 - y0 < 2:
                continue
            mask = np.zeros((y1 - y0, x1 - x0), np.float32)
            poly = np.round((line[order] - [x0, y0]) * (1 << shift)).astype(np.int32)
            cv2.polylines(mask, [poly], False, 1.0, thickness=width, lineType=cv2.LINE_AA, shift=shift)
            mask = cv2.GaussianBlur(mask, (0, 0), 0.6)[..., None] * strength
            roi = frame[y0:y1, x0:x1].astype(np.float32)
            frame[y0:y1, x0:x1] = np.clip(roi + mask * (self.lash_color - roi), 0, 255).astype(np.uint8)

    def _mouth_interior(self, frame: np.ndarray, pts: np.ndarray) -> None:
        """Paint the inside of the mouth (teeth, tongue, throat) where the lips open beyond the photo."""
        gaps = [float((pts[b] - pts[a]) @ self.ey) for a, b in self.mid_pairs]
        extra = float(np.mean(gaps)) / self.em - self.rest_sep
        if extra < 0.01:
            return
        strength = min(1.0, (extra - 0.01) / 0.03)
        upper = pts[self.upper_inner_idx].copy()
        lower = pts[[self.upper_inner_idx[0], *self.cavity_lower, self.upper_inner_idx[-1]]].copy()
        if not self.photo_open:
            across = upper[-1] - upper[0]
            down = np.array([-across[1], across[0]]) / max(float(np.linalg.norm(across)), 1e-6)
            upper[1:-1] += self.lip_pull[:, :1] * self.em * down
            lower[1:-1] -= self.lip_pull[:, 1:] * self.em * down
        self.mouth_painter.paint(frame, upper, lower, strength, own_teeth=self.photo_open)


def _warp_depth(lms: np.ndarray, slope: float) -> np.ndarray:
    """The mesh's depth with the far side pulled forward until no point lies more than ``slope`` x its distance
    behind another: the largest such surface under the real one.

    A turn moves points sideways by their depth, and at the head's outline the depth rises so steeply that the
    cheek would overtake the outline and fold the warp (a duplicated, light edge). Bounding the slope turns the
    fold into a squeeze of the far cheek; the nose, nearest to the camera, keeps its full parallax.
    """
    xy, z = lms[:, :2], lms[:, 2]
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    return np.min(z[None, :] + slope * d, axis=1)


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _thin(points: np.ndarray, existing: np.ndarray, min_dist: float) -> np.ndarray:
    """Indices of ``points`` that keep ``min_dist`` from each other and from ``existing`` points."""
    if points.size == 0:
        return np.zeros(0, dtype=np.int64)
    d_existing = np.sqrt(((points[:, None, :] - existing[None, :, :]) ** 2).sum(-1)).min(axis=1)
    candidates = np.nonzero(d_existing >= min_dist)[0]
    pts = points[candidates]
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    keep: list[int] = []
    for i in range(len(pts)):
        # greedy, in the given order: rings near the face first, then lattice and border
        if not keep or d[i, keep].min() >= min_dist:
            keep.append(i)
    return candidates[np.array(keep, dtype=np.int64)]


def _refine_mask(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The person mask re-estimated near its outline from colour: how much of each pixel is the person's colour
    there and how much the background's.

    The segmenter's mask is coarse and reaches well past the head (20 px at 512 on a cap against the sky); that
    band of background travels with the head over the still plate and shows as a light or dark outline. Near
    the outline each pixel is compared with the person's colour carried out from inside and the background's
    carried in from outside; where the two differ, a pixel close to the background's colour is background.
    """
    m = np.clip(mask, 0, 1).astype(np.float32)
    h, w = m.shape
    reach = max(3, round(max(h, w) / 33))
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    person = (m > 0.5).astype(np.uint8)
    if person.sum() == 0 or person.all():
        return m
    sure_fg = cv2.erode(person, disk).astype(np.float32)
    sure_bg = 1.0 - cv2.dilate(person, disk).astype(np.float32)
    if sure_fg.sum() == 0 or sure_bg.sum() == 0:
        return m
    px = img.astype(np.float32)
    fg = _push_pull(px, sure_fg)
    bg = _push_pull(px, sure_bg)
    diff = fg - bg
    contrast = np.sqrt((diff**2).sum(-1))
    # Distance from the background's colour, not closeness to one person colour: a white cap, a grey beard or
    # glasses are far from the backdrop and stay the person even if nothing inside the face looks like them.
    away = np.sqrt(((px - bg) ** 2).sum(-1)) / np.maximum(contrast, 1.0)
    alpha = np.clip((away - 0.1) / 0.5, 0, 1).astype(np.float32)
    alpha = cv2.ximgproc.guidedFilter(px / 255.0, alpha.astype(np.float32), 2, 1e-3)
    # Trust colour only where person and background look different; elsewhere keep the segmenter's word.
    trust = np.clip((contrast - 20.0) / 40.0, 0, 1)
    band = (1.0 - sure_fg) * (1.0 - sure_bg)
    # Where the segmenter is sure (its mask near 1) colour may not overrule it: a white cap against a pale sky is
    # as close to the sky's colour as the sky itself. Its over-reach is soft, and that is what gets pulled in.
    unsure = np.clip((0.985 - m) / 0.1, 0, 1)
    refined = m + band * trust * unsure * (alpha - m)
    # Never reach past where the segmenter saw anything.
    return np.clip(np.minimum(refined, cv2.dilate(m, np.ones((5, 5), np.uint8))), 0, 1).astype(np.float32)


def _background_plate(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The photo with the person (and a margin round it) filled from the background right next to it."""
    h, w = img.shape[:2]
    if float(mask.max()) < 0.05:
        return img.copy()
    # Segmentation under-reaches wispy hair: leave out a margin round the person so no hair stays on the plate.
    margin = max(3, round(max(h, w) / 60))
    person = cv2.dilate(
        (mask > 0.02).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2)
    )
    valid = 1.0 - person.astype(np.float32)
    px = img.astype(np.float32)
    fill = _push_pull(px, valid)
    # The fill is smooth where the room has grain; a band of it revealed beside a turning head would look
    # cleaner than its surroundings. Give it the neighbouring background's grain (fixed noise: the plate is still).
    detail = px - cv2.GaussianBlur(px, (0, 0), 1.2)
    # Edges are not grain: clip to a few times the backdrop's typical detail (hair fringes just outside the
    # margin would otherwise carry a coarse noise into the fill right beside the head).
    typical = float(np.median(np.abs(detail[valid > 0]))) * 1.4826 if valid.any() else 0.0
    detail = np.clip(detail, -2.5 * typical, 2.5 * typical)
    grain = np.sqrt(_push_pull(detail**2, valid))
    noise = np.random.default_rng(0x91A7).standard_normal(px.shape).astype(np.float32)
    fill = fill + grain * cv2.GaussianBlur(noise, (0, 0), 0.6) * 1.6
    # Feather the plate's own edge: a hard switch from fill to photo would itself be a line when revealed.
    keep = cv2.GaussianBlur(valid, (0, 0), margin / 2) * valid
    return np.clip(keep[..., None] * img + (1 - keep[..., None]) * fill, 0, 255).astype(np.uint8)


def _push_pull(img: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Fill where ``weight`` is 0 by normalised averaging over a pyramid: the nearest known pixels lead."""
    levels = []
    num, den = img * weight[..., None], weight.copy()
    while min(den.shape[:2]) > 4:
        levels.append((num, den))
        num = cv2.pyrDown(num)
        den = cv2.pyrDown(den)
    est = num / np.maximum(den, 1e-6)[..., None]
    for num, den in reversed(levels):
        size = (den.shape[1], den.shape[0])
        up = cv2.pyrUp(est, dstsize=size)
        here = num / np.maximum(den, 1e-6)[..., None]
        # Where this level saw enough known pixels, trust it; elsewhere carry the coarser estimate up.
        a = np.clip(den / 0.25, 0.0, 1.0)[..., None]
        est = a * here + (1 - a) * up
    return est
