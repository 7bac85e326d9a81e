"""C2PA credentials from settings: loaded once per process; a development chain is made when none exists."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from provenance.keys import Credentials, bootstrap_dev_chain, load_credentials

logger = logging.getLogger(__name__)


def ensure_dev_chain() -> None:
    """In development, make the signing chain on first use so the embedded defaults just work."""
    if settings.TALKGATE_C2PA_CHAIN_FILE.exists() or settings.TALKGATE_C2PA_SIGNER_CALLBACK:
        return
    if settings.IS_PRODUCTION:
        raise ImproperlyConfigured(
            f"No C2PA chain at {settings.TALKGATE_C2PA_CHAIN_FILE}; production needs its own signing credentials."
        )
    logger.warning("no C2PA signing chain found; making a development chain in %s", settings.TALKGATE_C2PA_DIR)
    bootstrap_dev_chain(settings.TALKGATE_C2PA_DIR)


@functools.cache
def credentials() -> Credentials:
    """The signing chain and function (from files or the KMS callback)."""
    ensure_dev_chain()
    key_file = settings.TALKGATE_C2PA_KEY_FILE if not settings.TALKGATE_C2PA_SIGNER_CALLBACK else None
    return load_credentials(
        chain_file=settings.TALKGATE_C2PA_CHAIN_FILE,
        key_file=key_file,
        callback=settings.TALKGATE_C2PA_SIGNER_CALLBACK,
        tsa_url=settings.TALKGATE_C2PA_TSA_URL,
    )


def trust_anchors_pem() -> str:
    """Every root we trust for reading, the current one and those of earlier chains."""
    ensure_dev_chain()
    pems = [Path(p).read_text(encoding="ascii") for p in settings.TALKGATE_C2PA_TRUST_ANCHORS if Path(p).exists()]
    return "".join(pems)
