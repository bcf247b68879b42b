"""The read phase against the simulated CPE: discovery, batches, staleness, 9005 recovery."""

from __future__ import annotations

from acs_engine.cwmp import rpc
from acs_engine.session import builtins
from acs_engine.session.declarations import Clear, Declaration

from .harness import HOUR, T0, Harness, kinds, undefer


def test_first_refresh_of_a_subtree_lists_then_reads_in_batches_of_32() -> None:
    h = Harness(gpv_partial_path=False)  # GenieACS's way: full names only
    h.session(T0)
    sent = h.run(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id)))
    assert kinds(sent) == ["GetParameterNames"] + ["GetParameterValues"] * 3
    gpn = sent[0]
    assert isinstance(gpn, rpc.GetParameterNames)
    # Device.'s children were never listed: the heuristic asks for the whole subtree
    assert (gpn.parameter_path, gpn.next_level) == ("Device.", False)
    sizes = [len(m.names) for m in sent[1:] if isinstance(m, rpc.GetParameterValues)]
    assert sizes == [32, 32, 3]
    names = [n for m in sent[1:] if isinstance(m, rpc.GetParameterValues) for n in m.names]
    assert all(n.startswith("Device.Hosts.") for n in names)
    assert names[:3] == [
        "Device.Hosts.HostNumberOfEntries", "Device.Hosts.AccessControlNumberOfEntries",
        "Device.Hosts.Host.1.PhysAddress",
    ]
    assert h.tree.get("Device.Hosts.Host.5.HostName").value == "printer-hall"


def test_fresh_data_needs_no_rpc_and_stale_data_is_listed_level_by_level() -> None:
    h = Harness(gpv_partial_path=False)
    h.session(T0)
    h.run(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id)))
    # same session, same declarations: everything is fresh
    assert h.planner is not None
    assert h.planner.plan(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id))) is None
    # an hour later: known objects are listed one level at a time, then values re-read
    h.session(T0 + HOUR)
    sent = h.run(undefer(builtins.refresh(["Device.Hosts"], T0 + HOUR, h.device.id)))
    gpns = [(m.parameter_path, m.next_level) for m in sent if isinstance(m, rpc.GetParameterNames)]
    assert gpns[:3] == [
        ("Device.Hosts.", True), ("Device.Hosts.Host.", True), ("Device.Hosts.Host.5.", True),
    ]
    assert len(gpns) == 17
    assert kinds(sent)[17:] == ["GetParameterValues"] * 3


def test_value_refresh_with_timestamp_one_uses_any_cached_value() -> None:
    h = Harness()
    h.session(T0)
    software = "Device.DeviceInfo.SoftwareVersion"
    assert h.tree.get(software) is not None  # from the Inform
    assert h.run([Declaration(software, path_get=1, attr_get={"value": 1})]) == []
    sent = h.run([Declaration(software, path_get=1, attr_get={"value": T0 + 5})])
    assert sent == []  # capped at the session timestamp: the Inform's value is that fresh


def test_unknown_parameter_is_discovered_then_read() -> None:
    h = Harness()
    h.session(T0)
    name = "Device.DeviceInfo.UpTime"
    sent = h.run([Declaration(name, path_get=T0, attr_get={"value": T0})])
    assert sent == [
        rpc.GetParameterNames(parameter_path="Device.DeviceInfo.", next_level=True),
        rpc.GetParameterValues(names=(name,)),
    ]
    assert h.tree.get(name) is not None and h.tree.get(name).value is not None


def test_attributes_are_read_with_get_parameter_attributes() -> None:
    h = Harness()
    h.session(T0)
    name = "Device.ManagementServer.PeriodicInformInterval"
    sent = h.run([Declaration(name, attr_get={"notification": T0, "accessList": T0})])
    assert sent[-1] == rpc.GetParameterAttributes(names=(name,))
    param = h.tree.get(name)
    assert param.notification == 0 and param.access_list == ()


