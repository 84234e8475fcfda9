"""Files beside the lake's tables (trained models): under the lake's own location, a folder or S3.

Written whole or not at all: a local file goes to a temporary name and is renamed; an S3 object is
one PUT. The URL returned is what the model registry stores and what serving reads back.
"""

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3

from resources import settings


def _s3() -> object:
    """An S3 client on the lake's endpoint (boto3's client classes are generated at run time)."""
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url())


def write(location: str, relative: str, body: bytes) -> str:
    """Store `body` at `relative` under the lake `location` (a folder or s3://bucket/prefix); its URL."""
    if location.startswith("s3://"):
        url = f"{location.rstrip('/')}/{relative}"
        parts = urlsplit(url)
        _s3().put_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"), Body=body)
        return url
    path = Path(location) / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        temp.write_bytes(body)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return str(path)


def read(url: str) -> bytes:
    if url.startswith("s3://"):
        parts = urlsplit(url)
        return _s3().get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()
    return Path(url).read_bytes()
