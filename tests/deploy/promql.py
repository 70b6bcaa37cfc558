"""The metric names a PromQL expression reads, and every name HugMood exports at `/metrics`
(from the product's own collectors, so a renamed metric breaks the rules' and dashboard's
tests)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from hugmood.mesh.metrics import MeshMetrics
from hugmood.observability.bus import BusGauges
from hugmood.observability.metrics import Metrics

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPINGS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_NAME = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}

BUILT_IN = {"up", "ALERTS", "ALERTS_FOR_STATE"}
"""Series Prometheus itself writes."""


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects (not functions, label names or keywords)."""
    text = _STRINGS.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGES.sub("", text)
    text = _GROUPINGS.sub("", text)
    text = re.sub(r"\$\w+", "", text)  # Grafana variables
    return {n for n in _NAME.findall(text) if n.lower() not in _KEYWORDS}


def exported_metric_names() -> set[str]:
    """Every sample name a HugMood process can export at `/metrics`."""
    metrics = Metrics()
    BusGauges(metrics)
    metrics.watch_services([])
    families = [*metrics.registry.collect(), *MeshMetrics().metric_families()]
    names: set[str] = set()
    for family in families:
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{s}" for s in ("bucket", "count", "sum", "created")}
        else:
            names.add(family.name)
    return names


def recorded_names(rules_file: Path) -> set[str]:
    groups = yaml.safe_load(rules_file.read_text())["groups"]
    return {r["record"] for g in groups for r in g["rules"] if "record" in r}
