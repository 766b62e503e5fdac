"""`python -m stock_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from stock_sync.app import build
from stock_sync.settings import Settings


def main() -> None:
    build(Settings()).serve()


if __name__ == "__main__":
    main()
