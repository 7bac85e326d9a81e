"""C2PA: development chain, signing round trip, tampering, rotation; the public verification endpoints."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.models import AuditEntry
from provenance import credentials, keys, signing
from tests.conftest import tiny_mp4

pytestmark = pytest.mark.django_db


def _manifest(watermark_id: str = "feedc0de") -> dict:
    return signing.manifest_for(job_id="job-1", watermark_id=watermark_id, duration_s=1.0,
                                  engine_name="test-engine", engine_version="t",
                                policy_version="p", generator_version="0.1.0")  # fmt: skip


def _read(data: bytes, anchors: str) -> signing.ManifestReport:
    return signing.read_manifest(io.BytesIO(data), mime="video/mp4", trust_anchors_pem=anchors)


def test_a_fresh_development_chain_signs_manifests_that_read_back_as_trusted(tmp_path: Path) -> None:
    folder = keys.bootstrap_dev_chain(tmp_path / "c2pa")
    creds = keys.load_credentials(chain_file=folder / keys.CHAIN, key_file=folder / keys.KEY, callback=None,
                                  tsa_url=None)  # fmt: skip
    signed = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=_manifest(), credentials=creds)
    report = _read(signed, (folder / keys.ROOT).read_text())
    assert report.state == "trusted" and report.ai_generated
    assert report.watermark_id == "feedc0de" and report.claim_generator == "Talkgate"
    assert {"c2pa.soft-binding", "io.talkgate.service", "c2pa.training-mining"} <= set(report.assertions)


def test_the_manifest_and_the_detector_name_the_watermark_algorithm_alike() -> None:
    from provenance import watermark

    assert signing.WATERMARK_ALG == watermark.METHOD == "io.talkgate.watermark.v1"


def test_a_manifest_from_another_root_is_untrusted_and_a_flipped_byte_is_tampering(tmp_path: Path) -> None:
    ours = keys.bootstrap_dev_chain(tmp_path / "ours")
    theirs = keys.bootstrap_dev_chain(tmp_path / "theirs")
    creds = keys.load_credentials(chain_file=theirs / keys.CHAIN, key_file=theirs / keys.KEY, callback=None,
                                  tsa_url=None)  # fmt: skip
    signed = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=_manifest(), credentials=creds)
    assert _read(signed, (ours / keys.ROOT).read_text()).state == "untrusted"
    tampered = bytearray(signed)
    tampered[tampered.rfind(b"mdat") + 100] ^= 0x01
    assert _read(bytes(tampered), (theirs / keys.ROOT).read_text()).state == "tampered"
    assert _read(tiny_mp4(), (ours / keys.ROOT).read_text()).present is False


def test_a_kms_style_callback_signs_instead_of_a_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = keys.bootstrap_dev_chain(tmp_path / "c2pa")
    calls: list[int] = []
    real = keys.key_signer((folder / keys.KEY).read_bytes())

    def kms_sign(data: bytes) -> bytes:  # what a KMS client would do remotely
        calls.append(len(data))
        return real(data)

    module = type(sys)("fake_kms")
    module.sign = kms_sign  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_kms", module)
    creds = keys.load_credentials(chain_file=folder / keys.CHAIN, key_file=None, callback="fake_kms:sign",
                                  tsa_url=None)  # fmt: skip
    signed = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=_manifest(), credentials=creds)
    assert calls and _read(signed, (folder / keys.ROOT).read_text()).state == "trusted"


def test_rotation_keeps_old_outputs_verifiable(tmp_path: Path) -> None:
    folder = tmp_path / "c2pa"
    run = [sys.executable, "manage.py", "bootstrap_signing_keys", "--folder", str(folder)]
    assert subprocess.run(run, cwd=settings.BASE_DIR, capture_output=True, check=False).returncode == 0
    old = keys.load_credentials(chain_file=folder / keys.CHAIN, key_file=folder / keys.KEY, callback=None,
                                tsa_url=None)  # fmt: skip
    signed_before = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=_manifest(), credentials=old)
    rotated = subprocess.run([*run, "--force"], cwd=settings.BASE_DIR, capture_output=True, text=True, check=False)
    assert rotated.returncode == 0 and "kept the old root" in rotated.stdout
    anchors = (folder / keys.ROOT).read_text() + (folder / "trust" / "root-0.pem").read_text()
    assert _read(signed_before, anchors).state == "trusted"
    assert _read(signed_before, (folder / keys.ROOT).read_text()).state == "untrusted"


def test_verify_endpoint_reports_a_trusted_manifest_to_anyone(anon, inline_tasks) -> None:  # type: ignore[no-untyped-def]
    signed = signing.sign_bytes(tiny_mp4(), mime="video/mp4", manifest=_manifest("00000000"),
                                credentials=credentials.credentials())  # fmt: skip
    response = anon.post("/v1/verify", {"file": SimpleUploadedFile("x.mp4", signed)}, format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["media"]["kind"] == "mp4" and body["c2pa"]["state"] == "trusted"
    assert body["match"] is None, "no job carries this watermark id"
    assert AuditEntry.objects.filter(event_type="verification.performed").count() == 1


def test_verify_endpoint_reads_images_and_refuses_other_files(anon, inline_tasks) -> None:  # type: ignore[no-untyped-def]
    png = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(png, format="PNG")
    ok = anon.post("/v1/verify", {"file": SimpleUploadedFile("x.png", png.getvalue())}, format="multipart")
    assert ok.status_code == 200 and ok.json()["c2pa"]["state"] == "absent"
    bad = anon.post("/v1/verify", {"file": SimpleUploadedFile("x.txt", b"plain text")}, format="multipart")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unsupported_media"


def test_verify_is_throttled_per_address(anon, settings) -> None:  # type: ignore[no-untyped-def]
    from accounts.throttling import VerifyRateThrottle

    VerifyRateThrottle.THROTTLE_RATES = {**VerifyRateThrottle.THROTTLE_RATES, "verify": "2/min"}
    try:
        codes = [anon.post("/v1/verify", {}, format="multipart").status_code for _ in range(3)]
    finally:
        VerifyRateThrottle.THROTTLE_RATES = dict(settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"])
    assert codes == [400, 400, 429]


def test_the_public_verify_page_shows_a_readable_result(client, inline_tasks) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/verify")
    assert page.status_code == 200 and b"Was this made with Talkgate?" in page.content
    signed = signing.sign_bytes(
        tiny_mp4(), mime="video/mp4", manifest=_manifest(), credentials=credentials.credentials()
    )
    result = client.post("/verify", {"file": SimpleUploadedFile("x.mp4", signed)})
    assert result.status_code == 200
    assert b"trusted" in result.content and b"What it does not prove" in result.content
