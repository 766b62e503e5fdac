"""`omctl deploy render|validate`: the Kubernetes manifests (see omctl.manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from omctl import manifests
from omctl._common import JsonOpt, fail
from omctl._output import console, emit_json

deploy_app = typer.Typer(
    help="Kubernetes manifests: render from values, validate against schemas.", no_args_is_help=True
)

ValuesOpt = Annotated[
    list[Path] | None,
    typer.Option("--values", "-f", help="Values files merged in order (default deploy/values.yaml)."),
]
DeployDirOpt = Annotated[Path, typer.Option("--deploy-dir", help="Holds values.schema.json and schemas/.")]


def _load(values: list[Path] | None, deploy_dir: Path) -> list[dict[str, Any]]:
    try:
        loaded = manifests.load_values(
            values or [deploy_dir / "values.yaml"], deploy_dir / "values.schema.json"
        )
    except manifests.ValuesError as exc:
        fail(f"invalid values: {exc}")
    except FileNotFoundError as exc:
        fail(str(exc))
    return manifests.render(loaded)


@deploy_app.command("render")
def render(
    values: ValuesOpt = None,
    deploy_dir: DeployDirOpt = Path("deploy"),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; stdout when absent.")
    ] = None,
) -> None:
    """Render every manifest as one YAML stream (kubectl apply -f -)."""
    text = manifests.to_yaml(_load(values, deploy_dir))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@deploy_app.command("validate")
def validate(
    values: ValuesOpt = None,
    deploy_dir: DeployDirOpt = Path("deploy"),
    kubernetes_version: Annotated[
        str, typer.Option("--kubernetes-version", help="Target cluster version.")
    ] = "1.31.0",
    as_json: JsonOpt = False,
) -> None:
    """Render and validate against the Kubernetes schemas (kubernetes-validate) and the CRD schemas."""
    objects = _load(values, deploy_dir)
    problems = manifests.validate(objects, deploy_dir / "schemas", kubernetes_version)
    if as_json:
        emit_json({"objects": len(objects), "problems": problems})
    else:
        for problem in problems:
            console.print(f"[red]{problem}[/red]")
        console.print(f"{len(objects)} object(s), {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)
