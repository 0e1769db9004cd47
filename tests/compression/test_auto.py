"""The automatic mode measures every candidate and chooses by a rule, never by luck."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from utils.compression import (
    CompressionReport,
    Feed,
    NoRecipeWithinBudget,
    Objective,
    QuantFormat,
    Recipe,
    auto_compress,
    classifier_recipes,
    convert_fp16,
    quantize_static_int8,
)
from utils.compression.evaluate import digits_accuracy, digits_feed
from utils.errors import CompressionError


def _fp16(src: Path, out: Path, _: list[Feed] | None) -> CompressionReport:
    return convert_fp16(src, out)


def _static_qdq(src: Path, out: Path, calibration: list[Feed] | None) -> CompressionReport:
    assert calibration is not None
    return quantize_static_int8(src, out, calibration)


def _broken_qoperator(src: Path, out: Path, calibration: list[Feed] | None) -> CompressionReport:
    """The smallest recipe, sabotaged: every int8 weight set to zero after quantizing."""
    assert calibration is not None
    report = quantize_static_int8(src, out, calibration, quant_format=QuantFormat.QOPERATOR)
    model = onnx.load(str(out))
    for tensor in model.graph.initializer:
        array = numpy_helper.to_array(tensor)
        if array.dtype == np.int8 and array.size > 16:
            tensor.CopyFrom(numpy_helper.from_array(np.zeros_like(array), tensor.name))
    onnx.save(model, str(out))
    return report


def _crashing(src: Path, out: Path, _: list[Feed] | None) -> CompressionReport:
    raise RuntimeError("this recipe always crashes")


RECIPES = [
    Recipe("fp16", _fp16),
    Recipe("static-qdq", _static_qdq, needs_calibration=True),
    Recipe("broken-qoperator", _broken_qoperator, needs_calibration=True),
]


def test_auto_mode_rejects_a_broken_candidate_even_when_it_is_the_smallest(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    result = auto_compress(
        torch_cnn,
        evaluate=digits_accuracy,
        latency_feed=digits_feed(torch_cnn, 1),
        recipes=RECIPES,
        calibration=torch_calibration,
        workdir=tmp_path,
        latency_repeats=20,
    )
    broken = next(c for c in result.candidates if c.recipe == "broken-qoperator")
    assert result.chosen is not None and result.chosen.recipe == "static-qdq"
    assert result.chosen.size_bytes is not None and broken.size_bytes is not None
    assert broken.size_bytes < result.chosen.size_bytes


def test_auto_mode_records_a_crashing_recipe_and_still_chooses(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    recipes = [Recipe("crashing", _crashing), *RECIPES[:2]]
    result = auto_compress(
        torch_cnn,
        evaluate=digits_accuracy,
        latency_feed=digits_feed(torch_cnn, 1),
        recipes=recipes,
        calibration=torch_calibration,
        workdir=tmp_path,
        latency_repeats=20,
    )
    assert "always crashes" in (result.candidates[0].error or "")
    assert result.chosen is not None and result.chosen.recipe == "static-qdq"


def test_auto_mode_with_an_impossible_budget_names_the_closest_and_chooses_nothing(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    with pytest.raises(NoRecipeWithinBudget, match="closest: ") as caught:
        auto_compress(
            torch_cnn,
            evaluate=digits_accuracy,
            latency_feed=digits_feed(torch_cnn, 1),
            budget=-0.5,
            recipes=RECIPES[:2],
            calibration=torch_calibration,
            workdir=tmp_path,
            latency_repeats=10,
        )
    assert caught.value.result.chosen is None
    assert isinstance(caught.value, CompressionError) and caught.value.exit_code == 7


def test_latency_objective_never_picks_a_candidate_slower_than_the_fastest_by_more_than_5_percent(
    torch_cnn: Path, torch_calibration: list[Feed], tmp_path: Path
) -> None:
    result = auto_compress(
        torch_cnn,
        evaluate=digits_accuracy,
        latency_feed=digits_feed(torch_cnn, 1),
        objective=Objective.LATENCY,
        recipes=RECIPES[:2],
        calibration=torch_calibration,
        workdir=tmp_path,
        latency_repeats=50,
    )
    fastest = min(c.latency_ms_p50 or 1e9 for c in result.candidates if c.within_budget)
    assert result.chosen is not None and (result.chosen.latency_ms_p50 or 1e9) <= fastest * 1.05


def test_the_default_recipes_on_the_cnn_choose_an_int8_variant_within_one_point(
    torch_cnn: Path, torch_calibration: list[Feed], torch_accuracy: float, tmp_path: Path
) -> None:
    result = auto_compress(
        torch_cnn,
        evaluate=digits_accuracy,
        latency_feed=digits_feed(torch_cnn, 1),
        recipes=classifier_recipes(torch_cnn),
        calibration=torch_calibration,
        workdir=tmp_path,
        latency_repeats=20,
    )
    assert result.chosen is not None and result.chosen.recipe.startswith("int8")
    assert torch_accuracy - (result.chosen.metric or 0.0) <= 0.01
    assert "smallest file" in result.reason and result.chosen.recipe in result.table()
