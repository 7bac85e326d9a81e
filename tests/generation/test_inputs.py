"""Input checks: real images and real audio within limits, coded errors, nothing stored on failure."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from generation.models import Job, Upload
from tests.conftest import PartnerActor, encode_audio, make_consent, photo_bytes, speech_bytes

pytestmark = pytest.mark.django_db


def _image(fmt: str, size: tuple[int, int] = (300, 400), mode: str = "RGB", **save: object) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color=128 if mode in ("L", "1") else (120, 90, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def _post(actor: PartnerActor, photo: bytes, audio: bytes, **extra: object):  # type: ignore[no-untyped-def]
    consent = make_consent(actor.partner)
    return actor.client.post(
        "/v1/generations",
        {
            "consent_id": str(consent.id),
            "photo": SimpleUploadedFile("photo.bin", photo),
            "audio": SimpleUploadedFile("audio.bin", audio),
            **extra,
        },
        format="multipart",
    )


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _assert_refused(response, code: str, status: int = 400) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert Job.objects.count() == 0


def test_text_pretending_to_be_an_image_is_image_invalid(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, b"hello, I am not a JPEG", speech_bytes()), "image_invalid")
    assert _stored_files() == []


def test_truncated_jpeg_is_image_invalid(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, photo_bytes()[:2000], speech_bytes()), "image_invalid")


def test_gif_is_image_unsupported(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, _image("GIF", mode="L"), speech_bytes()), "image_unsupported")


def test_tiny_image_is_image_too_small(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, _image("PNG", (64, 64)), speech_bytes()), "image_too_small")


def test_decompression_bomb_is_refused_from_its_header(alice: PartnerActor, media_root: Path) -> None:
    bomb = _image("PNG", (12_000, 12_000), mode="1")  # 144 Mpx that compress to a few kB
    assert len(bomb) < 100_000
    _assert_refused(_post(alice, bomb, speech_bytes()), "image_too_large")


def test_image_over_the_byte_limit_is_413(alice: PartnerActor, media_root: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TALKGATE_MAX_PHOTO_BYTES = 10_000
    _assert_refused(_post(alice, photo_bytes(), speech_bytes()), "image_too_large", status=413)


def test_exif_orientation_is_applied_and_metadata_dropped(alice: PartnerActor, media_root: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    exif[0x010F] = "SecretCam"
    rotated = _image("JPEG", (300, 400), exif=exif.tobytes())
    upload = alice.client.post(
        "/v1/uploads", {"kind": "photo", "file": SimpleUploadedFile("p.jpg", rotated)}, format="multipart"
    )
    assert upload.status_code == 201, upload.content
    assert upload.json()["metadata"]["width"] == 400 and upload.json()["metadata"]["height"] == 300
    stored = Upload.objects.get(id=upload.json()["id"])
    with Image.open(Path(settings.MEDIA_ROOT) / stored.file) as image:
        assert image.format == "PNG" and image.size == (400, 300)
        assert b"SecretCam" not in (Path(settings.MEDIA_ROOT) / stored.file).read_bytes()
    assert stored.file.startswith(f"partners/{alice.partner.id}/inputs/")


def test_random_bytes_are_audio_invalid(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, photo_bytes(), bytes(range(256)) * 40), "audio_invalid")
    assert _stored_files() == []


def test_an_image_sent_as_audio_is_audio_invalid(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, photo_bytes(), photo_bytes()), "audio_invalid")


def test_audio_longer_than_the_partners_limit_is_audio_too_long(alice: PartnerActor, media_root: Path) -> None:
    alice.partner.max_audio_seconds = 2
    alice.partner.save()
    _assert_refused(_post(alice, photo_bytes(), encode_audio(3.0)), "audio_too_long")
    assert _stored_files() == []


def test_audio_shorter_than_half_a_second_is_audio_too_short(alice: PartnerActor, media_root: Path) -> None:
    _assert_refused(_post(alice, photo_bytes(), encode_audio(0.2)), "audio_too_short")


@pytest.mark.parametrize(
    ("fmt", "codec", "rate"),
    [("wav", "pcm_s16le", 16000), ("mp3", "libmp3lame", 44100), ("ogg", "libopus", 48000),
     ("flac", "flac", 16000), ("ipod", "aac", 44100)],
)  # fmt: skip
def test_common_audio_formats_are_accepted_with_their_real_duration(
    alice: PartnerActor, media_root: Path, fmt: str, codec: str, rate: int
) -> None:
    data = encode_audio(2.0, fmt=fmt, codec=codec, rate=rate)
    response = alice.client.post(
        "/v1/uploads", {"kind": "audio", "file": SimpleUploadedFile("a", data)}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["metadata"]["duration_s"] == pytest.approx(2.0, abs=0.1)
