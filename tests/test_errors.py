"""The exception family maps each failure to one HTTP status and one exit code."""

from __future__ import annotations

from http import HTTPStatus

from utils import errors


def test_every_error_class_derives_from_the_toolkit_base() -> None:
    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert all(issubclass(c, errors.ToolkitError) for c in classes)


def test_bad_input_means_400_and_not_found_404_and_not_ready_503() -> None:
    assert errors.BadInput.status == HTTPStatus.BAD_REQUEST
    assert errors.ModelNotFound.status == HTTPStatus.NOT_FOUND
    assert errors.ModelNotReady.status == HTTPStatus.SERVICE_UNAVAILABLE


def test_overload_carries_a_retry_after_for_the_client() -> None:
    exc = errors.Overloaded("queue full", retry_after_s=0.5)
    assert (exc.status, exc.retry_after_s) == (HTTPStatus.SERVICE_UNAVAILABLE, 0.5)


def test_the_message_is_the_string_shown_to_the_client() -> None:
    assert str(errors.BadInput("input 'x': expected FP32")) == "input 'x': expected FP32"


def test_every_toolkit_error_is_defined_in_utils_errors() -> None:
    """One exception family in one module: no subclass of a toolkit error elsewhere."""
    import ast
    import inspect

    import utils.errors
    from utils.paths import PROJECT_ROOT

    family = {
        name
        for name, cls in vars(utils.errors).items()
        if inspect.isclass(cls) and issubclass(cls, utils.errors.ToolkitError)
    }
    elsewhere = []
    for folder in ("utils", "TP_Docker", "TP_Flask", "TP_ONNX", "TP_Quantization", "api"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if path == PROJECT_ROOT / "utils" / "errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                bases = {
                    getattr(b, "id", getattr(b, "attr", "")) for b in getattr(node, "bases", [])
                }
                if isinstance(node, ast.ClassDef) and bases & family:
                    elsewhere.append(f"{path.relative_to(PROJECT_ROOT)}:{node.name}")
    assert elsewhere == []
