"""The repository's own rules: requirements.lock pins everything pyproject.toml asks for, and
no test module imports another (shared helpers live in tests/utils/, shared fixtures in
conftest.py and its plugins)."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
_PIN = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def _locked() -> dict[str, str]:
    """The lock's pins: canonical package name -> version."""
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        found = _PIN.match(line)
        if found:
            pins[canonicalize_name(found[1])] = found[2]
    return pins


def test_the_lock_pins_every_requirement_of_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    wanted = [
        *project["dependencies"],
        *project["optional-dependencies"]["dev"],
        *pyproject["build-system"]["requires"],
    ]
    locked = _locked()
    problems = []
    for line in wanted:
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pinned = locked.get(canonicalize_name(requirement.name))
        if pinned is None:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(pinned, prereleases=True):
            problems.append(f"{requirement.name}{requirement.specifier}, the lock pins {pinned}")
    assert not problems, "requirements.lock is behind pyproject.toml (run `make lock`): " + (
        "; ".join(problems)
    )


def _is_test_module(name: str) -> bool:
    """Whether a dotted module name is a test module or a conftest (pytest's own files)."""
    last = name.rsplit(".", 1)[-1]
    return last == "conftest" or last.startswith("test_") or last.endswith("_test")


def _test_module_imports(source: str, module: str) -> list[str]:
    """`line: name` of each import of a test module or conftest in `source`, the code of the
    dotted `module` (relative imports resolved against it), wherever the import stands."""
    package = module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source_module = ".".join([*base, *([node.module] if node.module else [])])
            # `from tests import test_x` imports a module by the name after `import`.
            names = [source_module] + [f"{source_module}.{alias.name}" for alias in node.names]
        else:
            continue
        found += [f"{node.lineno}: {name}" for name in names if _is_test_module(name)]
    return found


def test_no_test_module_imports_another() -> None:
    imports = {}
    for path in sorted([*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found = _test_module_imports(path.read_text(encoding="utf-8"), module)
        if found:
            imports[str(path.relative_to(ROOT))] = found
    assert imports == {}, "move what is shared to tests/utils/ (fixtures: conftest.py)"


def test_the_import_rule_sees_each_form_of_import() -> None:
    source = """
import tests.test_crew_auth
from tests.test_reports_chat import jpeg
from tests import test_browser, utils
from . import conftest
from .utils.crew import Browser


def late() -> None:
    from tests.test_sandbox_chat import SandboxApp
"""
    assert _test_module_imports(source, "tests.test_example") == [
        "2: tests.test_crew_auth",
        "3: tests.test_reports_chat",
        "4: tests.test_browser",
        "5: tests.conftest",
        "10: tests.test_sandbox_chat",
    ]
