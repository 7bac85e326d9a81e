"""Protected persons (never animated) and the audio policy's blocked phrases, kept by reviewers."""

from __future__ import annotations

import uuid
from typing import IO

from django.db import transaction
from django.utils import timezone

from accounts import audit
from accounts.models import User
from core import storage
from core.errors import DomainError
from moderation.models import (
    BlockedPhrase,
    ProtectedPerson,
    ProtectedPersonPhoto,
)
from moderation.services.subjects import embed_photos


def protected_person_create(*, name: str, notes: str, photos: list[IO[bytes]], reviewer: User) -> ProtectedPerson:
    """Enrol someone in the protected gallery with photos of their face."""
    embedded = embed_photos(photos, "protected person")
    person_id = uuid.uuid4()
    names = [storage.save_bytes(f"protected/{person_id}/photo-{i}.png", png) for i, (png, _) in enumerate(embedded)]
    with transaction.atomic():
        person = ProtectedPerson.objects.create(id=person_id, name=name, notes=notes, created_by=reviewer)
        ProtectedPersonPhoto.objects.bulk_create(
            ProtectedPersonPhoto(person=person, photo=n, embedding=emb)
            for n, (_, emb) in zip(names, embedded, strict=True)
        )
        audit.record("protected_person.enrolled", target=person, actor=f"user:{reviewer.pk}",
                     payload={"name": name, "photos": len(names)})  # fmt: skip
    return person


def protected_person_remove(*, person: ProtectedPerson, reviewer: User) -> ProtectedPerson:
    with transaction.atomic():
        ProtectedPerson.objects.filter(id=person.id, active=True).update(active=False, removed_at=timezone.now())
        audit.record("protected_person.removed", target=person, actor=f"user:{reviewer.pk}",
                     payload={"name": person.name})  # fmt: skip
    person.refresh_from_db()
    return person


def blocked_phrase_add(*, phrase: str, reviewer: User) -> BlockedPhrase:
    cleaned = " ".join(phrase.lower().split())
    if not cleaned:
        raise DomainError("The phrase is empty.", code="phrase_invalid")
    with transaction.atomic():
        item, created = BlockedPhrase.objects.get_or_create(phrase=cleaned, defaults={"created_by": reviewer})
        if not created and not item.active:
            BlockedPhrase.objects.filter(id=item.id).update(active=True)
        audit.record("policy.phrase_added", target=item, actor=f"user:{reviewer.pk}", payload={"phrase": cleaned})
    item.refresh_from_db()
    return item


def blocked_phrase_remove(*, item: BlockedPhrase, reviewer: User) -> None:
    with transaction.atomic():
        BlockedPhrase.objects.filter(id=item.id).update(active=False)
        audit.record("policy.phrase_removed", target=item, actor=f"user:{reviewer.pk}", payload={"phrase": item.phrase})
