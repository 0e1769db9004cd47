"""Kubernetes and KServe manifests, validated against pinned schemas.

Built-in kinds: `kubernetes-validate --strict` against Kubernetes KUBERNETES_VERSION (an
unknown field is an error). KServe's InferenceService: KServe's own CRD schema (v0.20.0,
vendored), made strict the way `kubectl apply --validate=strict` is.
"""

from __future__ import annotations

import copy
import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from .conftest import DEPLOY

KUBERNETES_VERSION = "1.34.0"
K8S = DEPLOY / "k8s"
KSERVE = DEPLOY / "kserve"
KSERVE_SCHEMA = DEPLOY / "schemas" / "kserve-inferenceservice-v1beta1.schema.json.gz"
MEMORY_BUDGET_MI = 512
KUBERNETES_VALIDATE = Path(sys.executable).with_name("kubernetes-validate")

RESOURCE_FILES = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def kubernetes_validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KUBERNETES_VALIDATE), "--strict", "-k", KUBERNETES_VERSION, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def deployment() -> dict[str, Any]:
    return yaml.safe_load((K8S / "deployment.yaml").read_text())


def api_container() -> dict[str, Any]:
    containers = deployment()["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "api")


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    return float(quantity) / 1024**2


def strict(schema: Any) -> Any:
    """Forbid undeclared fields wherever the CRD declares properties and keeps no unknowns."""
    if isinstance(schema, dict):
        schema = {k: strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def kserve_errors(document: dict[str, Any]) -> list[str]:
    schema = strict(json.loads(gzip.decompress(KSERVE_SCHEMA.read_bytes())))
    # metadata is validated by the API server itself, not the CRD: check its basics here.
    schema["properties"]["metadata"] = {"type": "object", "required": ["name"]}
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("manifest", RESOURCE_FILES, ids=lambda p: p.name)
def test_kubernetes_validate_accepts_the_manifest(manifest: Path) -> None:
    result = kubernetes_validate(manifest)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed" in result.stdout


def test_kubernetes_validate_refuses_a_misspelled_probe_field(tmp_path: Path) -> None:
    broken = deployment()
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"periodSeconds": 5}
    path = tmp_path / "deployment.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert kubernetes_validate(path).returncode != 0


def test_the_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert sorted(kustomization["resources"]) == [p.name for p in RESOURCE_FILES]


def test_the_deployment_probes_the_v2_health_endpoints() -> None:
    container = api_container()
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"


def test_the_deployment_requests_and_limits_stay_within_512_mib() -> None:
    resources = api_container()["resources"]
    assert mebibytes(resources["requests"]["memory"]) <= mebibytes(resources["limits"]["memory"])
    assert mebibytes(resources["limits"]["memory"]) <= MEMORY_BUDGET_MI


def test_the_deployment_runs_unprivileged_on_a_read_only_root_filesystem() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    container = api_container()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_the_deployment_reads_its_settings_from_the_configmap() -> None:
    configmap = yaml.safe_load((K8S / "configmap.yaml").read_text())
    refs = [source["configMapRef"]["name"] for source in api_container()["envFrom"]]
    assert configmap["metadata"]["name"] in refs
    assert all(key.startswith("API_") for key in configmap["data"])


def test_the_autoscaler_targets_the_deployment_and_keeps_two_replicas() -> None:
    hpa = yaml.safe_load((K8S / "hpa.yaml").read_text())
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment()["metadata"]["name"]
    assert hpa["spec"]["minReplicas"] >= 2


@pytest.mark.parametrize("manifest", sorted(KSERVE.glob("*.yaml")), ids=lambda p: p.name)
def test_the_inference_service_matches_kserve_crd_schema(manifest: Path) -> None:
    document = yaml.safe_load(manifest.read_text())
    assert document["apiVersion"] == "serving.kserve.io/v1beta1"
    assert document["kind"] == "InferenceService"
    assert kserve_errors(document) == []


def test_the_kserve_schema_check_refuses_an_unknown_predictor_field() -> None:
    document = yaml.safe_load((KSERVE / "inferenceservice-triton.yaml").read_text())
    broken = copy.deepcopy(document)
    broken["spec"]["predictor"]["model"]["storageURL"] = "pvc://x"
    assert any("storageURL" in error for error in kserve_errors(broken))


def test_the_triton_inference_service_speaks_v2_and_limits_memory() -> None:
    model = yaml.safe_load((KSERVE / "inferenceservice-triton.yaml").read_text())["spec"][
        "predictor"
    ]["model"]
    assert model["protocolVersion"] == "v2"
    assert model["modelFormat"]["name"] == "triton"
    assert mebibytes(model["resources"]["limits"]["memory"]) <= MEMORY_BUDGET_MI


def api_setting_names() -> set[str]:
    from TP_Docker.settings import Settings

    return {f"API_{name.upper()}" for name in Settings.model_fields}


def test_every_configmap_key_is_a_setting_the_server_reads() -> None:
    configmap = yaml.safe_load((K8S / "configmap.yaml").read_text())
    assert set(configmap["data"]) <= api_setting_names()


def test_every_configmap_value_is_accepted_by_the_server_settings() -> None:
    from TP_Docker.settings import Settings

    data = yaml.safe_load((K8S / "configmap.yaml").read_text())["data"]
    values = {key.removeprefix("API_").lower(): value for key, value in data.items()}
    Settings.model_validate(values)
