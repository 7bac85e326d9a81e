"""Shared fixtures: named personas (Alice's partner, Bob's partner, a reviewer) and service markers."""

from __future__ import annotations

import functools
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import av
import numpy as np
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test.utils import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services
from accounts.models import PARTNER_SCOPES, ApiKey, Partner, PartnerStatus, Role, Scope, UseCase, User
from moderation.models import Consent, Subject, SubjectReference

REQUIRE_SERVICES = os.environ.get("TALKGATE_REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    # CI sets TALKGATE_REQUIRE_SERVICES=1: there a missing service is a failure, never a silent skip.
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (TALKGATE_REQUIRE_SERVICES=1) but not configured")
    pytest.skip(f"needs {what}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and not settings.IS_POSTGRES:
        _missing("PostgreSQL (DATABASE_URL=postgres://...)")
    if item.get_closest_marker("redis") and not settings.REDIS_URL:
        _missing("Redis (REDIS_URL=redis://...)")


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hasher() -> Iterator[None]:
    """MD5 instead of PBKDF2: tests check sign-in logic, not the hasher's cost (hundreds of ms per password)."""
    # override_settings sends setting_changed, which clears Django's cached hasher list.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Throttle counters live in the cache; every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@dataclass
class PartnerActor:
    """A partner with one key and a client that sends it."""

    partner: Partner
    key: ApiKey
    token: str
    client: APIClient


def bearer_client(token: str | None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def make_partner(name: str, *, status: str = PartnerStatus.APPROVED, rate: int = 1000) -> Partner:
    return Partner.objects.create(
        name=name,
        contact_name=f"{name} contact",
        contact_email=f"contact@{name.lower().replace(' ', '-')}.example",
        use_case=UseCase.EDUCATION,
        use_case_description="Narrated lessons with a consenting teacher's portrait.",
        approved_use_cases=[UseCase.EDUCATION] if status == PartnerStatus.APPROVED else [],
        status=status,
        rate_limit_per_minute=rate,
    )


def make_actor(name: str, *, scopes: list[str] | None = None, **partner_kwargs: object) -> PartnerActor:
    partner = make_partner(name, **partner_kwargs)  # type: ignore[arg-type]
    key, token = services.api_key_create(partner=partner, name="test", scopes=scopes or list(PARTNER_SCOPES))
    return PartnerActor(partner=partner, key=key, token=token, client=bearer_client(token))


@pytest.fixture
def alice(db: None) -> PartnerActor:
    """Alice's partner: approved, one key with every partner scope."""
    return make_actor("Alice Learning")


@pytest.fixture
def bob(db: None) -> PartnerActor:
    """Bob's partner: approved, one key with every partner scope."""
    return make_actor("Bob Studios")


@dataclass
class ReviewerActor:
    user: User
    token: str
    client: APIClient


@pytest.fixture
def reviewer(db: None) -> ReviewerActor:
    """A reviewer with a reviewer API key."""
    user = services.reviewer_create(username="rita", email="rita@talkgate.example", password=None, role=Role.REVIEWER)
    _, token = services.api_key_create(user=user, name="test", scopes=[Scope.REVIEW])
    return ReviewerActor(user=user, token=token, client=bearer_client(token))


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


# --- Consents and media ----------------------------------------------------------------------------------------

FIXTURES = Path(__file__).parent / "fixtures"
ENGINE_FIXTURES = FIXTURES / "engine"


@functools.cache
def reference_embedding(name: str = "grace_hopper.jpg") -> list[float]:
    """The face embedding of a fixture photo, computed once per test session."""
    from core.inputs import check_photo
    from moderation import faces

    # The astronaut portrait has a second, tiny "face" on a patch: take the largest.
    face_index = 0 if name == "astronaut.jpg" else None
    return faces.single_embedding(check_photo(io.BytesIO(photo_bytes(name))).png, face_index=face_index)


def make_consent(
    partner: Partner,
    *,
    status: str = "verified",
    max_generations: int = 10,
    use_case: str = UseCase.EDUCATION,
    valid_for: timedelta = timedelta(days=30),
    reference: str = "grace_hopper.jpg",
    kind: str = "person",
) -> Consent:
    """A subject (with the fixture photo as its reference) and a consent in the given state, made directly."""
    subject = Subject.objects.create(partner=partner, display_name=f"Subject of {partner.name}", kind=kind)
    SubjectReference.objects.create(subject=subject, photo="", embedding=reference_embedding(reference))
    now = timezone.now()
    return Consent.objects.create(
        partner=partner,
        subject=subject,
        use_case=use_case,
        valid_from=now - timedelta(minutes=1),
        valid_until=now + valid_for,
        max_generations=max_generations,
        status=status,
        verified_at=now if status == "verified" else None,
    )


def photo_bytes(name: str = "grace_hopper.jpg") -> bytes:
    """A real portrait (see tests/fixtures/engine/LICENSES.md)."""
    return (ENGINE_FIXTURES / name).read_bytes()


def speech_bytes(name: str = "espeak_peter.wav") -> bytes:
    """Real speech (see tests/fixtures/engine/LICENSES.md)."""
    return (ENGINE_FIXTURES / name).read_bytes()


def encode_audio(seconds: float, *, fmt: str = "wav", codec: str = "pcm_s16le", rate: int = 16000) -> bytes:
    """Real speech cut or looped to ``seconds``, encoded with PyAV into the given container and codec."""
    source = av.open(io.BytesIO(speech_bytes()))
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    pcm = np.concatenate(
        [f.to_ndarray().reshape(-1) for frame in source.decode(audio=0) for f in resampler.resample(frame)]
    )
    need = int(seconds * rate)
    pcm = np.tile(pcm, need // len(pcm) + 1)[:need].astype(np.int16)
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        fmt_name = (
            stream.codec_context.codec.audio_formats[0].name if stream.codec_context.codec.audio_formats else "s16"
        )
        frame_size = stream.codec_context.frame_size or 1024
        resample_out = av.AudioResampler(format=fmt_name, layout="mono", rate=rate)
        for start in range(0, len(pcm), frame_size):
            chunk = pcm[start : start + frame_size].reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate = rate
            for converted in resample_out.resample(frame):
                container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    return out.getvalue()


def tiny_mp4(seconds: float = 1.0, size: int = 64, fps: int = 25) -> bytes:
    """A small real H.264 + AAC MP4 (moving gradient, real speech), made with PyAV."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width = video.height = size
        video.pix_fmt = "yuv420p"
        audio = container.add_stream("aac", rate=16000, layout="mono")
        ramp = np.linspace(0, 255, size, dtype=np.float32)
        for i in range(int(seconds * fps)):
            frame = np.stack([np.tile((ramp + i * 5) % 256, (size, 1))] * 3, axis=-1).astype(np.uint8)
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(video.encode(None))
        source = av.open(io.BytesIO(encode_audio(seconds, fmt="wav", rate=16000)))
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000)
        for frame in source.decode(audio=0):
            for converted in resampler.resample(frame):
                container.mux(audio.encode(converted))
        container.mux(audio.encode(None))
    return out.getvalue()
