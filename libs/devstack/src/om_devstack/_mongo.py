"""The Mongo component: secantusdb, in memory or on a storage path, standalone by default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from om_devstack._tools import venv_script

if TYPE_CHECKING:
    from om_devstack.stack import EmbeddedStack

__all__ = ["start_mongo"]


async def start_mongo(stack: EmbeddedStack) -> None:
    """Start secantusdb on ``stack`` (``--sync-on-commit`` when configured)."""
    storage = str(stack.mongo_path) if stack.mongo_path is not None else ":memory:"
    # An explicit, empty config keeps a stray ./secantusd.toml from being picked up.
    config = stack.workdir / "secantusd.toml"
    config.touch()
    script = venv_script("secantusd-py")

    def argv(port: int) -> list[str]:
        args = [script, "--host", "127.0.0.1", "--port", str(port)]
        args += ["--storage-path", storage, "--log-level", "WARNING", "--config", str(config)]
        if stack.mongo_standalone:
            args.append("--standalone")
        if stack.mongo_sync_on_commit:
            args.append("--sync-on-commit")
        return args

    await stack._launch("mongo", argv, stack._child_env())
