"""Bounds on what an inbound record may be (CONTRACTS.md, "Limits on input").

Every bound is a constant here, so the decoder, the topic definitions and the generated contract
document all read the same number. A record that breaks one is refused as ``INVALID_EVENT`` with
the bound named in the reason; nothing reaches a service's use case, MongoDB or NetSuite first.

Why each number:

- ``MAX_EVENT_BYTES``: an event value of at most 1 MiB. Kafka's default ``max.message.bytes``
  (1 MiB plus 12 bytes of batch overhead) is what every inbound topic is created with; brokers that
  do not enforce it (the embedded one) still get the same limit at the edge.
- ``MAX_JSON_DEPTH``: the deepest event of the contract nests 6 levels (envelope, data, lines,
  line, product, properties); 32 leaves room for free-form ``properties`` and stays far below
  Python's recursion limit, so a decoder never recurses out of the stack.
- ``MAX_JSON_NODES``: objects, arrays and numbers in one event value. Each costs an allocation,
  objects and numbers a call into Python too, while decoding (0.3 to 2 us, the most for a number
  with an exponent); 1 MiB of ``[1,1,...]``, ``[[],[],...]`` or ``[{},{},...]`` is 330,000 to
  500,000 of them (110 to 150 ms). 10,000 holds an order of 3,000 lines (a line is three objects,
  with its numbers as decimal strings) and keeps the parsing of any value to a few milliseconds.
- ``MAX_NUMBER_DIGITS``: digits of one JSON number, counting its exponent's magnitude (the digits
  of the value written out in full). Money is bounded more tightly below; this stops a 5,000-digit
  integer before Python converts it (CPython refuses above 4,300 digits), and ``1e15000000``, ten
  characters whose value has fifteen million digits, before anything converts it (turning that
  into an ``int`` took 14 s of the event loop, issue 23).
- ``MAX_ID_LENGTH``: characters of an Ordermentum id, event id or supplier id.
- ``MAX_DECIMAL_DIGITS``: significant digits of an amount, price, quantity or rate. NetSuite keeps
  these in floating-point fields (SuiteQL ``FLOAT``), exact to 15 significant digits.
- ``MAX_AMOUNT_DECIMALS``: NetSuite books currency amounts at a currency precision of 0 or 2
  decimals (NetSuite help, "Currency Decimal Precision", section_N1397831); more would be rounded by
  NetSuite, and the books would no longer add up to what Ordermentum sent.
- ``MAX_PRICE_DECIMALS``, ``MAX_QUANTITY_DECIMALS``, ``MAX_RATE_DECIMALS``: unit prices (NetSuite's
  line ``rate``), quantities and tax rates are not currency amounts and legitimately carry more
  decimals (0.125 kg, 0.055 per page); six is our bound, far inside the 15 significant digits.
- ``MAX_LOCATION_IDS``, ``MAX_TAX_CODES``, ``MAX_MAPPINGS``: entries of the lists and maps of the
  integration settings. Each location becomes one term of one SuiteQL query per stock poll (150,000
  were accepted before these bounds); each tax code and mapping is read for every record. The
  bounds are far above what a supplier configures on the Integration tabs and keep validating one
  settings record to milliseconds; larger catalogues map through the customer and product
  ``netsuite_id`` properties (or ``omctl mappings import``), which have no such bound.
- Dead-letter topics accept what their source topic accepts plus ``DEAD_LETTER_HEADROOM_BYTES`` for
  the context headers; a dead letter that still does not fit is published with its value cut to
  ``TRUNCATED_PART_BYTES`` (and its key and headers, if they are what is too large).
"""

from __future__ import annotations

MAX_EVENT_BYTES = 1_048_576
"""Largest event value the services decode (1 MiB)."""

INBOUND_TOPIC_MAX_MESSAGE_BYTES = 1_048_588
"""``max.message.bytes`` of every topic these services create: Kafka's own default, stated."""

DEAD_LETTER_HEADROOM_BYTES = 65_536
"""Room a dead letter needs beyond its original record for the added context headers."""

DEAD_LETTER_TOPIC_MAX_MESSAGE_BYTES = INBOUND_TOPIC_MAX_MESSAGE_BYTES + DEAD_LETTER_HEADROOM_BYTES
"""``max.message.bytes`` of every ``.dlq`` topic, and the dead-letter producer's request size."""

TRUNCATED_PART_BYTES = 16_384
"""What is kept of a value (key, headers) too large for its dead-letter topic."""

MAX_JSON_DEPTH = 32
"""Deepest nesting of JSON objects and arrays in an event value."""

MAX_JSON_NODES = 10_000
"""Most JSON objects, arrays and numbers, together, in one event value."""

MAX_NUMBER_DIGITS = 40
"""Most digits in one JSON number, its exponent's magnitude counted (`1e39` has 40, `1e40` 41)."""

MAX_ID_LENGTH = 200
"""Most characters in an Ordermentum id, an event id or a supplier id."""

MAX_DECIMAL_DIGITS = 15
"""Most significant digits of an amount, a unit price, a quantity or a rate."""

MAX_AMOUNT_DECIMALS = 2
"""Most decimals of a currency amount (totals, freight, surcharge, payments, payouts, fees)."""

MAX_PRICE_DECIMALS = 6
"""Most decimals of a unit price."""

MAX_QUANTITY_DECIMALS = 6
"""Most decimals of an ordered quantity."""

MAX_RATE_DECIMALS = 6
"""Most decimals of a tax rate (a fraction: ``0.10`` is 10 %)."""

MAX_LOCATION_IDS = 100
"""Most NetSuite locations in `stock.location_ids` (a string '3,1,2' or a list)."""

MAX_TAX_CODES = 100
"""Most entries in `tax_codes` (Ordermentum tax rate -> NetSuite tax code)."""

MAX_MAPPINGS = 50_000
"""Most entries in each of `product_mappings` and `customer_mappings` of the integration settings
(a 1 MiB event holds about 25,000 short pairs, so `MAX_EVENT_BYTES` is the bound met first; 40,000
mappings validate in about 25 ms, `benchmarks/decode_hostile.py`). Wholesale catalogues of 20,000
products exist (the stock tests use one)."""
