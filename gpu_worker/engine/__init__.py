"""Talkgate's warp engine: one portrait photo + audio -> lip-synced talking frames and a watermarked MP4.

The names below load lazily, so ``gpu_worker.engine.options`` and ``.errors`` can be imported (by the API,
for the option ranges) without torch; touching ``Engine`` or ``render_to_file`` loads the models' stack.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import EngineCancelled, EngineError
from .options import EMOTIONS, GAZES, OPTION_SPECS, RenderOptions, RenderResult

NAME = "talkgate-warp"
# The rendering's own version, written on every job and into every C2PA manifest: raise it when output changes.
VERSION = "0.5.0"

_LAZY = {"ClipPlan", "Engine", "FrameBatch", "get_engine", "render_to_file"}

__all__ = [
    "EMOTIONS",
    "GAZES",
    "NAME",
    "OPTION_SPECS",
    "VERSION",
    "ClipPlan",
    "Engine",
    "EngineCancelled",
    "EngineError",
    "FrameBatch",
    "RenderOptions",
    "RenderResult",
    "get_engine",
    "render_to_file",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(".engine", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
