"""The ``demo`` seed: one sandbox account with fixed credentials, customers, items and stock."""

from __future__ import annotations

from ._simulator import Simulator
from ._tba import TbaCredentials

__all__ = ["DEMO_ACCOUNT", "DEMO_CREDENTIALS", "seed_demo"]

DEMO_ACCOUNT = "1234567_SB1"
#: Fixed, public demo secrets (never used anywhere but the local simulator).
DEMO_CREDENTIALS = TbaCredentials(
    consumer_key="demo-consumer-key",
    consumer_secret="demo-consumer-secret",  # noqa: S106 - demo-only value
    token_id="demo-token-id",  # noqa: S106 - demo-only value
    token_secret="demo-token-secret",  # noqa: S106 - demo-only value
)


def seed_demo(sim: Simulator) -> TbaCredentials:
    """Create the demo account with a few customers, items (incl. freight), locations, stock.

    Items and freight default to tax code 7 (GST 10 %), the surcharge to 8 (GST-free).
    """
    creds = sim.add_account(DEMO_ACCOUNT, concurrency_limit=5, credentials=DEMO_CREDENTIALS)
    account = sim.account(DEMO_ACCOUNT)
    locations = [account.add_location(name) for name in ("Sydney DC", "Melbourne DC", "Brisbane DC")]
    for n, name in enumerate(("Cafe Aroma", "Bistro Nord", "Green Grocer"), start=1):
        account.add_customer(name, external_id=f"OM-CUS-{n}", email=f"accounts{n}@example.com")
    for n in range(1, 21):
        item = account.add_item(f"SKU-{n:04d}", f"Product {n}", base_price=f"{n}.50", tax_code="7")
        for i, location in enumerate(locations):
            account.set_stock(item, location, on_hand=100 + n + i, available=90 + n + i)
    account.add_item("FREIGHT", "Freight", item_type="serviceSaleItem", base_price="15.00", tax_code="7")
    account.add_item("SURCHARGE", "Card surcharge", item_type="otherChargeSaleItem", tax_code="8")
    return creds
