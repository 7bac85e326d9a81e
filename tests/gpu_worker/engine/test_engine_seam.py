"""No seam round the head: the warp neither folds nor smears the outline as the head turns, nods and talks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gpu_worker.engine.face import build_canvas, load_photo
from gpu_worker.engine.realism import SEAM_POSES, head_rotation, pose_rows, warp_folds
from gpu_worker.engine.render import Rig


@pytest.fixture(scope="module")
def bright_rig(engine, fixtures):
    photo = load_photo(str(fixtures / "astronaut_bright.jpg"))
    canvas = build_canvas(photo, engine.faces.detect(photo), 384, False, 1.0)
    return Rig(canvas, engine.faces.segment(canvas.image), torch.device("cpu")), canvas


def test_turns_nods_and_a_dropping_jaw_never_fold_the_picture_round_the_head(bright_rig):
    rig, _ = bright_rig
    folds = warp_folds(rig, pose_rows(SEAM_POSES[:7]))
    # A fold draws the outline twice (the light line round the jaw, chin and ears); the far cheek may only squeeze.
    assert folds["min_det"] > 0.25, folds
    # Where the inverse misses, pixels come from the wrong side of the outline (smear, ghost outline in the hair).
    assert folds["residual_p99"] < 0.2 and folds["residual_max"] < 1.5, folds


def test_the_head_turns_in_3d_by_the_asked_angle(engine, bright_rig):
    rig, canvas = bright_rig
    frames = rig.render(pose_rows([{"yaw": 12.0}, {"yaw": -12.0}, {"pitch": 8.0}]))
    ref = engine.faces.landmarks(canvas.image)
    yaws = [head_rotation(ref, engine.faces.landmarks(f))[0] for f in frames[:2]]
    pitch = head_rotation(ref, engine.faces.landmarks(frames[2]))[1]
    # The face mesh, re-run on the frame, sees a turned head (not a face sliding sideways).
    assert min(abs(y) for y in yaws) > 7.0 and np.sign(yaws[0]) != np.sign(yaws[1]), yaws
    assert abs(pitch) > 4.0, pitch
