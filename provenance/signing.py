"""Signed C2PA manifests on outputs, and reading manifests of suspect files (c2pa-python). No Django imports."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from typing import IO, Any

import c2pa

from provenance.keys import Credentials

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
WATERMARK_ALG = "io.talkgate.watermark.v1"
SERVICE_ASSERTION = "io.talkgate.service"
GENERATED_SOURCE_TYPES = {TRAINED_ALGORITHMIC_MEDIA, "http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic",
                          "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"}  # fmt: skip


def manifest_for(*, job_id: str, watermark_id: str, duration_s: float, engine_name: str, engine_version: str,
                 policy_version: str, generator_version: str) -> dict[str, Any]:  # fmt: skip
    """The manifest every output carries: AI-created, watermarked (soft binding), who made it, no training."""
    no = {"use": "notAllowed"}
    return {
        "claim_generator_info": [{"name": "Talkgate", "version": generator_version}],
        "title": f"talkgate-{job_id}.mp4",
        "format": "video/mp4",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                 "softwareAgent": {"name": engine_name, "version": engine_version}},
                {"action": "c2pa.watermarked", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA},
            ]}},
            {"label": "c2pa.soft-binding", "data": {"alg": WATERMARK_ALG, "blocks": [
                {"scope": {"timespan": {"start": 0, "end": math.ceil(duration_s)}}, "value": watermark_id},
            ]}},
            {"label": SERVICE_ASSERTION, "data": {"job": job_id, "engine": engine_name,
                                                  "engine_version": engine_version,
                                                  "policy_version": policy_version}},
            {"label": "c2pa.training-mining", "data": {"entries": {
                "c2pa.ai_generative_training": no, "c2pa.ai_inference": no, "c2pa.ai_training": no,
                "c2pa.data_mining": no,
            }}},
        ],
    }  # fmt: skip


def sign_stream(src: IO[bytes], dst: IO[bytes], *, mime: str, manifest: dict[str, Any],
                credentials: Credentials) -> None:  # fmt: skip
    """Copy ``src`` to ``dst`` with a signed manifest embedded (a Builder signs once, so each call makes one)."""
    signer = c2pa.Signer.from_callback(
        credentials.sign, c2pa.C2paSigningAlg.ES256, credentials.chain_pem, credentials.tsa_url
    )
    try:
        builder = c2pa.Builder(manifest)
        try:
            builder.sign(signer, mime, src, dst)
        finally:
            builder.close()
    finally:
        signer.close()


def sign_bytes(media: bytes, *, mime: str, manifest: dict[str, Any], credentials: Credentials) -> bytes:
    """The media with a signed manifest embedded."""
    out = io.BytesIO()
    sign_stream(io.BytesIO(media), out, mime=mime, manifest=manifest, credentials=credentials)
    return out.getvalue()


@dataclass
class ManifestReport:
    """What a file's C2PA data says: absent, valid and trusted, signed by someone else, or tampered."""

    present: bool
    state: str = "absent"  # absent | trusted | untrusted | tampered | invalid
    validation_state: str | None = None
    failures: list[str] = field(default_factory=list)
    claim_generator: str | None = None
    ai_generated: bool = False
    watermark_id: str | None = None
    talkgate_job: str | None = None
    # The engine that rendered it, as the manifest names it ("talkgate-warp 0.4.0").
    engine: str | None = None
    assertions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _summary(manifest: dict[str, Any], report: ManifestReport) -> None:
    info = manifest.get("claim_generator_info") or []
    report.claim_generator = info[0].get("name") if info else manifest.get("claim_generator")
    for assertion in manifest.get("assertions", []):
        label, data = assertion.get("label", ""), assertion.get("data", {})
        report.assertions.append(label)
        if label.startswith("c2pa.actions"):
            report.ai_generated |= any(a.get("digitalSourceType") in GENERATED_SOURCE_TYPES
                                       for a in data.get("actions", []))  # fmt: skip
        elif label == "c2pa.soft-binding" and data.get("alg") == WATERMARK_ALG:
            blocks = data.get("blocks") or []
            report.watermark_id = blocks[0].get("value") if blocks else None
        elif label == SERVICE_ASSERTION:
            report.talkgate_job = data.get("job")
            report.engine = " ".join(str(data[k]) for k in ("engine", "engine_version") if data.get(k)) or None


def read_manifest(stream: IO[bytes], *, mime: str, trust_anchors_pem: str) -> ManifestReport:
    """Read and validate the active manifest against our trust anchors (older roots included)."""
    settings = {"trust": {"user_anchors": trust_anchors_pem}, "verify": {"verify_trust": True}}
    try:
        reader = c2pa.Reader.try_create(mime, stream, context=c2pa.Context.from_dict(settings))
    except c2pa.C2paError as exc:
        return ManifestReport(present=True, state="invalid", failures=[type(exc).__name__])
    if reader is None:
        return ManifestReport(present=False)
    try:
        state = reader.get_validation_state()
        results = reader.get_validation_results() or {}
        manifest = reader.get_active_manifest() or {}
    finally:
        reader.close()
    failures = [f.get("code", "") for f in (results.get("activeManifest") or {}).get("failure", [])]
    report = ManifestReport(present=True, validation_state=state, failures=failures)
    _summary(manifest, report)
    if any("mismatch" in code or "hash" in code for code in failures):
        report.state = "tampered"
    elif state == "Trusted":
        report.state = "trusted"
    elif any(code.startswith("signingCredential") for code in failures) or state == "Valid":
        report.state = "untrusted"
    else:
        report.state = "invalid"
    return report


def describe(report: ManifestReport) -> str:
    """One line for people."""
    return json.dumps({"state": report.state, "generator": report.claim_generator, "ai": report.ai_generated})
