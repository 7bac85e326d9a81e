"""Input checks that run before anything is stored: real images and real audio, within limits."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import IO, Any

import av
from django.conf import settings
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import DomainError

ALLOWED_IMAGE_FORMATS = {"JPEG", "PNG", "WEBP"}
MIN_IMAGE_SIDE = 128


class InputError(DomainError):
    """An input file that is not what it claims, or is outside the limits."""

    status = 400


@dataclass(frozen=True)
class CheckedPhoto:
    """A decoded photo, orientation applied, re-encoded as PNG without metadata."""

    png: bytes
    width: int
    height: int
    source_format: str
    sha256: str

    def meta(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "source_format": self.source_format}


@dataclass(frozen=True)
class CheckedAudio:
    """A decodable audio file and what decoding it found."""

    data: bytes
    duration_s: float
    codec: str
    container: str
    sample_rate: int
    channels: int
    sha256: str

    def meta(self) -> dict[str, Any]:
        return {
            "duration_s": round(self.duration_s, 3),
            "codec": self.codec,
            "container": self.container,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
        }


def _read_limited(fileobj: IO[bytes], limit: int, code: str, what: str) -> bytes:
    data = fileobj.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"The {what} is larger than {limit} bytes.", code=code, status=413)
    if not data:
        raise InputError(f"The {what} is empty.", code=f"{what}_invalid")
    return data


def probe_image(fileobj: IO[bytes], *, max_pixels: int) -> tuple[str, int, int]:
    """Format, width and height from an image's header, refusing bombs before a single pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow warns (then errors) on decompression bombs; turn the warning into an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(fileobj) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if fmt not in ALLOWED_IMAGE_FORMATS:
                    raise InputError(
                        f"Images must be JPEG, PNG or WebP, not {fmt or 'unknown'}.", code="image_unsupported"
                    )
                # The header is enough to refuse a bomb before a single pixel is decoded.
                if width * height > max_pixels:
                    raise InputError(
                        f"The image has {width * height} pixels; the limit is {max_pixels}.", code="image_too_large"
                    )
                probe.verify()
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError("The image decompresses to too many pixels.", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError("The file is not a decodable image.", code="image_invalid") from exc
    return fmt, width, height


def check_photo(fileobj: IO[bytes]) -> CheckedPhoto:
    """Decode a photo with Pillow under size and pixel limits; EXIF orientation applied, metadata dropped."""
    data = _read_limited(fileobj, settings.TALKGATE_MAX_PHOTO_BYTES, "image_too_large", "image")
    fmt, _, _ = probe_image(io.BytesIO(data), max_pixels=settings.TALKGATE_MAX_PHOTO_PIXELS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                image = ImageOps.exif_transpose(image)
                image = _to_rgb(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError("The image decompresses to too many pixels.", code="image_too_large") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise InputError("The file is not a decodable image.", code="image_invalid") from exc
    if min(image.size) < MIN_IMAGE_SIDE:
        raise InputError(f"Images must be at least {MIN_IMAGE_SIDE} px on each side.", code="image_too_small")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    png = out.getvalue()
    return CheckedPhoto(
        png=png,
        width=image.width,
        height=image.height,
        source_format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent areas become white rather than black: portraits on transparent backgrounds stay readable.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def check_audio(fileobj: IO[bytes], *, max_seconds: float) -> CheckedAudio:
    """Decode the first audio stream completely (headers can lie) and measure its real duration."""
    data = _read_limited(fileobj, settings.TALKGATE_MAX_AUDIO_BYTES, "audio_too_large", "audio")
    samples = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            streams = container.streams.audio
            if not streams:
                raise InputError("The file has no audio stream.", code="audio_invalid")
            stream = streams[0]
            rate = stream.codec_context.sample_rate or stream.rate or 0
            if not rate:
                raise InputError("The audio has no sample rate.", code="audio_invalid")
            for frame in container.decode(stream):
                samples += frame.samples
                if samples / rate > max_seconds + 1:
                    # Stop decoding early: the answer is already known, and long files cost CPU.
                    raise InputError(
                        f"The audio is longer than the partner's limit of {max_seconds:g} s.", code="audio_too_long"
                    )
            codec = stream.codec_context.name
            channels = stream.codec_context.channels or 0
            container_name = container.format.name
    except InputError:
        raise
    except (av.FFmpegError, ValueError, IndexError, EOFError, UnicodeDecodeError) as exc:
        raise InputError("The file is not decodable audio.", code="audio_invalid") from exc
    duration = samples / rate
    if duration > max_seconds:
        raise InputError(f"The audio is longer than the partner's limit of {max_seconds:g} s.", code="audio_too_long")
    if duration < settings.TALKGATE_MIN_AUDIO_SECONDS:
        raise InputError(
            f"The audio is shorter than {settings.TALKGATE_MIN_AUDIO_SECONDS:g} s.", code="audio_too_short"
        )
    return CheckedAudio(
        data=data,
        duration_s=duration,
        codec=codec,
        container=container_name,
        sample_rate=rate,
        channels=channels,
        sha256=hashlib.sha256(data).hexdigest(),
    )


AUDIO_EXTENSIONS = {"wav": "wav", "mp3": "mp3", "ogg": "ogg", "flac": "flac", "mov,mp4,m4a,3gp,3g2,mj2": "m4a"}


def audio_extension(container_name: str) -> str:
    """A file extension for the stored audio, from the demuxer's name."""
    return AUDIO_EXTENSIONS.get(container_name, container_name.split(",")[0] or "bin")
