"""Nonces and configuration of the CPE authenticator, without a network."""

from __future__ import annotations

import time

import pytest

from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.server.auth import NONCE_LIFETIME, AuthConfigError, CpeAuthenticator


def _auth(**config: object) -> CpeAuthenticator:
    return CpeAuthenticator(EngineConfig(**config), EventBus())  # type: ignore[arg-type]


def test_modes() -> None:
    assert not _auth().enabled
    assert _auth(cwmp_username="u", cwmp_password="p").enabled
    assert _auth(cwmp_auth='AUTH(DeviceID.SerialNumber, "x")').enabled
    with pytest.raises(AuthConfigError):
        _auth(cwmp_auth="AUTH(")
    with pytest.raises(AuthConfigError):
        _auth(cwmp_password="p")


def test_nonce_is_bound_to_the_client_address_and_expires() -> None:
    auth = _auth(cwmp_username="u", cwmp_password="p")
    now = time.time()
    nonce = auth.new_nonce("192.0.2.7", now=now)
    assert auth.check_nonce(nonce, "192.0.2.7", now=now + 1) == "ok"
    assert auth.check_nonce(nonce, "192.0.2.8", now=now + 1) == "bad"
    assert auth.check_nonce(nonce, "192.0.2.7", now=now + NONCE_LIFETIME + 1) == "stale"
    assert auth.check_nonce("00" + nonce[2:], "192.0.2.7", now=now) == "bad"
    assert auth.check_nonce("not-hex", "192.0.2.7") == "bad"
    assert auth.check_nonce(nonce[:-2], "192.0.2.7") == "bad"
    assert nonce != auth.new_nonce("192.0.2.7", now=now)


def test_nonces_of_another_engine_are_refused() -> None:
    one, two = _auth(cwmp_username="u"), _auth(cwmp_username="u")
    assert two.check_nonce(one.new_nonce("192.0.2.7"), "192.0.2.7") == "bad"
