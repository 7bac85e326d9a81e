"""Talkgate animation engine: one portrait photo + audio -> lip-synced talking frames and MP4."""

from .engine import ClipPlan, Engine, FrameBatch, get_engine, render_to_file
from .errors import EngineCancelled, EngineError
from .options import EMOTIONS, GAZES, RenderOptions, RenderResult

__all__ = [
    "EMOTIONS",
    "GAZES",
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
