"""`docker build -t ai-model-api .` then `docker run -p 8000:8000 ai-model-api`, replayed
on the host (see image_recipe.py): the image's venv, files and command answer readiness
and predictions with the bundled models. Slow: installs requirements.txt into a fresh venv."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import httpx
import pytest

from . import image_recipe
from .conftest import PROJECT_ROOT
from .image_recipe import ReplayedImage
from .processes import Managed
from .sizes import record_size

# Module budget: a cold pip cache makes the venv install outlast pyproject's 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FRAMEWORKS = ("torch", "tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "jax")
ROOT_DOCKERFILE = PROJECT_ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> ReplayedImage:
    workdir = tmp_path_factory.mktemp("image")
    return image_recipe.install(ROOT_DOCKERFILE, workdir, workdir / "install.log")


@pytest.fixture(scope="module")
def container(image: ReplayedImage, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Managed, float]]:  # fmt: skip
    server = image_recipe.start(image, tmp_path_factory.mktemp("run"))
    try:
        yield server, image_recipe.healthcheck(image, server)
    finally:
        server.stop()


def test_the_image_healthcheck_passes_within_a_few_seconds(
    container: tuple[Managed, float],
) -> None:
    _, seconds = container
    print(f"cold start to healthy: {seconds:.2f} s")
    assert seconds < 10


def test_the_image_answers_predictions_with_its_bundled_models(
    container: tuple[Managed, float], digit_samples: tuple[list[list[float]], list[int]]
) -> None:
    server, _ = container
    rows, labels = digit_samples
    response = httpx.post(f"{server.url}/predict", json={"model": "digits_torch", "inputs": rows})
    assert response.status_code == 200, response.text
    predicted = [int(p["label"]) for p in response.json()["predictions"]]
    assert sum(p == y for p, y in zip(predicted, labels, strict=True)) >= 9


def test_the_image_serves_every_bundled_model(
    image: ReplayedImage, container: tuple[Managed, float]
) -> None:
    server, _ = container
    index = httpx.post(f"{server.url}/v2/repository/index").json()
    bundled = {p.parent.name for p in (image.app / "models").glob("*/manifest.json")}
    assert bundled, "no model copied into the image"
    assert {m["name"] for m in index if m["state"] == "READY"} == bundled


def test_the_image_leaves_out_the_large_built_models(image: ReplayedImage) -> None:
    # models/minilm* is built by `make minilm` (90 MB) and stays out of the image.
    assert not list((image.app / "models").glob("minilm*"))


def test_the_image_venv_holds_no_training_framework(image: ReplayedImage) -> None:
    listed = subprocess.run([str(image.python), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout  # fmt: skip
    names = {line.split("==")[0].lower() for line in listed.splitlines()}
    assert names.isdisjoint(FRAMEWORKS)


def test_the_image_runtime_layer_stays_under_300_mb(image: ReplayedImage) -> None:
    size = image_recipe.installed_size_bytes(image.venv)
    print(f"runtime venv (the image's /opt/venv): {size / 1e6:.0f} MB")
    assert size < 300 * 1000**2
    record_size(
        "image_venv",
        size,
        measured_by="tests/shipping/test_image_recipe.py",
        note="the image's /opt/venv: every installed serving package",
    )


def test_the_app_folder_holds_only_what_the_image_copies(image: ReplayedImage) -> None:
    assert sorted(p.name for p in image.app.iterdir()) == sorted(
        ["utils", "TP_Docker", "TP_Flask", "models", "out"]  # out: the prediction log's folder
    )
