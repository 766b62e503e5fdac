"""`omctl deploy render|validate`: the Kubernetes manifests (see omctl.manifests)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from omctl import _output
from omctl._common import JsonOpt, fail
from omctl._output import emit_json

if TYPE_CHECKING:
    from omctl import manifests

deploy_app = typer.Typer(
    rich_markup_mode=None,
    help="Kubernetes manifests: render from values, validate against schemas.",
    no_args_is_help=True,
)

ValuesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--values", "-f", help="Values files merged in order (default: the repository's deploy/values.yaml)."
    ),
]
DeployDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--deploy-dir", help="Holds values.schema.json and schemas/ (default: the repository's deploy/)."
    ),
]


def deploy_dir(given: Path | None) -> Path:
    """The deploy directory: as given, else the repository's (found from omctl's own location, so
    the command works from any directory), else one under the current directory."""
    if given is not None:
        if not (given / "values.schema.json").is_file():
            fail(f"--deploy-dir {given}: no values.schema.json there")
        return given
    candidates = [
        folder / "deploy"
        for start in (Path(__file__).resolve(), Path.cwd().resolve())
        for folder in (start, *start.parents)
        if (folder / "deploy" / "values.schema.json").is_file()
    ]
    if not candidates:
        fail("cannot find the repository's deploy/ directory: pass --deploy-dir")
    return candidates[0]


def _load(values: list[Path] | None, directory: Path) -> list[dict[str, Any]]:
    from omctl import manifests

    try:
        loaded = manifests.load_values(
            values or [directory / "values.yaml"], directory / "values.schema.json"
        )
    except manifests.ValuesError as exc:
        fail(f"invalid values: {exc}")
    except OSError as exc:
        fail(f"cannot read a values file: {exc.strerror or exc}: {exc.filename}")
    return manifests.render(loaded, directory)


@deploy_app.command("render")
def render(
    values: ValuesOpt = None,
    deploy_dir_opt: DeployDirOpt = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; stdout when absent.")
    ] = None,
) -> None:
    """Render every manifest as one YAML stream (kubectl apply -f -)."""
    from omctl import manifests

    text = manifests.to_yaml(_load(values, deploy_dir(deploy_dir_opt)))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@deploy_app.command("validate")
def validate(
    values: ValuesOpt = None,
    deploy_dir_opt: DeployDirOpt = None,
    kubernetes_version: Annotated[
        str, typer.Option("--kubernetes-version", help="Target cluster version.")
    ] = "1.31.0",
    as_json: JsonOpt = False,
) -> None:
    """Render and validate against the Kubernetes schemas (kubernetes-validate) and the CRD schemas."""
    from omctl import manifests

    directory = deploy_dir(deploy_dir_opt)
    objects = _load(values, directory)
    problems = manifests.validate(objects, directory / "schemas", kubernetes_version)
    if as_json:
        emit_json({"objects": len(objects), "problems": problems})
    else:
        for problem in problems:
            _output.console.print(f"[red]{problem}[/red]")
        _output.console.print(f"{len(objects)} object(s), {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


__all__ = ["deploy_app", "manifests"]
