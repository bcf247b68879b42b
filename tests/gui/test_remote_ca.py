"""The Connect dialog's CA certificate (an https:// NBI with FieldACS's private CA)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings

from acs_engine.remote import CertificateRejected
from acs_engine.server.tls import CA_CERT_NAME, load_or_create_certificate
from app.remote_ui import (
    KEY_CA,
    CaFileError,
    ConnectDialog,
    client_ssl,
    remote_error_text,
)


def test_the_ca_field_is_for_https_only_and_is_remembered(
    qtbot: Any, settings: QSettings, tmp_path: Path,
) -> None:
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    dialog.url_edit.setText("http://127.0.0.1:7557")
    assert not dialog.ca_edit.isEnabled() and not dialog.ca_browse.isEnabled()
    dialog.ca_edit.setText(str(tmp_path / "fieldacs-ca.pem"))
    assert dialog.ca_path() == ""  # plain http: no CA
    dialog.url_edit.setText("https://acs.lan:7558")
    assert dialog.ca_edit.isEnabled() and dialog.ca_path() == str(tmp_path / "fieldacs-ca.pem")
    dialog.remember()
    assert settings.value(KEY_CA) == str(tmp_path / "fieldacs-ca.pem")
    again = ConnectDialog(settings)
    qtbot.addWidget(again)
    assert again.ca_edit.isEnabled() and again.ca_path() == str(tmp_path / "fieldacs-ca.pem")


def test_client_ssl_trusts_the_given_ca(tmp_path: Path) -> None:
    load_or_create_certificate(tmp_path, hostnames=["127.0.0.1"])
    ca = str(tmp_path / CA_CERT_NAME)
    assert client_ssl("http://127.0.0.1:7557", ca) is True
    assert client_ssl("https://127.0.0.1:7558", "") is True  # the system's trust store
    context = client_ssl("https://127.0.0.1:7558", ca)
    assert isinstance(context, ssl.SSLContext)
    assert context.get_ca_certs()  # the private CA is in it
    with pytest.raises(CaFileError):
        client_ssl("https://127.0.0.1:7558", str(tmp_path / "missing.pem"))
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello", encoding="utf-8")
    with pytest.raises(CaFileError) as bad:
        client_ssl("https://127.0.0.1:7558", str(not_pem))
    assert remote_error_text(bad.value)[0] == "CA certificate"


def test_a_rejected_certificate_has_its_own_message() -> None:
    title, text = remote_error_text(CertificateRejected("does not verify"))
    assert title == "Certificate not trusted" and "fieldacs-ca.pem" in text
