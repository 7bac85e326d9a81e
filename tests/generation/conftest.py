"""Generation test helpers: a per-test storage folder and job creation through the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import PartnerActor, make_consent, photo_bytes, speech_bytes


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings) -> Path:  # type: ignore[no-untyped-def]
    """A per-test storage folder (FileSystemStorage follows MEDIA_ROOT changes)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def post_job(actor: PartnerActor, *, consent_id: object = None, headers: dict[str, str] | None = None,
             audio: bytes | None = None, **options: Any):  # type: ignore[no-untyped-def]  # fmt: skip
    """POST /v1/generations as multipart with the real fixture photo and speech."""
    consent_id = consent_id or make_consent(actor.partner).id
    return actor.client.post(
        "/v1/generations",
        {
            "consent_id": str(consent_id),
            "photo": SimpleUploadedFile("photo.jpg", photo_bytes()),
            "audio": SimpleUploadedFile("speech.wav", audio or speech_bytes()),
            **options,
        },
        format="multipart",
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()},
    )
