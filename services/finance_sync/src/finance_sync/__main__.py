"""`python -m finance_sync`: run the service until SIGTERM (health and metrics on HTTP_PORT)."""

from finance_sync.app import build
from finance_sync.settings import Settings
from om_platform.runtime import main

if __name__ == "__main__":
    main(Settings, build)
