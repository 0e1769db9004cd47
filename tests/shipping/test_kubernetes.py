"""Kubernetes and KServe manifests, validated without a cluster.

Built-in kinds: `kubernetes-validate --strict` against Kubernetes KUBERNETES_VERSION (an
unknown field is an error). KServe's InferenceService is a CRD that kubernetes-validate does
not know, and the kserve SDK cannot be installed beside our pins, so its manifests are held
to an explicit specification of our own (tests/shipping/kserve_spec.py): the fields of
KServe's v1beta1 API these manifests may use, nothing else, plus the project's own rules.
The predictor's containers are Kubernetes core/v1 containers, so they also go through
kubernetes-validate inside a Pod.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY
from .kserve_spec import POD_SPEC_FIELDS, kserve_errors

KUBERNETES_VERSION = "1.34.0"
K8S = DEPLOY / "k8s"
KSERVE = DEPLOY / "kserve"
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


INFERENCE_SERVICES = sorted(KSERVE.glob("*.yaml"))


def inference_service(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((KSERVE / name).read_text())
    return document


def predictor(manifest: Path) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(manifest.read_text())["spec"]["predictor"]
    return spec


def model_predictors() -> list[dict[str, Any]]:
    return [p["model"] for p in map(predictor, INFERENCE_SERVICES) if "model" in p]


def container_predictors() -> list[dict[str, Any]]:
    return [p for p in map(predictor, INFERENCE_SERVICES) if "containers" in p]


def http_get_target(container: dict[str, Any], probe: str) -> tuple[str, int]:
    """(path, port number) of an httpGet probe, a named port resolved through `ports`."""
    http_get = container[probe]["httpGet"]
    port = http_get["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container["ports"] if p.get("name") == port)
    return http_get["path"], port


@pytest.mark.parametrize("manifest", INFERENCE_SERVICES, ids=lambda p: p.name)
def test_the_inference_service_follows_the_kserve_v1beta1_specification(manifest: Path) -> None:
    assert kserve_errors(yaml.safe_load(manifest.read_text())) == []


def test_the_kserve_folder_serves_both_a_model_predictor_and_our_own_image() -> None:
    kinds = {"model" if "model" in p else "containers" for p in map(predictor, INFERENCE_SERVICES)}
    assert kinds == {"model", "containers"}


@pytest.mark.parametrize(
    ("path", "typo"),
    [
        (["spec", "predictor", "model"], "storageURI"),
        (["spec", "predictor", "model", "modelFormat"], "nmae"),
        (["spec", "predictor"], "maxReplica"),
        (["spec"], "predicter"),
        (["metadata"], "label"),
        ([], "specs"),
        (["spec", "predictor", "model", "resources", "limits"], "memroy"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_the_kserve_check_refuses_a_misspelled_field(path: list[str], typo: str) -> None:
    broken = copy.deepcopy(inference_service("inferenceservice-triton.yaml"))
    node = broken
    for key in path:
        node = node[key]
    node[typo] = "x"
    assert any(typo in error for error in kserve_errors(broken))


def test_the_kserve_check_refuses_a_predictor_with_both_a_model_and_containers() -> None:
    broken = inference_service("inferenceservice-triton.yaml")
    custom = inference_service("inferenceservice-custom.yaml")
    broken["spec"]["predictor"]["containers"] = custom["spec"]["predictor"]["containers"]
    assert kserve_errors(broken) != []


def test_the_kserve_check_refuses_a_model_without_a_storage_uri() -> None:
    broken = inference_service("inferenceservice-triton.yaml")
    del broken["spec"]["predictor"]["model"]["storageUri"]
    assert any("storageUri" in error for error in kserve_errors(broken))


def test_every_model_predictor_serves_onnx_or_triton_over_the_v2_protocol() -> None:
    models = model_predictors()
    assert models
    assert all(m["modelFormat"]["name"] in {"onnx", "triton"} for m in models)
    assert all(m["protocolVersion"] == "v2" for m in models)


def test_every_model_predictor_limits_memory_within_512_mib() -> None:
    models = model_predictors()
    assert models
    for model in models:
        resources = model["resources"]
        assert mebibytes(resources["requests"]["memory"]) <= mebibytes(
            resources["limits"]["memory"]
        )
        assert mebibytes(resources["limits"]["memory"]) <= MEMORY_BUDGET_MI


def test_every_custom_predictor_container_limits_memory_within_512_mib() -> None:
    containers = [c for p in container_predictors() for c in p["containers"]]
    assert containers
    assert all(
        mebibytes(c["resources"]["limits"]["memory"]) <= MEMORY_BUDGET_MI for c in containers
    )


def test_the_custom_predictor_runs_our_image_with_the_deployment_probes_and_port() -> None:
    expected = api_container()
    (custom,) = container_predictors()
    (container,) = custom["containers"]
    assert container["image"] == expected["image"]
    assert {p["containerPort"] for p in container["ports"]} == {
        p["containerPort"] for p in expected["ports"]
    }
    for probe in ("readinessProbe", "livenessProbe"):
        assert http_get_target(container, probe) == http_get_target(expected, probe)


def custom_predictor_as_pod(tmp_path: Path, predictor_spec: dict[str, Any]) -> Path:
    """The predictor's pod part (containers and PodSpec fields) as a Pod manifest on disk."""
    pod_spec = {k: v for k, v in predictor_spec.items() if k in POD_SPEC_FIELDS}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"}, "spec": pod_spec}
    path = tmp_path / "predictor-pod.yaml"
    path.write_text(yaml.safe_dump(pod))
    return path


def test_the_custom_predictor_containers_are_valid_kubernetes_containers(tmp_path: Path) -> None:
    (custom,) = container_predictors()
    result = kubernetes_validate(custom_predictor_as_pod(tmp_path, custom))
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_refuses_a_misspelled_custom_predictor_probe(tmp_path: Path) -> None:
    broken = copy.deepcopy(container_predictors()[0])
    broken["containers"][0]["livenessProbe"]["periodSecond"] = 10
    assert kubernetes_validate(custom_predictor_as_pod(tmp_path, broken)).returncode != 0


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
