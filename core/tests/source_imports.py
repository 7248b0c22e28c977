"""The imports a module's source runs, read with `ast`: for the layer and cycle tests.

Every import counts, a late one inside a function included (moving an import into a
function only postpones it). Imports under `if TYPE_CHECKING:` never run and are
left out.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import NamedTuple


class Import(NamedTuple):
    line: int
    module: str  # absolute: a relative import is resolved against the importer
    names: tuple[str, ...]  # what `from module import ...` names; () for `import`


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(
    source: str, *, module: str = "", is_package: bool = False
) -> list[Import]:
    visitor = _Imports(module, is_package)
    visitor.visit(ast.parse(source))
    return visitor.found


def _is_type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", "")
    return name == "TYPE_CHECKING"


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        parts = module.split(".") if module else []
        self.package = parts if is_package else parts[:-1]
        self.found: list[Import] = []

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        self.found += [Import(node.lineno, alias.name, ()) for alias in node.names]

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parent = self.package[: len(self.package) - node.level + 1]
            base = ".".join([*parent, base] if base else parent)
        names = tuple(alias.name for alias in node.names)
        self.found.append(Import(node.lineno, base, names))
