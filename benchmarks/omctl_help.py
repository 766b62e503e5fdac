"""Wall time of `omctl --help` (target: under 0.5 s), against the interpreter's own start-up.

    .venv/bin/python benchmarks/omctl_help.py [--runs 7]

omctl imports what a command needs when the command runs (aiokafka, pymongo, the contracts, the
manifest renderer); `--help` needs only typer. Baselines measured in the same run: a bare
`python -c pass` and `python -c "import typer"` (the floor any typer CLI pays). The slowest
imports of one `--help` are listed from `python -X importtime`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGET_SECONDS = 0.5


def wall(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def slowest_imports(limit: int = 5) -> list[tuple[int, str]]:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "omctl", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = (part.strip() for part in line.split("|"))
            if cumulative.isdigit():
                rows.append((int(cumulative), name))
    return sorted(rows, reverse=True)[:limit]


def main(runs: int) -> int:
    python = wall([sys.executable, "-c", "pass"], runs)
    typer = wall([sys.executable, "-c", "import typer"], runs)
    helped = wall([sys.executable, "-m", "omctl", "--help"], runs)
    print(f"runs: {runs} (medians)")
    print(f"  python -c pass        {python:.3f} s")
    print(f"  python -c import typer {typer:.3f} s")
    print(
        f"  omctl --help          {helped:.3f} s = {helped / typer:.2f}x the typer import, {helped / python:.1f}x bare python"
    )
    print("  slowest imports of one --help (cumulative µs):")
    for micros, name in slowest_imports():
        print(f"    {micros:>8} {name}")
    ok = helped < TARGET_SECONDS
    print(
        f"RESULT: {'PASS' if ok else 'FAIL'} omctl --help {helped:.3f} s (target < {TARGET_SECONDS} s), "
        f"{helped / typer:.2f}x typer's own import"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    sys.exit(main(parser.parse_args().runs))
