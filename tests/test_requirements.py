"""pyproject.toml is the one dependency list: requirements.txt and requirements-dev.txt are what
`python -m scripts.sync_requirements` writes from it, and every package the code imports is declared
in a list that installs that code (the wheel's for `ei_anomaly`, requirements.txt's for the app,
requirements-dev.txt's for tests, benchmarks and scripts). Read from the source, nothing is run."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions

import pytest

from scripts.sync_requirements import FILES, load, render, table
from tests.support.constants import ROOT

PYPROJECT_TEXT = (ROOT / "pyproject.toml").read_text()
PYPROJECT = load(PYPROJECT_TEXT)
LOCAL = {"ei_anomaly", "components", "pages", "tests", "bench", "scripts", "app"}
# Imported, but installed by another requirement's extra: `dask[distributed]` installs `distributed`.
INSTALLED_BY = {"distributed": "dask"}


def test_the_requirements_files_are_generated_from_pyproject():
    stale = [name for name, text in render(PYPROJECT_TEXT).items() if (ROOT / name).read_text() != text]
    assert not stale, (
        f"{stale} differ from pyproject.toml: edit pyproject.toml, then run python -m scripts.sync_requirements"
    )


def test_the_generated_files_keep_the_reasons_for_their_pins():
    texts = render(PYPROJECT_TEXT)
    app, dev = texts["requirements.txt"], texts["requirements-dev.txt"]
    assert app.startswith("# Generated from pyproject.toml by `python -m scripts.sync_requirements`")
    assert "\nurllib3>=2.3  # HTTPResponse.read1" in app
    assert "components/streamlit_compat.py" in app and "\nstreamlit>=1.52,<1.68\n" in app
    assert "\nruff==0.17.6  # pinned" in dev and "\nmypy==2.4.1  # pinned" in dev
    assert "\n-r requirements.txt\n" in dev


def name(requirement: str) -> str:
    """The distribution's normalized name (PEP 503): `dask[distributed]>=2024.8` -> `dask`."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group()).lower()


def installed_by(file_name: str) -> set[str]:
    """Every distribution a requirements file names, with the files it includes (`-r`)."""
    (file,) = (f for f in FILES if f.name == file_name)
    included = installed_by(file.includes) if file.includes else set()
    return included | {name(r) for dotted in file.lists for r in table(PYPROJECT, dotted)}


WHEEL = {name(r) for r in PYPROJECT["project"]["dependencies"]} | {
    name(r) for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra
}
LAYERS = {  # code -> what installs it
    ("ei_anomaly",): WHEEL,
    ("app.py", "components", "pages"): installed_by("requirements.txt"),
    ("tests", "bench", "scripts"): installed_by("requirements-dev.txt"),
}


def third_party_imports(*roots: str) -> dict[str, str]:
    """Top-level module -> the first file importing it, for modules outside the project and the stdlib."""
    found: dict[str, str] = {}
    for root in roots:
        path = ROOT / root
        for file in sorted([path] if path.is_file() else path.rglob("*.py")):
            for node in ast.walk(ast.parse(file.read_text(), str(file))):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    top = module.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in LOCAL:
                        found.setdefault(top, file.relative_to(ROOT).as_posix())
    return found


@pytest.mark.parametrize("roots", LAYERS, ids=lambda roots: "+".join(roots))
def test_every_imported_package_is_declared_where_that_code_is_installed(roots):
    distributions = packages_distributions()
    declared = LAYERS[roots]
    undeclared = []
    for module, where in third_party_imports(*roots).items():
        # A module not installed here (tomli on 3.11+) is taken to come from a distribution of its name.
        names = {name(d) for d in distributions.get(module, [module])}
        if module in INSTALLED_BY:
            names.add(INSTALLED_BY[module])
        if not names & declared:
            undeclared.append(f"{module} ({where}; from {sorted(names)})")
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_import_check_sees_the_core_imports():
    """The check above would pass vacuously if the scan missed imports."""
    core = third_party_imports("ei_anomaly")
    assert {"numpy", "requests", "urllib3", "numba", "plotly", "jinja2", "ai_edge_litert"} <= set(core)
