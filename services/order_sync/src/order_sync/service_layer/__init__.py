"""order_sync use cases; each takes its ports (typing.Protocol) as arguments."""
