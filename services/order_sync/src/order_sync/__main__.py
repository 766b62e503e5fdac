"""`python -m order_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from order_sync.app import build
from order_sync.settings import Settings


def main() -> None:
    build(Settings()).serve()


if __name__ == "__main__":
    main()
