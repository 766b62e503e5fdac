"""omctl: see, fix and recover the Ordermentum <-> NetSuite services without writing a script.

Settings come from the environment with the services' own names (KAFKA_BOOTSTRAP_SERVERS,
KAFKA_SECURITY_PROTOCOL, MONGODB_URL, NETSUITE_CREDENTIALS_KEYS, ...; see `omctl._settings`).
Every command has --help; most have --json for scripts and --wide for tables.
"""

from __future__ import annotations

from typing import Annotated

import typer

from omctl import _cli_deploy, _cli_integration, _cli_kafka, _cli_ops, _cli_preview, _cli_status, seal
from omctl._common import state

app = typer.Typer(
    rich_markup_mode=None,
    name="omctl",
    help=__doc__,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
    # -h everywhere: click hands a context's help option names down to every subcommand's
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"omctl {version('omctl')}")
        raise typer.Exit()


@app.callback()
def root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an unexpected error instead of one line.")
    ] = False,
    show_version: Annotated[  # noqa: ARG001 -- typer acts on it in the eager callback
        bool,
        typer.Option("--version", help="Print omctl's version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """See, fix and recover the Ordermentum <-> NetSuite services."""
    state.debug = debug


app.command("status")(_cli_status.status)
app.command("replay")(_cli_kafka.replay)
app.add_typer(_cli_kafka.dlq_app, name="dlq")
app.command("resync")(_cli_ops.resync)
app.add_typer(_cli_ops.run_app, name="run")
app.add_typer(_cli_ops.cursor_app, name="cursor")
app.add_typer(_cli_ops.commands_app, name="commands")
app.add_typer(_cli_ops.mappings_app, name="mappings")
app.add_typer(_cli_integration.integration_app, name="integration")
app.command("preview")(_cli_preview.preview)
app.command("seal")(seal.seal)
app.add_typer(_cli_deploy.deploy_app, name="deploy")


def main() -> None:
    import logging
    import sys

    if "--debug" in sys.argv[1:]:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    else:
        # The clients' own log lines ("Unable connect to ...") would repeat, less clearly, the one
        # line omctl prints; --debug shows them.
        logging.basicConfig(handlers=[logging.NullHandler()], level=logging.CRITICAL)
    app()
