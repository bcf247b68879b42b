"""The device view's Tags, Sessions and Faults tabs on their own (no engine)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from acs_engine.store.model import SessionRecord
from acs_engine.store.records import Fault, fault_id
from app.device_tabs import FaultsTab, SessionList, TagsTab


def _Fault(timestamp: int, channel: str, code: str, message: str, device: str = "DEV") -> Fault:
    return Fault(id=fault_id(device, channel), device_id=device, channel=channel,
                 timestamp_ms=timestamp, code=code, message=message)


def test_tags_tab_lists_sorted_and_asks_to_add_and_remove(qtbot: QtBot) -> None:
    tab = TagsTab()
    qtbot.addWidget(tab)
    tab.show_tags({"lab", "floor-2"})
    assert [tab.tag_list.item(i).text() for i in range(tab.tag_list.count())] == ["floor-2", "lab"]

    tab.tag_input.setText("  ")
    with qtbot.assertNotEmitted(tab.addRequested):
        tab.tag_input.returnPressed.emit()
    tab.tag_input.setText(" new ")
    with qtbot.waitSignal(tab.addRequested) as added:
        tab.tag_input.returnPressed.emit()
    assert added.args == ["new"] and tab.tag_input.text() == ""

    with qtbot.assertNotEmitted(tab.removeRequested):
        tab.remove_tag_button.click()
    tab.tag_list.item(1).setSelected(True)
    with qtbot.waitSignal(tab.removeRequested) as removed:
        tab.remove_tag_button.click()
    assert removed.args == [["lab"]]


def test_session_list_emits_the_chosen_session(qtbot: QtBot) -> None:
    sessions = SessionList()
    qtbot.addWidget(sessions)
    sessions.show_sessions([
        SessionRecord("s2", "dev", 2_000, outcome="ok", events=("2 PERIODIC",), rpc_count=3),
        SessionRecord("s1", "dev", 1_000, events=("0 BOOTSTRAP", "1 BOOT")),
    ])
    assert sessions.topLevelItemCount() == 2
    first, second = sessions.topLevelItem(0), sessions.topLevelItem(1)
    assert (first.text(1), first.text(2), first.text(3)) == ("ok", "3", "2 PERIODIC")
    assert (second.text(1), second.text(3)) == ("running", "0 BOOTSTRAP, 1 BOOT")
    assert second.data(0, Qt.ItemDataRole.UserRole) == "s1"
    with qtbot.waitSignal(sessions.sessionChosen) as chosen:
        sessions.itemDoubleClicked.emit(second, 0)
    assert chosen.args == ["s1"]


def test_faults_tab_shows_the_list_or_says_there_are_none(qtbot: QtBot) -> None:
    tab = FaultsTab()
    qtbot.addWidget(tab)
    tab.show()
    assert tab.no_faults.isVisible() and not tab.table.isVisible()
    tab.show_faults([_Fault(1_000, "task_1", "9005", "Invalid parameter name")])
    assert tab.count() == 1
    assert tab.proxy.index(0, 2).data() == "9005"
    assert tab.table.isVisible() and not tab.no_faults.isVisible()
    # one failure stored on three channels (GenieACS's model) is one row (issue 18, bug 7)
    tab.show_faults([_Fault(2_000, c, "cwmp.9002", "Internal error")
                     for c in ("inform", "bootstrap", "default")])
    assert tab.count() == 1
    assert tab.proxy.index(0, 1).data() == "bootstrap, default, inform"
    # through the proxy, only the device shown: another device's fault is not listed
    tab.show_faults([_Fault(3_000, "default", "9002", "x"), _Fault(3_000, "default", "9002",
                                                                   "x", device="OTHER")], "DEV")
    assert tab.count() == 1 and tab.model.rowCount() == 2
    tab.show_faults([])
    assert tab.no_faults.isVisible() and not tab.table.isVisible()
    assert (FaultsTab.title(0), FaultsTab.title(2)) == ("Faults", "Faults (2)")