def test_fault_9005_clears_the_path_and_the_session_goes_on() -> None:
    h = Harness()
    h.session(T0)
    ghost = "Device.DeviceInfo.Ghost"
    h.tree.set_value(ghost, "boo", "xsd:string", T0 - HOUR)  # stored, gone from the CPE
    sent = h.run([Declaration(ghost, attr_get={"value": T0})])
    assert sent[0] == rpc.GetParameterValues(names=(ghost,))
    assert h.results[0].fault_cleared is True
    assert ghost not in h.tree.params and ghost in h.tree.deleted
    # the planner then looks for it where it should be and learns it is absent
    assert sent[1] == rpc.GetParameterNames(parameter_path="Device.DeviceInfo.", next_level=True)
    assert len(sent) == 2


def test_other_faults_are_left_to_the_handler() -> None:
    h = Harness()
    h.session(T0)
    h.answer = lambda m: rpc.Fault(code=9002, string="Internal error", faultcode="Server")
    assert h.planner is not None
    action = h.planner.plan([Declaration("Device.X", path_get=T0)])
    assert action is not None
    h.send(action.message)  # type: ignore[union-attr]
    assert h.results[-1].fault_cleared is False


def test_clear_forgets_stale_data() -> None:
    h = Harness()
    h.session(T0)
    h.tree.set_value("Device.Old.Param", "1", "xsd:string", T0 - HOUR)
    h.tree.set_value("Device.Old.Fresh", "1", "xsd:string", T0)
    assert h.run([Declaration("Device.DeviceInfo", path_get=1)],
                 clears=[Clear("Device.Old", T0)]) == []
    assert "Device.Old.Param" not in h.tree.params
    assert "Device.Old.Fresh" in h.tree.params


def test_gpn_next_level_setting_forces_next_level_near_the_root() -> None:
    h = Harness(gpn_next_level=3)
    h.session(T0)
    sent = h.run(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id)))
    gpns = [(m.parameter_path, m.next_level) for m in sent if isinstance(m, rpc.GetParameterNames)]
    assert gpns[0] == ("Device.", True)
    assert gpns[1] == ("Device.Hosts.", True)
    assert gpns[2] == ("Device.Hosts.Host.", False)


def test_a_wholly_stale_object_is_read_by_its_partial_path() -> None:
    h = Harness()  # gpv_partial_path is on by default
    h.session(T0)
    sent = h.run(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id)))
    assert kinds(sent) == ["GetParameterNames", "GetParameterValues"]
    gpv = sent[1]
    assert isinstance(gpv, rpc.GetParameterValues)
    assert gpv.names == ("Device.Hosts.",)
    # the values arrived all the same: nothing left to read
    assert h.planner is not None
    assert h.planner.plan(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id))) is None


def test_a_node_declared_twice_merges_its_attributes_without_touching_the_declarations() -> None:
    """Two declarations reach one node by different patterns (a wildcard and a literal): the
    pass merges what they ask for per node; the merged attributes of one pattern, shared by
    every node it reaches, stay as declared."""
    from acs_engine.session.reads import Pass

    h = Harness()
    h.session(T0)
    h.run(undefer(builtins.refresh(["Device.Hosts"], T0, h.device.id)))
    assert h.planner is not None
    index = h.planner.index()
    later = T0 + HOUR
    declarations = [
        Declaration("Device.Hosts.Host.*.HostName", path_get=1, attr_get={"value": later}),
        Declaration("Device.Hosts.Host.5.HostName", path_get=1, attr_get={"writable": later}),
    ]
    state = Pass(index, later).run(declarations)
    assert "Device.Hosts.Host.5.HostName" in state.value
    assert "Device.Hosts.Host.5.HostName" in state.writable
    assert "Device.Hosts.Host.1.HostName" in state.value
    assert "Device.Hosts.Host.1.HostName" not in state.writable  # not merged into the others
    again = Pass(index, later).run(list(reversed(declarations)))
    assert set(again.value) == set(state.value)
    assert list(again.writable) == ["Device.Hosts.Host.5.HostName"]


def test_ancestor_objects_are_every_object_above_each_path_shortest_first() -> None:
    from acs_engine.session.tree import ancestor_objects

    assert ancestor_objects([
        "Device.DeviceInfo.SoftwareVersion", "Device.WiFi.SSID.1.", "InternetGatewayDevice.A",
    ]) == [
        "Device.", "Device.WiFi.", "Device.WiFi.SSID.", "Device.DeviceInfo.",
        "InternetGatewayDevice.",
    ]
    assert ancestor_objects(["Device", "Device.", ""]) == []
