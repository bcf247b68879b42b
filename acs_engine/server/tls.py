"""TLS for the CWMP and file-server listeners: the user's certificate, or FieldACS's own.

:func:`load_or_create_certificate` makes (once) a private CA beside the database and a server
certificate it issues (a leaf: CA:FALSE, serverAuth, at most 825 days, the ACS's names and
addresses as SANs), and reuses them on every later start. CPEs are given the CA to trust
(``fieldacs-ca.pem``): the leaf can then be reissued (expiry, a new address) without touching
any CPE, and the key the listeners hold cannot sign certificates for other hosts. The CA's
key is read only to issue a leaf. A user's own certificate is used as given, never replaced. The fingerprint (SHA-256 of the DER certificate, ``AB:CD:...``) is what
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
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from acs_engine.config import EngineConfig

log = logging.getLogger("fieldacs.tls")

CERT_NAME = "fieldacs-cert.pem"
KEY_NAME = "fieldacs-key.pem"
CA_CERT_NAME = "fieldacs-ca.pem"
CA_KEY_NAME = "fieldacs-ca-key.pem"
#: Validity of a generated server (leaf) certificate: the CA/Browser Forum's old maximum.
LEAF_VALID_DAYS = 825
#: Validity of the private CA that issues it (the trust anchor CPEs keep).
CA_VALID_DAYS = 3650
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


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600 (atomically: a temporary file, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _leaf_certificate(
    key: ec.EllipticCurvePrivateKey, hosts: list[str], issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey, *, common_name: str = "", organization: str,
) -> x509.Certificate:
    """A server certificate: CA:FALSE, serverAuth, :data:`LEAF_VALID_DAYS`, SANs."""
    cn = common_name or next((h for h in hosts if h and h not in ("0.0.0.0", "::")), "FieldACS")
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
    ])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=LEAF_VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(_san(hosts)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(issuer_key, hashes.SHA256())
    )


def create_self_signed(
    cert_path: Path, key_path: Path, *, hostnames: Iterable[str] = (), common_name: str = ""
) -> str:
    """Write a new self-signed *leaf* certificate (ECDSA P-256, SHA-256, CA:FALSE) and its key.

    For tests and for users who want one file to hand out; the engine's own certificate is
    a leaf issued by a private CA (:func:`load_or_create_certificate`). The key file is
    written with mode 0600. Existing files are replaced.

    Args:
        cert_path: where the PEM certificate goes.
        key_path: where the PEM private key goes.
        hostnames: host names and IP addresses CPEs use to reach the ACS (subjectAltName);
            ``localhost`` and ``127.0.0.1`` are always added.
        common_name: the subject CN (default: the first host name, or ``FieldACS``).

    Returns:
        The certificate's SHA-256 fingerprint.
    """
    key = _new_key()
    hosts = list(hostnames)
    cn = common_name or next((h for h in hosts if h and h not in ("0.0.0.0", "::")), "FieldACS")
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn[:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FieldACS (self-signed)"),
    ])
    cert = _leaf_certificate(key, hosts, name, key, common_name=cn,
                             organization="FieldACS (self-signed)")
    _write_private(key_path, _key_pem(key))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    _write_public(cert_path, cert_pem)
    digest = fingerprint(cert_pem)
    log.info("created a self-signed certificate %s (SHA-256 %s)", cert_path, digest)
    return digest


def create_private_ca(ca_cert_path: Path, ca_key_path: Path, *, common_name: str = "") -> str:
    """Write a new private CA (CA:TRUE, pathlen 0, keyCertSign) and its key (0600).

    It signs only FieldACS's own server certificates; CPEs are given its certificate as
    the trust anchor. Returns its SHA-256 fingerprint.
    """
    key = _new_key()
    cn = (common_name or f"FieldACS private CA ({socket.gethostname()})")[:64]
    name = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "FieldACS (private CA)"),
    ])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(ca_key_path, _key_pem(key))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    _write_public(ca_cert_path, pem)
    digest = fingerprint(pem)
    log.info("created a private CA %s (SHA-256 %s)", ca_cert_path, digest)
    return digest


def issue_leaf(
    cert_path: Path, key_path: Path, ca_cert_path: Path, ca_key_path: Path,
    *, hostnames: Iterable[str] = (),
) -> str:
    """Issue a server certificate signed by the private CA; ``cert_path`` gets the leaf
    followed by the CA certificate (the chain a CPE needs). Returns the leaf's fingerprint."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{ca_key_path} is not the private CA's EC key")
    key = _new_key()
    leaf = _leaf_certificate(key, list(hostnames), ca_cert.subject, ca_key,
                             organization="FieldACS")
    _write_private(key_path, _key_pem(key))
    leaf_pem = leaf.public_bytes(serialization.Encoding.PEM)
    _write_public(cert_path, leaf_pem + ca_cert.public_bytes(serialization.Encoding.PEM))
    digest = fingerprint(leaf_pem)
    log.info("issued the server certificate %s (SHA-256 %s)", cert_path, digest)
    return digest


