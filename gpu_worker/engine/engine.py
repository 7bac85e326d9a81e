"""The engine: models loaded once per process, frames produced in batches, MP4 written with audio."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import av
import numpy as np
import torch

from provenance.watermark import Embedder, new_watermark_id
from provenance.watermark.scheme import DEFAULT_STRENGTH as DEFAULT_WATERMARK_STRENGTH

from . import NAME, VERSION
from .audio import (
    SR,
    AudioFeatures,
    AudioTrack,
    PhoneRecognizer,
    PhoneSegment,
    VoiceActivity,
    decode_audio,
    frame_features,
)
from .errors import FRAME_HOOK_INVALID, OPTIONS_INVALID, OUTPUT_INVALID, EngineCancelled, EngineError
from .face import FaceModels, build_canvas, load_photo
from .motion import ClipMotion, MotionControls, compute_motion
from .options import RenderOptions, RenderResult
from .render import Rig
from .video import Mp4Writer

ProgressFn = Callable[[float, str], None]
FrameHook = Callable[[np.ndarray, int], np.ndarray]
CancelFn = Callable[[], bool]

# The first chunk is short so the first batch is ready quickly; later chunks amortise decoding.
FIRST_CHUNK_S = 0.8
CHUNK_S = 10.0
CONTEXT_S = 0.6
# Forced alignment of very long audio in one pass is slow and fragile; beyond this, phones are decoded.
MAX_ALIGN_S = 90.0
# The invisible watermark's strength range (RMS change of R, G, B in 8-bit levels): below it the mark does not
# survive ordinary copies, above it the mark shows. There is deliberately no way to render without it.
WATERMARK_STRENGTH_RANGE = (1.5, 8.0)


@dataclass
class FrameBatch:
    """Consecutive output frames (N, H, W, 3) uint8 RGB starting at ``first_index``."""

    frames: np.ndarray
    first_index: int
    params: np.ndarray


@dataclass
class ClipPlan:
    """What iter_frames knows about a clip once its inputs are analysed."""

    width: int
    height: int
    fps: int
    frame_count: int
    duration_s: float
    timings: dict[str, float] = field(default_factory=dict)
    watermark_id: str = ""
    small_face: bool = False


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Engine:
    """Holds the models; one per process, reused across renders (implements ``gpu_worker.engines``' interface)."""

    name = NAME
    version = VERSION

    def __init__(self, device: str | torch.device | None = None, cpu_threads: int | None = 1) -> None:
        self.device = torch.device(device) if device is not None else _default_device()
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise EngineError(OPTIONS_INVALID, "device cuda was asked for but torch sees no CUDA device")
        if self.device.type == "cpu" and cpu_threads is not None:
            # x264, MediaPipe and onnxruntime run their own threads and torch's OpenMP workers spin-wait, so
            # on a few cores one torch thread renders faster than several (figures in docs/engine.md).
            torch.set_num_threads(cpu_threads)
        self.faces = FaceModels()
        self.vad = VoiceActivity()
        self.phones = PhoneRecognizer()

    def plan_and_frames(
        self,
        photo_path: str,
        audio_path: str,
        opts: RenderOptions,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        *,
        watermark_id: str | None = None,
        watermark_strength: float = DEFAULT_WATERMARK_STRENGTH,
        frame_hook: FrameHook | None = None,
    ) -> tuple[ClipPlan, Iterator[FrameBatch]]:
        """Analyse the inputs (raising EngineError early) and return the plan plus a generator of marked batches.

        Every frame carries the invisible watermark of ``watermark_id`` (a fresh random id that belongs to no job
        when None), embedded after ``frame_hook``, so what the engine makes is always recognisable as such.
        """
        marker = _marker(watermark_id, watermark_strength, self.device)
        plan, gen = self._prepare(photo_path, audio_path, opts, progress, should_cancel)
        plan.watermark_id = marker.wm_id
        return plan, _marked(gen, marker, frame_hook)

    def _prepare(
        self,
        photo_path: str,
        audio_path: str,
        opts: RenderOptions,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> tuple[ClipPlan, Iterator[FrameBatch]]:
        """The plan and the unmarked batches; private: every public path goes through the watermark."""
        opts.validate()
        t0 = time.perf_counter()
        timings: dict[str, float] = {}
        photo = load_photo(photo_path)
        face = self.faces.detect(photo, opts.face_index)
        canvas = build_canvas(photo, face, opts.size, opts.full_frame, opts.head_distance)
        mask = self.faces.segment(canvas.image)
        rig = Rig(canvas, mask, self.device)
        timings["face"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        track = decode_audio(audio_path)
        n_frames = max(1, round(track.duration_s * opts.fps))
        feats = frame_features(track, opts.fps, n_frames)
        aligned: list[PhoneSegment] | None = None
        if opts.transcript and track.duration_s <= MAX_ALIGN_S:
            aligned = self.phones.align(track.samples, opts.transcript)
        timings["audio"] = time.perf_counter() - t1
        h, w = canvas.image.shape[:2]
        plan = ClipPlan(
            width=w,
            height=h,
            fps=opts.fps,
            frame_count=n_frames,
            duration_s=track.duration_s,
            timings=timings,
            small_face=face.small,
        )
        controls = MotionControls(
            fps=opts.fps, seed=opts.seed, motion=opts.motion, gaze=opts.gaze, emotion=opts.emotion
        )
        clip = ClipMotion(controls, n_frames)
        gen = self._batches(rig, track, feats, clip, aligned, opts, plan, progress, should_cancel)
        return plan, gen

    def _batches(
        self,
        rig: Rig,
        track: AudioTrack,
        feats: AudioFeatures,
        clip: ClipMotion,
        aligned: list[PhoneSegment] | None,
        opts: RenderOptions,
        plan: ClipPlan,
        progress: ProgressFn | None,
        should_cancel: CancelFn | None,
    ) -> Iterator[FrameBatch]:
        for key in ("phones", "motion", "render"):
            plan.timings.setdefault(key, 0.0)
        try:
            yield from self._chunks(rig, track, feats, clip, aligned, opts, plan, progress, should_cancel)
        finally:
            # Off the latency path (also when the caller closes the generator early): the next clip's
            # first chunk finds a fresh phone decoder waiting.
            self.phones.refill()

    def _chunks(
        self,
        rig: Rig,
        track: AudioTrack,
        feats: AudioFeatures,
        clip: ClipMotion,
        aligned: list[PhoneSegment] | None,
        opts: RenderOptions,
        plan: ClipPlan,
        progress: ProgressFn | None,
        should_cancel: CancelFn | None,
    ) -> Iterator[FrameBatch]:
        fps, n = opts.fps, plan.frame_count
        start = 0
        timings = plan.timings
        while start < n:
            length = FIRST_CHUNK_S if start == 0 else CHUNK_S
            stop = min(n, start + round(length * fps))
            # A little audio on each side so coarticulation and phone decoding see their neighbours.
            ctx = round(CONTEXT_S * fps)
            a, b = max(0, start - ctx), min(n, stop + ctx)
            ta, tb = a / fps, b / fps
            seg = track.samples[int(ta * SR) : int(tb * SR)]
            t_ph = time.perf_counter()
            if aligned is not None:
                phones = aligned
            else:
                phones = self.phones.decode(seg, ta) if seg.size > SR // 20 else []
            vad = self.vad.per_frame(seg, ta, fps, b) if seg.size else np.zeros(b)
            timings["phones"] += time.perf_counter() - t_ph
            t_mo = time.perf_counter()
            params = compute_motion(clip, feats, vad[a:b], phones, a, b)
            params = params[start - a : start - a + (stop - start)]
            timings["motion"] += time.perf_counter() - t_mo
            # The clip's very first batch is small so a streaming caller gets frames sooner.
            sizes = [min(4, opts.batch_size)] if start == 0 else []
            bounds, i = [], 0
            while i < stop - start:
                step = sizes.pop(0) if sizes else opts.batch_size
                bounds.append((i, min(i + step, stop - start)))
                i += step
            for i, j in bounds:
                if should_cancel is not None and should_cancel():
                    raise EngineCancelled()
                rows = params[i:j]
                t_r = time.perf_counter()
                frames = rig.render(rows)
                timings["render"] += time.perf_counter() - t_r
                first = start + i
                if progress is not None:
                    progress(min(0.99, 0.02 + 0.97 * (first + len(rows)) / n), "render")
                yield FrameBatch(frames=frames, first_index=first, params=rows)
            start = stop

    def iter_frames(
        self,
        photo_path: str,
        audio_path: str,
        opts: RenderOptions,
        progress: ProgressFn | None = None,
        should_cancel: CancelFn | None = None,
        *,
        watermark_id: str | None = None,
    ) -> Iterator[FrameBatch]:
        """Yield watermarked FrameBatch objects as they are rendered (inputs are checked before the first one)."""
        _, gen = self.plan_and_frames(photo_path, audio_path, opts, progress, should_cancel, watermark_id=watermark_id)
        yield from gen

    def render_to_file(
        self,
        photo_path: str,
        audio_path: str,
        out_path: str,
        opts: RenderOptions,
        progress: ProgressFn | None = None,
        frame_hook: FrameHook | None = None,
        should_cancel: CancelFn | None = None,
        *,
        watermark_id: str | None = None,
        watermark_strength: float = DEFAULT_WATERMARK_STRENGTH,
    ) -> RenderResult:
        """Render to an H.264 + AAC MP4, every frame watermarked; frame_hook sees every batch before the mark."""
        if progress is not None:
            progress(0.0, "prepare")
        plan, gen = self.plan_and_frames(
            photo_path, audio_path, opts, progress, should_cancel,
            watermark_id=watermark_id, watermark_strength=watermark_strength, frame_hook=frame_hook,
        )  # fmt: skip
        tmp = f"{out_path}.part"
        try:
            writer = Mp4Writer(tmp, plan.width, plan.height, plan.fps, audio_path, plan.duration_s)
        except (av.FFmpegError, OSError) as exc:
            gen.close()
            raise EngineError(OUTPUT_INVALID, f"cannot write {out_path} ({exc.__class__.__name__})") from exc
        encoder = _EncoderThread(writer, plan.timings)
        written = 0
        try:
            for batch in gen:
                encoder.put(batch.frames)
                written += len(batch.frames)
            encoder.finish()
            t_e = time.perf_counter()
            writer.close()
            plan.timings["encode"] = plan.timings.get("encode", 0.0) + time.perf_counter() - t_e
        except BaseException as exc:
            encoder.stop()
            writer.abort()
            if os.path.exists(tmp):
                os.remove(tmp)
            # PyAV opens the file lazily, so an unwritable path or a full disk shows up while muxing.
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise EngineError(OUTPUT_INVALID, f"cannot write {out_path} ({exc})") from exc
            raise
        os.replace(tmp, out_path)
        self.last_timings = dict(plan.timings)
        if progress is not None:
            progress(1.0, "done")
        return RenderResult(
            width=plan.width,
            height=plan.height,
            fps=plan.fps,
            frame_count=written,
            duration_s=plan.duration_s,
            has_audio=writer.has_audio,
            watermark_id=plan.watermark_id,
            small_face=plan.small_face,
        )


def _marker(watermark_id: str | None, strength: float, device: torch.device) -> Embedder:
    lo, hi = WATERMARK_STRENGTH_RANGE
    if not lo <= strength <= hi:
        raise EngineError(OPTIONS_INVALID, f"watermark_strength must be within {lo}..{hi}")
    wm_id = watermark_id or new_watermark_id()
    try:
        return Embedder(wm_id, device=device, base_strength=strength)
    except ValueError as exc:
        raise EngineError(OPTIONS_INVALID, f"watermark_id is not a valid id ({exc})") from exc


def _marked(batches: Iterator[FrameBatch], marker: Embedder, frame_hook: FrameHook | None) -> Iterator[FrameBatch]:
    """Apply the caller's hook, then the watermark, to every batch (the mark is always last)."""
    try:
        for batch in batches:
            frames = batch.frames
            if frame_hook is not None:
                frames = frame_hook(frames, batch.first_index)
                if not isinstance(frames, np.ndarray) or frames.shape != batch.frames.shape:
                    raise EngineError(FRAME_HOOK_INVALID, "frame_hook must return an array of the same shape")
                frames = np.asarray(frames, dtype=np.uint8)
            yield FrameBatch(frames=marker.embed_batch(frames), first_index=batch.first_index, params=batch.params)
    finally:
        batches.close()  # type: ignore[attr-defined]


class _EncoderThread:
    """Encodes batches on a second thread so x264 works while the next batch renders."""

    def __init__(self, writer: Mp4Writer, timings: dict[str, float]) -> None:
        self._writer = writer
        self._timings = timings
        # Two batches in flight at most: bounded memory, and enough to keep both cores busy.
        self._queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="engine-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # keep draining so the producer never blocks on a dead consumer
            try:
                t = time.perf_counter()
                self._writer.write(item)
                self._timings["encode"] = self._timings.get("encode", 0.0) + time.perf_counter() - t
            except BaseException as exc:
                self._error = exc

    def put(self, frames: np.ndarray) -> None:
        """Queue a batch; re-raise an encoder failure here, on the caller's thread."""
        if self._error is not None:
            raise self._error
        self._queue.put(frames)

    def finish(self) -> None:
        """Wait until every queued batch is encoded."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        """Stop after the current batch (used on errors and cancel)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(device: str | None = None) -> Engine:
    """The per-process engine for ``device`` (default: CUDA when present, else CPU), models loaded."""
    key = str(torch.device(device) if device is not None else _default_device())
    with _ENGINES_LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = Engine(key)
        return _ENGINES[key]


def render_to_file(
    photo_path: str,
    audio_path: str,
    out_path: str,
    opts: RenderOptions | None = None,
    progress: ProgressFn | None = None,
    frame_hook: FrameHook | None = None,
    should_cancel: CancelFn | None = None,
    *,
    watermark_id: str | None = None,
    watermark_strength: float = DEFAULT_WATERMARK_STRENGTH,
) -> RenderResult:
    """Render ``photo_path`` speaking ``audio_path`` into a watermarked MP4 with the cached engine."""
    return get_engine().render_to_file(
        photo_path, audio_path, out_path, opts or RenderOptions(), progress, frame_hook, should_cancel,
        watermark_id=watermark_id, watermark_strength=watermark_strength,
    )  # fmt: skip
