"""Date-times and dates as the platform must send them: RFC 3339 text, never a number.

pydantic's ``AwareDatetime`` also accepts a JSON number (seconds since 1970) and ``date`` accepts
one too, so ``"occurred_at": 1764000000`` used to pass as a moment in 2025. CONTRACTS.md says
RFC 3339 with an offset; these types hold inbound events to exactly that (CONTRACTS.md "Limits on
input"). ``datetime``/``date`` objects built in Python are still accepted (they carry no text to
check), and an aware ``datetime`` is still required.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise PydanticCustomError(
            "rfc3339",
            "must be an RFC 3339 date-time string with an offset, such as '2026-11-24T09:15:00+11:00'",
        )
    return value


def _iso_date(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("iso_date", "must be a date string such as '2026-11-26'")
    return value


Rfc3339DateTime = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]
"""An inbound date-time: an RFC 3339 string with an offset (``Z`` or ``±hh:mm``)."""

IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), Field(description="Date as 'YYYY-MM-DD'.")]
"""An inbound calendar date: ``YYYY-MM-DD``."""
