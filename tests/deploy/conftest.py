"""One Checkov run over everything deploy/ holds (Terraform, the rendered Kubernetes overlays,
the Dockerfile): Checkov's start-up is most of its cost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.kustomize import render
from tests.deploy.tools import DEPLOY, run, tool

OVERLAYS = sorted((DEPLOY / "kubernetes" / "overlays").iterdir())


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each overlay rendered to one multi-document YAML file, by region."""
    out = tmp_path_factory.mktemp("rendered")
    files = {}
    for overlay in OVERLAYS:
        path = out / f"{overlay.name}.yaml"
        path.write_text(yaml.safe_dump_all(render(overlay), sort_keys=False))
        files[overlay.name] = path
    return files


@pytest.fixture(scope="session")
def checkov(rendered: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Checkov's JSON report for each framework it scanned."""
    manifests = next(iter(rendered.values())).parent
    scanned = run(
        tool("checkov"),
        "--directory", str(DEPLOY / "terraform"),
        "--directory", str(manifests),
        "--directory", str(DEPLOY / "docker"),
        "--framework", "terraform", "kubernetes", "dockerfile",
        "--var-file", str(DEPLOY / "terraform" / "terraform.tfvars.example"),
        "--skip-download",
        "--output", "json",
        "--quiet",
    )  # fmt: skip
    assert scanned.stdout.strip(), scanned.stderr[-3000:]
    return {report["check_type"]: report for report in json_documents(scanned.stdout)}


def json_documents(text: str) -> list[dict[str, Any]]:
    """Checkov prints one JSON value per run it makes (an object, or a list of them)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    position = 0
    while (position := _skip_space(text, position)) < len(text):
        value, position = decoder.raw_decode(text, position)
        found += value if isinstance(value, list) else [value]
    return found


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def failures(report: dict[str, Any]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for c in report["results"]["failed_checks"]
    ]
