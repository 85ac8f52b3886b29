"""The layers say what they are: the core never reaches up into the app, and no module uses
another's private names. Read from the source (imports as the AST has them), nothing is run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.constants import ROOT

PROJECT_PACKAGES = ("ei_anomaly", "components", "pages")
APP_LAYERS = ("components", "pages", "streamlit")


def python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(absolute module, imported names, line) for every import statement of the file."""
    name = module_name(path) if ROOT in path.parents else path.stem  # a file outside the checkout: a top-level module
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base, [a.name for a in node.names], node.lineno


@pytest.mark.parametrize("path", python_files("ei_anomaly"), ids=lambda p: module_name(p))
def test_the_core_never_imports_the_app_or_streamlit(path):
    wrong = [f"line {line}: {module}" for module, _, line in imports(path) if module.split(".")[0] in APP_LAYERS]
    assert not wrong, f"{module_name(path)} imports the app's layer: {wrong}"


@pytest.mark.parametrize("path", python_files("components"), ids=lambda p: module_name(p))
def test_components_never_import_pages(path):
    assert not [m for m, _, _ in imports(path) if m.split(".")[0] == "pages"]


@pytest.mark.parametrize(
    "path",
    [*python_files(*PROJECT_PACKAGES, "bench", "scripts", "tests"), ROOT / "app.py"],
    ids=lambda p: module_name(p),
)
def test_no_module_imports_another_modules_private_names(path):
    private = [
        f"line {line}: {module}.{name}"
        for module, names, line in imports(path)
        if module.split(".")[0] in PROJECT_PACKAGES
        for name in names
        if name.startswith("_") and not name.startswith("__")
    ]
    assert not private, f"{module_name(path)} imports private names: {private}"


def test_the_checker_sees_relative_imports():
    """The rules above would pass vacuously if relative imports were misread."""
    found = {m for m, _, _ in imports(ROOT / "ei_anomaly" / "report" / "render.py")}
    assert "ei_anomaly.figures.text" in found and "ei_anomaly.review" in found


def test_nothing_below_the_local_api_imports_it():
    """The local API (`ei_anomaly/local_api/`: the stub, its HTTP server and in-memory transport) sits
    above the client and the blocks: it imports them, never the other way round. In the core only the
    CLI's `serve` command reaches it, and the app never does."""
    local_api = ROOT / "ei_anomaly" / "local_api"
    cli = ROOT / "ei_anomaly" / "cli.py"

    def reaches_it(module: str, names: list[str]) -> bool:
        return module.startswith("ei_anomaly.local_api") or (module == "ei_anomaly" and "local_api" in names)

    wrong = [
        f"{path.relative_to(ROOT)} line {line}: {module}"
        for path in [*python_files(*PROJECT_PACKAGES), ROOT / "app.py"]
        if local_api not in path.parents and path != cli
        for module, names, line in imports(path)
        if reaches_it(module, names)
    ]
    assert not wrong, f"modules below the local API import it: {wrong}"
    assert any(reaches_it(m, n) for m, n, _ in imports(cli))  # the check sees the one import it allows


def is_test_module(module: str) -> bool:
    """`tests.app.test_app`, `tests.conftest`, a bare `test_cli`: modules a test must not import."""
    parts = module.split(".")
    in_tests = parts[0] == "tests" or parts[0].startswith("test_")
    return in_tests and any(p.startswith("test_") or p == "conftest" for p in parts)


def test_no_test_module_imports_another_test_module():
    """Shared set-up reaches the tests as fixtures (conftest.py) or from tests/support/, never by
    importing another test module (or a conftest), absolutely or relatively."""
    test_modules = [p for p in python_files("tests") if p.name.startswith("test_")]
    assert len(test_modules) > 20 and ROOT / "tests" / "app" / "test_app.py" in test_modules
    wrong = [
        f"{path.relative_to(ROOT)} line {line}: {module}"
        for path in test_modules
        for module, names, line in imports(path)
        if is_test_module(module) or any(is_test_module(f"{module}.{name}") for name in names)
    ]
    assert not wrong, f"test modules import test modules: {wrong}"
    assert is_test_module("tests.app.test_app") and is_test_module("tests.conftest")
    assert not is_test_module("tests.support.apptest") and not is_test_module("ei_anomaly.features")


