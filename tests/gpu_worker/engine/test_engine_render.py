"""Rendered output, measured: lip-sync, identity, stability, seeds, MP4 sync, hooks, cancel, full frame."""

from __future__ import annotations

import av
import numpy as np
import pytest

from gpu_worker.engine import EngineCancelled, RenderOptions, get_engine
from gpu_worker.engine.audio import decode_audio, frame_features
from gpu_worker.engine.face import build_canvas, load_photo
from gpu_worker.engine.metrics import jitter, measure_frames, mouth_opening, pearson, rigid_residual


def _decode_video(path) -> tuple[list[np.ndarray], dict[str, float]]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(v)]
    with av.open(str(path)) as c:
        info = {s.type: float(s.duration * s.time_base) for s in c.streams}
        info["video_codec"] = c.streams.video[0].codec_context.name
        if c.streams.audio:
            info["audio_codec"] = c.streams.audio[0].codec_context.name
    return frames, info


def test_mouth_opening_on_output_frames_follows_speech_loudness(engine, fixtures, harvard_render):
    frames = harvard_render["frames"]
    track = decode_audio(str(fixtures / "harvard_16k.wav"))
    loud = frame_features(track, 25, len(frames)).loudness
    lms = measure_frames(engine.faces, frames)
    found = np.array([lm is not None for lm in lms])
    assert found.mean() > 0.95
    opening = np.array([mouth_opening(lm) if lm is not None else np.nan for lm in lms])
    r = pearson(opening[found], loud[found])
    assert r >= 0.5, f"lip-sync correlation {r:.2f}"
    # In the pauses between sentences the mouth is back to (about) the photo's rest opening.
    rest = mouth_opening(engine.faces.landmarks(frames[0]))
    quiet = found & (loud < 0.05)
    speech = found & (loud > 0.7)
    assert quiet.sum() > 5
    assert np.median(opening[quiet]) < rest + 0.03
    assert np.median(opening[speech]) > np.median(opening[quiet]) + 0.05


