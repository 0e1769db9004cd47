"""The one version rule every front end uses (``parse_version``)."""

from __future__ import annotations

import pytest

from utils.deployment_helpers.repository import parse_version
from utils.errors import BadInput, ModelNotFound


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("1", 1), (12, 12)])
def test_a_canonical_version_or_none_is_read(raw: object, expected: int | None) -> None:
    assert parse_version("m", raw) == expected


@pytest.mark.parametrize("raw", ["01", "%31", "١", "³", "1.0", "-1", "latest", "9" * 5000, 0])
def test_any_other_spelling_is_a_version_that_does_not_exist(raw: object) -> None:
    with pytest.raises(ModelNotFound, match="has no version"):
        parse_version("m", raw)


@pytest.mark.parametrize("raw", [True, 1.5, [1], {"v": 1}])
def test_a_json_value_of_another_type_is_bad_input(raw: object) -> None:
    with pytest.raises(BadInput, match="'version' must be a version number"):
        parse_version("m", raw)
