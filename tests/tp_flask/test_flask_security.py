"""Settings, security headers, the CSP the templates must satisfy, rate limits, request ids."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from pydantic import ValidationError

from TP_Flask.app import create_app
from TP_Flask.settings import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "TP_Flask" / "templates"


def test_secret_key_is_generated_when_unset_and_differs_per_start() -> None:
    first, second = Settings(), Settings()
    assert len(first.secret_key.get_secret_value()) >= 32
    assert first.secret_key.get_secret_value() != second.secret_key.get_secret_value()


@pytest.mark.parametrize("weak", ["dev", "changethis", "short"])
def test_a_weak_secret_key_is_refused(monkeypatch: pytest.MonkeyPatch, weak: str) -> None:
    monkeypatch.setenv("WEB_SECRET_KEY", weak)
    with pytest.raises(ValidationError, match="too weak"):
        Settings()


def test_settings_are_read_from_web_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_RATE_LIMIT", "5 per second")
    monkeypatch.setenv("WEB_MAX_UPLOAD_BYTES", "4096")
    settings = Settings()
    assert (settings.rate_limit, settings.max_upload_bytes) == ("5 per second", 4096)


def test_port_variable_sets_the_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_PORT", raising=False)
    monkeypatch.setenv("PORT", "8123")
    assert Settings().port == 8123


def test_page_carries_a_strict_content_security_policy(client: FlaskClient) -> None:
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize(
    "header", ["X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Permissions-Policy"]
)
def test_every_answer_carries_the_security_headers(client: FlaskClient, header: str) -> None:
    for path in ("/", "/api/models", "/monitoring", "/missing"):
        assert header in client.get(path).headers


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_templates_hold_no_inline_script_or_style(template: str) -> None:
    html = (TEMPLATES / template).read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


def test_session_cookie_is_http_only_and_same_site(client: FlaskClient) -> None:
    cookie = client.get("/").headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_predictions_over_the_rate_limit_get_429_with_retry_after(
    settings: Settings, digit_3_png: bytes
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": "3 per minute"}))
    client = app.test_client()
    statuses = [
        client.post("/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")}).status_code
        for _ in range(4)
    ]
    refused = client.post("/api/predict", data={"image": (io.BytesIO(digit_3_png), "d.png")})
    assert statuses == [200, 200, 200, 429]
    assert "Retry-After" in refused.headers and "error" in refused.get_json()


def test_rate_limit_does_not_touch_the_page_itself(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": "1 per minute"}))
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]


def test_each_answer_carries_a_fresh_request_id(client: FlaskClient) -> None:
    first = client.get("/api/models").headers["X-Request-ID"]
    second = client.get("/api/models").headers["X-Request-ID"]
    assert first and first != second


def test_a_callers_request_id_is_kept(client: FlaskClient) -> None:
    response = client.get("/api/models", headers={"X-Request-ID": "from-proxy-123"})
    assert response.headers["X-Request-ID"] == "from-proxy-123"


def test_a_request_id_with_unsafe_characters_is_replaced(client: FlaskClient) -> None:
    response = client.get("/api/models", headers={"X-Request-ID": "evil <script>alert(1)</script>"})
    assert "evil" not in response.headers["X-Request-ID"]


def test_behind_a_trusted_proxy_the_rate_limit_is_per_real_client(
    settings: Settings, digit_3_png: bytes
) -> None:
    app = create_app(
        settings.model_copy(update={"rate_limit": "1 per minute", "trusted_proxies": 1})
    )
    client = app.test_client()

    def predict_as(address: str) -> int:
        data = {"image": (io.BytesIO(digit_3_png), "d.png")}
        headers = {"X-Forwarded-For": address}
        return client.post("/api/predict", data=data, headers=headers).status_code

    assert [predict_as("10.0.0.1"), predict_as("10.0.0.2"), predict_as("10.0.0.1")] == [
        200,
        200,
        429,
    ]


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(
    settings: Settings, digit_3_png: bytes
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": "1 per minute"}))
    client = app.test_client()
    statuses = [
        client.post(
            "/api/predict",
            data={"image": (io.BytesIO(digit_3_png), "d.png")},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in ("10.0.0.1", "10.0.0.2")
    ]
    assert statuses == [200, 429]
