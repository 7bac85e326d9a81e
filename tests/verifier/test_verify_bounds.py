"""Public verification's cost is bounded: header guards, decode caps, a time budget, one throttle, the queue."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import av
import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.models import Job
from provenance import detection
from provenance.watermark import Embedder, media, testing
from tests.conftest import make_consent, tiny_mp4
from verifier import services, tasks

pytestmark = pytest.mark.django_db

ENGINE_ID = "5eed1d00"  # an id no job carries: what the engine writes outside the service


def _upload(data: bytes, name: str = "suspect") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _png(width: int, height: int, mode: str = "L") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height), 0).save(out, format="PNG", optimize=True)
    return out.getvalue()


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares a huge image (its data stream is a few bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _marked_clip(wm_id: str, seconds: int = 2, size: int = 256) -> bytes:
    clip = testing.make_clip(seed=11, n_frames=seconds * 25, size=size)
    return testing.encode(Embedder(wm_id).embed_batch(clip), 25, crf=23)


def _error(response) -> str:  # type: ignore[no-untyped-def]
    return response.json()["error"]["code"]


def test_an_image_bomb_is_refused_from_its_header_like_an_upload(anon, client) -> None:  # type: ignore[no-untyped-def]
    bomb = _png(8000, 8000, mode="1")  # 64 Mpx of 1-bit black in a few kilobytes
    assert len(bomb) < 20_000
    response = anon.post("/v1/verify", {"file": _upload(bomb)}, format="multipart")
    assert response.status_code == 400 and _error(response) == "image_too_large"
    declared = _png_declaring(100_000, 100_000)
    assert len(declared) < 200
    response = anon.post("/v1/verify", {"file": _upload(declared)}, format="multipart")
    assert response.status_code == 400 and _error(response) == "image_too_large"
    page = client.post("/verify", {"file": _upload(declared, "x.png")})
    assert page.status_code == 400 and b"pixels" in page.content


def test_images_above_the_verification_cap_are_refused_below_the_photo_cap(anon, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_VERIFY_PIXELS = 300 * 300
    response = anon.post("/v1/verify", {"file": _upload(_png(400, 400))}, format="multipart")
    assert response.status_code == 400 and _error(response) == "image_too_large"


def test_a_video_with_frames_above_the_cap_is_refused_before_decoding(anon, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_VERIFY_PIXELS = 96 * 96
    response = anon.post("/v1/verify", {"file": _upload(tiny_mp4(size=128))}, format="multipart")
    assert response.status_code == 400 and _error(response) == "video_too_large"


def test_a_one_pixel_image_is_answered_without_a_watermark_search(anon, inline_tasks) -> None:  # type: ignore[no-untyped-def]
    response = anon.post("/v1/verify", {"file": _upload(_png(1, 1))}, format="multipart")
    assert response.status_code == 200, response.content
    mark = response.json()["watermark"]
    assert mark["status"] == "not_checked" and mark["reason"] == "too_small" and mark["frames_checked"] == 0


def _video(path: Path, frames: int, *, size: int = 64, gop: int = 250, container: str = "mp4") -> Path:
    with av.open(str(path), mode="w", format=container) as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"g": str(gop), "preset": "ultrafast"}
        for i in range(frames):
            img = np.full((size, size, 3), (i * 7) % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode(None))
    return path


def test_decoding_streams_keeps_few_frames_and_stops_at_the_frame_and_second_caps(tmp_path: Path) -> None:
    path = _video(tmp_path / "long.mp4", 600)
    whole = media.read_video_luma(str(path))
    assert whole.decoded == 600 and whole.stopped is None and len(whole.frames) <= 48 + 3
    capped = media.read_video_luma(str(path), max_frames=100)
    assert capped.decoded == 100 and capped.stopped == "max_frames" and len(capped.frames) <= 48 + 1
    short = media.read_video_luma(str(path), max_seconds=2.0)
    assert short.stopped == "max_seconds" and short.decoded <= 51


def test_every_frame_a_key_frame_and_no_frame_count_still_keeps_a_bounded_number(tmp_path: Path) -> None:
    # Matroska carries no frame count: the evenly spaced frames are thinned as decoding goes.
    path = _video(tmp_path / "intra.mkv", 400, gop=1, container="matroska")
    video = media.read_video_luma(str(path), keep=16)
    assert video.decoded == 400 and 16 < len(video.frames) <= 3 * 16
    assert all(video.keys)


def test_a_deadline_stops_decoding_and_the_search_and_says_inconclusive(tmp_path: Path) -> None:
    path = _video(tmp_path / "clip.mp4", 50, size=128)
    spent = detection.inspect_file(path, limits=detection.Limits(deadline=time.monotonic()))
    assert spent.watermark is not None and spent.watermark["status"] == "inconclusive"
    image = tmp_path / "photo.png"
    Image.fromarray(testing.photo("camera")).save(image)
    started = time.monotonic()
    result = detection.inspect_file(image, limits=detection.Limits(deadline=started + 0.05))
    # The unscaled reading always runs; the scale search (seconds) is cut at its first check.
    assert result.watermark is not None and result.watermark["status"] == "inconclusive"
    assert result.watermark["frames_checked"] == 1 and not result.watermark["complete"]


def test_the_time_budget_turns_a_long_search_into_an_inconclusive_answer(anon, inline_tasks, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_VERIFY_TIME_BUDGET_S = 1
    noise = np.random.default_rng(3).integers(0, 256, (1024, 1024), dtype=np.uint8)  # a full search takes seconds
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG")
    response = anon.post("/v1/verify", {"file": _upload(out.getvalue())}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["watermark"]["status"] == "inconclusive" and body["watermark"]["reason"] == "time_budget"
    assert any("inconclusive" in line for line in body["what_this_means"])


def test_the_page_and_the_api_share_one_throttle(anon, client) -> None:  # type: ignore[no-untyped-def]
    from accounts.throttling import VerifyRateThrottle

    before = VerifyRateThrottle.THROTTLE_RATES
    VerifyRateThrottle.THROTTLE_RATES = {**before, "verify": "3/min"}
    try:
        page = [client.post("/verify", {}).status_code for _ in range(2)]
        api = anon.post("/v1/verify", {}, format="multipart")
        after = client.post("/verify", {})
    finally:
        VerifyRateThrottle.THROTTLE_RATES = before
    assert page == [400, 400] and api.status_code == 400
    assert after.status_code == 429 and int(after["Retry-After"]) >= 1


def test_a_slow_verification_answers_202_with_a_result_url_to_poll(anon, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_VERIFY_WAIT_S = 0.0
    response = anon.post("/v1/verify", {"file": _upload(_png(8, 8))}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending" and response["Location"] == body["result_url"]
    assert len(body["ticket"]) >= 32, "the ticket is the only key to the result: unguessable"
    assert anon.get(body["result_url"]).status_code == 202
    # What the cpu worker runs when it takes the task off the queue (no worker in this test).
    assert tasks.verify_file(body["ticket"]) == "done"
    done = anon.get(body["result_url"])
    assert done.status_code == 200 and done.json()["media"]["kind"] == "png"
    assert anon.get("/v1/verify/results/" + "x" * 32).status_code == 404


def test_the_queue_of_verifications_is_bounded(anon, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_VERIFY_WAIT_S = 0.0
    settings.TALKGATE_VERIFY_MAX_PENDING = 1
    first = anon.post("/v1/verify", {"file": _upload(_png(8, 8))}, format="multipart")
    second = anon.post("/v1/verify", {"file": _upload(_png(8, 8))}, format="multipart")
    assert first.status_code == 202 and second.status_code == 503 and _error(second) == "verification_busy"
    tasks.verify_file(first.json()["ticket"])  # finishing frees the slot
    third = anon.post("/v1/verify", {"file": _upload(_png(8, 8))}, format="multipart")
    assert third.status_code == 202
    tasks.verify_file(third.json()["ticket"])


def test_the_page_shows_a_pending_check_and_then_its_result(client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_VERIFY_WAIT_S = 0.0
    page = client.post("/verify", {"file": _upload(_png(8, 8), "x.png")})
    assert page.status_code == 202 and b"Still checking" in page.content and b'http-equiv="refresh"' in page.content
    url = page.content.decode().split('href="')[1].split('"')[0]
    tasks.verify_file(url.rsplit("/", 1)[1])
    result = client.get(url)
    assert result.status_code == 200 and b"No sign of Talkgate" in result.content


def test_a_mark_that_names_no_job_is_the_engine_not_the_service(anon, client, inline_tasks, alice) -> None:  # type: ignore[no-untyped-def]
    video = _marked_clip(ENGINE_ID)
    response = anon.post("/v1/verify", {"file": _upload(video)}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["watermark"]["detected"] and body["watermark"]["watermark_id"] == ENGINE_ID
    assert body["origin"] == "talkgate_engine" and body["match"] is None
    assert any("Made with Talkgate's engine, not by this service's API" in line
               for line in body["what_this_means"])  # fmt: skip
    page = client.post("/verify", {"file": _upload(video, "x.mp4")})
    assert page.status_code == 200
    assert b"Made with Talkgate&#x27;s engine, not by this service&#x27;s API" in page.content

    consent = make_consent(alice.partner)
    Job.objects.create(partner=alice.partner, consent=consent, options={}, photo="x", audio="y",
                       audio_duration_s=1.0, watermark_id=ENGINE_ID)  # fmt: skip
    again = anon.post("/v1/verify", {"file": _upload(video)}, format="multipart").json()
    assert again["origin"] == "talkgate_service" and again["match"]["found_by"] == "watermark"


def test_verify_upload_for_the_console_and_cli_applies_the_same_limits(settings) -> None:  # type: ignore[no-untyped-def]
    from core.errors import DomainError

    with pytest.raises(DomainError) as refused:
        services.verify_upload(fileobj=io.BytesIO(_png_declaring(100_000, 100_000)), reviewer=True)
    assert refused.value.code == "image_too_large"


def test_verification_runs_on_the_cpu_queue_and_is_not_redelivered_after_a_crash() -> None:
    from config.celery import app

    route = app.amqp.router.route({}, "verifier.tasks.verify_file", args=(), kwargs={})
    assert route["queue"].name == "cpu"
    # A file that kills its worker must not be handed to the next worker, and the next.
    assert tasks.verify_file.acks_late is False
