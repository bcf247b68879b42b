"""Client-side Digest/Basic: header parsing, RFC test vectors, challenge choice."""

from __future__ import annotations

import base64
import hashlib

import pytest

from acs_engine.reach.digest import (
    AuthChallenge,
    AuthHeaderError,
    basic_authorization,
    choose_challenge,
    digest_authorization,
    digest_response,
    parse_www_authenticate,
)


def _fields(header: str) -> dict[str, str]:
    (cred,) = parse_www_authenticate([header])  # same grammar as an Authorization header
    assert cred.scheme == "digest"
    return dict(cred.params)


def test_parse_several_challenges_and_quoting() -> None:
    got = parse_www_authenticate([
        'Digest realm="a, \\"b\\"", qop="auth,auth-int", nonce=xyz, Basic realm="r"',
        "Negotiate abc==",
    ])
    assert [c.scheme for c in got] == ["digest", "basic", "negotiate"]
    assert got[0].params == {"realm": 'a, "b"', "qop": "auth,auth-int", "nonce": "xyz"}
    assert got[0].qops == ("auth", "auth-int")
    assert got[0].algorithm == "MD5"
    assert got[1].params == {"realm": "r"}
    assert got[2].token68 == "abc=="


def test_token68_with_and_without_padding() -> None:
    # "user:pass" encodes without '=' padding; an Authorization header has this grammar too
    (cred,) = parse_www_authenticate(["Basic dXNlcjpwYXNz"])
    assert (cred.scheme, cred.token68, dict(cred.params)) == ("basic", "dXNlcjpwYXNz", {})
    got = parse_www_authenticate(["Basic dXNlcjpwYXM=, Digest realm=r, Negotiate abc"])
    assert [(c.scheme, c.token68) for c in got] == [
        ("basic", "dXNlcjpwYXM="), ("digest", ""), ("negotiate", "abc"),
    ]


def test_parse_errors() -> None:
    with pytest.raises(AuthHeaderError):
        parse_www_authenticate(['Digest realm="unterminated'])
    with pytest.raises(AuthHeaderError):
        parse_www_authenticate(['Digest realm="x", nonce='])


def test_rfc2617_vector_md5_qop_auth() -> None:
    assert digest_response(
        algorithm="MD5", username="Mufasa", realm="testrealm@host.com",
        password="Circle Of Life", method="GET", uri="/dir/index.html",
        nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", nc="00000001", cnonce="0a4f113b", qop="auth",
    ) == "6629fae49393a05397450978507c4ef1"


@pytest.mark.parametrize(("algorithm", "expected"), [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    challenge = AuthChallenge("digest", {
        "realm": "http-auth@example.org", "qop": "auth, auth-int", "algorithm": algorithm,
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "opaque": "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS",
    })
    header = digest_authorization(
        challenge, username="Mufasa", password="Circle of Life", method="GET",
        uri="/dir/index.html", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    fields = _fields(header)
    assert fields["response"] == expected
    assert fields["qop"] == "auth" and fields["nc"] == "00000001"
    assert fields["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
    assert fields["algorithm"] == algorithm
    assert "Circle" not in header


def test_rfc2069_without_qop() -> None:
    challenge = AuthChallenge("digest", {"realm": "r", "nonce": "n1"})
    fields = _fields(digest_authorization(challenge, username="u", password="p",
                                          method="GET", uri="/x"))
    ha1 = hashlib.md5(b"u:r:p").hexdigest()
    ha2 = hashlib.md5(b"GET:/x").hexdigest()
    assert fields["response"] == hashlib.md5(f"{ha1}:n1:{ha2}".encode()).hexdigest()
    assert "qop" not in fields and "nc" not in fields and "algorithm" not in fields


def test_md5_sess_and_nc() -> None:
    challenge = AuthChallenge("digest", {"realm": "r", "nonce": "n", "qop": "auth",
                                         "algorithm": "MD5-sess"})
    fields = _fields(digest_authorization(challenge, username="u", password="p", method="GET",
                                          uri="/", nc=3, cnonce="c"))
    ha1 = hashlib.md5(f"{hashlib.md5(b'u:r:p').hexdigest()}:n:c".encode()).hexdigest()
    ha2 = hashlib.md5(b"GET:/").hexdigest()
    want = hashlib.md5(f"{ha1}:n:00000003:c:auth:{ha2}".encode()).hexdigest()
    assert fields["response"] == want and fields["nc"] == "00000003"


def test_userhash() -> None:
    challenge = AuthChallenge("digest", {"realm": "r", "nonce": "n", "qop": "auth",
                                         "algorithm": "SHA-256", "userhash": "true"})
    fields = _fields(digest_authorization(challenge, username="u", password="p",
                                          method="GET", uri="/"))
    assert fields["username"] == hashlib.sha256(b"u:r").hexdigest()
    assert fields["userhash"] == "true"


def test_choose_prefers_sha256_and_basic_only_when_allowed() -> None:
    challenges = parse_www_authenticate([
        'Basic realm="r"', 'Digest realm="r", nonce="1", qop="auth", algorithm=MD5',
        'Digest realm="r", nonce="2", qop="auth", algorithm=SHA-256',
    ])
    chosen = choose_challenge(challenges, allow_basic=True)
    assert chosen is not None and chosen.params["nonce"] == "2"
    basic_only = parse_www_authenticate(['Basic realm="r"'])
    assert choose_challenge(basic_only, allow_basic=False) is None
    basic = choose_challenge(basic_only, allow_basic=True)
    assert basic is not None and basic.scheme == "basic"
    unsupported = parse_www_authenticate(['Digest realm="r", nonce="1", algorithm=SHA-1'])
    assert choose_challenge(unsupported, allow_basic=True) is None


def test_basic_header() -> None:
    value = basic_authorization("user", "pä:ss")
    assert value.startswith("Basic ")
    assert base64.b64decode(value[6:]).decode() == "user:pä:ss"
