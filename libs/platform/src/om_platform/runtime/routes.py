"""The service's ASGI app: FastStream's broker app plus health, metrics and AsyncAPI routes.

/health/live          liveness (503 with the problems when a loop died or work stalls)
/health/ready         readiness (broker and MongoDB answer)
/metrics              Prometheus text (lag, connection and freshness gauges refreshed first)
/docs/asyncapi        the AsyncAPI document as a self-contained page (no CDN)
/docs/asyncapi.json   the document itself, with each topic's payload schema from om_contracts
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from om_contracts import get_topic
from om_platform.runtime.asyncapi_page import render_html

if TYPE_CHECKING:
    from om_platform.runtime.service import ServiceRuntime


def asgi_app(runtime: ServiceRuntime) -> AsgiFastStream:
    """The app uvicorn serves; FastStream runs the runtime's lifecycle around the broker."""

    @get(include_in_schema=False)
    async def live() -> AsgiResponse:
        ok, problems = runtime.liveness()
        return _json(200 if ok else 503, {"status": "ok" if ok else "stalled", "problems": problems})

    @get(include_in_schema=False)
    async def ready() -> AsgiResponse:
        ok, checks = await runtime.readiness()
        return _json(200 if ok else 503, {"status": "ok" if ok else "unavailable", "checks": checks})

    @get(include_in_schema=False)
    async def metrics() -> AsgiResponse:
        runtime.liveness()  # refresh lag gauges
        await runtime.refresh_health_gauges()
        return AsgiResponse(
            generate_latest(runtime.metrics.registry), 200, {"content-type": CONTENT_TYPE_LATEST}
        )

    @get(include_in_schema=False)
    async def asyncapi_page() -> AsgiResponse:
        # rendered here, not FastStream's CDN-loaded page: it works without internet access
        html = render_html(runtime.cached_asyncapi())
        return AsgiResponse(html.encode(), 200, {"content-type": "text/html; charset=utf-8"})

    @get(include_in_schema=False)
    async def asyncapi_json() -> AsgiResponse:
        return _json(200, runtime.cached_asyncapi())

    lifecycle = runtime.lifecycle
    return AsgiFastStream(
        runtime.broker,
        asgi_routes=[
            ("/health/live", live),
            ("/health/ready", ready),
            ("/metrics", metrics),
            ("/docs/asyncapi", asyncapi_page),
            ("/docs/asyncapi.json", asyncapi_json),
        ],
        specification=runtime.specification(),
        logger=logging.getLogger("faststream.app"),
        on_startup=[lifecycle.on_startup],
        after_startup=[lifecycle.after_startup],
        on_shutdown=[lifecycle.on_shutdown],
        after_shutdown=[lifecycle.after_shutdown],
    )


def asyncapi_document(app: AsgiFastStream) -> dict[str, Any]:
    """The AsyncAPI document of `app`, with each consumed topic's payload schema from om_contracts.

    Subscribers take the raw record (so an invalid payload can be dead-lettered instead of
    failing inside FastStream), which leaves FastStream without a payload type to document;
    the contract's discriminated union of the topic's events is filled in here.
    """
    spec: dict[str, Any] = app.schema.to_specification().to_jsonable()
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    messages = spec["components"].get("messages", {})
    for channel in spec.get("channels", {}).values():
        try:
            topic = get_topic(channel["address"])
        except KeyError:
            continue
        schema = topic.adapter.json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        name = f"{topic.family.title()}Event"
        schemas[name] = schema
        for ref in channel.get("messages", {}).values():
            message = messages.get(ref["$ref"].rsplit("/", 1)[-1])
            if message is not None and message["payload"].get("$ref", "").endswith("/EmptyPayload"):
                message["payload"] = {"$ref": f"#/components/schemas/{name}"}
    if not any(m["payload"].get("$ref", "").endswith("/EmptyPayload") for m in messages.values()):
        schemas.pop("EmptyPayload", None)
    return spec


def _json(status: int, body: dict[str, Any]) -> AsgiResponse:
    return AsgiResponse(json.dumps(body).encode(), status, {"content-type": "application/json"})
