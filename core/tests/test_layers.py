"""core is the bottom layer: none of its modules imports a feature app.

Read from the source (core/tests/source_imports.py): every import a module runs
counts, a late one inside a function included; those under `if TYPE_CHECKING:` don't.
core's tests are not checked: they may import feature apps (they need users).
"""

from __future__ import annotations

from pathlib import Path

from core.tests.source_imports import imports_of

CORE = Path(__file__).resolve().parents[1]
FEATURE_APPS = frozenset({"accounts", "resources", "settings_app", "console", "ops"})


def _core_modules() -> list[Path]:
    tests = CORE / "tests"
    return [path for path in sorted(CORE.rglob("*.py")) if tests not in path.parents]


def _imports(source: str) -> list[tuple[int, str]]:
    # No importer given: a relative import resolves within its own package, never
    # to another app, which is all these checks ask.
    return [(found.line, found.module) for found in imports_of(source)]


def _feature_app_imports(source: str) -> list[tuple[int, str]]:
    return [
        (line, name)
        for line, name in _imports(source)
        if name.split(".")[0] in FEATURE_APPS
    ]


def test_core_imports_no_feature_app():
    offending = [
        f"{path.relative_to(CORE.parent)}:{line} imports {name}"
        for path in _core_modules()
        for line, name in _feature_app_imports(path.read_text())
    ]
    assert not offending, "core imports a feature app:\n" + "\n".join(offending)


def test_the_check_sees_every_core_module_but_its_tests():
    modules = {path.relative_to(CORE).as_posix() for path in _core_modules()}
    assert {"views.py", "management/commands/dev_secrets.py"} <= modules
    assert not any(module.startswith("tests/") for module in modules)


def test_late_imports_count_and_type_checking_ones_do_not():
    source = (
        "from typing import TYPE_CHECKING\n"
        "import accounts.models\n"
        "if TYPE_CHECKING:\n"
        "    from resources.models import Resource\n"
        "else:\n"
        "    from settings_app import models\n"
        "def run():\n"
        "    from ops import tunnel\n"
        "    from . import files\n"
    )
    assert _feature_app_imports(source) == [
        (2, "accounts.models"),
        (6, "settings_app"),
        (8, "ops"),
    ]


# Which project packages each app's own modules may import: layers run one way.
# accounts is the base every feature app builds on; resources and settings_app
# know only it; console (the admin API) and ops (operators' commands) read the
# apps below them; config wires everything together.
MAY_IMPORT = {
    "accounts": {"core", "config"},
    "resources": {"accounts", "core", "config"},
    "settings_app": {"accounts", "core", "config"},
    "console": {"accounts", "resources", "settings_app", "ops", "core", "config"},
    "ops": {"accounts", "resources", "settings_app", "core", "config"},
}
PROJECT_PACKAGES = {*FEATURE_APPS, "core", "config"}


def test_each_feature_app_imports_only_the_layers_below_it():
    root = CORE.parent
    offending = []
    for app, allowed in MAY_IMPORT.items():
        for path in sorted((root / app).rglob("*.py")):
            if "tests" in path.relative_to(root / app).parts:
                continue
            for line, name in _imports(path.read_text()):
                package = name.split(".")[0]
                if package in PROJECT_PACKAGES - allowed - {app}:
                    offending.append(f"{path.relative_to(root)}:{line} imports {name}")
    assert not offending, "an import runs against the layers:\n" + "\n".join(offending)
