"""The write phase against the simulated CPE: values, instances, tags, reboot, download, limits."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import rpc
from acs_engine.session import builtins
from acs_engine.session.declarations import Declaration
from acs_engine.session.sync import SyncFault, VirtualParameterAction

from .harness import HOUR, T0, Harness, kinds, undefer

INTERVAL = "Device.ManagementServer.PeriodicInformInterval"
PM = "Device.NAT.PortMapping"
WRITES = {"DeleteObject", "AddObject", "SetParameterValues", "SetParameterAttributes",
          "Download", "Reboot", "FactoryReset"}


def _known(h: Harness) -> None:
    """Session 1: learn the whole tree so later sessions go straight to writing."""
    h.session(T0)
    h.run(undefer(builtins.refresh(["Device"], T0, h.device.id)))


def test_value_is_set_only_when_it_differs() -> None:
    h = Harness()
    h.session(T0)
    sent = h.run(undefer(builtins.value([INTERVAL, 600], T0, h.device.id)))
    assert kinds(sent) == ["GetParameterNames", "GetParameterValues", "SetParameterValues"]
    assert sent[-1] == rpc.SetParameterValues(
        parameters=(rpc.ParameterValue(INTERVAL, "600", "xsd:unsignedInt"),)
    )
    assert h.cpe.value(INTERVAL) == "600"
    h.session(T0 + HOUR)
    assert h.run(undefer(builtins.value([INTERVAL, "600"], T0 + HOUR, h.device.id))) == []


def test_set_values_are_typed_and_batched() -> None:
    h = Harness()
    _known(h)
    h.config = h.config.replace(boolean_literal=False, gpv_batch_size=2)
    h.session(T0 + HOUR)
    decs = [
        Declaration(f"{PM}.*.Enable", attr_get={"value": 1}, attr_set={"value": (False, None)}),
        Declaration(f"{PM}.1.Description", attr_get={"value": 1},
                    attr_set={"value": ("web", None)}),
    ]
    sent = h.run(decs)
    assert kinds(sent) == ["SetParameterValues", "SetParameterValues"]
    assert sent[0] == rpc.SetParameterValues(parameters=(
        rpc.ParameterValue(f"{PM}.1.Enable", "0", "xsd:boolean"),
        rpc.ParameterValue(f"{PM}.1.Description", "web", "xsd:string"),
    ))
    assert sent[1] == rpc.SetParameterValues(parameters=(
        rpc.ParameterValue(f"{PM}.2.Enable", "0", "xsd:boolean"),
    ))


def test_deferred_values_wait_for_the_handler() -> None:
    h = Harness()
    _known(h)
    h.session(T0 + HOUR)
    assert h.run(builtins.value([INTERVAL, 900], T0 + HOUR, h.device.id)) == []


def test_instances_with_alias_keys_are_created_and_their_keys_set() -> None:
    h = Harness()
    _known(h)
    h.session(T0 + HOUR)
    path = f"{PM}.[Description:web,ExternalPort:8443]"
    sent = h.run(undefer(builtins.instances([path, 1], T0 + HOUR, h.device.id)))
    assert sent == [
        rpc.AddObject(object_name=f"{PM}."),
        rpc.GetParameterValues(names=(f"{PM}.3.Description", f"{PM}.3.ExternalPort")),
        rpc.SetParameterValues(parameters=(
            rpc.ParameterValue(f"{PM}.3.Description", "web", "xsd:string"),
            rpc.ParameterValue(f"{PM}.3.ExternalPort", "8443", "xsd:unsignedInt"),
        )),
        # the new instance's writable flag is not known yet (GenieACS lists the table again)
        rpc.GetParameterNames(parameter_path=f"{PM}.", next_level=True),
    ]
    assert h.cpe.value(f"{PM}.3.ExternalPort") == "8443"
    # satisfied now, and in the next session too
    h.session(T0 + 2 * HOUR)
    assert h.run(undefer(builtins.instances([path, 1], T0 + 2 * HOUR, h.device.id))) == []


def test_instances_beyond_the_maximum_are_deleted_lowest_kept() -> None:
    h = Harness()
    _known(h)
    h.session(T0 + HOUR)
    decs = [Declaration(f"{PM}.*", path_get=1, path_set=(0, 1))]
    assert h.run(decs) == [rpc.DeleteObject(object_name=f"{PM}.2.")]
    h.session(T0 + 2 * HOUR)
    assert h.run([Declaration(f"{PM}.*", path_get=1, path_set=0)]) == [
        rpc.DeleteObject(object_name=f"{PM}.1.")
    ]


def test_read_only_tables_are_left_alone_unless_the_check_is_skipped() -> None:
    h = Harness()
    _known(h)
    h.session(T0 + HOUR)
    assert h.run([Declaration("Device.Hosts.Host.*", path_get=1, path_set=0)]) == []
    h.config = h.config.replace(skip_writable_check=True)
    h.session(T0 + 2 * HOUR)
    sent = h.run([Declaration("Device.Hosts.Host.*", path_get=1, path_set=4)])
    assert sent == [rpc.DeleteObject(object_name="Device.Hosts.Host.5.")]
    assert h.results[-1].fault_cleared is False  # the CPE refused: the handler's fault


def test_write_phase_order() -> None:
    h = Harness()
    _known(h)
    ts = T0 + HOUR
    h.session(ts)
    decs = undefer(
        builtins.reset([], ts, h.device.id)
        + builtins.reboot([], ts, h.device.id)
        + builtins.download(["1 Firmware Upgrade Image", "fw-2.0.bin"], ts, h.device.id)
        + builtins.value([INTERVAL, "notification", 2], ts, h.device.id)
        + builtins.value([INTERVAL, 1200], ts, h.device.id)
        + builtins.instances([f"{PM}.[Description:new]", 1], ts, h.device.id)
        + builtins.instances([f"{PM}.[Description:pi web]", 0], ts, h.device.id)
    )
    sent = h.run(decs)
    writes = [m for m in sent if m.METHOD in WRITES]
    assert kinds(writes) == ["DeleteObject", "AddObject", "SetParameterValues",
                             "SetParameterValues", "SetParameterAttributes", "Download", "Reboot",
                             "FactoryReset"]
    assert writes[0] == rpc.DeleteObject(object_name=f"{PM}.1.")
    assert writes[2] == rpc.SetParameterValues(
        parameters=(rpc.ParameterValue(f"{PM}.3.Description", "new", "xsd:string"),)
    )
    assert writes[3] == rpc.SetParameterValues(
        parameters=(rpc.ParameterValue(INTERVAL, "1200", "xsd:unsignedInt"),)
    )
    spa = next(m for m in sent if isinstance(m, rpc.SetParameterAttributes))
    assert spa.parameters == (rpc.SetParameterAttributesStruct(INTERVAL, True, 2),)
    assert h.run(decs) == sent  # a second look in the same session sends nothing more


def test_reboot_once_per_declared_time() -> None:
    h = Harness()
    h.session(T0)
    decs = undefer(builtins.reboot([], T0, h.device.id))
    assert h.run(decs) == [rpc.Reboot(command_key="")]
    assert h.tree.get("Reboot").type == "xsd:dateTime"
    assert h.planner is not None and h.planner.plan(decs) is None
    h.session(T0 + HOUR)
    assert h.run(decs) == []  # the declared time is older than the stored Reboot


def test_tags_are_local_changes() -> None:
    h = Harness()
    h.session(T0)
    assert h.run(undefer(builtins.tag(["vip", True], T0, h.device.id))) == []
    assert h.device.tags == {"vip"}
    assert h.planner is not None
    assert h.planner.snapshot()["Tags.vip"]["value"] == [True, "xsd:boolean"]
    assert h.run(undefer(builtins.tag(["vip", False], T0, h.device.id))) == []
    assert h.device.tags == set()


def test_download_creates_the_virtual_object_and_sends_one_download() -> None:
    h = Harness()
    h.session(T0, file_url=lambda name: (f"http://acs:7567/{name}", 1234))
    decs = undefer(builtins.download(["1 Firmware Upgrade Image", "fw-2.0.bin"], T0,
                                     h.device.id))
    sent = h.run(decs)
    assert len(sent) == 1 and isinstance(sent[0], rpc.Download)
    assert sent[0].url == "http://acs:7567/fw-2.0.bin" and sent[0].file_size == 1234
    assert sent[0].file_type == "1 Firmware Upgrade Image"
    assert sent[0].command_key == f"{T0:x}0000"
    snap = h.planner.snapshot()  # type: ignore[union-attr]
    assert snap["Downloads.1.FileName"]["value"] == ["fw-2.0.bin", "xsd:string"]
    assert snap["Downloads.1.Download"]["value"] == [T0, "xsd:dateTime"]
    operation = h.results[-1].operation
    assert operation is not None and operation.instance == "1"
    h.session(T0 + HOUR)
    assert h.run(decs) == []  # declared time T0 is not newer than the stored Download


def test_too_many_commits() -> None:
    h = Harness(max_commit_iterations=5)
    _known(h)
    h.session(T0 + HOUR)
    flip = iter(range(1000))

    def flip_flop() -> list[Declaration]:
        return undefer(builtins.value([INTERVAL, 100 + next(flip) % 2], T0, h.device.id))

    with pytest.raises(SyncFault) as info:
        h.run(flip_flop)
    assert info.value.code == "too_many_commits"
    assert kinds(h.sent) == ["SetParameterValues"] * 4


def test_too_many_rpcs_and_nesting_limits() -> None:
    h = Harness()
    planner = h.session(T0)
    decs = [Declaration("Device.X", path_get=T0)]
    with pytest.raises(SyncFault) as nested:
        planner.plan(decs, vparam_depth=7)
    assert nested.value.code == "deeply_nested_vparams"
    planner.rpc_count = 255
    with pytest.raises(SyncFault) as rpcs:
        planner.plan(decs)
    assert rpcs.value.code == "too_many_rpcs"
    planner.new_cycle()
    assert planner.plan(decs) is not None


def test_virtual_parameters_are_evaluated_and_set() -> None:
    h = Harness()
    planner = h.session(T0, virtual_parameters=["wanip"])
    decs = [Declaration("VirtualParameters.wanip", attr_get={"value": T0, "writable": T0})]
    action = planner.plan(decs)
    assert action == VirtualParameterAction("wanip", {"value": T0, "writable": T0}, {})
    planner.apply_virtual_parameter("wanip", {"value": "10.0.0.1", "writable": True})
    assert planner.plan(decs) is None
    assert planner.snapshot()["VirtualParameters.wanip"] == {
        "object": False, "writable": True, "value": ["10.0.0.1", "xsd:string"],
    }
    decs = [Declaration("VirtualParameters.wanip", attr_get={"value": 1},
                        attr_set={"value": ("10.0.0.2", None)})]
    action = planner.plan(decs)
    assert action == VirtualParameterAction(
        "wanip", {}, {"value": ["10.0.0.2", "xsd:string"]}
    )
    planner.apply_virtual_parameter("wanip", {"value": "10.0.0.2", "writable": True})
    assert planner.plan(decs) is None
    h.session(T0 + HOUR, virtual_parameters=["wanip"])
    assert h.planner is not None
    action = h.planner.plan([Declaration("VirtualParameters.*", attr_get={"value": T0 + HOUR})])
    assert action == VirtualParameterAction("wanip", {"value": T0 + HOUR}, {})
    with pytest.raises(SyncFault) as bad:
        h.planner.apply_virtual_parameter("wanip", {"writable": True})
    assert bad.value.code == "script"
