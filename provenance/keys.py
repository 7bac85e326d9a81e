"""C2PA signing credentials: a development chain (root -> intermediate -> ES256 leaf), loading chains and keys
from files, and a callback hook so production can sign through a KMS. No Django imports."""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SignFn = Callable[[bytes], bytes]

ROOT, INTERMEDIATE, LEAF, CHAIN, KEY = "root.pem", "intermediate.pem", "leaf.pem", "chain.pem", "leaf.key"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Talkgate"),
        ]
    )


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
        key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _certificate(
    subject: str, subject_key: ec.EllipticCurvePrivateKey, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
    *, ca: bool, path_length: int | None, days: int,
) -> x509.Certificate:  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(_key_usage(ca=ca), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
    )
    if not ca:
        # c2pa's default trust policy refuses a leaf whose EKU is only the C2PA claim-signing OID.
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def bootstrap_dev_chain(folder: Path, *, leaf_days: int = 825, overwrite: bool = False) -> Path:
    """Write a development chain and leaf key into ``folder``; an existing chain is kept unless overwrite."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / CHAIN).exists() and (folder / KEY).exists() and not overwrite:
        return folder
    root_key, inter_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate("Talkgate Development Root", root_key, "Talkgate Development Root", root_key,
                        ca=True, path_length=1, days=3650)  # fmt: skip
    inter = _certificate("Talkgate Development Intermediate", inter_key, "Talkgate Development Root", root_key,
                         ca=True, path_length=0, days=1825)  # fmt: skip
    leaf = _certificate("Talkgate Signer (development)", leaf_key, "Talkgate Development Intermediate", inter_key,
                        ca=False, path_length=None, days=leaf_days)  # fmt: skip
    (folder / ROOT).write_bytes(_pem(root))
    (folder / INTERMEDIATE).write_bytes(_pem(inter))
    (folder / LEAF).write_bytes(_pem(leaf))
    (folder / CHAIN).write_bytes(_pem(leaf) + _pem(inter))
    key_path = folder / KEY
    key_path.write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    os.chmod(key_path, 0o600)
    return folder


def key_signer(key_pem: bytes) -> SignFn:
    """A signing function for a P-256 key: ES256 over the bytes, as raw r||s (what C2PA's COSE signature holds)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the C2PA signing key must be an EC P-256 private key")

    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def callback_signer(dotted_path: str) -> SignFn:
    """A signing function imported by dotted path (``package.module:function``), e.g. a KMS client."""
    module_name, _, attr = dotted_path.partition(":")
    fn = getattr(importlib.import_module(module_name), attr)
    if not callable(fn):
        raise ValueError(f"{dotted_path} is not callable")
    return fn


@dataclass(frozen=True)
class Credentials:
    """What signing needs: a chain (leaf first, then intermediates), a signing function, an optional TSA."""

    chain_pem: str
    sign: SignFn
    tsa_url: str | None = None


def load_credentials(
    *, chain_file: Path, key_file: Path | None, callback: str | None, tsa_url: str | None
) -> Credentials:
    """Credentials from a chain file plus either a key file or a signing callback."""
    chain = chain_file.read_text(encoding="ascii")
    if callback:
        sign = callback_signer(callback)
    elif key_file is not None:
        sign = key_signer(key_file.read_bytes())
    else:
        raise ValueError("a key file or a signing callback is required")
    return Credentials(chain_pem=chain, sign=sign, tsa_url=tsa_url or None)
