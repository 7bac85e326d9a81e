"""Real test material for the verification library: fixture photos, espeak-ng speech and videos built from them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

FACES = Path(__file__).resolve().parents[2] / "fixtures" / "faces"
ENGINE = Path(__file__).resolve().parents[2] / "fixtures" / "engine"

STATEMENT = "I agree that my photo may be animated by this service. My challenge words are"
CHALLENGE = "tiger orange piano"
OTHER_CHALLENGE = "lemon rocket garden"


def load_rgb(path: Path) -> np.ndarray:
    """An image file as RGB uint8."""
    from moderation.verification import load_image

    return load_image(str(path))


def square_portrait(image: np.ndarray, size: int = 256) -> np.ndarray:
    """The upper-centre square of a portrait, resized, as the engine frames it (face in the middle)."""
    import cv2

    h, w = image.shape[:2]
    s = min(h, w)
    x0 = (w - s) // 2
    y0 = max(0, min(h - s, (h - s) // 4))
    return cv2.resize(image[y0 : y0 + s, x0 : x0 + s], (size, size), interpolation=cv2.INTER_AREA)


def write_video(
    frames: list[np.ndarray], audio: np.ndarray, out: Path, fps: int = 25, bit_rate: int | None = None
) -> Path:
    """An MP4 (H.264 + AAC) of RGB ``frames`` at ``fps`` with 16 kHz mono ``audio`` (x264's CRF 23 or a bit rate)."""
    import av

    with av.open(str(out), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        if bit_rate:
            vs.bit_rate = bit_rate
        vs.width, vs.height, vs.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        astr = c.add_stream("aac", rate=16000)
        astr.layout = "mono"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = i
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
        # The AAC encoder takes planar float frames only.
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=16000)
        for start in range(0, len(pcm), 1024):
            af = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
            af.sample_rate = 16000
            af.pts = start
            for rf in resampler.resample(af):
                for p in astr.encode(rf):
                    c.mux(p)
        for p in astr.encode(None):
            c.mux(p)
    return out


def write_still_video(image: np.ndarray, audio_path: Path, out: Path, fps: int = 25) -> Path:
    """An MP4 of one unchanging image for the audio's length, with that audio."""
    from moderation.verification import decode_audio

    audio = decode_audio(str(audio_path))
    n_frames = int(np.ceil(len(audio) / 16000 * fps))
    return write_video([image] * n_frames, audio, out, fps)


def redub(video: Path, audio_path: Path, out: Path) -> Path:
    """``video``'s frames with another recording's audio in place of its own (cut or padded to fit)."""
    import av

    from moderation.verification import decode_audio

    with av.open(str(video)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    audio = decode_audio(str(audio_path))
    n = int(len(frames) / 25 * 16000)
    audio = np.pad(audio[:n], (0, max(0, n - len(audio))))
    return write_video(frames, audio, out)


def render_talking(photo: Path, audio: Path, out: Path, size: int = 256, watermark_id: str | None = None) -> Path:
    """A talking-head video of ``photo`` speaking ``audio`` made by the engine: a deepfake, watermarked as such."""
    from gpu_worker.engine import RenderOptions, render_to_file

    render_to_file(str(photo), str(audio), str(out), RenderOptions(size=size), watermark_id=watermark_id)
    return out


def camera_stand_in(photo: Path, audio: Path, out: Path) -> Path:
    """A stand-in for a camera recording of the person in ``photo`` speaking ``audio``.

    No real footage of a person speaking known words ships in a package with a known licence, so the checks
    that a genuine recording must pass are exercised on the engine's unmarked frames, reached through its
    private ``_prepare`` (every public path marks its output, and such a file is rejected as generated).
    """
    from gpu_worker.engine import RenderOptions, get_engine
    from moderation.verification import decode_audio

    _, batches = get_engine("cpu")._prepare(str(photo), str(audio), RenderOptions(size=256))
    frames = [frame for batch in batches for frame in batch.frames]
    return write_video(frames, decode_audio(str(audio)), out)


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Consent recordings built from the fixtures once per session (256 px, about 7 s each)."""
    d = tmp_path_factory.mktemp("consent_videos")
    right = FACES / "consent_tiger_orange_piano.wav"
    wrong = FACES / "consent_lemon_rocket_garden.wav"
    return {
        "obama_right": camera_stand_in(FACES / "obama.jpg", right, d / "obama_right.mp4"),
        "obama_wrong_challenge": camera_stand_in(FACES / "obama.jpg", wrong, d / "obama_wrong.mp4"),
        "obama_still": write_still_video(square_portrait(load_rgb(FACES / "obama.jpg")), right, d / "obama_still.mp4"),
        "biden_right": camera_stand_in(FACES / "biden.jpg", right, d / "biden_right.mp4"),
    }


@pytest.fixture(scope="session")
def face_model():  # type: ignore[no-untyped-def]
    """The process-wide face model."""
    from moderation.verification import get_face_model

    return get_face_model()


@pytest.fixture(scope="session")
def obama_refs(face_model) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """Reference embeddings of the subject: the second photo, not the one the recordings are made from."""
    return [face_model.single_face_embedding(load_rgb(FACES / "obama2.jpg"))]
