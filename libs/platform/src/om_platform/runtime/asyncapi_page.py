"""`/docs/asyncapi`: the service's AsyncAPI document as a self-contained HTML page.

FastStream's page loads the AsyncAPI React component from a CDN and is blank without internet
access (a cluster's egress is usually closed). This page is rendered on the server from the same
document (`ServiceRuntime.asyncapi()`, with the contracts' payload schemas), with no script, style
sheet or font fetched from anywhere: channels with what the service does on them, each message's
payload, and every schema with its fields. `/docs/asyncapi.json` serves the document itself.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .muted{color:#666} table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f4f4f4} code{background:#f4f4f4;padding:0 .2rem} details{margin:.3rem 0}
pre{background:#f8f8f8;padding:.6rem;overflow:auto;font-size:.85rem}
"""


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(option) for option in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(f"<code>{escape(json.dumps(v))}</code>" for v in schema["enum"])
    if "const" in schema:
        return f"<code>{escape(json.dumps(schema['const']))}</code>"
    fmt = f" ({escape(str(schema['format']))})" if "format" in schema else ""
    return escape(str(kind)) + fmt


def _fields(schema: dict[str, Any]) -> str:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return f"<pre>{escape(json.dumps(schema, indent=2, sort_keys=True))}</pre>"
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td><td>{_type(prop)}</td>"
        f"<td>{escape(str(prop.get('description', '')))}</td></tr>"
        for name, prop in properties.items()
    )
    return f"<table><tr><th>field (* required)</th><th>type</th><th>meaning</th></tr>{rows}</table>"


def render_html(spec: dict[str, Any]) -> str:
    """The whole page for one AsyncAPI 3 document."""
    info = spec.get("info", {})
    components = spec.get("components", {})
    messages: dict[str, Any] = components.get("messages", {})
    operations: dict[str, Any] = spec.get("operations", {})
    actions: dict[str, list[str]] = {}
    for operation in operations.values():
        channel = _ref_name(operation.get("channel", {}).get("$ref", ""))
        actions.setdefault(channel, []).append(str(operation.get("action", "")))
    channel_rows = []
    for key, channel in sorted(spec.get("channels", {}).items(), key=lambda kv: str(kv[1].get("address"))):
        names = [_ref_name(m["$ref"]) for m in channel.get("messages", {}).values() if "$ref" in m]
        payloads = ", ".join(_type(messages.get(n, {}).get("payload", {})) for n in names)
        verbs = ", ".join(sorted(set(actions.get(key, [])))) or "-"
        channel_rows.append(
            f"<tr><td><code>{escape(str(channel.get('address', key)))}</code></td><td>{escape(verbs)}</td>"
            f"<td>{payloads}</td><td>{escape(str(channel.get('description', '')))}</td></tr>"
        )
    schemas = "".join(
        f'<details id="schema-{escape(name)}"><summary><code>{escape(name)}</code> '
        f'<span class="muted">{escape(str(schema.get("description", ""))[:160])}</span></summary>{_fields(schema)}</details>'
        for name, schema in sorted(components.get("schemas", {}).items())
    )
    servers = "".join(
        f"<li><code>{escape(str(server.get('host', '')))}</code> ({escape(str(server.get('protocol', '')))})</li>"
        for server in spec.get("servers", {}).values()
    )
    title = escape(str(info.get("title", "AsyncAPI")))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} AsyncAPI</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<h1>{title}</h1><p class="muted">version {escape(str(info.get("version", "")))} · AsyncAPI '
        f'{escape(str(spec.get("asyncapi", "")))} · <a href="asyncapi.json">asyncapi.json</a></p>'
        f"<p>{escape(str(info.get('description', '')))}</p><h2>Servers</h2><ul>{servers}</ul>"
        f"<h2>Channels</h2><table><tr><th>topic</th><th>the service</th><th>payload</th><th>about</th></tr>"
        f"{''.join(channel_rows)}</table><h2>Schemas</h2>{schemas}</body></html>"
    )
