"""The README's first command ends in `manage.py demo`; on a fresh data dir it must come up and answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_demo_runs_on_embedded_defaults_and_generates_and_verifies_a_video(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env["TALKGATE_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "demo", "--check", "--port", str(_free_port())],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Talkgate is running on its embedded defaults" in result.stdout
    assert "GET /v1/partner answered 200" in result.stdout
    assert "curl -s -H 'Authorization: Bearer tg" in result.stdout
    assert (tmp_path / "talkgate.sqlite3").exists()
    # The whole product: a video generated from bundled material through the public API, then verified.
    assert ": succeeded 100%" in result.stdout
    video = tmp_path / "demo" / "talkgate-demo.mp4"
    assert video.exists() and video.stat().st_size > 10_000
    assert "verify: C2PA trusted, watermark found, leads to a Talkgate job: True" in result.stdout
    assert "Reviewer console: http://127.0.0.1:" in result.stdout
