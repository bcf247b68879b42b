"""What a CPE answers to each ACS request: the RPC semantics of :class:`SimDevice`.

Every handler either returns the response or an ``rpc.Fault`` and leaves the device unchanged
(SetParameterValues, SetParameterAttributes and friends are atomic).

Fault choices: unknown names 9005; NextLevel=true on a parameter 9003; a partial path where a
parameter is needed (or the reverse) 9005; AddObject on an object that is not a table 9005,
on a table that does not allow AddObject 9003; DeleteObject on a non-deletable instance 9003.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acs_engine.cwmp import rpc, values
from acs_engine.cwmp.faults import make_fault
from acs_engine.sim.model import Node, parent_of

if TYPE_CHECKING:
    from acs_engine.sim.device import SimDevice

#: Methods the simulated CPE implements (its GetRPCMethodsResponse).
CPE_METHODS: tuple[str, ...] = (
    "GetRPCMethods", "SetParameterValues", "GetParameterValues", "GetParameterNames",
    "SetParameterAttributes", "GetParameterAttributes", "AddObject", "DeleteObject",
    "Reboot", "Download", "Upload", "FactoryReset", "ScheduleInform",
)

FAULT_NOT_ADDABLE = 9003
FAULT_NOT_DELETABLE = 9003
_FILE_TYPE_RE = re.compile(r"^([1-9]\d*( \S+)+|X \S+ .+)$")
_URL_SCHEMES = ("http://", "https://", "ftp://")


def _store_parameter_key(dev: SimDevice, key: str) -> None:
    path = dev.param("ManagementServer.ParameterKey")
    if path in dev.tree:
        dev.tree.values[path] = key


def _params_under(dev: SimDevice, name: str) -> list[str] | None:
    """Parameters named by a full name or a partial path; None when the name is unknown."""
    if name == "":
        return [p for p in dev.tree.subtree("") if not p.endswith(".")]
    if name not in dev.tree:
        return None
    if not name.endswith("."):
        return [name]
    return [p for p in dev.tree.subtree(name) if not p.endswith(".")]


# --------------------------------------------------------------------------- handlers
def get_rpc_methods(dev: SimDevice, req: rpc.GetRPCMethods) -> rpc.Message:
    """GetRPCMethods: the methods this CPE implements."""
    return rpc.GetRPCMethodsResponse(methods=CPE_METHODS)


def get_parameter_names(dev: SimDevice, req: rpc.GetParameterNames) -> rpc.Message:
    """GetParameterNames with NextLevel semantics."""
    path = req.parameter_path
    tree = dev.tree
    if path == "" and dev.options.empty_root_gpn:
        return rpc.GetParameterNamesResponse(parameters=())
    if path != "" and path not in tree:
        return make_fault(9005, f"Invalid parameter name: {path}")
    if path != "" and not path.endswith("."):
        if req.next_level:
            return make_fault(9003, "NextLevel must be false for a parameter name")
        names: list[str] = [path]
    else:
        names = list(tree.children(path) if req.next_level else tree.subtree(path))
    out: list[rpc.ParameterInfo] = []
    for name in names:
        node = tree.node(name)
        out.append(rpc.ParameterInfo(name, bool(node and node.writable)))
    return rpc.GetParameterNamesResponse(parameters=tuple(out))


def get_parameter_values(dev: SimDevice, req: rpc.GetParameterValues) -> rpc.Message:
    """GetParameterValues: full names and partial paths (expanded to their parameters)."""
    out: list[rpc.ParameterValue] = []
    for name in req.names:
        params = _params_under(dev, name)
        if params is None:
            return make_fault(9005, f"Invalid parameter name: {name}")
        out += dev.parameter_values(params)
    return rpc.GetParameterValuesResponse(parameters=tuple(out))


def set_parameter_values(dev: SimDevice, req: rpc.SetParameterValues) -> rpc.Message:
    """SetParameterValues: all or nothing, one SetParameterValuesFault per bad parameter."""
    faults: list[rpc.SetParameterValuesFault] = []
    seen: set[str] = set()
    duplicate = False
    for pv in req.parameters:
        if pv.name in seen:
            duplicate = True
        seen.add(pv.name)
        node = dev.tree.node(pv.name) if not pv.name.endswith(".") else None
        if node is None or node.type is None:
            faults.append(rpc.SetParameterValuesFault(pv.name, 9005, "Invalid parameter name"))
            continue
        if not node.writable:
            faults.append(rpc.SetParameterValuesFault(
                pv.name, 9008, "Attempt to set a non-writable parameter"))
            continue
        model_type = values.normalize_type(node.type)
        if pv.type and values.normalize_type(pv.type) != model_type:
            faults.append(rpc.SetParameterValuesFault(
                pv.name, 9006, f"Invalid parameter type: expected {node.type}"))
            continue
        problem = values.check(pv.value, model_type)
        if problem is not None:
            faults.append(rpc.SetParameterValuesFault(
                pv.name, 9007, f"Invalid parameter value: {problem}"))
    if faults:
        return make_fault(9003, "Invalid arguments", tuple(faults))
    if duplicate:
        return make_fault(9003, "Parameter named more than once")
    url_path = dev.param("ManagementServer.URL")
    old_url = dev.value(url_path)
    for pv in req.parameters:
        dev.tree.values[pv.name] = pv.value
    _store_parameter_key(dev, req.parameter_key)
    if url_path in seen and dev.value(url_path) != old_url:
        dev.defer("bootstrap")
    return rpc.SetParameterValuesResponse(status=0)


def get_parameter_attributes(dev: SimDevice, req: rpc.GetParameterAttributes) -> rpc.Message:
    """GetParameterAttributes: full names and partial paths."""
    out: list[rpc.ParameterAttribute] = []
    for name in req.names:
        params = _params_under(dev, name)
        if params is None:
            return make_fault(9005, f"Invalid parameter name: {name}")
        for path in params:
            notification, access = dev.attributes(path)
            out.append(rpc.ParameterAttribute(path, notification, access))
    return rpc.GetParameterAttributesResponse(parameters=tuple(out))


def set_parameter_attributes(dev: SimDevice, req: rpc.SetParameterAttributes) -> rpc.Message:
    """SetParameterAttributes: validated first, then applied to each named subtree."""
    if not req.parameters:
        return make_fault(9003, "ParameterList must not be empty")
    plan: list[tuple[list[str], rpc.SetParameterAttributesStruct]] = []
    for item in req.parameters:
        params = _params_under(dev, item.name)
        if params is None:
            return make_fault(9005, f"Invalid parameter name: {item.name}")
        if item.notification_change:
            if not 0 <= item.notification <= 6:
                return make_fault(9003, f"Invalid notification value {item.notification}")
            if item.notification in (2, 5, 6):
                refused = dev.options.refuse_active_notification
                for path in params:
                    if any(path.endswith(suffix) for suffix in refused):
                        return make_fault(9009, f"Active notification refused for {path}")
        if item.access_list_change and any(a != "Subscriber" for a in item.access_list):
            return make_fault(9003, "AccessList may only contain Subscriber")
        plan.append((params, item))
    for params, item in plan:
        for path in params:
            notification, access = dev.attributes(path)
            if item.notification_change:
                notification = item.notification
            if item.access_list_change:
                access = tuple(item.access_list)
            dev.set_attributes(path, notification, access)
    return rpc.SetParameterAttributesResponse()


def add_object(dev: SimDevice, req: rpc.AddObject) -> rpc.Message:
    """AddObject: a new instance numbered one above any ever used, built from the template."""
    name = req.object_name
    node = dev.tree.node(name) if name.endswith(".") else None
    spec = dev.model.table(name) if node is not None else None
    if node is None or spec is None:
        return make_fault(9005, f"Invalid object name: {name}")
    if not (spec.writable and node.writable):
        return make_fault(FAULT_NOT_ADDABLE, f"AddObject not allowed on {name}")
    number = dev.next_instance_number(name)
    instance = f"{name}{number}."
    new: list[tuple[str, Node]] = [(instance, Node(spec.writable, None, None))]
    have = {instance}
    for rel, tnode in spec.template:
        if rel == "":
            continue
        path = instance + rel
        # create intermediate objects a sparse template leaves out
        missing: list[str] = []
        parent = parent_of(path)
        while parent not in have and parent.startswith(instance):
            missing.append(parent)
            parent = parent_of(parent)
        for obj in reversed(missing):
            new.append((obj, Node(False, None, None)))
            have.add(obj)
        if path in have:
            continue
        value = tnode.value.replace("{i}", str(number)) if tnode.value else tnode.value
        new.append((path, Node(tnode.writable, tnode.type, value)))
        have.add(path)
    dev.tree.insert_after_subtree(name, new)
    _store_parameter_key(dev, req.parameter_key)
    return rpc.AddObjectResponse(instance_number=number, status=0)


def delete_object(dev: SimDevice, req: rpc.DeleteObject) -> rpc.Message:
    """DeleteObject: an existing, deletable instance object and its subtree."""
    name = req.object_name
    last = name[:-1].rsplit(".", 1)[-1] if name.endswith(".") else ""
    node = dev.tree.node(name) if last.isdigit() else None
    if node is None:
        return make_fault(9005, f"Invalid object name: {name}")
    if not node.writable:
        return make_fault(FAULT_NOT_DELETABLE, f"DeleteObject not allowed on {name}")
    dev.note_instance_used(name[: -len(last) - 1], int(last))
    dev.tree.remove_subtree(name)
    dev.drop_attributes(name)
    _store_parameter_key(dev, req.parameter_key)
    return rpc.DeleteObjectResponse(status=0)


def reboot(dev: SimDevice, req: rpc.Reboot) -> rpc.Message:
    """Reboot: happens after the session; the next Inform has ``1 BOOT`` + ``M Reboot``."""
    dev.defer("reboot", req.command_key)
    return rpc.RebootResponse()


def factory_reset(dev: SimDevice, req: rpc.FactoryReset) -> rpc.Message:
    """FactoryReset: after the session; next Inform ``0 BOOTSTRAP`` + ``1 BOOT``."""
    dev.defer("factory")
    return rpc.FactoryResetResponse()


def _check_transfer(file_type: str, url: str) -> rpc.Fault | None:
    if not _FILE_TYPE_RE.match(file_type):
        return make_fault(9003, f"Invalid FileType {file_type!r}")
    if not url:
        return make_fault(9003, "URL is required")
    if not url.lower().startswith(_URL_SCHEMES):
        return make_fault(9013, "Unsupported protocol for file transfer")
    return None


def download(dev: SimDevice, req: rpc.Download) -> rpc.Message:
    """Download: accepted (Status 1); runs after the session, TransferComplete follows."""
    fault = _check_transfer(req.file_type, req.url)
    if fault is not None:
        return fault
    dev.defer("transfer", req)
    return rpc.DownloadResponse(status=1, start_time=rpc.UNKNOWN_TIME,
                                complete_time=rpc.UNKNOWN_TIME)


def upload(dev: SimDevice, req: rpc.Upload) -> rpc.Message:
    """Upload: accepted (Status 1); runs after the session, TransferComplete follows."""
    fault = _check_transfer(req.file_type, req.url)
    if fault is not None:
        return fault
    dev.defer("transfer", req)
    return rpc.UploadResponse(status=1, start_time=rpc.UNKNOWN_TIME,
                              complete_time=rpc.UNKNOWN_TIME)


def schedule_inform(dev: SimDevice, req: rpc.ScheduleInform) -> rpc.Message:
    """ScheduleInform: ``3 SCHEDULED`` + ``M ScheduleInform`` after DelaySeconds (> 0)."""
    if req.delay_seconds <= 0:
        return make_fault(9003, "DelaySeconds must be greater than 0")
    dev.add_timer(float(req.delay_seconds), "schedule", req.command_key)
    return rpc.ScheduleInformResponse()


_HANDLERS: dict[type[rpc.Message], Callable[[Any, Any], rpc.Message]] = {
    rpc.GetRPCMethods: get_rpc_methods,
    rpc.GetParameterNames: get_parameter_names,
    rpc.GetParameterValues: get_parameter_values,
    rpc.SetParameterValues: set_parameter_values,
    rpc.GetParameterAttributes: get_parameter_attributes,
    rpc.SetParameterAttributes: set_parameter_attributes,
    rpc.AddObject: add_object,
    rpc.DeleteObject: delete_object,
    rpc.Reboot: reboot,
    rpc.FactoryReset: factory_reset,
    rpc.Download: download,
    rpc.Upload: upload,
    rpc.ScheduleInform: schedule_inform,
}


def handle(dev: SimDevice, request: rpc.Message) -> rpc.Message:
    """Dispatch one ACS request (fault injection first, 9000 for unsupported methods)."""
    injected = dev.options.fault_methods.get(request.METHOD)
    if injected:
        return make_fault(injected)
    handler = _HANDLERS.get(type(request))
    if handler is None:
        return make_fault(9000, f"Method not supported: {request.METHOD}")
    return handler(dev, request)
