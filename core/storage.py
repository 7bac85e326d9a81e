"""Where job files live: Django's default storage, under per-partner prefixes."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def input_name(partner_id: object, owner_id: object, filename: str) -> str:
    return f"partners/{partner_id}/inputs/{owner_id}/{filename}"


def output_name(partner_id: object, job_id: object) -> str:
    return f"partners/{partner_id}/outputs/{job_id}.mp4"


def save_bytes(name: str, data: bytes) -> str:
    """Store bytes under exactly this name, replacing what was there (a re-run must not leave a second copy)."""
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, ContentFile(data))


def save_file(name: str, path: Path) -> str:
    """Store a local file under exactly this name, replacing what was there."""
    if default_storage.exists(name):
        default_storage.delete(name)
    with path.open("rb") as handle:
        return default_storage.save(name, handle)


def delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


@contextmanager
def local_copy(name: str, suffix: str = "") -> Iterator[Path]:
    """A local path for a stored file (a temporary copy, so S3-like backends work the same)."""
    with tempfile.TemporaryDirectory(prefix="talkgate-") as tmp:
        target = Path(tmp) / f"input{suffix or Path(name).suffix}"
        with default_storage.open(name, "rb") as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, length=1024 * 1024)
        yield target
