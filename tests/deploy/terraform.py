"""deploy/terraform read with python-hcl2: each module's variables, outputs, locals, module
calls and every expression, for the cross-checks `terraform validate` would make."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2


def unquote(name: str) -> str:
    return name.strip('"')


def expressions(node: Any) -> Iterator[str]:
    """Every string (an expression or a literal) anywhere in a parsed block."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if not key.startswith("__"):  # the parser's own marks and comments
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


@dataclass
class Variable:
    name: str
    required: bool
    sensitive: bool


@dataclass
class ModuleCall:
    name: str
    source: str
    inputs: dict[str, str]


@dataclass
class Module:
    path: Path
    variables: dict[str, Variable] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    locals: set[str] = field(default_factory=set)
    calls: dict[str, ModuleCall] = field(default_factory=dict)
    parsed: list[dict[str, Any]] = field(default_factory=list)

    def all_expressions(self) -> Iterator[str]:
        for document in self.parsed:
            yield from expressions(document)


CALL_META = {"source", "for_each", "count", "depends_on", "providers", "version"}


def load_module(path: Path) -> Module:
    """Parse every `.tf` file of one module directory (a parse error fails here)."""
    module = Module(path)
    files = sorted(path.glob("*.tf"))
    if not files:
        raise AssertionError(f"no .tf files in {path}")
    for file in files:
        with file.open() as f:
            document: dict[str, Any] = hcl2.load(f)
        module.parsed.append(document)
        for block in document.get("variable", []):
            for name, body in block.items():
                module.variables[unquote(name)] = Variable(
                    unquote(name), "default" not in body, body.get("sensitive") is True
                )
        for block in document.get("output", []):
            module.outputs |= {unquote(name) for name in block}
        for block in document.get("locals", []):
            module.locals |= {k for k in block if not k.startswith("__")}
        for block in document.get("module", []):
            for name, body in block.items():
                inputs = {
                    k: str(v)
                    for k, v in body.items()
                    if k not in CALL_META and not k.startswith("__")
                }
                module.calls[unquote(name)] = ModuleCall(
                    unquote(name), unquote(body["source"]), inputs
                )
    return module


_MODULE_OUTPUT = re.compile(r"\bmodule\.(\w+)(?:\[[^\]]*\])?\.(\w+)")
_MODULE_LOOP = re.compile(r"\bfor\s+(?:\w+\s*,\s*)?(\w+)\s+in\s+module\.(\w+)\s*:")


def module_outputs_used(expression: str) -> set[tuple[str, str]]:
    """(module, output) pairs an expression reads: `module.m.out`, `module.m[k].out`, and
    `x.out` where a `for` expression iterates `x` over `module.m`'s instances."""
    used = set(_MODULE_OUTPUT.findall(expression))
    for loop_var, module in _MODULE_LOOP.findall(expression):
        used |= {(module, out) for out in re.findall(rf"\b{loop_var}\.(\w+)", expression)}
    return used


def names_used(expression: str, kind: str) -> set[str]:
    """`var.x` or `local.x` names an expression reads."""
    return set(re.findall(rf"\b{kind}\.(\w+)", expression))


def tfvars(path: Path) -> dict[str, Any]:
    with path.open() as f:
        values: dict[str, Any] = hcl2.load(f)
    return values
