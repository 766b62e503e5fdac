"""`python -m stock_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from om_platform.runtime import main
from stock_sync.app import build
from stock_sync.settings import Settings

if __name__ == "__main__":
    main(Settings, build)
