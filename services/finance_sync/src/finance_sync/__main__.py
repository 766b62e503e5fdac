"""`python -m finance_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from finance_sync.app import build
from finance_sync.settings import Settings


def main() -> None:
    build(Settings()).serve()


if __name__ == "__main__":
    main()