def calls(path: Path, attribute: str) -> list[int]:
    """Lines where the file calls `<anything>.<attribute>(...)`."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attribute
    ]


def test_every_chart_leaves_through_the_one_escaping_helper():
    """Pages draw Plotly charts only with `components.charts.show_chart`, which escapes the figure's
    text (`ei_anomaly.figures.text.safe_figure`); the report escapes its figures with the same function."""
    app_files = [*python_files("pages", "components"), ROOT / "app.py"]
    direct = [
        f"{p.relative_to(ROOT)} line {line}"
        for p in app_files
        if p != ROOT / "components" / "charts.py"
        for line in calls(p, "plotly_chart")
    ]
    assert not direct, f"st.plotly_chart outside components/charts.py: {direct}"
    assert calls(ROOT / "components" / "charts.py", "plotly_chart")
    render = (ROOT / "ei_anomaly" / "report" / "render.py").read_text()
    assert "safe_figure(fig)" in render


BLOCK_IMPLEMENTATIONS = ROOT / "ei_anomaly" / "blocks"
KIND_CLASSES = {"KMeansBlock", "GmmBlock"}
KIND_MODULES = {"ei_anomaly.blocks.kmeans", "ei_anomaly.blocks.gmm"}
KIND_ATTRIBUTES = {"n_components", "n_clusters", "centers", "max_errors", "gmm", "tflite"}


def kind_questions(path: Path) -> list[str]:
    """Where the file asks which kind a block is: a kind class checked or imported, `BlockKind`'s
    members compared, a kind's own attribute looked up by name."""
    found = [
        f"line {line}: imports {module}"
        for module, names, line in imports(path)
        if module in KIND_MODULES or KIND_CLASSES & set(names)
    ]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "BlockKind":
            if node.attr in ("KMEANS", "GMM"):
                found.append(f"line {node.lineno}: BlockKind.{node.attr}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [a.id for a in ast.walk(node) if isinstance(a, ast.Name)]
            if node.func.id in ("isinstance", "issubclass") and KIND_CLASSES & set(args):
                found.append(f"line {node.lineno}: {node.func.id}(..., a kind's class)")
            strings = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id in ("getattr", "hasattr") and KIND_ATTRIBUTES & set(strings):
                found.append(f"line {node.lineno}: {node.func.id}(..., {strings})")
        elif isinstance(node, ast.Compare):
            texts = [ast.unparse(part) for part in (node.left, *node.comparators)]
            if any(".kind" in t and ("anomaly" in t or "BlockKind" in t) for t in texts) or any(
                t in ('"anomaly"', '"anomaly-gmm"', "'anomaly'", "'anomaly-gmm'") for t in texts
            ):
                found.append(f"line {node.lineno}: compares a block's kind ({' vs '.join(texts)})")
    return found


@pytest.mark.parametrize(
    "path",
    [p for p in python_files(*PROJECT_PACKAGES) if BLOCK_IMPLEMENTATIONS not in p.parents] + [ROOT / "app.py"],
    ids=lambda p: module_name(p),
)
def test_outside_the_block_implementations_no_code_asks_which_kind_a_block_is(path):
    """What differs between K-means and GMM blocks is a method of the block (`AnomalyBlock`): the
    review, the report, the commands and the app never switch on the kind."""
    found = kind_questions(path)
    assert not found, f"{module_name(path)} asks which kind a block is: {found}"


def test_the_kind_check_sees_each_way_of_asking(tmp_path):
    """The rule above would pass vacuously if it missed the ways code used to ask."""
    asks = tmp_path / "asks.py"
    asks.write_text(
        "from ei_anomaly.blocks.gmm import GmmBlock\n"
        "a = isinstance(m, GmmBlock)\n"
        "b = m.kind is BlockKind.GMM\n"
        'c = getattr(m, "n_components", 0)\n'
        'd = m.kind.value == "anomaly-gmm"\n'
    )
    assert len(kind_questions(asks)) == 5
    assert kind_questions(ROOT / "ei_anomaly" / "alarms" / "policy.py") == []
