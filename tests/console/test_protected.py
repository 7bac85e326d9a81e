"""Protected persons in the console: enrol with photos, list with thumbnails, remove."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import AuditEntry, User
from moderation.models import ProtectedPerson, ProtectedPersonPhoto
from tests.conftest import photo_bytes

pytestmark = pytest.mark.django_db


def _enrolled(name: str, rita: User) -> tuple[ProtectedPerson, ProtectedPersonPhoto]:
    person = ProtectedPerson.objects.create(name=name, notes="Public figure", created_by=rita)
    stored = default_storage.save(f"protected/{person.id}/photo-0.png", ContentFile(photo_bytes()))
    return person, ProtectedPersonPhoto.objects.create(person=person, photo=stored, embedding=[0.0] * 128)


def test_gallery_lists_people_with_thumbnails_streamed_to_reviewers_only(
    rita: User, rita_client: Client, media_root: Path, mallory: User
) -> None:
    _, photo = _enrolled("Famous Singer", rita)
    body = rita_client.get("/console/protected").content.decode()
    assert "Famous Singer" in body and f'src="/console/protected/photos/{photo.id}"' in body
    assert rita_client.get(f"/console/protected/photos/{photo.id}").status_code == 200
    member = Client()
    member.force_login(mallory)
    assert member.get(f"/console/protected/photos/{photo.id}").status_code == 403


def test_removing_a_person_takes_them_off_the_list_and_is_audited(
    rita: User, rita_client: Client, media_root: Path
) -> None:
    person, _ = _enrolled("Famous Singer", rita)
    assert rita_client.post(f"/console/protected/{person.id}/remove").status_code == 302
    person.refresh_from_db()
    assert not person.active
    assert list(rita_client.get("/console/protected").context["people"]) == []
    assert AuditEntry.objects.filter(event_type="protected_person.removed", actor=f"user:{rita.pk}").exists()


def test_enrolling_without_a_usable_photo_is_a_form_error(rita_client: Client, media_root: Path) -> None:
    not_a_photo = SimpleUploadedFile("face.jpg", b"not an image", content_type="image/jpeg")
    response = rita_client.post("/console/protected", {"name": "Someone", "photos": [not_a_photo]})
    assert response.status_code == 400
    assert not ProtectedPerson.objects.exists()


@pytest.mark.slow
def test_enrolling_a_person_with_a_real_photo_protects_them(rita_client: Client, media_root: Path) -> None:
    photo = SimpleUploadedFile("hopper.jpg", photo_bytes(), content_type="image/jpeg")
    response = rita_client.post("/console/protected", {"name": "Grace Hopper", "notes": "Test", "photos": [photo]})
    assert response.status_code == 302
    person = ProtectedPerson.objects.get(name="Grace Hopper")
    assert person.photos.count() == 1 and len(person.photos.get().embedding) > 0
