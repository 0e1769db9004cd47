"""The per-client rate limit through the real nginx and two replicas started with
docker-compose.yml's environment: a client cannot get a fresh bucket by sending its own
X-Forwarded-For, yet two clients still get a bucket each.

Clients connect from distinct loopback addresses (127.0.0.2, .3, ...: all of 127/8 is
loopback on Linux) so nginx sees them as different machines.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from .conftest import PROJECT_ROOT
from .loopback import compose_environment
from .stack import NginxStack, flask_page_behind_nginx, nginx_stack

# Per replica; nginx spreads a client over both, so a client gets about twice this.
RATE_LIMIT = "5/minute"
REQUESTS = 30


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxStack]:
    env = {**compose_environment("api-1"), "API_RATE_LIMIT": RATE_LIMIT}
    with nginx_stack(tmp_path_factory.mktemp("client-address"), [env, env]) as running:
        yield running


def client_from(address: str) -> httpx.Client:
    """An HTTP client whose connections leave from ``address`` (a loopback alias)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def statuses(stack: NginxStack, address: str, count: int, spoof: bool = False) -> Counter[int]:
    seen: Counter[int] = Counter()
    with client_from(address) as client:
        for _ in range(count):
            headers = {}
            if spoof:
                fake = ".".join(str(random.randint(1, 254)) for _ in range(4))
                headers = {"X-Forwarded-For": fake, "X-Real-IP": fake}
            seen[
                client.get(stack.url("/v2/models/digits_sklearn"), headers=headers).status_code
            ] += 1
    return seen


def test_a_client_sending_a_random_x_forwarded_for_each_request_is_still_rate_limited(
    stack: NginxStack,
) -> None:
    seen = statuses(stack, "127.0.0.2", REQUESTS, spoof=True)
    assert seen[429] >= REQUESTS // 2, seen
    assert set(seen) <= {200, 429}, seen


def test_two_clients_behind_nginx_get_a_rate_limit_bucket_each(stack: NginxStack) -> None:
    first = statuses(stack, "127.0.0.3", REQUESTS)
    assert first[429] > 0, first  # the first client used its budget up ...
    second = statuses(stack, "127.0.0.4", 4)
    assert second == Counter({200: 4})  # ... which left the second one's untouched


def test_nginx_replaces_the_client_x_forwarded_for_instead_of_appending_to_it() -> None:
    text = (PROJECT_ROOT / "deploy/nginx/nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in text
    assert text.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2


@pytest.fixture(scope="module")
def page_behind_nginx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Flask page with docker-compose.yml's command and environment (one worker, a low
    limit, so one in-memory Flask-Limiter store sees every request) behind nginx's page
    port. Yields the page's URL through nginx."""
    workdir = tmp_path_factory.mktemp("page-address")
    env = {**compose_environment("flask"), "WEB_RATE_LIMIT": "5 per minute", "WEB_WORKERS": "1"}
    with flask_page_behind_nginx(workdir, env) as page_url:
        yield page_url


def page_statuses(url: str, address: str, count: int, spoof: bool = False) -> Counter[int]:
    seen: Counter[int] = Counter()
    body = {"inputs": [[0.0] * 64]}
    with client_from(address) as client:
        for n in range(count):
            headers = {"X-Forwarded-For": f"10.{n % 250}.{n // 250}.7"} if spoof else {}
            seen[client.post(f"{url}/api/predict", json=body, headers=headers).status_code] += 1
    return seen


def test_the_flask_page_behind_nginx_limits_each_client_and_ignores_a_forged_header(
    page_behind_nginx: str,
) -> None:
    spoofer = page_statuses(page_behind_nginx, "127.0.0.5", 12, spoof=True)
    assert spoofer[429] >= 5, spoofer
    other = page_statuses(page_behind_nginx, "127.0.0.6", 3)
    assert 429 not in other, other  # a bucket of its own, not nginx's shared one
