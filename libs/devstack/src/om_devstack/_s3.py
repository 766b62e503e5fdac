"""A local S3 emulator (moto server) so tansu's ``s3://`` storage survives broker restarts.

tansu reads its S3 settings through the Rust ``object_store`` crate's environment variables
(``AWS_ENDPOINT``, ``AWS_ALLOW_HTTP``, credentials, region). moto accepts any credentials.
Needs the optional dependency ``moto[server]`` (``om-devstack[s3]``).
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from om_devstack.stack import EmbeddedStack

__all__ = ["s3_env", "start_s3"]


def s3_env(port: int) -> dict[str, str]:
    """Environment for tansu to use the emulator on ``port`` (dummy credentials)."""
    return {
        "AWS_ACCESS_KEY_ID": "devstack",
        "AWS_SECRET_ACCESS_KEY": "devstack",  # moto accepts any credentials
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT": f"http://127.0.0.1:{port}",
        "AWS_ALLOW_HTTP": "true",
    }


def _create_bucket(port: int, bucket: str) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{bucket}", method="PUT")
    # A fixed http:// URL to our own child: no scheme injection possible.
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        response.read()


async def start_s3(stack: EmbeddedStack, bucket: str) -> None:
    """Start moto's S3 server as a child of ``stack`` and create ``bucket``."""

    def argv(port: int) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]

    await stack._launch("s3", argv, stack._child_env())
    await asyncio.to_thread(_create_bucket, stack._ports["s3"], bucket)
