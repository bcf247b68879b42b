"""Session files: round trip, masking, and what a forged, truncated or oversized file gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acs_engine.inspect import har, sessionfile
from acs_engine.inspect.sessionfile import Message, SessionFile, SessionFileError
from acs_engine.inspect.sources import derive_states

INFORM = (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
          b'xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Body><cwmp:Inform>'
          b'<ParameterValueStruct><Name>Device.WiFi.AccessPoint.1.Security.KeyPassphrase</Name>'
          b'<Value>wifi-secret</Value></ParameterValueStruct></cwmp:Inform></soap:Body>'
          b'</soap:Envelope>')


def sample(**kw: object) -> SessionFile:
    messages = (
        Message(1765087200.125, "in", "Inform", "1", None,
                (("Authorization", 'Digest username="cpe", realm="r", response="abc123"'),
                 ("Content-Type", "text/xml")), INFORM),
        Message(1765087200.130, "out", "InformResponse", "1", 200,
                (("Set-Cookie", "session=x1; Path=/"),), b"<ok/>"),
        Message(1765087200.140, "in", "", None, None, (("Cookie", "session=x1"),), b""),
        Message(1765087200.150, "out", "", None, 204, (), b""),
        Message(1765087200.160, "in", "", None, None, (), b"\xff\xfe binary"),
    )
    return SessionFile(session_id="s1", device_id="OUI-PC-SN", started=1765087200.125,
                       messages=messages, events=("0 BOOTSTRAP",), cwmp_version="1.0",
                       outcome="ok", **kw)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field_and_binary_bodies() -> None:
    session = sample(notes=("from a test",), remote="127.0.0.1")
    back = sessionfile.loads(sessionfile.dumps(session, include_secrets=True))
    assert back.messages == session.messages
    assert back.messages[4].body == b"\xff\xfe binary"
    assert (back.session_id, back.device_id, back.events, back.cwmp_version, back.notes,
            back.remote, back.outcome, back.started) == (
        "s1", "OUI-PC-SN", ("0 BOOTSTRAP",), "1.0", ("from a test",), "127.0.0.1", "ok",
        1765087200.125)
    doc = json.loads(sessionfile.dumps(session))
    assert doc["format"] == "fieldacs-session" and doc["version"] == 1
    assert doc["fieldacs_version"] and doc["saved_at"].endswith("Z")


def test_masking_hides_parameter_secrets_and_digest_response_only() -> None:
    masked = sessionfile.loads(sessionfile.dumps(sample()))
    assert masked.secrets_masked
    inform = masked.messages[0]
    assert b"wifi-secret" not in inform.body and b"********" in inform.body
    auth = inform.header("authorization")
    assert auth is not None and "abc123" not in auth and 'username="cpe"' in auth
    assert masked.messages[1].header("Set-Cookie") == "session=x1; Path=/"
    basic = sessionfile.mask_header("Authorization", "Basic dXNlcjpwYXNz")
    assert basic == "Basic ********"


def test_har_pairs_posts_with_answers_and_marks_unanswered() -> None:
    log = har.to_har(sample())["log"]
    assert [e["response"]["status"] for e in log["entries"]] == [200, 204, 0]
    assert log["entries"][0]["request"]["cookies"] == []
    assert log["entries"][1]["request"]["cookies"] == [{"name": "session", "value": "x1"}]
    assert log["entries"][0]["response"]["cookies"] == [{"name": "session", "value": "x1"}]
    assert log["entries"][0]["time"] == pytest.approx(5.0, abs=0.01)
    assert "wifi-secret" not in json.dumps(log)


def test_derived_states_fault_on_an_rpc_before_the_inform() -> None:
    bad = (Message(1.0, "out", "GetParameterValues", "1", 200, (), b"<x/>"),)
    steps = derive_states(bad)
    assert steps[-1].new == "FAULTED" and "not allowed in INIT" in steps[-1].reason


def _doc(**changes: object) -> bytes:
    doc = json.loads(sessionfile.dumps(sample()))
    doc.update(changes)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"format": "something-else"}', "not a session file"),
        (_doc(version=99), "update FieldACS"),
        (_doc(version="1"), "positive integer"),
        (_doc(source="elsewhere"), "source"),
        (_doc(messages={"a": 1}), "messages: must be a list"),
        (_doc(messages=[{"direction": "sideways", "at": 1}]), "direction"),
        (_doc(messages=[{"direction": "in", "at": "now"}]), "seconds since 1970"),
        (_doc(messages=[{"direction": "in", "at": 1, "status": 1000}]), "HTTP status"),
        (_doc(messages=[{"direction": "in", "at": 1, "headers": [["a", "b\r\nX: y"]]}]),
         "line break"),
        (_doc(messages=[{"direction": "in", "at": 1, "body": "!!", "body_encoding": "base64"}]),
         "base64"),
        (_doc(messages=[{"direction": "in", "at": 1, "body_encoding": "rot13"}]),
         "body_encoding"),
        (_doc(session={"events": "0 BOOTSTRAP"}), "session.events"),
    ],
)
def test_forged_files_are_refused_with_where_and_why(data: bytes, expected: str) -> None:
    with pytest.raises(SessionFileError, match=expected):
        sessionfile.loads(data)


def test_truncated_file_is_refused_at_every_cut() -> None:
    data = sessionfile.dumps(sample())
    for cut in range(0, len(data) - 1, max(1, len(data) // 97)):
        with pytest.raises(SessionFileError):
            sessionfile.loads(data[:cut])


def test_oversized_deep_and_too_many_messages_are_refused(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SessionFileError, match="nested too deeply"):
        sessionfile.loads(b"[" * 200_000 + b"]" * 200_000)
    many = [{"direction": "in", "at": 1}] * (sessionfile.MAX_MESSAGES + 1)
    with pytest.raises(SessionFileError, match="more than 5000 messages"):
        sessionfile.loads(_doc(messages=many))
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(sessionfile.MAX_FILE_BYTES + 1)
    with pytest.raises(SessionFileError, match="more than"):
        sessionfile.load(big)
    with pytest.raises(SessionFileError, match="more than"):
        sessionfile.loads(b" " * (sessionfile.MAX_FILE_BYTES + 1))


def test_save_is_atomic_and_leaves_no_part_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("old")
    sessionfile.save(path, sample())
    assert sessionfile.load(path).session_id == "s1"
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
