"""What a KServe InferenceService manifest of this project may contain, written out as rules.

Why our own specification and not KServe's: kubernetes-validate knows built-in kinds only,
the kserve SDK cannot be installed beside our pins (it wants protobuf<7, psutil<6), and the
project commits no files copied from other repositories. So the fields below are the ones
of KServe's `serving.kserve.io/v1beta1` API (InferenceServiceSpec, PredictorSpec, ModelSpec,
ModelFormat) that these manifests may use, written from its API reference; every other key
is refused, the way `kubectl apply --validate=strict` refuses an unknown field, so a typo
such as `storageURI` fails the test instead of being silently dropped by the API server.

Deliberately narrower than KServe: a predictor is either `model` (KServe's documented form
since v0.8, with `modelFormat`, and here always with a `storageUri`) or `containers` (a
custom predictor); the deprecated per-framework keys (`sklearn`, `onnx`, `triton`, ...),
transformers and explainers are refused. Fields that are Kubernetes core types (a custom
predictor's containers and PodSpec fields) are checked by kubernetes-validate in
test_kubernetes.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Rule = Callable[[Any, str], list[str]]

API_VERSION = "serving.kserve.io/v1beta1"
KIND = "InferenceService"
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_URI = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


def mapping(fields: dict[str, Rule], required: tuple[str, ...] = ()) -> Rule:
    """A YAML mapping whose keys must all be in `fields`; each value checked by its rule."""

    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, dict):
            return [f"{where}: expected a mapping, got {type(value).__name__}"]
        errors = [
            f"{where}: unknown field {key!r} (allowed: {', '.join(sorted(fields))})"
            for key in value
            if key not in fields
        ]
        errors += [
            f"{where}: missing required field {key!r}" for key in required if key not in value
        ]
        for key, rule in fields.items():
            if key in value:
                errors += rule(value[key], f"{where}.{key}")
        return errors

    return check


def list_of(rule: Rule, *, non_empty: bool = False) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if not isinstance(value, list):
            return [f"{where}: expected a list, got {type(value).__name__}"]
        if non_empty and not value:
            return [f"{where}: must not be empty"]
        return [error for i, item in enumerate(value) for error in rule(item, f"{where}.{i}")]

    return check


def matches(pattern: re.Pattern[str], what: str) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if isinstance(value, str) and pattern.match(value):
            return []
        return [f"{where}: {value!r} is not {what}"]

    return check


def one_of(*choices: str) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        return [] if value in choices else [f"{where}: {value!r} is not one of {list(choices)}"]

    return check


def integer(minimum: int = 0) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return []
        return [f"{where}: {value!r} is not an integer >= {minimum}"]

    return check


def string(value: Any, where: str) -> list[str]:
    return [] if isinstance(value, str) and value else [f"{where}: expected a non-empty string"]


def string_map(value: Any, where: str) -> list[str]:
    """Labels and annotations: string keys to string values."""
    if isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        return []
    return [f"{where}: expected a mapping of strings to strings"]


def kubernetes_core_type(value: Any, where: str) -> list[str]:
    """A PodSpec field KServe passes to the predictor's pod: its content is Kubernetes'.

    test_kubernetes.py hands a custom predictor's PodSpec fields to kubernetes-validate as a
    Pod; a model predictor's (none are used today) get the key check only.
    """
    return []


def only_one_of(keys: tuple[str, ...], rule: Rule) -> Rule:
    """`rule`, plus: exactly one of `keys` is present (a predictor is a model OR containers)."""

    def check(value: Any, where: str) -> list[str]:
        errors = rule(value, where)
        if isinstance(value, dict):
            present = [key for key in keys if key in value]
            if len(present) != 1:
                errors.append(f"{where}: needs exactly one of {list(keys)}, has {present}")
        return errors

    return check


def equals(expected: str) -> Rule:
    def check(value: Any, where: str) -> list[str]:
        return [] if value == expected else [f"{where}: {value!r}, expected {expected!r}"]

    return check


_QUANTITIES = mapping(
    {
        "cpu": matches(_QUANTITY, "a Kubernetes quantity"),
        "memory": matches(_QUANTITY, "a Kubernetes quantity"),
    }
)
RESOURCES = mapping({"requests": _QUANTITIES, "limits": _QUANTITIES})
ENV_VAR = mapping({"name": string, "value": string}, required=("name",))

# ModelSpec: ModelFormat + runtime + PredictorExtensionSpec (storageUri, protocolVersion,
# and the Container fields a model server takes: resources, env, args).
MODEL = mapping(
    {
        "modelFormat": mapping({"name": string, "version": string}, required=("name",)),
        "protocolVersion": one_of("v1", "v2", "grpc-v1", "grpc-v2"),
        "storageUri": matches(_URI, "a storage URI (scheme://...)"),
        "runtime": string,
        "runtimeVersion": string,
        "resources": RESOURCES,
        "env": list_of(ENV_VAR),
        "args": list_of(string),
    },
    required=("modelFormat", "storageUri"),
)

# The PodSpec fields PredictorSpec inlines that a manifest of ours may set.
POD_SPEC_FIELDS = (
    "containers",
    "serviceAccountName",
    "nodeSelector",
    "affinity",
    "tolerations",
    "volumes",
    "imagePullSecrets",
    "securityContext",
)


def container_names_its_image(value: Any, where: str) -> list[str]:
    """A predictor container: its keys are Kubernetes' (kubernetes-validate checks them in a
    Pod); here only what KServe needs to run it, a name and an image."""
    if not isinstance(value, dict):
        return [f"{where}: expected a mapping, got {type(value).__name__}"]
    return [
        f"{where}: missing required field {key!r}" for key in ("name", "image") if key not in value
    ]


# PredictorSpec: `model` or PodSpec containers, plus ComponentExtensionSpec (scaling,
# concurrency, timeout, canary, labels/annotations of the generated pods).
PREDICTOR = only_one_of(
    ("model", "containers"),
    mapping(
        {
            "model": MODEL,
            **dict.fromkeys(POD_SPEC_FIELDS, kubernetes_core_type),
            "containers": list_of(container_names_its_image, non_empty=True),
            "minReplicas": integer(0),
            "maxReplicas": integer(1),
            "scaleTarget": integer(1),
            "scaleMetric": one_of("cpu", "memory", "concurrency", "rps"),
            "containerConcurrency": integer(0),
            "timeout": integer(1),
            "canaryTrafficPercent": integer(0),
            "labels": string_map,
            "annotations": string_map,
        }
    ),
)

INFERENCE_SERVICE = mapping(
    {
        "apiVersion": equals(API_VERSION),
        "kind": equals(KIND),
        # ObjectMeta as a manifest sets it; the rest is written by the API server.
        "metadata": mapping(
            {"name": string, "namespace": string, "labels": string_map, "annotations": string_map},
            required=("name",),
        ),
        "spec": mapping({"predictor": PREDICTOR}, required=("predictor",)),
    },
    required=("apiVersion", "kind", "metadata", "spec"),
)


def kserve_errors(document: Any) -> list[str]:
    """Every way `document` departs from the specification above; [] when it follows it."""
    return INFERENCE_SERVICE(document, "$")
