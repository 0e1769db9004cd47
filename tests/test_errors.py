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
