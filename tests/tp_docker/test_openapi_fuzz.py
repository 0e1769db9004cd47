"""The app's own OpenAPI schema, fuzzed by schemathesis: no request makes it answer 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error


def test_the_docs_page_and_schema_are_served(server: Any) -> None:
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert "/v2/models/{model_name}/infer" in paths and "/predict" in paths


def test_the_schema_documents_refusals_as_400_with_the_error_body(server: Any) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    predict = schema["paths"]["/predict"]["post"]["responses"]
    assert "422" not in predict
    assert predict["400"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }


def test_a_body_the_schema_refuses_gets_the_documented_400(server: Any) -> None:
    response = httpx.post(server.url + "/predict", json={"inputs": [[0.0] * 64]})
    assert response.status_code == 400
    assert set(response.json()) == {"error"}


def test_no_generated_request_gets_a_server_error(server: Any) -> None:
    """Every operation (repository load/unload aside: they are admin-only and slow), 25
    generated requests each, checked only for 5xx (4xx is the right answer to junk)."""
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()]
    fuzzed = [op for op in operations if "/repository/models/" not in op.path]
    assert len(fuzzed) >= 12

    for operation in fuzzed:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def check(case: Any) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        check()
    answered = server.app.state.plane.metrics.http_requests
    total = sum(s.value for m in answered.collect() for s in m.samples if s.name.endswith("_total"))
    assert total > 10 * len(fuzzed), "schemathesis sent fewer requests than expected"
