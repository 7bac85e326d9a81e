"""Subjects: the people (or artworks) whose likeness a partner wants to animate, with reference embeddings."""

from __future__ import annotations

import uuid
from typing import IO

from django.conf import settings
from django.db import transaction

from accounts import audit
from accounts.models import Partner
from core import inputs, storage
from core.errors import DomainError
from moderation import faces
from moderation.models import (
    Subject,
    SubjectReference,
)


def embed_photos(photos: list[IO[bytes]], owner: str) -> list[tuple[bytes, list[float]]]:
    """Check each photo, then embed its one face; the error names which photo failed."""
    if not photos:
        raise DomainError("Give at least one reference photo.", code="photos_required")
    if len(photos) > settings.TALKGATE_MAX_REFERENCE_PHOTOS:
        raise DomainError(f"At most {settings.TALKGATE_MAX_REFERENCE_PHOTOS} photos.", code="too_many_photos")
    embedded = []
    for index, fileobj in enumerate(photos):
        try:
            checked = inputs.check_photo(fileobj)
            embedding = faces.single_embedding(checked.png, what=f"{owner} photo {index + 1}")
        except DomainError as exc:
            exc.details = {"photo_index": index}
            raise
        embedded.append((checked.png, embedding))
    return embedded


def subject_create(*, partner: Partner, display_name: str, kind: str, photos: list[IO[bytes]]) -> Subject:
    """Register a person or artwork with reference photos (exactly one face each) and their embeddings."""
    embedded = embed_photos(photos, "reference")
    subject_id = uuid.uuid4()
    names = [
        storage.save_bytes(storage.input_name(partner.id, f"subject-{subject_id}", f"ref-{i}.png"), png)
        for i, (png, _) in enumerate(embedded)
    ]
    try:
        with transaction.atomic():
            subject = Subject.objects.create(id=subject_id, partner=partner, display_name=display_name, kind=kind)
            SubjectReference.objects.bulk_create(
                SubjectReference(subject=subject, photo=name, embedding=emb)
                for name, (_, emb) in zip(names, embedded, strict=True)
            )
            audit.record("subject.created", target=subject, partner_id=partner.id,
                         payload={"kind": kind, "references": len(names)})  # fmt: skip
    except Exception:
        for name in names:
            storage.delete(name)
        raise
    return subject
