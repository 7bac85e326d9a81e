"""Webhook tests post real jobs, so they share the generation tests' per-test storage folder."""

from tests.generation.conftest import media_root  # noqa: F401 - an autouse fixture, shared
