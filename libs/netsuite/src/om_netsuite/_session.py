"""Per-account handle: record service (Help Center section_1545141395 ff.) and SuiteQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, TypeVar, overload

import httpx2
from pydantic import BaseModel

from ._accounts import account_base_url
from ._auth import Auth
from ._exceptions import RequestInfo
from ._guard import RequestGuard
from ._records import (
    RECORD_PATH,
    SUITEQL_PATH,
    PreparedRequest,
    has_location_id,
    id_from_location,
    jsonable,
)
from ._records import external_id as _external_id
from ._records import record_id as _record_id
from ._records import record_type as _record_type
from ._request import Request, RequestSender, encode_query
from ._suiteql import (
    MAX_PAGE_SIZE,
    bind_keyset,
    check_arity,
    check_page,
    normalize_row,
    render_params,
    row_converters,
)

__all__ = ["NetSuiteSession", "PreparedRequest"]

M = TypeVar("M", bound=BaseModel)


class NetSuiteSession:
    """Record and SuiteQL operations for one account; created by :meth:`NetSuiteClient.session`.

    Each operation builds one :class:`Request` value and hands it to the client (``client``, any
    :class:`RequestSender`), which sends it; the client never calls back into the session.
    """

    def __init__(
        self,
        client: RequestSender,
        account_id: str,
        auth: Auth,
        limit: int,
        *,
        guard: RequestGuard | None = None,
    ) -> None:
        self.client = client
        self.account_id = account_id
        self.auth = auth
        self.concurrency_limit = limit
        self.guard = guard

    def __repr__(self) -> str:
        return f"NetSuiteSession(account_id={self.account_id!r}, limit={self.concurrency_limit})"

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        idempotent: bool,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        return await self.client.execute(
            Request(
                account_id=self.account_id,
                auth=self.auth,
                limit=self.concurrency_limit,
                method=method,
                path=path,
                operation=operation,
                idempotent=idempotent,
                query=query,
                body=body,
                headers=headers,
                guard=self.guard,
            )
        )

    def _write_headers(self) -> dict[str, str]:
        # Misspelt field names fail loudly instead of being dropped with a warning header.
        return {"X-NetSuite-PropertyNameValidation": self.client.property_name_validation}

    # -- records -----------------------------------------------------------------------------

    @overload
    async def get(
        self,
        record_type: str,
        record_id: str | int,
        *,
        fields: Sequence[str] | None = ...,
        expand_sub_resources: bool = ...,
        model: None = ...,
    ) -> dict[str, Any]: ...

    @overload
    async def get(
        self,
        record_type: str,
        record_id: str | int,
        *,
        fields: Sequence[str] | None = ...,
        expand_sub_resources: bool = ...,
        model: type[M],
    ) -> M: ...

    async def get(
        self,
        record_type: str,
        record_id: str | int,
        *,
        fields: Sequence[str] | None = None,
        expand_sub_resources: bool = False,
        model: type[M] | None = None,
    ) -> dict[str, Any] | M:
        """GET one record (section_1545141500); ``record_id`` may be ``eid:<external id>``."""
        query: list[tuple[str, str]] = []
        if expand_sub_resources:
            query.append(("expandSubResources", "true"))
        if fields:
            query.append(("fields", ",".join(fields)))
        response = await self._call(
            "GET",
            f"{RECORD_PATH}/{_record_type(record_type)}/{_record_id(record_id)}",
            operation=f"{record_type}.get",
            idempotent=True,
            query=query,
        )
        data: dict[str, Any] = response.json()
        return model.model_validate(data) if model is not None else data

    async def create(self, record_type: str, body: BaseModel | Mapping[str, Any]) -> str:
        """POST a new record (section_1545141395); returns the internal id from ``Location``.

        Not retried on 5xx or lost responses (``outcome_unknown`` is set); prefer :meth:`upsert`.
        """
        path = f"{RECORD_PATH}/{_record_type(record_type)}"
        response = await self._call(
            "POST",
            path,
            operation=f"{record_type}.create",
            idempotent=False,
            body=jsonable(body),
            headers=self._write_headers(),
        )
        return id_from_location(response, RequestInfo("POST", path))

    async def update(
        self,
        record_type: str,
        record_id: str | int,
        body: BaseModel | Mapping[str, Any],
        *,
        replace: Sequence[str] | None = None,
    ) -> None:
        """PATCH a record (section_1545142173); ``replace=["item"]`` replaces those sublists."""
        query = [("replace", ",".join(replace))] if replace else []
        await self._call(
            "PATCH",
            f"{RECORD_PATH}/{_record_type(record_type)}/{_record_id(record_id)}",
            operation=f"{record_type}.update",
            idempotent=True,
            query=query,
            body=jsonable(body),
            headers=self._write_headers(),
        )

    async def upsert(
        self,
        record_type: str,
        external_id: str,
        body: BaseModel | Mapping[str, Any],
        *,
        replace: Sequence[str] | None = None,
    ) -> str:
        """PUT ``/{type}/eid:{external_id}`` (section_156335203191); returns the internal id.

        Safe to retry: the external id makes it idempotent.
        """
        path, query = self._upsert_target(record_type, external_id, replace)
        response = await self._call(
            "PUT",
            path,
            operation=f"{record_type}.upsert",
            idempotent=True,
            query=query,
            body=jsonable(body),
            headers=self._write_headers(),
        )
        if has_location_id(response):
            return id_from_location(response, RequestInfo("PUT", path))
        # Some responses point at eid:...; ask for the internal id.
        record = await self.get(record_type, f"eid:{external_id}")
        return str(record["id"])

    def prepare_upsert(
        self,
        record_type: str,
        external_id: str,
        body: BaseModel | Mapping[str, Any],
        *,
        replace: Sequence[str] | None = None,
    ) -> PreparedRequest:
        """The request :meth:`upsert` would send, built the same way but not sent."""
        path, query = self._upsert_target(record_type, external_id, replace)
        url = account_base_url(self.account_id, self.client.base_url_override) + path
        if query:
            url += f"?{encode_query(query)}"
        return PreparedRequest("PUT", url, jsonable(body), self._write_headers())

    @staticmethod
    def _upsert_target(
        record_type: str, external_id: str, replace: Sequence[str] | None
    ) -> tuple[str, list[tuple[str, str]]]:
        path = f"{RECORD_PATH}/{_record_type(record_type)}/eid:{_external_id(external_id)}"
        return path, [("replace", ",".join(replace))] if replace else []

    async def delete(self, record_type: str, record_id: str | int) -> None:
        """DELETE a record (section_1545142287)."""
        await self._call(
            "DELETE",
            f"{RECORD_PATH}/{_record_type(record_type)}/{_record_id(record_id)}",
            operation=f"{record_type}.delete",
            idempotent=True,
        )

    async def transform(
        self,
        source_type: str,
        source_id: str | int,
        target_type: str,
        body: BaseModel | Mapping[str, Any] | None = None,
    ) -> str:
        """POST ``/{source}/{id}/!transform/{target}`` (section_157901123882); returns the new id.

        E.g. salesOrder -> invoice, invoice -> creditMemo / customerPayment. Like a create, it is
        not retried blindly.
        """
        path = (
            f"{RECORD_PATH}/{_record_type(source_type)}/{_record_id(source_id)}"
            f"/!transform/{_record_type(target_type)}"
        )
        response = await self._call(
            "POST",
            path,
            operation=f"{source_type}.transform.{target_type}",
            idempotent=False,
            body=jsonable(body) if body is not None else {},
            headers=self._write_headers(),
        )
        return id_from_location(response, RequestInfo("POST", path))

    async def list(
        self, record_type: str, q: str | None = None, *, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[str]:
        """Internal ids of a record collection, filtered by ``q`` (section_1545222128), paged."""
        offset = 0
        while True:
            check_page(page_size, offset)
            query = [("limit", str(page_size)), ("offset", str(offset))]
            if q:
                query.insert(0, ("q", q))
            response = await self._call(
                "GET",
                f"{RECORD_PATH}/{_record_type(record_type)}",
                operation=f"{record_type}.list",
                idempotent=True,
                query=query,
            )
            page = response.json()
            for item in page.get("items", []):
                yield str(item["id"])
            if not page.get("hasMore"):
                return
            offset += page_size

    async def governance_limits(self) -> dict[str, Any]:
        """The account's concurrency limits (article_0625010817; administrator roles only).

        E.g. ``{"accountConcurrencyLimit": 5, "integrationConcurrencyLimit": 2, ...}``; use it to
        size ``concurrency_limit`` (at most the integration's share).
        """
        response = await self._call(
            "GET", "/services/rest/system/v1/governanceLimits", operation="governanceLimits", idempotent=True
        )
        limits: dict[str, Any] = response.json()
        return limits

    # -- SuiteQL -----------------------------------------------------------------------------

    async def _suiteql_page(
        self, query: str, params: Sequence[str], limit: int, offset: int
    ) -> dict[str, Any]:
        check_page(limit, offset)
        body: dict[str, Any] = {"q": query}
        if params:
            body["params"] = params
        response = await self._call(
            "POST",
            SUITEQL_PATH,
            operation="suiteql",
            idempotent=True,  # a query has no side effects
            query=[("limit", str(limit)), ("offset", str(offset))],
            body=body,
            headers={"Prefer": "transient"},  # required by the query service
        )
        page: dict[str, Any] = response.json()
        return page

    async def suiteql(
        self,
        query: str,
        params: Sequence[object] = (),
        *,
        types: Mapping[str, Any] | None = None,
        row_model: type[BaseModel] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Any]:
        """Rows of a SuiteQL query (section_157909186990), offset-paged.

        For result sets up to 100,000 rows; raises :class:`SuiteQLPagingError` before the next page
        would pass that window (use :meth:`suiteql_keyset`). ``params`` bind the ``?`` markers.
        Rows are dicts with lower-case keys, values converted by ``types`` (column -> ``int``,
        ``Decimal``, ``date``, ``bool``...), or instances of ``row_model``.
        """
        rendered = render_params(params)
        check_arity(query, rendered)
        converters = row_converters(types, row_model)
        offset = 0
        while True:
            page = await self._suiteql_page(query, rendered, page_size, offset)
            for item in page.get("items", []):
                row = normalize_row(item, converters)
                yield row_model.model_validate(row) if row_model is not None else row
            if not page.get("hasMore"):
                return
            offset += page_size

    async def suiteql_keyset(
        self,
        query: str,
        params: Sequence[object] = (),
        *,
        key: str = "id",
        start: object = 0,
        types: Mapping[str, Any] | None = None,
        row_model: type[BaseModel] | None = None,
        page_size: int = MAX_PAGE_SIZE,
    ) -> AsyncIterator[Any]:
        """Rows of an arbitrarily large query by keyset paging, each row once.

        ``query`` orders by a unique key and filters on it with ``:last``, e.g.
        ``SELECT id, tranid FROM transaction WHERE type = ? AND id > :last ORDER BY id``. Each page
        is re-issued with ``offset=0`` and ``:last`` bound to the ``key`` column of the previous
        page's last row (section_157960586441 asks for a unique ORDER BY).
        """
        rendered = render_params(params)
        last = render_params([start])[0]
        converters = row_converters(types, row_model)
        key = key.lower()
        while True:
            bound_query, bound_params = bind_keyset(query, rendered, last)
            check_arity(bound_query, bound_params)
            page = await self._suiteql_page(bound_query, bound_params, page_size, 0)
            items = page.get("items", [])
            for item in items:
                row = normalize_row(item, converters)
                yield row_model.model_validate(row) if row_model is not None else row
            if not items or (len(items) < page_size and not page.get("hasMore")):
                return
            raw_last = {k.lower(): v for k, v in items[-1].items()}.get(key)
            if raw_last is None:
                raise ValueError(f"keyset column {key!r} missing from the rows")
            last = str(raw_last)
