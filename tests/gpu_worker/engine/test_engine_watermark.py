"""The engine marks everything it makes: every frame of every path carries the invisible watermark."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpu_worker.engine import Engine, EngineError, RenderOptions, render_to_file
from gpu_worker.engine import __main__ as cli
from provenance.watermark import detect_image, detect_video

pytestmark = pytest.mark.slow


def _rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)))


def test_a_library_render_without_an_id_carries_a_fresh_random_id(engine: Engine, fixtures, short_speech, tmp_path):  # type: ignore[no-untyped-def]
    photo, audio = str(fixtures / "astronaut.jpg"), str(short_speech)
    first = render_to_file(photo, audio, str(tmp_path / "a.mp4"), RenderOptions(size=256))
    second = engine.render_to_file(photo, audio, str(tmp_path / "b.mp4"), RenderOptions(size=256))
    assert len(first.watermark_id) == 8 and first.watermark_id != second.watermark_id
    found = detect_video(str(tmp_path / "a.mp4"))
    assert found.detected and found.watermark_id == first.watermark_id


def test_every_yielded_frame_is_marked_at_the_asked_strength(engine: Engine, fixtures, short_speech):  # type: ignore[no-untyped-def]
    photo, audio, opts = str(fixtures / "grace_hopper.jpg"), str(short_speech), RenderOptions(size=512)
    _, raw = engine._prepare(photo, audio, opts)  # the unmarked frames, only reachable from inside the engine
    clean = np.concatenate([b.frames for b in raw])
    reached = {}
    for strength in (3.05, 5.0):
        _, gen = engine.plan_and_frames(photo, audio, opts, watermark_id="c0ffee42", watermark_strength=strength)
        marked = np.concatenate([b.frames for b in gen])
        per_frame = [_rms(m, c) for m, c in zip(marked, clean, strict=True)]
        reached[strength] = float(np.median(per_frame))
        # Clipping at 0 and 255 takes a little off bright frames; no frame goes unmarked.
        assert min(per_frame) >= 0.85 * reached[strength], "every frame, not some"
    # The default strength is met; a stronger one gives a stronger mark until the per-pixel bound (12 levels) caps it.
    assert reached[3.05] == pytest.approx(3.05, rel=0.08)
    assert reached[5.0] > 1.2 * reached[3.05]
    assert detect_image(marked[len(marked) // 2]).watermark_id == "c0ffee42"


def test_a_frame_hook_cannot_strip_the_mark(engine: Engine, fixtures, short_speech, tmp_path):  # type: ignore[no-untyped-def]
    def flatten(frames: np.ndarray, first: int) -> np.ndarray:
        return np.full_like(frames, 128) + (np.random.default_rng(first).random(frames.shape) * 40).astype(np.uint8)

    out = tmp_path / "hooked.mp4"
    result = engine.render_to_file(str(fixtures / "astronaut.jpg"), str(short_speech), str(out),
                                   RenderOptions(size=256), frame_hook=flatten)  # fmt: skip
    assert detect_video(str(out)).watermark_id == result.watermark_id


def test_no_public_option_turns_the_mark_off(engine: Engine, fixtures, short_speech, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for fn in (render_to_file, Engine.render_to_file, Engine.iter_frames, Engine.plan_and_frames):
        marks = {name for name in inspect.signature(fn).parameters if "mark" in name}
        assert marks <= {"watermark_id", "watermark_strength"}, fn
    assert not [f for f in RenderOptions.__dataclass_fields__ if "mark" in f]
    options = {a.dest for a in cli.build_parser()._actions}
    assert not [o for o in options if "mark" in o]
    for strength in (0.0, 1.0, 9.0):
        with pytest.raises(EngineError) as err:
            engine.render_to_file(str(fixtures / "astronaut.jpg"), str(short_speech), str(tmp_path / "x.mp4"),
                                  RenderOptions(size=256), watermark_strength=strength)  # fmt: skip
        assert err.value.code == "options_invalid"


def test_the_command_line_output_is_marked_with_an_id_of_no_job(fixtures, short_speech, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "cli.mp4"
    done = subprocess.run(
        [sys.executable, "-m", "gpu_worker.engine", str(fixtures / "astronaut.jpg"), str(short_speech),
         "-o", str(out), "--size", "256", "--device", "cpu"],
        cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = detect_video(str(out))
    assert found.detected and f"watermark id {found.watermark_id}" in done.stderr
