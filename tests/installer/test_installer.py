"""installer/ without building: icons, the desktop entry, the spec's inputs, frozen ext()."""

from __future__ import annotations

import configparser
import struct
import sys
from pathlib import Path

import pytest

from acs_engine.scripting import ext

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "installer"
ICONS = INSTALLER / "icons"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("size", [16, 24, 32, 48, 64, 128, 256, 512])
def test_png_icons_have_their_size(size: int) -> None:
    assert _png_size((ICONS / f"fieldacs-{size}.png").read_bytes()) == (size, size)


def test_icon_svg_is_the_app_icon() -> None:
    source = ROOT / "resources" / "icons" / "fieldacs.svg"
    assert (ICONS / "fieldacs.svg").read_bytes() == source.read_bytes(), (
        "run .venv/bin/python installer/make_icons.py after changing the app icon"
    )


def test_ico_holds_png_entries_up_to_256() -> None:
    data = (ICONS / "fieldacs.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, _h, _c, _r, _p, _b, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        png = data[offset : offset + length]
        assert _png_size(png)[0] == (w or 256)
        sizes.append(w or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]


def test_icns_elements_are_consistent() -> None:
    data = (ICONS / "fieldacs.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    pos, kinds = 8, {}
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        kinds[kind] = _png_size(data[pos + 8 : pos + length])[0]
        pos += length
    assert pos == len(data)
    assert kinds[b"ic10"] == 1024 and kinds[b"ic07"] == 128 and kinds[b"icp4"] == 16


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(INSTALLER / "fieldacs.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "fieldacs"  # takes no file or URL arguments
    assert entry["Icon"] == "fieldacs"
    assert entry["StartupWMClass"] == "fieldacs"  # app.setDesktopFileName("fieldacs")
    assert entry["Categories"].endswith(";")


def test_spec_inputs_exist() -> None:
    spec = (INSTALLER / "fieldacs.spec").read_text("utf-8")
    for script in ("fieldacs_main.py", "fieldacs_engine_main.py"):
        assert f'"{script}"' in spec
        assert (INSTALLER / script).is_file()
    assert 'collect_all("py_mini_racer")' in spec
    assert (ROOT / "acs_engine" / "scripting" / "ext_child.py").is_file()
    assert (ROOT / "acs_engine" / "scripting" / "prelude.js").is_file()


def test_entry_scripts_know_the_ext_child_switch() -> None:
    # Both entry scripts run the one shared check first; it knows the switch.
    assert '"--run-ext-child"' in (INSTALLER / "frozen_entry.py").read_text("utf-8")
    for script in ("fieldacs_main.py", "fieldacs_engine_main.py"):
        text = (INSTALLER / script).read_text("utf-8")
        assert "run_ext_child_if_asked()" in text


def test_ext_child_command_from_source() -> None:
    cmd = ext._child_command()
    assert cmd[0] == sys.executable
    assert Path(cmd[-1]).name == "ext_child.py"


def test_ext_child_command_in_a_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exe_suffix = ".exe" if sys.platform == "win32" else ""
    console = tmp_path / f"fieldacs{exe_suffix}"
    console.write_bytes(b"")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(console))
    # Without the engine beside it, the program runs the child itself.
    assert ext._child_command() == [str(console), "--run-ext-child"]
    engine = tmp_path / f"fieldacs-engine{exe_suffix}"
    engine.write_bytes(b"")
    assert ext._child_command() == [str(engine), "--run-ext-child"]
