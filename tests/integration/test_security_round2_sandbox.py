"""Security, round two (issue 11), findings 5, 8, 9, 11, 12: each attack carried out against a
live engine on 127.0.0.1 (real sockets, the real SQLite file, the real V8 sandbox), and
shown to fail now. The threat model is docs/security.md."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import ssl
import stat
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from acs_engine.server.controller import Engine
from acs_engine.server.tls import certificate_fingerprint
from acs_engine.store.search import device_ids_where
from tests.helpers.engine import RawCpe, inform, running_engine
from tests.helpers.nbi import Nbi

#: The review's pattern: exponential under a backtracking engine (2^n paths on n characters).
HOSTILE = "^.{4}(.|.)*Q$"
#: A device serial long enough that ``re`` would need ~2^70 steps on its id.
LONG_SERIAL = "S" * 70


async def _session(engine: Engine, serial: str) -> None:
    """One whole CWMP session (Inform, empty POST) of a raw CPE; asserts both answers."""
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        status, reply, _ = await cpe.send(inform(serial))
        assert status == 200 and reply is not None
        status, _, _ = await cpe.send(None)
        assert status == 204


async def test_attack_redos_regex_query_answers_and_cwmp_commits(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        assert engine.store is not None
        await _session(engine, LONG_SERIAL)
        # The hostile query and a new device's session, at the same time.
        query = asyncio.create_task(nbi.query("devices", {"_id": {"$regex": HOSTILE}}))
        session = asyncio.create_task(_session(engine, "MEANWHILE1"))
        reply = await asyncio.wait_for(query, 60)
        await asyncio.wait_for(session, 60)
        assert reply.status == 200, reply.body
        assert reply.body == [] and reply.headers["total"] == "0"  # no id ends in Q
        device = await engine.store.get_device("F1E1D0-TestGW-MEANWHILE1")
        assert device is not None and device.last_inform_ms is not None
        # The same search with a match proves the regex really ran over the ids.
        found = await nbi.query("devices", {"_id": {"$regex": "^.{4}(.|.)*S$"}}, projection="_id")
        assert [d["_id"] for d in found.body] == [f"F1E1D0-TestGW-{LONG_SERIAL}"]


async def test_attack_regex_features_that_need_backtracking_get_400(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        for pattern in (r"^(a+)\1$", "^(?=a)a", "(?<!x)y"):
            reply = await nbi.query("devices", {"_id": {"$regex": pattern}})
            assert reply.status == 400, pattern
            assert "invalid $regex" in reply.error and "linear-time" in reply.error
        reply = await nbi.query("tasks", {"name": {"$regex": "a", "$options": "x"}})
        assert reply.status == 400 and "$options" in reply.error


async def test_attack_slow_nbi_search_does_not_hold_cwmp_commits(tmp_path: Path) -> None:
    """A search that keeps SQLite busy (held here by a gate inside the query itself) runs on
    the read connection: a CWMP session started meanwhile commits before it ends."""
    async with running_engine(tmp_path) as engine:
        store = engine.store
        assert store is not None
        entered, release = threading.Event(), threading.Event()

        def gate() -> int:
            entered.set()
            release.wait(60)
            return 1

        await store._reader.create_function("test_gate", 0, gate)
        await _session(engine, "SEED000001")  # one device for the search to visit
        search = asyncio.create_task(device_ids_where(store, "test_gate() = 1"))
        try:
            await asyncio.to_thread(entered.wait, 30)
            assert entered.is_set()
            await asyncio.wait_for(_session(engine, "DURING0001"), 60)
            device = await store.get_device("F1E1D0-TestGW-DURING0001")
            assert device is not None and device.last_inform_ms is not None
            assert not search.done()  # the search is still inside SQLite
        finally:
            release.set()
        ids, total = await search
        assert ids == ["F1E1D0-TestGW-SEED000001"] and total == 1  # its snapshot


# ---- finding 12: the generated certificate is a leaf of a private CA, not a CA ----------------


async def _served_certificate(port: int, ca: Path) -> x509.Certificate:
    """The certificate the listener presents, verified against ``ca`` for 127.0.0.1."""
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = True
    _reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=context, server_hostname="127.0.0.1"
    )
    try:
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
        await writer.wait_closed()
    return x509.load_der_x509_certificate(der)


def _assert_leaf(cert: x509.Certificate) -> None:
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign is False and usage.digital_signature is True
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= datetime.timedelta(days=826)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)


async def test_attack_served_certificate_cannot_sign_for_other_hosts(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        tls = engine.tls
        assert tls is not None and tls.ca_path is not None and engine.cwmp_tls_port
        served = await _served_certificate(engine.cwmp_tls_port, tls.ca_path)
        _assert_leaf(served)
        ca = x509.load_pem_x509_certificate(tls.ca_path.read_bytes())
        assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
        served.verify_directly_issued_by(ca)
        assert tls.ca_fingerprint == certificate_fingerprint(tls.ca_path)
        assert tls.fingerprint != tls.ca_fingerprint and "private CA" in (engine.tls_kind or "")
        # The listener's key file holds the leaf key only; the CA key is apart, owner-only.
        ca_key = tmp_path / "fieldacs-ca-key.pem"
        assert ca_key.read_bytes() != tls.key_path.read_bytes()
        if os.name != "nt":
            assert stat.S_IMODE(ca_key.stat().st_mode) == 0o600
            assert stat.S_IMODE(tls.key_path.stat().st_mode) == 0o600


def _old_ca_style_certificate(cert_path: Path, key_path: Path) -> None:
    """What FieldACS made before: self-signed, CA:TRUE, keyCertSign, ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, True, True, False, False, False),
                       critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(
            ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))


async def test_attack_old_ca_style_self_signed_certificate_is_replaced(tmp_path: Path) -> None:
    old_cert, old_key = tmp_path / "fieldacs-cert.pem", tmp_path / "fieldacs-key.pem"
    _old_ca_style_certificate(old_cert, old_key)
    old_bytes = old_cert.read_bytes()
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        tls = engine.tls
        assert tls is not None and tls.ca_path is not None and engine.cwmp_tls_port
        assert old_cert.read_bytes() != old_bytes
        _assert_leaf(await _served_certificate(engine.cwmp_tls_port, tls.ca_path))
        first = tls.fingerprint
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:  # kept on the next start
        assert engine.tls is not None and engine.tls.fingerprint == first


async def test_a_users_own_certificate_is_never_replaced(tmp_path: Path) -> None:
    mine, my_key = tmp_path / "mine.pem", tmp_path / "mine-key.pem"
    _old_ca_style_certificate(mine, my_key)  # even a CA-style one: it is the user's choice
    before = mine.read_bytes(), my_key.read_bytes()
    async with running_engine(
        tmp_path, cwmp_tls_port=0, tls_cert_path=mine, tls_key_path=my_key
    ) as engine:
        tls = engine.tls
        assert tls is not None and tls.ca_path is None and engine.tls_kind == "your certificate"
        assert engine.cwmp_tls_port
        served = await _served_certificate(engine.cwmp_tls_port, mine)
        assert served.public_bytes(serialization.Encoding.PEM) == before[0]
    assert (mine.read_bytes(), my_key.read_bytes()) == before
    assert not (tmp_path / "fieldacs-ca.pem").exists()
