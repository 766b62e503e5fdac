"""Asynchronous requests (Help subsect_161278579295) and idempotency keys (subsect_164494900632).

The simulator runs the request at once and keeps its outcome as a completed job with one task,
so clients can exercise the 202 + ``Location`` + polling flow and the duplicate-key error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from ._responses import ERROR, ApiError, json_response

__all__ = ["Job", "Jobs", "accepted", "idempotency_conflict", "job_resource"]

_ASYNC = "/services/rest/async/v1/job"


@dataclass
class Job:
    """One finished async request: what the synchronous call would have answered."""

    id: str
    status: int
    location: str | None
    body: bytes
    started: str
    ended: str


class Jobs:
    """Jobs of one account, and the idempotency keys that created them."""

    def __init__(self) -> None:
        self.by_id: dict[str, Job] = {}
        self.by_key: dict[str, str] = {}

    def record(self, response: Response, key: str | None) -> Job:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        job = Job(
            id=str(len(self.by_id) + 1),
            status=response.status_code,
            location=response.headers.get("location"),
            body=bytes(response.body),
            started=now,
            ended=now,
        )
        self.by_id[job.id] = job
        if key:
            self.by_key[key] = job.id
        return job


def accepted(origin: str, job: Job) -> Response:
    return Response(
        status_code=202,
        headers={
            "Location": f"{origin}{_ASYNC}/{job.id}",
            "Preference-Applied": "respond-async",
        },
    )


def idempotency_conflict(origin: str, job_id: str) -> Response:
    """The documented duplicate-key answer: "400 Conflict" with the first job's Location."""
    body = {
        "type": "https://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10",
        "title": "Conflict",
        "status": 400,
        "o:errorDetails": [
            {
                "detail": "A request with the same idempotency key is already submitted. See the "
                '"Location" header for a link to the previously submitted job',
                "o:errorCode": "IDEMPOTENCY_ERROR",
            }
        ],
    }
    return json_response(
        body,
        400,
        ERROR,
        {"Location": f"{origin}{_ASYNC}/{job_id}", "Preference-Applied": "respond-async"},
    )


def job_resource(jobs: Jobs, origin: str, parts: list[str]) -> Response:
    """``job/{id}``, ``job/{id}/task``, ``job/{id}/task/1`` and ``job/{id}/task/1/result``."""
    job = jobs.by_id.get(parts[0])
    if job is None or (len(parts) > 2 and parts[2] != "1"):
        raise ApiError(404, "NONEXISTENT_ID", "The job does not exist.")
    href = f"{origin}{_ASYNC}/{job.id}"
    progress = "succeeded" if job.status < 400 else "failed"
    if len(parts) == 1:
        return json_response(
            {
                "links": [{"rel": "self", "href": href}],
                "completed": True,
                "id": job.id,
                "progress": progress,
                "task": {"links": [{"rel": "related", "href": f"{href}/task"}]},
            }
        )
    if len(parts) == 2:
        return json_response(
            {
                "links": [{"rel": "self", "href": f"{href}/task"}],
                "items": [{"links": [{"rel": "self", "href": f"{href}/task/1"}]}],
                "count": 1,
                "hasMore": False,
                "offset": 0,
                "totalResults": 1,
            }
        )
    if len(parts) == 3:
        return json_response(
            {
                "links": [{"rel": "related", "href": f"{href}/task/1/result"}],
                "completed": True,
                "id": "1",
                "progress": progress,
                "startTime": job.started,
                "endTime": job.ended,
            }
        )
    if job.body:
        body: Any = json.loads(job.body)
        return json_response(body, job.status if job.status >= 400 else 200)
    links = [{"rel": "related", "href": job.location}] if job.location else []
    return json_response({"links": links})
