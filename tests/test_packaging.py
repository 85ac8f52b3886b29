"""`pip install .` gives an importable `ei_anomaly`, its demo data, and an `ei-anomaly` command.

The wheel is built from a copy of the sources (setuptools writes build/ and *.egg-info beside
pyproject.toml) with the installed setuptools, no build isolation and no network, then installed
into a temporary target and run from outside the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts.sync_requirements import load
from tests.support.constants import ROOT

PROJECT = load((ROOT / "pyproject.toml").read_text())["project"]


def package_files() -> set[str]:
    """Every file of the package in the checkout, as a wheel names it."""
    return {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "ei_anomaly").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "ei_anomaly", src / "ei_anomaly", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "--no-index", "-w", out],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = out.glob("anomaly_lens-*.whl")
    return built


def test_wheel_holds_the_package_its_data_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(info).decode()
        entry_points = zf.read(info.replace("METADATA", "entry_points.txt")).decode()
    assert package_files() <= names
    assert {f"ei_anomaly/data/demo/{n}" for n in ("metadata.json", "session_with_anomalies.csv")} <= names
    assert not [n for n in names if n.split("/")[0] in ("components", "pages", "tests", "app.py")]
    assert "[console_scripts]\nei-anomaly = ei_anomaly.cli:main" in entry_points
    # Every dependency pyproject.toml declares for the wheel, and only those (not the app's Streamlit).
    lines = metadata.splitlines()
    required = sorted(line.removeprefix("Requires-Dist: ") for line in lines if line.startswith("Requires-Dist: "))
    extras = PROJECT["optional-dependencies"]
    assert required == sorted(
        [
            *PROJECT["dependencies"],
            *(f'{requirement}; extra == "{extra}"' for extra, listed in extras.items() for requirement in listed),
        ]
    )
    assert "urllib3>=2.3" in required  # the client calls HTTPResponse.read1
    assert {line.removeprefix("Provides-Extra: ") for line in lines if line.startswith("Provides-Extra: ")} == {
        "dask",
        "report",
    }
    assert "ei_anomaly/report/templates/report.html.j2" in names


def test_installed_command_runs_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", target, wheel],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    command = target / "bin" / "ei-anomaly"
    env = {**os.environ, "PYTHONPATH": str(target)}
    work = tmp_path / "elsewhere"
    work.mkdir()

    def run(*args: object) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [command, *map(str, args)], cwd=work, env=env, capture_output=True, text=True, timeout=120
        )
        assert "Traceback" not in done.stderr
        return done

    helped = run("--help")
    assert helped.returncode == 0
    for sub in ("score", "batch", "fetch", "serve"):
        assert sub in helped.stdout

    where = subprocess.run(
        [sys.executable, "-c", "import ei_anomaly.demo as d; print(d.DEMO_DIR)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    demo = Path(where.stdout.strip())
    assert demo == target / "ei_anomaly" / "data" / "demo"

    scored = run("score", demo / "metadata.json", demo / "session_with_anomalies.csv", "-o", "out.parquet")
    assert scored.returncode == 0, scored.stderr
    assert "595 rows" in scored.stderr and (work / "out.parquet").stat().st_size > 0

    # The report needs only the package and its `report` extra (installed here), not the checkout.
    reported = run("report", demo / "metadata.json", "--features", demo / "session_with_anomalies.csv", "-o", "r.html")
    assert reported.returncode == 0, reported.stderr
    html = (work / "r.html").read_text()
    assert "Continuous motion" in html and "Plotly.newPlot" in html and "session_with_anomalies.csv" in html

    failed = run("score", "missing.json", demo / "session_with_anomalies.csv")
    assert failed.returncode == 2  # exit codes reach the shell through the console script
    assert failed.stderr.startswith("error: metadata: cannot read missing.json")
