"""The day's second supplier, on OAuth 2.0 client credentials (M2M): from NetSuite 2027.1 a new
integration cannot use TBA, so this is how every supplier who connects from then on looks.

Leaf & Co's certificate expires in 20 days: the connection status warns once (CREDENTIALS_EXPIRING).
In the afternoon NetSuite expires its access token while orders arrive; nobody notices (one new
token, the refused requests retried, no failed order, no status change). Then the supplier rotates
the certificate: uploads a new one, saves its id and key in Ordermentum, revokes the old one; the
warning ends and no order fails.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo import AsyncMongoClient
from rich.console import Console

from om_contracts import KeyRing
from om_demo import _world as world
from om_demo._harness import Harness, OtherSupplier

SUPPLIER = "sup_leaf_co"
ACCOUNT = "7654322_SB1"
CLIENT_ID = "leaf-co-ordermentum-m2m"
VENUE = world.Venue("cus_tea_house", "The Tea House", "accounts@teahouse.example")
ITEMS = (
    world.Item("prd_sencha_500g", "TEA-SENCHA-500G", "Sencha 500g", Decimal("38.00"), (0, 0, 0)),
    world.Item("prd_earl_grey_1kg", "TEA-EG-1KG", "Earl Grey 1kg", Decimal("44.50"), (0, 0, 0)),
)


class M2MSupplier(OtherSupplier):
    def __init__(self, harness: Harness, console: Console, mongo: AsyncMongoClient[dict[str, Any]]) -> None:
        super().__init__(
            harness, console, mongo, SUPPLIER, ACCOUNT, datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
        )
        self.integration: dict[str, Any] = {}
        self.keys: list[str] = []
        """The private keys' PEM bodies (for the secrets check)."""
        self.orders: dict[str, set[str]] = {}

    def say(self, text: str) -> None:
        self.console.print(f"[bold cyan]▸[/] {text}")

    async def certificate(self, certificate_id: str, days: int) -> dict[str, Any]:
        """A new key and certificate mapped in NetSuite; the sealed credentials Ordermentum keeps."""
        key = ec.generate_private_key(ec.SECP256R1())
        public = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.keys.append(private.splitlines()[1])
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
        await self.sim.call(
            "POST",
            "oauth2-clients",
            {
                "client_id": CLIENT_ID,
                "certificate_id": certificate_id,
                "public_key_pem": public.decode(),
                "expires_at": expires.timestamp(),
            },
        )
        ring: KeyRing = self.h.keyring
        return {
            "kind": "oauth2_m2m",
            "client_id": ring.seal(CLIENT_ID).token,
            "certificate_id": ring.seal(certificate_id).token,
            "private_key": ring.seal(private).token,
            "certificate_expires_at": expires.isoformat(),
        }

    async def connect(self) -> set[str]:
        self.say(
            "A second supplier, Leaf & Co, connects NetSuite with OAuth 2.0 client credentials (M2M: no TBA "
            "after 2027.1); its certificate expires in 20 days. 2 orders"
        )
        await self.sim.create_account(limit=3)
        self.ids[VENUE.customer_id] = await self.sim.add_customer(VENUE)
        for item in ITEMS:
            self.ids[item.product_id] = await self.sim.add_item(item)
        self.integration = {
            "account_id": ACCOUNT,
            "credentials": await self.certificate("leaf-cert-2025", days=20),
            "sync_type": "orders",
            "concurrency_limit": 3,
            "customer_mappings": {VENUE.customer_id: self.ids[VENUE.customer_id]},
            "product_mappings": {item.product_id: self.ids[item.product_id] for item in ITEMS},
        }
        await self.configure()
        return await self.place("morning", 1)

    async def configure(self) -> None:
        """Publish the integration and wait until order_sync applied it (as it is long before orders)."""
        await self.emit("ordermentum.integrations.v1", "integration.netsuite.configured", self.integration)
        wanted = self.integration["credentials"]["certificate_id"]
        collection = self.mongo["om_order_sync"]["integrations"]
        for _ in range(300):
            document = await collection.find_one({"_id": SUPPLIER, "status": "configured"})
            if document and document["settings"]["credentials"].get("certificate_id") == wanted:
                return
            await asyncio.sleep(0.2)  # another process writes it: nothing to await
        raise TimeoutError("order_sync did not apply Leaf & Co's integration in time")

    async def place(self, part: str, first: int) -> set[str]:
        placed = set()
        for n, item in enumerate(ITEMS, start=first):
            order_id = f"ord_leaf_{n:02d}"
            order = world.order_payload(
                order_id, f"LEAF-{n:04d}", VENUE, [(item, 2)], placed_at=self.clock, freight=None
            )
            await self.emit("ordermentum.orders.v1", "order.placed", order)
            placed.add(order_id)
        self.orders[part] = placed
        return placed

    async def token_expires(self) -> set[str]:
        self.say(
            "Afternoon: NetSuite expires Leaf & Co's access token while 2 more orders arrive (nobody notices)"
        )
        await self.sim.call("POST", "oauth2-tokens/expire", {})
        return await self.place("afternoon", 3)

    async def rotate(self) -> set[str]:
        self.say(
            "Leaf & Co rotates its certificate: uploads a new one, saves its id and key in Ordermentum, "
            "revokes the old one; 2 more orders"
        )
        old = "leaf-cert-2025"
        self.integration = {
            **self.integration,
            "credentials": await self.certificate("leaf-cert-2026", days=730),
        }
        await self.configure()
        await self.sim.call("POST", "oauth2-clients/revoke", {"client_id": CLIENT_ID, "certificate_id": old})
        return await self.place("rotated", 5)

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self.sim.call("GET", "stats")
        return stats
