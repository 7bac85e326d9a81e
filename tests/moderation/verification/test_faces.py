"""Face embeddings on real photos: matching, and the coded errors for unusable reference photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from moderation.verification import DEFAULT_MATCH_DISTANCE, FaceError

from .conftest import ENGINE, FACES, load_rgb


def side_by_side(a: np.ndarray, b: np.ndarray, height: int = 600) -> np.ndarray:
    """Two photos scaled to one height and put next to each other (a group photo of two people)."""
    scaled = [cv2.resize(x, (round(x.shape[1] * height / x.shape[0]), height)) for x in (a, b)]
    return np.ascontiguousarray(np.concatenate(scaled, axis=1))


def test_two_photos_of_one_person_match_and_photos_of_two_people_do_not(face_model):
    obama = face_model.single_face_embedding(load_rgb(FACES / "obama.jpg"))
    obama2 = face_model.single_face_embedding(load_rgb(FACES / "obama2.jpg"))
    biden = face_model.single_face_embedding(load_rgb(FACES / "biden.jpg"))
    hopper = face_model.single_face_embedding(load_rgb(ENGINE / "grace_hopper.jpg"))

    assert obama.shape == (128,) and obama.dtype == np.float32
    assert face_model.distance(obama, obama2) < DEFAULT_MATCH_DISTANCE
    for other in (biden, hopper):
        assert face_model.distance(obama, other) > DEFAULT_MATCH_DISTANCE
        assert face_model.distance(obama2, other) > DEFAULT_MATCH_DISTANCE


def test_faces_returns_boxes_sizes_and_embeddings_for_each_face(face_model):
    group = side_by_side(load_rgb(FACES / "obama.jpg"), load_rgb(FACES / "biden.jpg"))
    faces = face_model.faces(group)

    assert len(faces) == 2
    for f in faces:
        x0, y0, x1, y1 = f.box
        assert 0 <= x0 < x1 <= group.shape[1] and 0 <= y0 < y1 <= group.shape[0]
        assert f.size_px == x1 - x0 and f.embedding.shape == (128,)


def test_a_photo_without_a_face_gives_no_face(face_model):
    with pytest.raises(FaceError) as err:
        face_model.single_face_embedding(load_rgb(ENGINE / "coffee.jpg"))
    assert err.value.code == "no_face"


def test_a_photo_of_two_people_gives_multiple_faces_unless_a_face_index_is_given(face_model):
    group = side_by_side(load_rgb(FACES / "obama.jpg"), load_rgb(FACES / "biden.jpg"))
    with pytest.raises(FaceError) as err:
        face_model.single_face_embedding(group)
    assert err.value.code == "multiple_faces"

    obama2 = face_model.single_face_embedding(load_rgb(FACES / "obama2.jpg"))
    picked = [face_model.single_face_embedding(group, face_index=i) for i in range(2)]
    distances = sorted(face_model.distance(obama2, p) for p in picked)
    # One of the two faces is the person of obama2.jpg, the other is not.
    assert distances[0] < DEFAULT_MATCH_DISTANCE < distances[1]


def test_a_tiny_face_gives_face_too_small(face_model):
    image = load_rgb(FACES / "obama2.jpg")
    tiny = cv2.resize(image, None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA)
    assert face_model.detect(tiny), "the face must still be found, only too small to use"
    with pytest.raises(FaceError) as err:
        face_model.single_face_embedding(tiny)
    assert err.value.code == "face_too_small"


@pytest.mark.parametrize(
    "image",
    [np.zeros((10, 10, 3), np.uint8), np.zeros((100, 100), np.uint8), np.zeros((100, 100, 3), np.float32), "x.jpg"],
)
def test_something_that_is_not_an_rgb_image_gives_image_invalid(face_model, image):
    with pytest.raises(FaceError) as err:
        face_model.single_face_embedding(image)
    assert err.value.code == "image_invalid"


def test_get_face_model_is_loaded_once_per_process(face_model):
    from moderation.verification import get_face_model

    assert get_face_model() is face_model


def test_a_protected_person_in_the_gallery_is_found_and_others_are_not(face_model):
    from moderation.verification import match_gallery

    gallery = {
        "person-a": [face_model.single_face_embedding(load_rgb(FACES / "obama2.jpg"))],
        "person-b": [face_model.single_face_embedding(load_rgb(FACES / "biden.jpg"))],
    }
    job_face = face_model.single_face_embedding(load_rgb(FACES / "obama.jpg"))
    hits = match_gallery(job_face, gallery)
    assert [name for name, _ in hits] == ["person-a"]
    hopper = face_model.single_face_embedding(load_rgb(ENGINE / "grace_hopper.jpg"))
    assert match_gallery(hopper, gallery) == []
