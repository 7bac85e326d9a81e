"""The engine interface the pipeline renders through, and loading the engine a setting names.

An engine is any object with a ``name``, a ``version`` and ``render_to_file`` as below; a second backend (say
a neural renderer for GPU boxes) is a new module with a factory, chosen by ``TALKGATE_ENGINE``, not an edit of
the pipeline. Loading is lazy and cached per process, so the web side never imports an engine.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from gpu_worker.engine.errors import OPTIONS_INVALID, EngineError
from gpu_worker.engine.options import RenderOptions, RenderResult

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]
DEFAULT_ENGINE = "gpu_worker.engine:get_engine"


@runtime_checkable
class TalkingHeadEngine(Protocol):
    """Photo + audio -> a watermarked MP4, with progress, a per-batch frame hook and cancellation."""

    name: str
    version: str

    def render_to_file(
        self,
        photo_path: str,
        audio_path: str,
        out_path: str,
        opts: RenderOptions,
        progress: ProgressFn | None = None,
        frame_hook: Callable[[Any, int], Any] | None = None,
        should_cancel: CancelFn | None = None,
        *,
        watermark_id: str | None = None,
        watermark_strength: float = ...,
    ) -> RenderResult:
        """Render; every frame carries the watermark ``watermark_id``; raise EngineError to refuse."""
        ...


_loaded: dict[str, TalkingHeadEngine] = {}
_lock = threading.Lock()


def load_engine(spec: str = DEFAULT_ENGINE) -> TalkingHeadEngine:
    """The engine ``module:factory`` names (the factory is called once per process, models loaded)."""
    with _lock:
        if spec not in _loaded:
            module_name, _, attribute = spec.partition(":")
            try:
                factory = getattr(importlib.import_module(module_name), attribute)
            except (ImportError, AttributeError, ValueError) as exc:
                raise EngineError(OPTIONS_INVALID, f"no engine at {spec!r}: {exc}") from exc
            engine = factory()
            if not isinstance(engine, TalkingHeadEngine):
                raise EngineError(OPTIONS_INVALID, f"{spec!r} does not give an engine (name, version, render_to_file)")
            _loaded[spec] = engine
        return _loaded[spec]
