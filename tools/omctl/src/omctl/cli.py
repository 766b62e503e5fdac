"""omctl: see, fix and recover the Ordermentum <-> NetSuite services without writing a script.

Settings come from the environment with the services' own names (KAFKA_BOOTSTRAP_SERVERS,
MONGODB_URL, NETSUITE_CREDENTIALS_KEYS, ...; see `omctl._settings`). Every command has --help;
most have --json for scripts.
"""

from __future__ import annotations

import typer

from omctl import _cli_deploy, _cli_integration, _cli_kafka, _cli_ops, _cli_preview, _cli_status, seal

app = typer.Typer(
    name="omctl",
    help=__doc__,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold credentials
)
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
    app()
