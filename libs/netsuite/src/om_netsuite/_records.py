"""Record-service request shaping: validated paths and ids, JSON bodies, ids from ``Location``.

The record service addresses records as ``/services/rest/record/v1/{type}/{id}`` (Help Center
section_1545141395 ff.); these helpers build and check those pieces for :class:`NetSuiteSession`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx2
from pydantic import BaseModel

from ._exceptions import PermanentError, RequestInfo

__all__ = [
    "RECORD_PATH",
    "SUITEQL_PATH",
    "PreparedRequest",
    "external_id",
    "has_location_id",
    "id_from_location",
    "jsonable",
    "record_id",
    "record_type",
]

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
_RECORD_TYPE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
_INTERNAL_ID_RE = re.compile(r"[0-9]{1,20}")
# NetSuite external ids written through eid: may hold letters, digits, '_' and '-' (section_156334828635).
_EXTERNAL_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_LOCATION_ID_RE = re.compile(r"/([0-9]+)/?$")


def record_type(value: str) -> str:
    if not _RECORD_TYPE_RE.fullmatch(value):
        raise ValueError(f"invalid record type: {value!r}")
    return value


def record_id(value: str | int) -> str:
    text = str(value)
    if text.startswith("eid:"):
        return f"eid:{external_id(text[4:])}"
    if not _INTERNAL_ID_RE.fullmatch(text):
        raise ValueError(f"invalid internal id: {value!r}")
    return text


def external_id(value: str) -> str:
    if not _EXTERNAL_ID_RE.fullmatch(value):
        raise ValueError(f"external id must match [A-Za-z0-9_-]+: {value!r}")
    return value


def jsonable(value: Any) -> Any:
    """Turn models, Decimals and dates into JSON; money stays a JSON number."""
    if isinstance(value, BaseModel):
        value = value.model_dump(by_alias=True, exclude_none=True, mode="python")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        # float(Decimal) round-trips every amount with <= 15 significant digits, and NetSuite
        # expects numbers, not strings.
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def id_from_location(response: httpx2.Response, info: RequestInfo) -> str:
    location = response.headers.get("location", "")
    match = _LOCATION_ID_RE.search(location)
    if match is None:
        raise PermanentError(
            f"{info}: no record id in Location header", status=response.status_code, request=info
        )
    return match.group(1)


@dataclass(frozen=True)
class PreparedRequest:
    """A write exactly as the session would send it, without sending it (dry runs, previews).

    ``body`` is the JSON value sent (after Decimal -> number conversion); ``headers`` are the
    request's own, without ``Authorization`` (signed per attempt) or ``Content-Type``.
    """

    method: str
    url: str
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def has_location_id(response: httpx2.Response) -> bool:
    """Whether ``Location`` ends in an internal id (not ``eid:...``)."""
    return _LOCATION_ID_RE.search(response.headers.get("location", "")) is not None
