"""A small HTTP client on the standard library: multipart bodies and JSON calls (the demo and the benches)."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
import uuid
from typing import Any


def encode_multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type (the standard library has no encoder)."""
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
        )
        out.write(data + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def http_call(
    method: str,
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    multipart: tuple[dict[str, str], dict[str, tuple[str, bytes]]] | None = None,
    raw: bool = False,
) -> tuple[int, Any]:
    """One HTTP call with a bearer token and a JSON or multipart body; the status and the decoded answer."""
    data, content_type = None, None
    if body is not None:
        data, content_type = json.dumps(body).encode(), "application/json"
    elif multipart is not None:
        data, content_type = encode_multipart(*multipart)
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - a URL we built, on localhost
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            payload = response.read()
            return response.status, payload if raw else json.loads(payload or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
