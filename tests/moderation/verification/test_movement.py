"""Head pose and the movement check, measured on a real face mesh turned in 3D (see face_mesh.py for why)."""

from __future__ import annotations

import numpy as np
import pytest

from moderation.verification.analysis import analyse_faces, head_pose
from moderation.verification.checks.movement import movement
from moderation.verification.report import Thresholds
from tests.moderation.verification.conftest import FACES
from tests.moderation.verification.face_mesh import turned

OBAMA, BIDEN = FACES / "obama.jpg", FACES / "biden.jpg"


def measured(face_model, image: np.ndarray) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    boxes = face_model.detect(image, upsample=0) or face_model.detect(image, upsample=1)
    assert boxes, "the turned face is still found"
    return head_pose(face_model.landmarks(image, boxes[0][0]), image.shape)


@pytest.mark.parametrize(("photo", "yaw", "pitch"), [(OBAMA, 30, 0), (OBAMA, -30, 0), (OBAMA, 20, 0), (OBAMA, 0, 15),
                                                     (BIDEN, -30, 0), (BIDEN, 0, -15)])  # fmt: skip
def test_head_pose_follows_a_real_face_turned_in_3d(face_model, photo, yaw: int, pitch: int) -> None:  # type: ignore[no-untyped-def]
    yaw0, pitch0 = measured(face_model, turned(photo))
    got_yaw, got_pitch = measured(face_model, turned(photo, yaw, pitch))
    d_yaw, d_pitch = got_yaw - yaw0, got_pitch - pitch0
    if yaw:
        # Six landmarks on a generic head: the direction is sure, the size within about a third.
        assert np.sign(d_yaw) == np.sign(yaw) and 0.65 * abs(yaw) <= abs(d_yaw) <= 1.5 * abs(yaw), (d_yaw, d_pitch)
        assert abs(d_pitch) < abs(d_yaw) / 2
    else:
        assert np.sign(d_pitch) == np.sign(pitch) and abs(d_pitch) >= 0.5 * abs(pitch), (d_yaw, d_pitch)
        assert abs(d_yaw) < 8


@pytest.fixture(scope="module")
def turning_clip() -> tuple[list[np.ndarray], np.ndarray]:
    """Four seconds at 10 fps: frontal, a turn to the subject's left (peak 30 degrees) from 1.5 s, frontal again."""
    poses = {0: turned(OBAMA), 15: turned(OBAMA, 15), 30: turned(OBAMA, 30)}
    plan = [0] * 15 + [15, 30, 30, 30, 30, 15] + [0] * 19
    return [poses[p] for p in plan], np.arange(len(plan)) / 10.0


@pytest.mark.slow
def test_a_turn_the_right_way_passes_and_the_wrong_way_fails(face_model, obama_refs, turning_clip) -> None:  # type: ignore[no-untyped-def]
    frames, times = turning_clip
    fa = analyse_faces(face_model, frames)
    th = Thresholds()
    left = movement([{"kind": "turn_left", "start_s": 1.4, "end_s": 3.0}], fa, times, frames, face_model, obama_refs,
                    th)  # fmt: skip
    assert left["passed"] is True, left
    assert left["prompts"][0]["turn_deg"] >= 20 and left["prompts"][0]["identity_distance"] < th.face_pass
    right = movement([{"kind": "turn_right", "start_s": 1.4, "end_s": 3.0}], fa, times, frames, face_model,
                     obama_refs, th)  # fmt: skip
    assert right["passed"] is False
    late = movement(
        [{"kind": "turn_left", "start_s": 2.8, "end_s": 3.9}], fa, times, frames, face_model, obama_refs, th
    )
    assert late["passed"] is False, "a turn made before the prompt was shown does not count"


@pytest.mark.slow
def test_a_photo_moved_in_its_own_plane_does_not_turn(face_model, obama_refs) -> None:  # type: ignore[no-untyped-def]
    import cv2

    still = turned(OBAMA)
    h, w = still.shape[:2]
    frames = []
    for i in range(30):
        # Slid, tilted and zoomed as a hand-held printout or a 2D warp would be.
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), 12 * np.sin(i / 4), 1 + 0.08 * np.sin(i / 5))
        matrix[:, 2] += (25 * np.sin(i / 3), 10 * np.cos(i / 3))
        frames.append(cv2.warpAffine(still, matrix, (w, h), borderMode=cv2.BORDER_REFLECT))
    times = np.arange(len(frames)) / 10.0
    fa = analyse_faces(face_model, frames)
    check = movement([{"kind": "turn_left", "start_s": 1.0, "end_s": 3.0}, {"kind": "turn_right", "start_s": 1.0,
                      "end_s": 3.0}], fa, times, frames, face_model, obama_refs, Thresholds())  # fmt: skip
    assert check["passed"] is False
    assert max(p["turn_deg"] for p in check["prompts"]) < 10
