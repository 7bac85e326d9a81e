"""Signals moderation sends to the apps above it, which it must not import (see docs/architecture.md)."""

from django.dispatch import Signal

# Sent inside the revoking transaction with ``consent`` and ``actor``; a receiver that raises rolls it back.
consent_revoked = Signal()
