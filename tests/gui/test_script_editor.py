"""The script editor against the real engine: V8 compile errors at their line, save, dry run."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QTextBlock, QTextDocument

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from app.code_editor import JsHighlighter
from app.script_editor import VIRTUAL_PARAMETERS, ScriptEditor
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine

BROKEN = 'const a = 1;\nlog("x");\nif (a {\n  declare("Device.X", {value: 1});\n}\n'
FIXED = BROKEN.replace("if (a {", "if (a) {")


async def test_error_marked_at_its_line_then_cleared_then_saved(tmp_path: Path, qtbot) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        editor = ScriptEditor(engine)
        qtbot.addWidget(editor)
        checks: list[object] = []
        editor.checked.connect(checks.append)
        editor.reload()
        await wait_until(lambda: editor.list.count() > 0, what="the seeded provisions")

        editor.name_edit.setText("mine")
        editor.editor.setPlainText(BROKEN)
        await wait_until(lambda: checks and editor.pending() == 0, what="a compile check")
        assert checks[-1] is not None
        assert editor.editor.error_line == 3
        assert "Line 3" in editor.problem.text()
        assert len(editor.editor.extraSelections()) == 2  # current line + the error band

        # A broken script is not saved.
        editor.save()
        await wait_until(lambda: editor.pending() == 0)
        assert engine.store is not None
        assert await engine.store.get_provision("mine") is None

        # Fix it as a user would: type the missing ")" after "(a".
        cursor = editor.editor.textCursor()
        cursor.setPosition(BROKEN.index("(a {") + 2)
        editor.editor.setTextCursor(cursor)
        editor.editor.insertPlainText(")")
        await wait_until(lambda: checks[-1] is None and editor.pending() == 0, what="the fix")
        assert editor.editor.toPlainText() == FIXED
        assert editor.editor.error_line is None
        assert "compiles" in editor.problem.text()
        # Undo brings the error back (the editor's own undo stack), redo fixes it again.
        editor.editor.undo()
        await wait_until(lambda: checks[-1] is not None and editor.pending() == 0)
        assert editor.editor.toPlainText() == BROKEN
        assert editor.editor.error_line == 3
        editor.editor.redo()
        await wait_until(lambda: checks[-1] is None and editor.pending() == 0)

        saved: list[tuple[str, str]] = []
        editor.saved.connect(lambda kind, name: saved.append((kind, name)))
        editor.save()
        await wait_until(lambda: saved, what="the save")
        stored = await engine.store.get_provision("mine")
        assert stored is not None and stored.script == FIXED
        await wait_until(lambda: editor.pending() == 0)
        assert [editor.list.item(i).text() for i in range(editor.list.count())].count("mine") == 1
        editor.shutdown()


async def test_dry_run_of_unsaved_text_and_virtual_parameters(
    tmp_path: Path, qtbot, qtmodeltester
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        base = load_model("tr181")
        assert (await SimCpe(SimDevice(base, "SCR00001"), engine.cwmp_urls()[-1]).session()).ok
        dev_id = make_device_id(base.oui, base.product_class, "SCR00001")
        editor = ScriptEditor(engine)
        qtbot.addWidget(editor)
        editor.set_device(dev_id)
        editor.name_edit.setText("draft")
        editor.editor.setPlainText(
            'log("dry"); declare("Device.DeviceInfo.ProvisioningCode", null, {value: "X1"});'
        )
        dialog = editor.open_dry_run()
        results: list[object] = []
        dialog.finished_run.connect(results.append)
        dialog.run()
        await wait_until(lambda: results, timeout=15, what="the dry run")
        assert dialog.result is not None
        # The seeded bootstrap read the whole tree, writability included: it just sets.
        assert dialog.result.methods == ["SetParameterValues"]
        assert dialog.model.rowCount() == 1
        assert "ProvisioningCode = 'X1'" in dialog.model.index(0, 2).data()
        assert "draft: dry" in dialog.log_text.toPlainText()
        qtmodeltester.check(dialog.model)
        assert await engine.store.get_provision("draft") is None  # type: ignore[union-attr]
        dialog.close()

        editor.kind_combo.setCurrentIndex(editor.kind_combo.findData(VIRTUAL_PARAMETERS))
        await wait_until(lambda: editor.pending() == 0)
        editor.name_edit.setText("code")
        editor.editor.setPlainText(
            'const v = declare("Device.DeviceInfo.ProvisioningCode", {value: 1});\n'
            'return {writable: false, value: [v.value[0] + "!", "xsd:string"]};\n'
        )
        dialog = editor.open_dry_run()
        results = []
        dialog.finished_run.connect(results.append)
        dialog.run()
        await wait_until(lambda: results, timeout=15, what="the virtual parameter dry run")
        assert dialog.result is not None and dialog.result.faults == []
        upserts = {p.path: p.value for p in dialog.result.upserts}
        assert upserts.get("VirtualParameters.code", "").endswith("!")
        dialog.close()
        editor.shutdown()


def _colour_at(block: QTextBlock, pos: int) -> QColor | None:
    for r in block.layout().formats():
        if r.start <= pos < r.start + r.length:
            return r.format.foreground().color()
    return None


def _italic_at(block: QTextBlock, pos: int) -> bool:
    return any(
        r.start <= pos < r.start + r.length and r.format.fontItalic()
        for r in block.layout().formats()
    )


def test_highlighter_colours_strings_comments_and_api_names(qapp) -> None:
    doc = QTextDocument()
    hl = JsHighlighter(doc)
    doc.setPlainText('declare("a // b", {value: 1}); // note\n/* one\ntwo */ commit(); const x = 2;')
    hl.rehighlight()
    first = doc.firstBlock()
    text = first.text()
    assert _colour_at(first, 0) == hl.api.foreground().color()
    assert _colour_at(first, text.index("a // b")) == hl.string.foreground().color()
    assert not _italic_at(first, text.index("// b"))  # inside a string: not a comment
    assert _colour_at(first, text.index("1")) == hl.number.foreground().color()
    assert _italic_at(first, text.index("// note"))
    second = first.next()
    assert second.userState() == JsHighlighter._IN_COMMENT
    third = second.next()
    assert _italic_at(third, 0)
    assert _colour_at(third, third.text().index("commit")) == hl.api.foreground().color()
    assert _colour_at(third, third.text().index("const")) == hl.keyword.foreground().color()
    assert not _italic_at(third, third.text().index("commit"))
