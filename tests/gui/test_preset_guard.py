"""A staged value a preset sets back (issue 18, bug 3): told before Commit, told after it.

The real engine with provisioning on (the seeded ``inform`` preset sets
PeriodicInformInterval to 300), a simulated TR-181 CPE woken by connection request.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from app.device_view import DeviceView
from app.staging import DONE, STAGED
from tests.gui.aio import wait_until
from tests.gui.test_device_view import _discovered, _rig, _running

INTERVAL = "Device.ManagementServer.PeriodicInformInterval"
CODE = "Device.DeviceInfo.ProvisioningCode"
WORDS = "preset inform (provision inform) manages this parameter and will set it back to 300"


async def test_a_value_the_inform_preset_sets_back(tmp_path: Path, qtbot) -> None:
    async with _rig(tmp_path, provisioning=True) as rig:
        cpe, device_id = await _discovered(rig, "GUARD00001")
        view = DeviceView(rig.engine, rig.bridge, rig.requester, device_id)
        qtbot.addWidget(view)
        view.resize(1200, 800)
        view.show()
        await view.reload()
        assert cpe.device.value(INTERVAL) == "300"

        # Before Commit: the staged row and a notice say which preset sets it back.
        assert view.edit_value(INTERVAL, "600") is None
        assert view.edit_value(CODE, "lab-9") is None
        interval, code = view.changes.entries()
        await wait_until(lambda: interval.managed_by is not None and not view.guard.pending(),
                         timeout=10, what="presets checked")
        assert code.managed_by is None
        assert interval.managed_by.words == WORDS
        assert view.changes.index(0, 1).data() == "Staged — ⚠ preset inform sets it back to 300"
        assert view.changes.index(1, 1).data() == "Staged"
        notice = view.preset_notice
        assert notice.isVisible()
        assert notice.text.text() == f"{INTERVAL} = 600: {WORDS}."
        # The two ways out: change the preset (the window opens its editor), or leave it.
        with qtbot.waitSignal(view.presetRequested) as asked:
            qtbot.mouseClick(notice.change_button, Qt.MouseButton.LeftButton)
        assert asked.args == ["inform"]
        qtbot.mouseClick(notice.leave_button, Qt.MouseButton.LeftButton)
        assert not notice.isVisible()

        # After: the value was set, then set back in the same session; the status says so.
        async with _running(cpe):
            assert view.commit() == 2
            await wait_until(lambda: not view.changes.has_pending(), timeout=15,
                             what="the session ran the tasks")
        assert [e.state for e in view.changes.entries()] == [DONE, DONE]
        assert cpe.device.value(INTERVAL) == "300" and cpe.device.value(CODE) == "lab-9"
        assert interval.message == "Set, then overwritten by preset inform (now 300)"
        assert interval.overwritten and not code.overwritten
        assert code.message == "Set"
        assert view.changes.index(1, 1).data() == "Done: Set"
        assert notice.isVisible()
        assert notice.text.text().startswith(f"{INTERVAL} was set to 600, then preset inform")
        assert interval.state != STAGED
