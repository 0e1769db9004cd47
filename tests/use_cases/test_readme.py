"""Every figure TP_ONNX/use_cases/README.md quotes is the one in the committed results, and
the serving contracts and limits both READMEs quote are the committed manifests'."""

from __future__ import annotations

import json
import re
from collections import Counter

from tests.use_cases.conftest import USE_CASES, committed_model, results
from utils.paths import PROJECT_ROOT
from utils.use_cases.sentiment import sentiment_manifest
from utils.use_cases.sentiment_build import DATA

README = USE_CASES / "README.md"
TEXT = README.read_text()
FLAT = re.sub(r"\s+", " ", TEXT)  # figures may wrap across lines in prose
FORECASTERS = {
    "model": "our model (linear + 1-D CNN)",
    "seasonal_naive": "seasonal naive",
    "seasonal_naive_drift": "seasonal naive with drift",
    "holt_winters": "Holt-Winters (additive, period 52)",
}


def test_the_forecast_table_is_the_committed_results() -> None:
    figures = results("forecast")
    for key, label in FORECASTERS.items():
        mae, ratio = figures["mae_ppm"][key], figures["ratio_to_seasonal_naive"][key]
        assert f"| {label} | {mae:.3f} | {ratio:.3f} |" in TEXT, label
    assert f"{figures['origins']} rolling origins {figures['horizon']} weeks apart" in FLAT


def test_the_anomaly_table_and_prose_are_the_committed_results() -> None:
    figures = results("anomaly")
    residual = figures["detectors"]["forecast_residual"]
    forest = figures["detectors"]["isolation_forest"]
    for kind, ours in residual["per_kind"].items():
        theirs = forest["per_kind"][kind]
        cells = [ours["events"]] + [
            f"{d[m]:.2f}" for d in (ours, theirs) for m in ("precision", "recall", "f1")
        ]
        assert f"| {kind} | " + " | ".join(str(c) for c in cells) + " |" in TEXT, kind
    assert f"Mean F1 {residual['held_out_mean_f1']:.2f} for the forecast residual" in FLAT
    assert f"{forest['held_out_mean_f1']:.2f} for the IsolationForest" in FLAT
    assert f"flagged from {residual['threshold']:.2f}" in FLAT
    assert f"the {figures['chosen'].split('_')[1]} detector is published" in FLAT
    assert residual["false_alarms_on_clean_held_out_weeks"] == 0
    assert forest["false_alarms_on_clean_held_out_weeks"] == 0


def test_the_sentiment_table_and_data_figures_are_the_committed_ones() -> None:
    figures = results("sentiment")
    for variant in ("fp32", "int8"):
        counts = figures[variant]["confusion_matrix"]["counts"]
        cells = [f"{figures[variant]['accuracy']:.3f}", *(str(c) for row in counts for c in row)]
        assert f"| {variant} | " + " | ".join(cells) + " |" in TEXT, variant
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    per_domain = Counter((r["domain"], r["label"]) for r in rows)
    assert f"holds {len(rows):,} sentences" in FLAT
    assert f"On the {figures['test_sentences']} held-out sentences" in FLAT
    assert set(per_domain.values()) == {84} and "84 positive and 84 negative each" in FLAT


def test_sentences_quoted_in_the_readme_are_in_the_data() -> None:
    texts = {json.loads(line)["text"] for line in DATA.read_text().splitlines()}
    quoted = re.findall(r'\("([^"]+)"', FLAT) + re.findall(r'"([A-Z][^"]+\.)"', FLAT)
    assert len(quoted) >= 4
    for sentence in quoted:
        assert sentence in texts, sentence


def test_the_served_contracts_and_limits_quoted_are_the_manifests() -> None:
    forecast, _ = committed_model("forecast")
    anomaly, _ = committed_model("anomaly")
    w, h, wa = (
        forecast.preprocessing.window,
        forecast.preprocessing.horizon,
        anomaly.preprocessing.window,
    )
    assert f"| `forecast` | `window` FP32 [-1, {w}] | `forecast` FP32 [-1, {h}] |" in TEXT
    assert f"| `anomaly` | `window` FP32 [-1, {wa}] | `score` FP32 [-1]" in TEXT
    limits = {forecast.batching.max_batch_size, anomaly.batching.max_batch_size}
    assert limits == {64} and "the model's batch limit (64)" in FLAT
    tokens = sentiment_manifest("sentiment").preprocessing.max_length
    assert f"over the {tokens}-token limit" in FLAT
    assert f"The threshold is {anomaly.postprocessing.threshold:.2f} residual" in FLAT


def test_the_flask_readme_quotes_the_series_limits_of_the_manifests() -> None:
    anomaly, _ = committed_model("anomaly")
    w, limit = anomaly.preprocessing.window, anomaly.batching.max_batch_size
    flask = re.sub(r"\s+", " ", (PROJECT_ROOT / "TP_Flask" / "README.md").read_text())
    assert f"a series of {w} to {w + limit - 1} weekly values" in flask
    assert f'"window":{w},"threshold":{str(anomaly.postprocessing.threshold)[:5]}...' in flask
    assert f"batch limit of {limit} windows" in flask
    assert f"over {sentiment_manifest('sentiment').preprocessing.max_length} tokens" in flask