def is_ca_certificate(cert: x509.Certificate) -> bool:
    """Whether a certificate may sign others (CA:TRUE or keyCertSign)."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return True
    except x509.ExtensionNotFound:
        pass
    try:
        return bool(cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign)
    except x509.ExtensionNotFound:
        return False


def _left(cert: x509.Certificate) -> datetime.timedelta:
    return cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)


def _usable_ca(ca_cert_path: Path, ca_key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    same = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return same and is_ca_certificate(cert) and _left(cert) > datetime.timedelta(
        days=LEAF_VALID_DAYS + RENEW_BEFORE_DAYS
    )


def _usable_leaf(cert_path: Path, key_path: Path, ca_cert_path: Path,
                 hostnames: Iterable[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
        cert.verify_directly_issued_by(ca)
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    if is_ca_certificate(cert) or _left(cert) <= datetime.timedelta(days=RENEW_BEFORE_DAYS):
        return False
    have = set(sans)
    return all(name in have for name in _san(hostnames))


def load_or_create_certificate(
    data_dir: Path, *, hostnames: Iterable[str] = ()
) -> tuple[Path, Path, str]:
    """FieldACS's own server certificate in ``data_dir``: a leaf issued by a private CA.

    The private CA (``fieldacs-ca.pem``, its key ``fieldacs-ca-key.pem`` 0600) is made once
    and kept for :data:`CA_VALID_DAYS`; it is what CPEs are told to trust. The leaf
    (``fieldacs-cert.pem``: leaf then CA; key ``fieldacs-key.pem``) is reissued by the same
    CA when it nears expiry or lacks one of ``hostnames``, so CPEs need no new trust anchor.
    A certificate left by an older FieldACS that is itself a CA (CA:TRUE) is replaced.

    Returns:
        ``(cert_path, key_path, leaf_sha256_fingerprint)``.
    """
    folder = Path(data_dir)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    ca_cert_path, ca_key_path = folder / CA_CERT_NAME, folder / CA_KEY_NAME
    hosts = list(hostnames)
    if not _usable_ca(ca_cert_path, ca_key_path):
        create_private_ca(ca_cert_path, ca_key_path)
    if cert_path.exists() and key_path.exists() and _usable_leaf(
        cert_path, key_path, ca_cert_path, hosts
    ):
        return cert_path, key_path, certificate_fingerprint(cert_path)
    digest = issue_leaf(cert_path, key_path, ca_cert_path, ca_key_path, hostnames=hosts)
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
        fingerprint: SHA-256 fingerprint of the (leaf) certificate, ``AB:CD:...``.
        self_signed: True when FieldACS generated it (a leaf of its private CA).
        context: the server-side TLS context.
        ca_path: the private CA certificate CPEs should trust (FieldACS's own), else None.
        ca_fingerprint: that CA's SHA-256 fingerprint, else None.
    """

    cert_path: Path
    key_path: Path
    fingerprint: str
    self_signed: bool
    context: ssl.SSLContext
    ca_path: Path | None = None
    ca_fingerprint: str | None = None

    @property
    def kind(self) -> str:
        """What is in use, in words for the console and the log."""
        if self.ca_path is None:
            return "your certificate"
        return f"FieldACS's certificate, issued by its private CA ({self.ca_path.name})"


def wants_nbi_tls(config: EngineConfig) -> bool:
    """True when ``config`` asks for the HTTPS NBI (it is on and has a TLS port)."""
    return config.nbi_enabled and config.nbi_tls_port is not None


def prepare_tls(config: EngineConfig, *, hostnames: Iterable[str] = ()) -> TlsSetup | None:
    """The TLS setup ``config`` asks for, or None when no HTTPS listener is configured.

    Uses ``tls_cert_path``/``tls_key_path`` when given, else the self-signed pair beside the
    database (made on first use, with ``hostnames`` and this machine's name in it).

    Raises:
        TlsError: the certificate or key cannot be used (the message says which and why).
    """
    wanted = config.cwmp_tls_port is not None or config.fs_tls_port is not None
    if not wanted and not wants_nbi_tls(config):
        if not config.cwmp_http_enabled:
            raise TlsError("the plain-HTTP CWMP listener is off but no HTTPS port is set")
        return None
    if (config.tls_cert_path is None) != (config.tls_key_path is None):
        raise TlsError("give both a certificate and its key (or neither for a self-signed one)")
    if config.tls_cert_path is not None and config.tls_key_path is not None:
        cert, key = Path(config.tls_cert_path), Path(config.tls_key_path)
        digest = certificate_fingerprint(cert)  # the user's own: used as it is, never replaced
        self_signed = False
    else:
        names = [socket.gethostname(), *hostnames]
        cert, key, digest = load_or_create_certificate(config.db_path.parent, hostnames=names)
        ca = config.db_path.parent / CA_CERT_NAME
        return TlsSetup(cert, key, digest, True, ssl_context(cert, key), ca,
                        certificate_fingerprint(ca))
    return TlsSetup(cert, key, digest, self_signed, ssl_context(cert, key))
