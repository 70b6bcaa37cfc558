"""deploy/terraform without a terraform binary: every file parses, every module call passes
only inputs its module declares (and all it requires), every module output read exists, every
`var.`/`local.` is declared, the example tfvars fits the root's variables, and Checkov finds no
failed check (each skip carries its reason)."""

from __future__ import annotations

import re
from typing import Any

from tests.deploy.conftest import failures
from tests.deploy.terraform import load_module, module_outputs_used, names_used, tfvars
from tests.deploy.tools import DEPLOY

ROOT = DEPLOY / "terraform"
EXAMPLE = ROOT / "terraform.tfvars.example"
MODULES = ("edge_network", "regional_services", "data_analytics", "identity")


def test_the_root_composes_the_four_modules_with_declared_inputs_and_existing_outputs() -> None:
    root = load_module(ROOT)
    assert set(root.calls) == set(MODULES)
    children = {}
    for call in root.calls.values():
        child = load_module((ROOT / call.source).resolve())
        children[call.name] = child
        undeclared = set(call.inputs) - set(child.variables)
        assert not undeclared, f"module {call.name} is given undeclared inputs {undeclared}"
        missing = {v.name for v in child.variables.values() if v.required} - set(call.inputs)
        assert not missing, f"module {call.name} lacks required inputs {missing}"
    for expression in root.all_expressions():
        for module, output in module_outputs_used(expression):
            assert module in children, f"{expression!r} reads an unknown module {module}"
            assert output in children[module].outputs, f"module.{module} has no output {output}"
    assert ("regional_services", "load_balancer_arn") in {
        pair for e in root.all_expressions() for pair in module_outputs_used(e)
    }


def test_every_var_and_local_is_declared_and_every_variable_described() -> None:
    for path in [ROOT, *(ROOT / "modules" / m for m in MODULES)]:
        module = load_module(path)
        for expression in module.all_expressions():
            assert names_used(expression, "var") <= set(module.variables), (path, expression)
            assert names_used(expression, "local") <= module.locals, (path, expression)
        for document in module.parsed:
            for block in document.get("variable", []) + document.get("output", []):
                for name, body in block.items():
                    assert body.get("description"), f"{path.name}: {name} has no description"


def test_the_example_tfvars_sets_three_regions_and_only_declared_variables() -> None:
    root = load_module(ROOT)
    example = {k: v for k, v in tfvars(EXAMPLE).items() if not k.startswith("__")}
    assert set(example) <= set(root.variables)
    required = {v.name for v in root.variables.values() if v.required and not v.sensitive}
    assert required <= set(example), required - set(example)
    assert not {v.name for v in root.variables.values() if v.sensitive} & set(example)
    regions = example["regions"]
    assert len(regions) == 3
    for settings in regions.values():
        assert len(settings["availability_zones"]) == 3
        assert settings["postgres"]["replicas"] >= 1


def test_checkov_finds_no_failed_check_and_every_skip_has_a_reason(
    checkov: dict[str, dict[str, Any]],
) -> None:
    for tf in ROOT.rglob("*.tf"):
        for skip in re.findall(r"#checkov:skip=([^\n]*)", tf.read_text()):
            check, _, reason = skip.partition(":")
            assert len(reason.strip()) >= 15, f"{tf.name}: skip of {check} gives no reason"
    report = checkov["terraform"]
    assert report["summary"]["failed"] == 0, failures(report)
    assert report["summary"]["passed"] > 300
