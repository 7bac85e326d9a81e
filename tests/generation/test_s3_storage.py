"""The S3 storage option (django-storages) against a local S3-compatible server (moto, the edge of the world)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from core import storage
from generation.models import Job, JobStatus
from tests.conftest import PartnerActor
from tests.generation.conftest import post_job

pytestmark = pytest.mark.django_db

BUCKET = "talkgate-test"


@pytest.fixture
def s3(settings) -> Iterator[str]:  # type: ignore[no-untyped-def]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    creds = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=endpoint, **creds).create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "region_name": "us-east-1",
                        "access_key": "test", "secret_key": "test", "default_acl": None, "file_overwrite": True,
                        "querystring_auth": True, "signature_version": "s3v4"},
        },
    }  # fmt: skip
    try:
        yield endpoint
    finally:
        server.stop()


def test_inputs_and_outputs_live_in_the_bucket_under_the_partner_prefix(alice: PartnerActor, s3: str) -> None:
    response = post_job(alice)
    assert response.status_code == 202, response.content
    job = Job.objects.get(id=response.json()["id"])
    client = boto3.client("s3", endpoint_url=s3, aws_access_key_id="t", aws_secret_access_key="t",
                          region_name="us-east-1")  # fmt: skip
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert keys == {job.photo, job.audio}
    assert all(k.startswith(f"partners/{alice.partner.id}/inputs/{job.id}/") for k in keys)
    with storage.local_copy(job.photo) as path:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_video_link_redirects_to_a_presigned_url_that_serves_the_file(alice: PartnerActor, s3: str) -> None:
    job = Job.objects.get(id=post_job(alice).json()["id"])
    name = storage.save_bytes(storage.output_name(alice.partner.id, job.id), b"\x00\x00\x00\x18ftypmp42 video")
    Job.objects.filter(id=job.id).update(status=JobStatus.SUCCEEDED, output=name)
    redirect = alice.client.get(f"/v1/generations/{job.id}/video")
    assert redirect.status_code == 302
    url = redirect["Location"]
    assert url.startswith(s3) and "X-Amz-Expires=300" in url
    assert requests.get(url, timeout=10).content.endswith(b"video")
