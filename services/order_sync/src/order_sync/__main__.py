"""`python -m order_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from om_platform.runtime import main
from order_sync.app import build
from order_sync.settings import Settings

if __name__ == "__main__":
    main(Settings, build)
