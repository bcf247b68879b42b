"""TLS for the CWMP and file-server listeners: the user's certificate, or a self-signed one.

:func:`load_or_create_certificate` makes (once) a self-signed certificate and its key beside
the database, and reuses them on every later start, so the fingerprint a technician gave to
a CPE stays the same. The fingerprint (SHA-256 of the DER certificate, ``AB:CD:...``) is what
the console shows so the certificate can be checked by eye. :func:`ssl_context` builds the
server-side context (TLS 1.2 or newer).
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acs_engine.config import EngineConfig

log = logging.getLogger("fieldacs.tls")

CERT_NAME = "fieldacs-cert.pem"
KEY_NAME = "fieldacs-key.pem"
#: Validity of a generated certificate.
VALID_DAYS = 3650
#: A stored certificate expiring sooner than this is replaced by a new one.
RENEW_BEFORE_DAYS = 30


class TlsError(RuntimeError):
    """A certificate or key that cannot be used; the message says which file and why."""


def fingerprint(cert_pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as ``AB:CD:...`` (upper-case hex)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    digest = cert.fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def certificate_fingerprint(cert_path: Path) -> str:
    """The SHA-256 fingerprint of the first certificate in a PEM file.

    Raises:
        TlsError: the file cannot be read or holds no certificate.
    """
    try:
        return fingerprint(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise TlsError(f"Cannot read the certificate {cert_path}: {exc}") from exc


def _san(hostnames: Iterable[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in [*hostnames, "localhost", "127.0.0.1"]:
        host = host.strip()
        if not host or host in seen or host in ("0.0.0.0", "::"):
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def create_self_signed(
    cert_path: Path, key_path: Path, *, hostnames: Iterable[str] = (), common_name: str = ""
) -> str:
    """Write a new self-signed certificate (ECDSA P-256, SHA-256) and its key.

    The key file is written with mode 0600. Existing files are replaced.

    Args:
        cert_path: where the PEM certificate goes.
        key_path: where the PEM private key goes.
        hostnames: host names and IP addresses CPEs use to reach the ACS (subjectAltName);
            ``localhost`` and ``127.0.0.1`` are always added.
        common_name: the subject CN (default: the first host name, or ``FieldACS``).

    Returns:
        The certificate's SHA-256 fingerprint.
    """
    hosts = list(hostnames)
    key = ec.generate_private_key(ec.SECP256R1())
    cn = common_name or next((h for h in hosts if h and h not in ("0.0.0.0", "::")), "FieldACS")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FieldACS (self-signed)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=True, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_key = key_path.with_name(key_path.name + ".tmp")
    fd = os.open(tmp_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    os.replace(tmp_key, key_path)
    tmp_cert = cert_path.with_name(cert_path.name + ".tmp")
    tmp_cert.write_bytes(cert_pem)
    os.replace(tmp_cert, cert_path)
    digest = fingerprint(cert_pem)
    log.info("created a self-signed certificate %s (SHA-256 %s)", cert_path, digest)
    return digest


def _usable(cert_path: Path, key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return left > datetime.timedelta(days=RENEW_BEFORE_DAYS)


def load_or_create_certificate(
    data_dir: Path, *, hostnames: Iterable[str] = ()
) -> tuple[Path, Path, str]:
    """The self-signed certificate kept in ``data_dir``, made on first use.

    A stored pair is reused while it loads and has more than :data:`RENEW_BEFORE_DAYS` left;
    otherwise a new one is made (and the fingerprint changes).

    Args:
        data_dir: the folder of the database.
        hostnames: names and addresses to put in a new certificate's subjectAltName.

    Returns:
        ``(cert_path, key_path, sha256_fingerprint)``.
    """
    cert_path = Path(data_dir) / CERT_NAME
    key_path = Path(data_dir) / KEY_NAME
    if cert_path.exists() and key_path.exists() and _usable(cert_path, key_path):
        return cert_path, key_path, certificate_fingerprint(cert_path)
    digest = create_self_signed(cert_path, key_path, hostnames=hostnames)
    return cert_path, key_path, digest


def ssl_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A server-side TLS context (TLS 1.2 or newer) with this certificate chain and key.

    Raises:
        TlsError: the files cannot be read, or the key does not match the certificate.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(str(cert_path), str(key_path))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(
            f"Cannot use the certificate {cert_path} with the key {key_path}: {exc}"
        ) from exc
    return context


@dataclass(frozen=True, slots=True)
class TlsSetup:
    """The certificate the HTTPS listeners use.

    Attributes:
        cert_path: the PEM certificate (chain).
        key_path: its private key.
        fingerprint: SHA-256 fingerprint of the certificate, ``AB:CD:...``.
        self_signed: True when FieldACS generated it.
        context: the server-side TLS context.
    """

    cert_path: Path
    key_path: Path
    fingerprint: str
    self_signed: bool
    context: ssl.SSLContext


def prepare_tls(config: EngineConfig, *, hostnames: Iterable[str] = ()) -> TlsSetup | None:
    """The TLS setup ``config`` asks for, or None when no HTTPS listener is configured.

    Uses ``tls_cert_path``/``tls_key_path`` when given, else the self-signed pair beside the
    database (made on first use, with ``hostnames`` and this machine's name in it).

    Raises:
        TlsError: the certificate or key cannot be used (the message says which and why).
    """
    if config.cwmp_tls_port is None and config.fs_tls_port is None:
        if not config.cwmp_http_enabled:
            raise TlsError("the plain-HTTP CWMP listener is off but no HTTPS port is set")
        return None
    if (config.tls_cert_path is None) != (config.tls_key_path is None):
        raise TlsError("give both a certificate and its key (or neither for a self-signed one)")
    if config.tls_cert_path is not None and config.tls_key_path is not None:
        cert, key = Path(config.tls_cert_path), Path(config.tls_key_path)
        digest = certificate_fingerprint(cert)
        self_signed = False
    else:
        names = [socket.gethostname(), *hostnames]
        cert, key, digest = load_or_create_certificate(config.db_path.parent, hostnames=names)
        self_signed = True
    return TlsSetup(cert, key, digest, self_signed, ssl_context(cert, key))
