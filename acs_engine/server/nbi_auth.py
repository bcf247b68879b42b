"""Bearer-token protection for the NBI (and any other aiohttp app of the engine).

The NBI listens on 127.0.0.1 unless configured otherwise; when a token is configured, every
request must carry ``Authorization: Bearer <token>`` or it gets 401 with a
``WWW-Authenticate: Bearer`` challenge (RFC 6750). The token is compared in constant time and
never logged::

    app = web.Application(middlewares=[bearer_auth_middleware(config.nbi_token)])
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets as _stdlib_secrets
from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

from acs_engine.secrets import register_secret

log = logging.getLogger("fieldacs.nbi")

REALM = "FieldACS NBI"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


#: Environment variable ``fieldacs-engine serve`` reads the NBI token from.
TOKEN_ENV = "FIELDACS_NBI_TOKEN"


def is_loopback_host(host: str) -> bool:
    """True when ``host`` is a loopback address or ``localhost`` (reachable from here only)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def open_nbi_problem(host: str, token: str | None, *, enabled: bool = True) -> str | None:
    """Why an NBI on ``host`` with ``token`` must not start, or None when it may.

    An NBI bound to anything but a loopback address without a token would let anyone on
    the network read every device and push tasks, scripts and files: it is refused.
    """
    if not enabled or token or is_loopback_host(host):
        return None
    return (
        f"The NBI would listen on {host or 'every address'} without a token, open to anyone "
        "on the network. Set an NBI token (fieldacs-engine serve --nbi-token-file FILE or "
        f"${TOKEN_ENV}; in the console Settings → NBI), or keep the NBI on 127.0.0.1."
    )


def generate_token() -> str:
    """A new random token (32 bytes, URL-safe base64) for a user to configure."""
    return _stdlib_secrets.token_urlsafe(32)


def _unauthorized(error: str, description: str) -> web.Response:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        challenge += f', error="{error}", error_description="{description}"'
    return web.json_response(
        {"error": error or "unauthorized", "message": description},
        status=401,
        headers={"WWW-Authenticate": challenge},
    )


def bearer_auth_middleware(
    token: str, *, self_authenticating: Collection[str] = ()
) -> Middleware:
    """An aiohttp middleware that lets through only requests with ``Bearer <token>``.

    Args:
        token: the shared secret (at least 8 characters). It is registered with the log
            redaction of :mod:`acs_engine.secrets`.
        self_authenticating: paths whose handler checks the token itself when the request
            has no ``Authorization`` header (the event stream's WebSocket, whose browser
            clients send the token as their first message). A header there is still checked.

    Returns:
        The middleware, for ``web.Application(middlewares=[...])``.

    Raises:
        ValueError: the token is empty or too short to be a secret.
    """
    if not token or len(token) < 8:
        raise ValueError("an NBI token must be at least 8 characters")
    register_secret(token)
    expected = token.encode("utf-8")

    @web.middleware
    async def bearer_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.strip().partition(" ")
        if not header:
            if request.path in self_authenticating:
                return await handler(request)
            return _unauthorized("", "a bearer token is required")
        if scheme.lower() != "bearer" or not presented.strip():
            return _unauthorized("invalid_request", "use Authorization: Bearer <token>")
        if not hmac.compare_digest(presented.strip().encode("utf-8"), expected):
            log.warning("NBI request with a wrong token from %s: %s %s",
                        request.remote, request.method, request.path)
            return _unauthorized("invalid_token", "the token is not valid")
        return await handler(request)

    return bearer_auth
