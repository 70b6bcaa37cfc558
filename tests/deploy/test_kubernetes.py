"""deploy/kubernetes: each region's overlay renders, validates against the Kubernetes 1.33
schemas (strict), passes Checkov, carries what the operator's guide promises (probes,
limits, non-root, read-only root, autoscaling on CPU and consumer lag, disruption budgets,
default-deny network policies, NATS' durable JetStream, the migrations Job, the mesh's
mTLS annotations), and its settings are ones HugMood accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from hugmood.config import Settings
from tests.deploy.conftest import OVERLAYS, failures
from tests.deploy.kustomize import Object, pod_spec, render
from tests.deploy.tools import DEPLOY, run, tool

KUBERNETES_VERSION = "1.33.0"
"""The version the manifests are validated against (EKS's, deploy/terraform's example)."""


def by_kind(objects: list[Object], kind: str) -> dict[str, Object]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def test_every_overlay_is_valid_for_kubernetes_1_33(rendered: dict[str, Path]) -> None:
    assert {p.name for p in OVERLAYS} == {"eu-west-1", "us-east-1", "ap-southeast-2"}
    validated = run(
        tool("kubernetes-validate"),
        "--kubernetes-version", KUBERNETES_VERSION,
        "--strict",
        "--quiet",
        *map(str, rendered.values()),
    )  # fmt: skip
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_checkov_finds_no_failed_check_in_the_manifests_or_the_dockerfile(
    checkov: dict[str, dict[str, Any]],
) -> None:
    for framework in ("kubernetes", "dockerfile"):
        report = checkov[framework]
        assert report["summary"]["failed"] == 0, failures(report)
        assert report["summary"]["passed"] > 50


def test_hadolint_passes_the_multi_stage_non_root_dockerfile() -> None:
    dockerfile = DEPLOY / "docker" / "Dockerfile"
    linted = run(tool("hadolint"), str(dockerfile))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    lines = dockerfile.read_text().splitlines()
    stages = [line for line in lines if line.startswith("FROM ")]
    assert len(stages) >= 3
    assert all(":" in s.split()[1] and "latest" not in s for s in stages), stages
    assert [line for line in lines if line.startswith("USER ")] == ["USER 10001:10001"]


def test_the_processes_are_probed_bounded_and_unprivileged() -> None:
    for overlay in OVERLAYS:
        objects = render(overlay)
        workloads = {**by_kind(objects, "Deployment"), **by_kind(objects, "StatefulSet")}
        assert {"hugmood-edge", "hugmood-worker", "nats"} <= set(workloads)
        for name, workload in workloads.items():
            spec = pod_spec(workload)
            assert spec is not None
            assert spec["securityContext"]["runAsNonRoot"] is True, name
            assert spec["automountServiceAccountToken"] is False, name
            for container in spec["containers"]:
                assert container["securityContext"]["readOnlyRootFilesystem"] is True, name
                assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
                assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
                assert {"cpu", "memory"} <= set(container["resources"]["limits"]), name
                if name.startswith("hugmood-"):
                    for probe in ("livenessProbe", "readinessProbe"):
                        assert container[probe]["httpGet"]["path"] == "/healthz", (name, probe)
            if name.startswith("hugmood-"):
                # One VAPID key for every process, copied where HugMood keeps it.
                secrets = {v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v}
                assert secrets == {"hugmood-vapid"}, name
                assert [c["name"] for c in spec["initContainers"]] == ["vapid-key"], name
            annotations = workload["spec"]["template"]["metadata"]["annotations"]
            assert annotations["linkerd.io/inject"] == "enabled", name
        edge = pod_spec(workloads["hugmood-edge"])
        assert edge is not None
        image = edge["containers"][0]["image"]
        assert image.startswith(f"111122223333.dkr.ecr.{overlay.name}.amazonaws.com/hugmood:")


def test_autoscaling_disruption_budgets_and_default_deny() -> None:
    objects = render(OVERLAYS[0])
    hpas = by_kind(objects, "HorizontalPodAutoscaler")
    worker_metrics = hpas["hugmood-worker"]["spec"]["metrics"]
    assert {m["type"] for m in worker_metrics} == {"Resource", "External"}
    external = next(m["external"] for m in worker_metrics if m["type"] == "External")
    assert external["metric"]["name"] == "hugmood_bus_consumer_lag"
    adapter = yaml.safe_load((DEPLOY / "prometheus" / "prometheus-adapter.yml").read_text())
    assert [r["name"]["as"] for r in adapter["externalRules"]] == ["hugmood_bus_consumer_lag"]
    assert hpas["hugmood-edge"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert set(by_kind(objects, "PodDisruptionBudget")) == {
        "hugmood-edge",
        "hugmood-worker",
        "nats",
    }
    policies = by_kind(objects, "NetworkPolicy")
    deny = policies["default-deny"]["spec"]
    assert deny["podSelector"] == {} and set(deny["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny and "egress" not in deny
    migrations = pod_spec(by_kind(objects, "Job")["hugmood-migrations"])
    assert migrations is not None
    assert migrations["containers"][0]["args"] == ["projections", "status"]


def test_nats_runs_jetstream_on_files_with_the_recommended_durability() -> None:
    objects = render(OVERLAYS[0])
    nats = by_kind(objects, "StatefulSet")["nats"]
    assert nats["spec"]["replicas"] == 3
    claim = nats["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "hugmood-encrypted"
    storage = by_kind(objects, "StorageClass")["hugmood-encrypted"]["parameters"]
    assert storage["encrypted"] == "true" and storage["kmsKeyId"].startswith("arn:aws:kms:")
    conf = by_kind(objects, "ConfigMap")["nats"]["data"]["nats.conf"]
    assert "sync_interval: always" in conf
    assert "store_dir: /data/jetstream" in conf
    assert conf.count("nats://nats-") == 3
    settings = by_kind(objects, "ConfigMap")["hugmood"]["data"]
    assert settings["HUGMOOD_NATS_REPLICAS"] == "3" and settings["HUGMOOD_NATS_STORAGE"] == "file"


def test_each_regions_settings_are_accepted_by_hugmood() -> None:
    regions = set()
    for overlay in OVERLAYS:
        data = by_kind(render(overlay), "ConfigMap")["hugmood"]["data"]
        assert "set-by-overlay" not in yaml.safe_dump(data), overlay.name
        secrets = {
            "HUGMOOD_SECRET_KEY": "k" * 48,
            "HUGMOOD_DATABASE_URL": "postgresql://hugmood@events.internal:5432/hugmood",
            "HUGMOOD_REDIS_URL": "rediss://:token@redis.internal:6379/0",
        }
        settings = Settings.from_env({**data, **secrets})
        assert settings.env == "production"
        regions.add(settings.region)
    assert len(regions) == 3