def test_blinks_show_on_the_rendered_eyes(engine, harvard_render):
    frames, params = harvard_render["frames"], harvard_render["params"]
    from gpu_worker.engine.motion import IDX

    lid = params[:, IDX["lid"]]
    closed, open_ = np.nonzero(lid > 0.9)[0], np.nonzero(lid < 0.01)[0]
    assert len(closed) >= 2
    lms_closed = [engine.faces.landmarks(frames[i]) for i in closed[:3]]
    lms_open = [engine.faces.landmarks(frames[i]) for i in open_[:: max(1, len(open_) // 5)][:5]]

    def eye_gap(lm):
        return (np.linalg.norm(lm[159, :2] - lm[145, :2]) + np.linalg.norm(lm[386, :2] - lm[374, :2])) / 2

    assert np.mean([eye_gap(m) for m in lms_closed]) < 0.6 * np.mean([eye_gap(m) for m in lms_open])


def test_face_keeps_its_identity_and_does_not_jitter(engine, fixtures, harvard_render):
    frames = harvard_render["frames"]
    photo = load_photo(str(fixtures / "astronaut.jpg"))
    face = engine.faces.detect(photo)
    canvas = build_canvas(photo, face, 256, False, 1.0)
    lms = [m for m in measure_frames(engine.faces, frames[::3]) if m is not None]
    # Rigid facial geometry (eye corners, nose) matches the photo up to pose: the person is the same.
    residual = np.mean([rigid_residual(canvas.landmarks, m) for m in lms])
    assert residual < 0.06
    assert jitter([m for m in measure_frames(engine.faces, frames[:60]) if m is not None]) < 0.03


def test_background_stays_still_while_the_head_moves(harvard_render):
    frames = harvard_render["frames"].astype(np.float32)
    # The top-left corner of the astronaut crop is studio backdrop; the head and hair never reach it. (Turns of
    # up to 14 degrees swing the hair ~0.3 eye-mouth distances, 17 px here, to within a few pixels of the 32 px
    # corner's inner edge, so the corner measured is 24 px.)
    corner = frames[:, :24, :24]
    assert np.abs(corner - corner[0]).max() < 3.0
    head = frames[:, 60:160, 80:180]
    assert np.abs(head - head[0]).mean(axis=(1, 2, 3)).max() > 2.0


def test_same_seed_gives_identical_frames_and_another_seed_differs(engine, fixtures, short_speech):
    def render(seed: int) -> np.ndarray:
        opts = RenderOptions(size=256, seed=seed)
        photo, audio = str(fixtures / "grace_hopper.jpg"), str(short_speech)
        frames = engine.iter_frames(photo, audio, opts, watermark_id="5eed5eed")
        return np.concatenate([b.frames for b in frames])

    a, b, c = render(7), render(7), render(8)
    assert a.shape == b.shape == c.shape
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - c.astype(int)).mean() > 0.2


def test_mp4_holds_h264_and_aac_and_lasts_as_long_as_the_audio(engine, fixtures, short_speech, tmp_path):
    out = tmp_path / "out.mp4"
    result = engine.render_to_file(
        str(fixtures / "astronaut.jpg"), str(short_speech), str(out), RenderOptions(size=256)
    )
    frames, info = _decode_video(out)
    audio_s = decode_audio(str(short_speech)).duration_s
    assert info["video_codec"] == "h264" and info["audio_codec"] == "aac"
    assert result.has_audio and (result.width, result.height) == (256, 256)
    assert len(frames) == result.frame_count == round(audio_s * 25)
    assert abs(info["video"] - audio_s) <= 1 / 25
    assert abs(info["audio"] - audio_s) <= 1 / 25
    assert frames[0].shape == (256, 256, 3)


def test_frame_hook_runs_before_encoding_and_its_marks_show_in_the_output(engine, fixtures, short_speech, tmp_path):
    calls: list[tuple[int, int]] = []

    def hook(frames: np.ndarray, first: int) -> np.ndarray:
        calls.append((first, len(frames)))
        marked = frames.copy()
        marked[:, :32, :32] = (255, 0, 255)  # a magenta square no portrait has
        return marked

    out = tmp_path / "hooked.mp4"
    result = engine.render_to_file(
        str(fixtures / "astronaut.jpg"), str(short_speech), str(out), RenderOptions(size=256), frame_hook=hook
    )
    assert calls[0][0] == 0
    assert sum(n for _, n in calls) == result.frame_count
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)
    frames, _ = _decode_video(out)
    for f in frames:
        assert np.abs(f[4:28, 4:28].astype(int) - [255, 0, 255]).mean() < 12


def test_cancel_stops_the_render_at_the_next_batch(engine, fixtures, short_speech, tmp_path):
    batches = {"n": 0}

    def hook(frames: np.ndarray, first: int) -> np.ndarray:
        batches["n"] += 1
        return frames

    out = tmp_path / "cancelled.mp4"
    with pytest.raises(EngineCancelled) as err:
        engine.render_to_file(
            str(fixtures / "astronaut.jpg"),
            str(short_speech),
            str(out),
            RenderOptions(size=256),
            frame_hook=hook,
            should_cancel=lambda: batches["n"] >= 2,
        )
    assert err.value.code == "cancelled"
    assert batches["n"] == 2
    assert not out.exists() and not (tmp_path / "cancelled.mp4.part").exists()


def test_progress_rises_to_one(engine, fixtures, short_speech, tmp_path):
    seen: list[tuple[float, str]] = []
    engine.render_to_file(
        str(fixtures / "astronaut.jpg"),
        str(short_speech),
        str(tmp_path / "p.mp4"),
        RenderOptions(size=256),
        progress=lambda f, s: seen.append((f, s)),
    )
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len(seen) > 5


def test_full_frame_output_keeps_the_photo_aspect_without_a_seam(engine, fixtures, short_speech, tmp_path):
    photo = load_photo(str(fixtures / "grace_hopper.jpg"))  # 512 x 600, portrait aspect
    out = tmp_path / "full.mp4"
    result = engine.render_to_file(
        str(fixtures / "grace_hopper.jpg"),
        str(short_speech),
        str(out),
        RenderOptions(size=512, full_frame=True),
    )
    h, w = photo.shape[:2]
    assert result.height == 512 and abs(result.width / result.height - w / h) < 0.01
    frames, _ = _decode_video(out)
    assert (frames[0].shape[1], frames[0].shape[0]) == (result.width, result.height)
    face = engine.faces.detect(photo)
    canvas = build_canvas(photo, face, 512, True, 1.0).image.astype(np.float32)
    # Far from the face the animation leaves the photo itself, and there is no step anywhere in between:
    # pixel difference to the photo falls smoothly with the distance from the face. Measured on the frames the
    # animation makes, before the watermark (every output pixel carries it on purpose, ~1 level on top of
    # H.264's ~2 here, which put the MP4's far field at the bound) and before the encode.
    _, raw = engine._prepare(
        str(fixtures / "grace_hopper.jpg"), str(short_speech), RenderOptions(size=512, full_frame=True)
    )
    frames = [frame for batch in raw for frame in batch.frames]
    x, y, bw, bh = (v * result.width / w for v in face.box)
    cx, cy = x + bw / 2, y + bh / 2
    yy, xx = np.mgrid[: result.height, : result.width]
    dist = np.hypot(xx - cx, yy - cy) / max(bw, bh)
    diffs = np.stack([np.abs(f.astype(np.float32) - canvas).mean(axis=2) for f in frames[::5]]).mean(axis=0)
    far = diffs[dist > 2.2]
    assert far.mean() < 3.0
    rings = [diffs[(dist > d) & (dist <= d + 0.1)].mean() for d in np.arange(1.0, 2.2, 0.1)]
    # A seam would show as a ring that differs more than the one inside it; the change must only fade.
    # (a crop pasted back without blending steps by 5-20 levels)
    assert max(np.diff(rings)) < 2.0


def test_a_512_px_render_keeps_its_shape_and_identity(engine, fixtures, short_speech, tmp_path):
    opts = RenderOptions(size=512, emotion="happy", gaze="left", head_distance=1.1, motion=0.8, seed=7)
    batches = list(engine.iter_frames(str(fixtures / "grace_hopper.jpg"), str(short_speech), opts))
    frames = np.concatenate([b.frames for b in batches])
    assert frames.shape[1:] == (512, 512, 3)
    photo = load_photo(str(fixtures / "grace_hopper.jpg"))
    canvas = build_canvas(photo, engine.faces.detect(photo), 512, False, 1.1)
    lms = [m for m in measure_frames(engine.faces, frames[::6]) if m is not None]
    assert len(lms) >= len(frames[::6]) - 1
    assert np.mean([rigid_residual(canvas.landmarks, m) for m in lms]) < 0.06


def test_models_load_once_and_frames_stream_in_batches(engine, fixtures, short_speech):
    # Time to the first batch is a speed figure, measured by bench/bench_engine.py: no timed tests here.
    assert get_engine("cpu") is engine
    gen = engine.iter_frames(str(fixtures / "astronaut.jpg"), str(short_speech), RenderOptions(size=512))
    first = next(gen)
    rest = sum(len(b.frames) for b in gen)
    assert first.first_index == 0 and first.frames.shape[1:] == (512, 512, 3)
    assert rest > 0, "the clip arrives in several batches, not all at once"


def test_a_transcript_is_force_aligned_and_its_bilabials_close_the_lips(engine, fixtures):
    from gpu_worker.engine.motion import IDX

    text = "Peter picked a basket of apples by the old mill."
    audio = str(fixtures / "espeak_peter.wav")
    opts = RenderOptions(size=256, transcript=text)
    params = np.concatenate([b.params for b in engine.iter_frames(str(fixtures / "astronaut.jpg"), audio, opts)])
    aligned = engine.phones.align(decode_audio(audio).samples, text)
    bilabials = [p for p in aligned if p.phone in ("P", "B", "M") and p.end - p.start >= 0.05]
    vowels = [p for p in aligned if p.phone in ("AE", "AA", "AH", "IY", "IH", "OW") and p.end - p.start >= 0.06]
    assert len(bilabials) >= 4 and len(vowels) >= 4  # Peter, picked, basket, by, mill, apples
    at = lambda p: params[min(int((p.start + p.end) / 2 * 25), len(params) - 1)]  # noqa: E731
    assert np.mean([at(p)[IDX["press"]] for p in bilabials]) > 0.5
    assert np.mean([at(p)[IDX["jaw"]] for p in bilabials]) < 0.5 * np.mean([at(p)[IDX["jaw"]] for p in vowels])


def test_rendered_frames_are_recognised_as_the_person_in_the_photo(engine, fixtures, harvard_render):
    pytest.importorskip("dlib")  # installed with the service (requirements/verification.txt); measurement only
    from gpu_worker.engine.metrics import IdentityMeter, face_box

    meter = IdentityMeter()
    photo = load_photo(str(fixtures / "astronaut.jpg"))
    ref = meter.embedding(photo, face_box(engine.faces.detect(photo).landmarks))
    frames = harvard_render["frames"][::9]
    dists = [np.linalg.norm(meter.embedding(f, face_box(engine.faces.landmarks(f))) - ref) for f in frames]
    other = load_photo(str(fixtures / "grace_hopper.jpg"))
    other_dist = np.linalg.norm(meter.embedding(other, face_box(engine.faces.detect(other).landmarks)) - ref)
    assert other_dist > 0.6  # the meter tells people apart
    assert np.mean(dists) < 0.35, f"mean identity distance {np.mean(dists):.2f}"
    assert np.max(dists) < 0.5


def test_held_sung_vowels_still_open_the_mouth_with_the_voice(engine, fixtures):
    # The phone decoder hears these long vowels mostly as silence; loudness and spectrum must lead.
    audio = str(fixtures / "espeak_sung_vowels_16k.wav")
    frames = np.concatenate(
        [b.frames for b in engine.iter_frames(str(fixtures / "grace_hopper.jpg"), audio, RenderOptions(size=256))]
    )
    loud = frame_features(decode_audio(audio), 25, len(frames)).loudness
    lms = measure_frames(engine.faces, frames)
    found = np.array([m is not None for m in lms])
    opening = np.array([mouth_opening(m) if m is not None else np.nan for m in lms])
    assert found.mean() > 0.95
    assert pearson(opening[found], loud[found]) >= 0.5
    assert np.median(opening[found & (loud > 0.7)]) > 0.1


def test_long_audio_streams_in_chunks_with_bounded_memory(engine, fixtures, tmp_path):
    import tracemalloc

    import soundfile as sf

    data, sr = sf.read(fixtures / "harvard_16k.wav", dtype="int16")
    paths = {}
    for seconds in (6, 24):
        paths[seconds] = tmp_path / f"{seconds}s.wav"
        sf.write(paths[seconds], np.tile(data, 4)[: seconds * sr], sr)
    opts = RenderOptions(size=256, fps=10)
    peaks, counts = {}, {}
    for seconds, path in paths.items():
        tracemalloc.start()
        n = 0
        for batch in engine.iter_frames(str(fixtures / "astronaut.jpg"), str(path), opts):
            n += len(batch.frames)  # a consumer that streams frames away
        peaks[seconds] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        counts[seconds] = n
    assert counts[24] == 240 and counts[6] == 60
    # 180 more frames would be 35 MB if kept; 18 s more of samples and features are ~2 MB.
    grown = peaks[24] - peaks[6]
    assert grown < 8 * 2**20, f"peak grew by {grown / 2**20:.1f} MB"


def test_an_odd_size_is_rounded_down_to_an_even_frame(engine, fixtures, short_speech, tmp_path):
    out = tmp_path / "odd.mp4"
    result = engine.render_to_file(
        str(fixtures / "astronaut.jpg"), str(short_speech), str(out), RenderOptions(size=301)
    )
    assert (result.width, result.height) == (300, 300)
    frames, _ = _decode_video(out)
    assert frames[0].shape == (300, 300, 3)
