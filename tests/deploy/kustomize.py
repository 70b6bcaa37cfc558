"""Renders deploy/kubernetes's kustomizations in Python (no kustomize binary here), for the
subset they use: `resources` (files and directories), `namespace`, `labels`, `images` and
strategic-merge `patches` from files. Anything else in a kustomization is refused, so a
feature this renderer does not know cannot be silently ignored."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Object = dict[str, Any]

KNOWN_FIELDS = {"apiVersion", "kind", "resources", "namespace", "labels", "images", "patches"}
CLUSTER_SCOPED = {"Namespace", "StorageClass", "ClusterRole", "ClusterRoleBinding"}


def load_documents(path: Path) -> list[Object]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def render(directory: Path) -> list[Object]:
    """The objects `kubectl kustomize <directory>` would print."""
    kustomization: Object = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise ValueError(
            f"{directory}: kustomization fields this renderer does not know: {unknown}"
        )
    objects: list[Object] = []
    for resource in kustomization.get("resources", []):
        target = directory / resource
        objects += render(target) if target.is_dir() else load_documents(target)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise ValueError(f"{directory}: only file patches are rendered: {patch}")
        changes = load_documents(directory / patch["path"])
        if len(changes) != 1:
            raise ValueError(f"{directory}: a patch file holds one object: {patch['path']}")
        _apply(objects, changes[0], directory / patch["path"])
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj["metadata"]["namespace"] = kustomization["namespace"]
    for label_set in kustomization.get("labels", []):
        for obj in objects:
            obj["metadata"].setdefault("labels", {}).update(label_set["pairs"])
    for image in kustomization.get("images", []):
        for container in _containers(objects):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if name == image["name"]:
                new_name = image.get("newName", name)
                container["image"] = (
                    f"{new_name}:{image['newTag']}" if "newTag" in image else new_name
                )
    return objects


def _apply(objects: list[Object], change: Object, source: Path) -> None:
    for obj in objects:
        if (
            obj["kind"] == change["kind"]
            and obj["apiVersion"] == change["apiVersion"]
            and obj["metadata"]["name"] == change["metadata"]["name"]
        ):
            merged = merge(obj, change)
            obj.clear()
            obj.update(merged)
            return
    raise ValueError(f"{source}: patches no object: {change['kind']} {change['metadata']['name']}")


def merge(base: Any, change: Any) -> Any:
    """Strategic merge as far as these manifests need: maps merge key by key (null deletes),
    lists of named items merge by name, other lists are replaced."""
    if isinstance(base, dict) and isinstance(change, dict):
        result = copy.deepcopy(base)
        for key, value in change.items():
            if value is None:
                result.pop(key, None)
            else:
                result[key] = merge(result[key], value) if key in result else copy.deepcopy(value)
        return result
    if isinstance(base, list) and isinstance(change, list) and _named(base) and _named(change):
        result_list = copy.deepcopy(base)
        by_name = {item["name"]: i for i, item in enumerate(result_list)}
        for item in change:
            if item["name"] in by_name:
                index = by_name[item["name"]]
                result_list[index] = merge(result_list[index], item)
            else:
                result_list.append(copy.deepcopy(item))
        return result_list
    return copy.deepcopy(change)


def _named(items: list[Any]) -> bool:
    return all(isinstance(i, dict) and "name" in i for i in items)


def pod_spec(obj: Object) -> Object | None:
    """The pod template's spec of a workload (Deployment, StatefulSet, Job), else None."""
    template = obj.get("spec", {}).get("template")
    return template["spec"] if isinstance(template, dict) else None


def _containers(objects: list[Object]) -> Iterator[Object]:
    for obj in objects:
        spec = pod_spec(obj)
        if spec is not None:
            yield from spec.get("initContainers", [])
            yield from spec.get("containers", [])
