"""Shared, session-scoped material for the engine tests: the engine, fixture files, short clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gpu_worker.engine import Engine, RenderOptions, get_engine

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "engine"


@pytest.fixture(scope="session")
def engine() -> Engine:
    return get_engine("cpu")


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def short_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 2.4 s of the Harvard-sentences clip ("The birch canoe slid...")."""
    data, sr = sf.read(FIXTURES / "harvard_16k.wav", dtype="int16")
    path = tmp_path_factory.mktemp("audio") / "short.wav"
    sf.write(path, data[: int(2.4 * sr)], sr)
    return path


@pytest.fixture(scope="session")
def harvard_render(engine: Engine) -> dict[str, object]:
    """The whole Harvard clip rendered at 256 px from the astronaut photo, frames kept in memory."""
    opts = RenderOptions(size=256, fps=25, seed=3)
    frames, params = [], []
    # A fixed watermark id: the mark is part of every frame, and the measurements here must not vary between runs.
    frames_of = engine.iter_frames(str(FIXTURES / "astronaut.jpg"), str(FIXTURES / "harvard_16k.wav"), opts,
                                   watermark_id="5eed0001")  # fmt: skip
    for batch in frames_of:
        frames.extend(batch.frames)
        params.append(batch.params)
    return {"frames": np.stack(frames), "params": np.concatenate(params), "opts": opts}
