"""The tree shows the architecture: which sub-package may import which, checked on the real imports.

- `web/` never imports torch (the page sees runs only as `Step`/`Trace` records): each web module is
  imported in a fresh interpreter and torch must not be in `sys.modules` afterwards.
- `engine/` never imports `web/` or `tinyworld/`, and imports `models/` only for type checking.
- `models/` never imports `web/` or `tinyworld/`.
"""

import ast
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "llada_demo"
WEB = sorted(".".join(p.relative_to(PACKAGE / "web").with_suffix("").parts)
             for p in (PACKAGE / "web").rglob("*.py") if p.stem != "__init__")


def _imports(path: pathlib.Path) -> set[str]:
    """Modules a file imports at run time (imports under `if TYPE_CHECKING:` do not count)."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            skip.update(id(n) for n in ast.walk(node))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_web_lists_the_page_modules():
    assert {"ui", "views", "render", "plots", "export.gif", "export.replay", "chat", "tabs.denoise", "tabs.compare"} <= set(WEB)


@pytest.mark.parametrize("module", WEB)
def test_web_module_does_not_import_torch(module):
    code = f"import sys, llada_demo.web.{module}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent)
    assert out.stdout.strip() == "False", f"llada_demo.web.{module} pulled torch in"


@pytest.mark.parametrize("package, forbidden", [
    ("engine", ("llada_demo.web", "llada_demo.tinyworld", "llada_demo.models")),
    ("models", ("llada_demo.web", "llada_demo.tinyworld")),
])
def test_lower_layers_do_not_import_upwards(package, forbidden):
    for path in (PACKAGE / package).glob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(forbidden)}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_the_package_is_light():
    out = subprocess.run([sys.executable, "-c", "import sys, llada_demo; print('torch' in sys.modules)"],
                         capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "False"
