"""Every way a photo, audio file or option can be refused gives a specific error code."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from gpu_worker.engine import EngineError, RenderOptions
from gpu_worker.engine.face import check_frontal, load_photo


def _save(path: Path, rgb: np.ndarray) -> str:
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return str(path)


def test_photo_without_a_face_is_refused_with_no_face(engine, fixtures, short_speech, tmp_path):
    with pytest.raises(EngineError) as err:
        engine.render_to_file(
            str(fixtures / "coffee.jpg"), str(short_speech), str(tmp_path / "o.mp4"), RenderOptions(size=256)
        )
    assert err.value.code == "no_face"
    assert not (tmp_path / "o.mp4").exists()


def test_photo_with_two_faces_is_refused_unless_a_face_is_chosen(engine, fixtures, tmp_path):
    a = load_photo(str(fixtures / "astronaut.jpg"))
    g = cv2.resize(load_photo(str(fixtures / "grace_hopper.jpg")), (437, 512))
    both = np.hstack([a, g])
    with pytest.raises(EngineError) as err:
        engine.faces.detect(both)
    assert err.value.code == "multiple_faces"
    right = engine.faces.detect(both, face_index=1)
    assert right.box[0] > a.shape[1]  # the second face from the left is Grace Hopper's
    with pytest.raises(EngineError) as err:
        engine.faces.detect(both, face_index=2)
    assert err.value.code == "face_index_invalid"


def test_face_smaller_than_40_px_is_refused_with_face_too_small(engine, fixtures, short_speech, tmp_path):
    # The astronaut's face box is about 105 px in the 512 px photo: at 160 px it is about 29 px.
    small = cv2.resize(load_photo(str(fixtures / "astronaut.jpg")), (160, 160), interpolation=cv2.INTER_AREA)
    photo = _save(tmp_path / "small.png", small)
    with pytest.raises(EngineError) as err:
        engine.render_to_file(photo, str(short_speech), str(tmp_path / "o.mp4"), RenderOptions(size=256))
    assert err.value.code == "face_too_small"


def test_face_turned_to_profile_is_refused_with_face_profile(engine, fixtures):
    face = engine.faces.detect(load_photo(str(fixtures / "grace_hopper.jpg")))
    check_frontal(face.landmarks)  # the real photo is frontal enough
    turned = face.landmarks.copy()
    # Move the nose tip most of the way to one eye corner, as in a three-quarter-to-profile view.
    turned[1, :2] = turned[33, :2] + 0.1 * (turned[263, :2] - turned[33, :2])
    with pytest.raises(EngineError) as err:
        check_frontal(turned)
    assert err.value.code == "face_profile"


def test_file_that_is_not_an_image_is_refused_with_image_invalid(engine, short_speech, tmp_path):
    bogus = tmp_path / "photo.jpg"
    bogus.write_bytes(b"this is not a jpeg")
    with pytest.raises(EngineError) as err:
        engine.render_to_file(str(bogus), str(short_speech), str(tmp_path / "o.mp4"), RenderOptions(size=256))
    assert err.value.code == "image_invalid"


@pytest.mark.parametrize("content", [b"", b"ID3\x03\x00\x00\x00garbage that is no mp3" * 20])
def test_undecodable_audio_is_refused_with_audio_invalid(engine, fixtures, tmp_path, content):
    bogus = tmp_path / "speech.mp3"
    bogus.write_bytes(content)
    with pytest.raises(EngineError) as err:
        engine.render_to_file(
            str(fixtures / "astronaut.jpg"), str(bogus), str(tmp_path / "o.mp4"), RenderOptions(size=256)
        )
    assert err.value.code == "audio_invalid"


@pytest.mark.parametrize(
    "bad",
    [{"size": 128}, {"size": 2048}, {"gaze": "down"}, {"emotion": "bored"}, {"motion": -1.0}, {"fps": 0}],
)
def test_out_of_range_options_are_refused_with_options_invalid(bad):
    with pytest.raises(EngineError) as err:
        RenderOptions(**bad).validate()
    assert err.value.code == "options_invalid"


def test_unwritable_output_path_is_refused_with_output_invalid(engine, fixtures, short_speech, tmp_path):
    with pytest.raises(EngineError) as err:
        engine.render_to_file(
            str(fixtures / "astronaut.jpg"),
            str(short_speech),
            str(tmp_path / "no" / "such" / "dir" / "o.mp4"),
            RenderOptions(size=256),
        )
    assert err.value.code == "output_invalid"


def test_frame_hook_returning_another_shape_is_refused(engine, fixtures, short_speech, tmp_path):
    with pytest.raises(EngineError) as err:
        engine.render_to_file(
            str(fixtures / "astronaut.jpg"),
            str(short_speech),
            str(tmp_path / "o.mp4"),
            RenderOptions(size=256),
            frame_hook=lambda frames, first: frames[:, ::2],
        )
    assert err.value.code == "frame_hook_invalid"
    assert not (tmp_path / "o.mp4").exists()
