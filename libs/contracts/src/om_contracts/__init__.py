"""Event contracts with the Ordermentum platform: pydantic models, JSON Schema, sealed credentials."""
