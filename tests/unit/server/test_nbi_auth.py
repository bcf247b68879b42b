"""The NBI's bearer-token middleware on a tiny aiohttp app."""

from __future__ import annotations

import logging

import aiohttp
import pytest
from aiohttp import web

from acs_engine.config import EngineConfig
from acs_engine.secrets import SecretFilter, forget_secret
from acs_engine.server.nbi_auth import (
    bearer_auth_middleware,
    generate_token,
    is_loopback_host,
    open_nbi_problem,
)

TOKEN = "nbi-token-0123456789"


async def _app_url(token: str) -> tuple[web.AppRunner, str]:
    async def devices(request: web.Request) -> web.Response:
        return web.json_response([{"id": "dev1"}])

    app = web.Application(middlewares=[bearer_auth_middleware(token)])
    app.router.add_get("/devices/", devices)
    app.router.add_post("/devices/{id}/tasks", devices)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, None),
        ({"Authorization": "Bearer wrong-token-xxxxxxxx"}, "invalid_token"),
        ({"Authorization": f"Basic {TOKEN}"}, "invalid_request"),
        ({"Authorization": "Bearer "}, "invalid_request"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "invalid_token"),
    ],
)
async def test_requests_without_the_token_get_401(
    headers: dict[str, str], error: str | None
) -> None:
    runner, url = await _app_url(TOKEN)
    try:
        async with aiohttp.ClientSession() as http:
            for method, path in (("GET", "/devices/"), ("POST", "/devices/d/tasks"),
                                 ("GET", "/no-such-route")):
                async with http.request(method, url + path, headers=headers) as resp:
                    assert resp.status == 401
                    challenge = resp.headers["WWW-Authenticate"]
                    assert challenge.startswith('Bearer realm="FieldACS NBI"')
                    if error:
                        assert f'error="{error}"' in challenge
                    assert TOKEN not in await resp.text()
    finally:
        await runner.cleanup()
        forget_secret(TOKEN)


async def test_the_right_token_passes() -> None:
    runner, url = await _app_url(TOKEN)
    try:
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with http.get(url + "/devices/", headers=headers) as resp:
                assert resp.status == 200
                assert await resp.json() == [{"id": "dev1"}]
            async with http.get(url + "/nowhere", headers=headers) as resp:
                assert resp.status == 404  # past the middleware, the app answers
    finally:
        await runner.cleanup()
        forget_secret(TOKEN)


def test_short_tokens_are_refused_and_generated_ones_are_long() -> None:
    with pytest.raises(ValueError):
        bearer_auth_middleware("")
    with pytest.raises(ValueError):
        bearer_auth_middleware("short")
    token = generate_token()
    assert len(token) >= 40 and token != generate_token()


def test_the_token_is_redacted_from_logs() -> None:
    bearer_auth_middleware(TOKEN)
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "token is %s", (TOKEN,), None)
        SecretFilter().filter(record)
        assert TOKEN not in record.getMessage()
    finally:
        forget_secret(TOKEN)


def test_nbi_defaults_to_loopback_and_no_token_in_repr() -> None:
    config = EngineConfig(nbi_token=TOKEN, cwmp_password="pw-12345", cwmp_auth='AUTH("a","b")')
    assert config.nbi_host == "127.0.0.1"
    assert TOKEN not in repr(config) and "pw-12345" not in repr(config)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.9", "localhost", "LocalHost", "::1",
                                  "[::1]"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    assert is_loopback_host(host)
    assert open_nbi_problem(host, None) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "", "192.168.1.10", "acs.lan", "127.example"])
def test_other_hosts_need_a_token(host: str) -> None:
    assert not is_loopback_host(host)
    problem = open_nbi_problem(host, None)
    assert problem is not None and "without a token" in problem and "127.0.0.1" in problem
    assert open_nbi_problem(host, "a-long-token") is None
    assert open_nbi_problem(host, None, enabled=False) is None
