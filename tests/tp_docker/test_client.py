"""TP_Docker/client.py: the serve-predict-watch loop that `make demo` runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from TP_Docker.client import Rows, running_server
from utils.paths import PROJECT_ROOT
from utils.runtime import create_session
from utils.testing.toy_models import IRIS_FEATURES, publish_tabular_classifier

CLIENT = PROJECT_ROOT / "TP_Docker" / "client.py"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_client_with_its_own_server_reads_the_digit_with_every_served_version(
    tmp_path: Path,
) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_3.png"
    result = _run("--start-server", "--image", str(image), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines() if line.startswith("digits_")]
    assert {row[0] for row in rows} == {"digits_torch", "digits_keras", "digits_sklearn"}
    assert all(row[3] == "3" for row in rows), result.stdout


def test_client_prints_the_metrics_the_server_counted_for_its_requests(tmp_path: Path) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_7.png"
    result = _run("--start-server", "--image", str(image), cwd=tmp_path)
    assert 'inference_requests_total{model="digits_torch",status="200",version="1"} 1.0' in (
        result.stdout
    )


def test_client_without_a_server_says_so_in_one_line(tmp_path: Path) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_3.png"
    result = _run("--url", "http://127.0.0.1:9", "--image", str(image), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: cannot reach http://127.0.0.1:9")


def test_the_started_server_logs_to_a_file_and_not_to_a_pipe_nobody_reads() -> None:
    with running_server() as url:
        children = [p for p in psutil.Process().children() if "app.py" in " ".join(p.cmdline())]
        assert len(children) == 1, url
        stderr_target = os.readlink(f"/proc/{children[0].pid}/fd/2")
        assert not stderr_target.startswith("pipe:"), stderr_target


def test_the_started_server_serves_on_the_socket_the_client_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_PORT", "9")  # ignored: the server takes the client's socket
    with running_server() as url:
        port = int(url.rsplit(":", 1)[1])
        children = [p for p in psutil.Process().children() if "app.py" in " ".join(p.cmdline())]
        assert "API_FD" in children[0].environ()
        listening = {c.laddr.port for c in children[0].net_connections() if c.status == "LISTEN"}
        assert listening == {port}


def test_a_server_that_dies_at_start_shows_the_tail_of_its_log(tmp_path: Path) -> None:
    image = PROJECT_ROOT / "tests" / "testdata" / "digit_3.png"
    env = {**os.environ, "API_MAX_QUEUE_SIZE": "0"}
    result = subprocess.run(
        [sys.executable, str(CLIENT), "--start-server", "--image", str(image)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 1
    assert "the server exited" in result.stderr
    assert "API_MAX_QUEUE_SIZE" in result.stderr


def test_client_sends_a_csv_with_a_target_column_by_the_models_feature_names(
    tmp_path: Path,
) -> None:
    """The CSV a student gave the converter (header, shuffled columns, the target) works."""
    repository = tmp_path / "models"
    publish_tabular_classifier(repository, "iris_toy")
    rows = tmp_path / "iris_test.csv"
    shuffled = list(reversed(IRIS_FEATURES))
    rows.write_text(",".join(["species", *shuffled]) + "\nsetosa,0.2,1.4,3.5,5.1\n")
    result = subprocess.run(
        [sys.executable, str(CLIENT), "--start-server", "--rows", str(rows)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "API_MODEL_REPOSITORY": str(repository)},
    )
    assert result.returncode == 0, result.stderr
    (answer,) = [line.split() for line in result.stdout.splitlines() if line.startswith("iris_toy")]
    expected = _label_of(repository / "iris_toy" / "1" / "model.onnx", [[5.1, 3.5, 1.4, 0.2]])
    assert answer[3] == expected, result.stdout


def test_rows_of_another_width_and_without_the_models_names_are_not_sent() -> None:
    rows = Rows(["a", "b"], [["1", "2"]])
    assert rows.for_model(["x", "y", "z"], 3) is None


def test_a_blank_feature_cell_stops_the_client_with_a_message() -> None:
    rows = Rows(["x", "y"], [["1", ""]])
    with pytest.raises(SystemExit, match="numbers in every feature column"):
        rows.for_model(["x", "y"], 2)


def _label_of(model: Path, rows: list[list[float]]) -> str:
    import numpy as np

    session = create_session(model)
    (logits,) = session.run(None, {"input": np.asarray(rows, np.float32)})
    return ("setosa", "versicolor", "virginica")[int(logits[0].argmax())]
