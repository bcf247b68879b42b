"""Regenerating the facts from the BBF XML gives the shipped files."""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path

import pytest

from acs_engine.datamodel import build

REPO = Path(__file__).resolve().parents[3]
BBF = (REPO / ".." / "shared" / "bbf").resolve()

needs_bbf = pytest.mark.skipif(
    not (BBF / build.MODEL_FILES["tr181"]).exists(), reason=f"BBF data models not found at {BBF}"
)


@needs_bbf
@pytest.mark.parametrize("key", sorted(build.MODEL_FILES))
def test_regenerated_facts_match_shipped(key: str) -> None:
    extracted = build.extract_model(BBF / build.MODEL_FILES[key], BBF / build.TYPES_FILE)
    shipped_raw = resources.files("resources").joinpath("datamodels", f"{key}.json.gz").read_bytes()
    shipped = json.loads(gzip.decompress(shipped_raw))
    assert extracted == json.loads(json.dumps(extracted))  # JSON-clean
    assert extracted == shipped
    assert build.encode(extracted) == shipped_raw


def test_encode_is_deterministic_and_compact() -> None:
    facts = {"format": 1, "objects": {"A.": {}}, "params": {"A.B": {"t": "string"}}}
    assert build.encode(facts) == build.encode(facts)
    assert json.loads(gzip.decompress(build.encode(facts))) == facts


def test_shipped_facts_are_small() -> None:
    for key in build.MODEL_FILES:
        data = resources.files("resources").joinpath("datamodels", f"{key}.json.gz").read_bytes()
        assert len(data) < 300_000


def test_named_types_resolve_to_base_types(tmp_path: Path) -> None:
    doc = tmp_path / "mini.xml"
    doc.write_text(
        """<?xml version="1.0"?>
<dm:document xmlns:dm="urn:broadband-forum-org:cwmp:datamodel-1-14">
  <dataType name="IPAddress"><string><size maxLength="45"/></string></dataType>
  <dataType name="IPv4Address" base="IPAddress"><size maxLength="15"/>
    <pattern value=""/><pattern value="\\d+\\.\\d+\\.\\d+\\.\\d+"/></dataType>
  <model name="Mini:1.0">
    <object name="Mini." access="readOnly" minEntries="1" maxEntries="1">
      <parameter name="Addr" access="readWrite"><syntax><list><size maxLength="64"/></list>
        <dataType ref="IPv4Address"/></syntax></parameter>
      <parameter name="Gone" access="readOnly" status="deleted"><syntax><int/></syntax></parameter>
    </object>
    <object name="Mini.Row.{i}." access="readWrite" minEntries="0" maxEntries="unbounded"
        numEntriesParameter="RowNumberOfEntries" status="deprecated">
      <parameter name="Mode" access="readOnly"><syntax><string>
        <enumeration value="A"/><enumeration value="B" access="readOnly"/></string>
        <default type="object" value="A"/></syntax></parameter>
      <parameter name="Level" access="readWrite"><syntax><int>
        <range minInclusive="-5" maxInclusive="5" step="5"/><units value="dB"/></int></syntax>
      </parameter>
    </object>
  </model>
</dm:document>
""",
        encoding="utf-8",
    )
    facts = build.extract_model(doc)
    assert facts["root"] == "Mini."
    assert facts["params"]["Mini.Addr"] == {
        "l": {"maxl": 64},
        "t": "string",
        "maxl": 15,
        "p": ["", "\\d+\\.\\d+\\.\\d+\\.\\d+"],
        "dt": "IPv4Address",
        "w": 1,
    }
    assert "Mini.Gone" not in facts["params"]
    assert facts["objects"]["Mini.Row.{i}."] == {
        "w": 1,
        "min": 0,
        "max": None,
        "s": "deprecated",
        "ne": "RowNumberOfEntries",
    }
    assert facts["params"]["Mini.Row.{i}.Mode"] == {
        "t": "string",
        "e": ["A", "B"],
        "ero": ["B"],
        "d": "A",
    }
    assert facts["params"]["Mini.Row.{i}.Level"] == {
        "t": "int",
        "r": [[-5, 5, 5]],
        "u": "dB",
        "w": 1,
    }


def test_external_dtd_is_refused(tmp_path: Path) -> None:
    doc = tmp_path / "evil.xml"
    doc.write_text(
        '<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.invalid/x.dtd"><x/>',
        encoding="utf-8",
    )
    with pytest.raises(build.BuildError):
        build.parse_xml(doc)
