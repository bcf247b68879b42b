"""``fieldacs-engine`` subcommands that manage provisioning without the console.

    fieldacs-engine provisions put NAME FILE.js | list | delete NAME      [--db PATH]
    fieldacs-engine virtual-parameters put NAME FILE.js | list | delete NAME
    fieldacs-engine presets put FILE.json | list | delete NAME
    fieldacs-engine import-genieacs DIR   (presets.json, provisions.json, virtual_parameters.json)

Scripts are syntax-checked in the real V8 sandbox and preconditions parsed before anything is
stored; a bad one is refused with the line/column or position, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from acs_engine.cli_common import CliError, fail, open_store
from acs_engine.config import default_db_path
from acs_engine.expression import ExpressionError, parse
from acs_engine.policy.presets import legacy_precondition_to_expression
from acs_engine.scripting import Sandbox
from acs_engine.store.db import Store
from acs_engine.store.genieacs import preset_from_genieacs, preset_to_genieacs
from acs_engine.store.records import Preset, Provision, VirtualParameter

COMMANDS = ("provisions", "virtual-parameters", "presets", "import-genieacs")


def _with_db(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--db", default=str(default_db_path()), help="database file")
    return parser


def add_subcommands(sub: Any) -> None:
    """Register this module's subcommands on ``fieldacs-engine``'s subparsers."""
    for name, what in (("provisions", "provision scripts"),
                       ("virtual-parameters", "virtual parameter scripts")):
        parser = sub.add_parser(name, help=f"manage {what}")
        actions = parser.add_subparsers(dest="action", required=True)
        put = _with_db(actions.add_parser("put", help="store a script from a file (checked first)"))
        put.add_argument("name")
        put.add_argument("file", type=Path)
        _with_db(actions.add_parser("list", help="list them"))
        delete = _with_db(actions.add_parser("delete", help="delete one"))
        delete.add_argument("name")
    presets = sub.add_parser("presets", help="manage presets")
    actions = presets.add_subparsers(dest="action", required=True)
    put = _with_db(
        actions.add_parser("put", help="store a preset from a JSON file (GenieACS NBI shape)")
    )
    put.add_argument("file", type=Path)
    _with_db(actions.add_parser("list", help="list them (JSON)"))
    delete = _with_db(actions.add_parser("delete", help="delete one"))
    delete.add_argument("name")
    imp = _with_db(sub.add_parser("import-genieacs", help="import presets, provisions and "
                                  "virtual parameters exported from GenieACS's NBI"))
    imp.add_argument("dir", type=Path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _load_json(path: Path) -> Any:
    try:
        return json.loads(_read(path))
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not valid JSON: {exc.msg} at line {exc.lineno}") from exc


def check_script(sandbox: Sandbox, name: str, source: str) -> None:
    """Raise CliError when ``source`` does not compile."""
    fault = sandbox.check_syntax(source)
    if fault is not None:
        line, column = fault.detail.get("line"), fault.detail.get("column")
        where = f" at line {line}, column {column}" if line else ""
        raise CliError(f"script {name!r} does not compile{where}: {fault.message}")


def check_preset(preset: Preset) -> None:
    """Raise CliError when the preset's precondition or schedule cannot be used."""
    text = preset.precondition.strip()
    try:
        if preset.legacy_precondition:
            text = legacy_precondition_to_expression(text)
        if text:
            parse(text)
    except (ExpressionError, ValueError) as exc:
        raise CliError(f"preset {preset.id!r}: precondition: {exc}") from exc
    if preset.schedule:
        duration, _, cron = preset.schedule.strip().partition(" ")
        try:
            float(duration)
        except ValueError:
            raise CliError(
                f"preset {preset.id!r}: schedule must be '<seconds> <cron>'"
            ) from None
        from acs_engine.scripting import cron_previous

        try:
            cron_previous(cron.strip(), 0)
        except ValueError as exc:
            raise CliError(f"preset {preset.id!r}: schedule: {exc}") from exc


def _preset(doc: Any, source: str) -> Preset:
    if not isinstance(doc, dict):
        raise CliError(f"{source}: a preset must be a JSON object")
    try:
        preset = preset_from_genieacs(doc)
    except ValueError as exc:
        raise CliError(f"{source}: {exc}") from exc
    check_preset(preset)
    return preset


async def _scripts(store: Store, args: argparse.Namespace, sandbox: Sandbox) -> int:
    vparams = args.command == "virtual-parameters"
    if args.action == "list":
        items: list[Provision] | list[VirtualParameter] = (
            await store.list_virtual_parameters() if vparams else await store.list_provisions()
        )
        for item in items:
            print(f"{item.id}\t{len(item.script.splitlines())} lines")
        return 0
    if args.action == "delete":
        deleted = (
            await store.delete_virtual_parameter(args.name) if vparams
            else await store.delete_provision(args.name)
        )
        if not deleted:
            raise CliError(f"no {args.command[:-1].replace('-', ' ')} named {args.name!r}")
        print(f"deleted {args.name}")
        return 0
    source = _read(args.file)
    check_script(sandbox, args.name, source)
    try:
        if vparams:
            await store.put_virtual_parameter(VirtualParameter(args.name, source))
        else:
            await store.put_provision(Provision(args.name, source))
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    print(f"stored {args.name}")
    return 0


async def _presets(store: Store, args: argparse.Namespace) -> int:
    if args.action == "list":
        print(json.dumps([preset_to_genieacs(p) for p in await store.list_presets()], indent=1))
        return 0
    if args.action == "delete":
        if not await store.delete_preset(args.name):
            raise CliError(f"no preset named {args.name!r}")
        print(f"deleted {args.name}")
        return 0
    preset = _preset(_load_json(args.file), str(args.file))
    await store.put_preset(preset)
    print(f"stored preset {preset.id}")
    return 0


async def _import(store: Store, args: argparse.Namespace, sandbox: Sandbox) -> int:
    folder: Path = args.dir
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder")
    files = {n: folder / f"{n}.json" for n in ("presets", "provisions", "virtual_parameters")}
    if not any(p.exists() for p in files.values()):
        raise CliError(
            f"{folder} has none of presets.json, provisions.json, virtual_parameters.json"
        )
    loaded: dict[str, list[Any]] = {}
    for name, path in files.items():
        if path.exists():
            data = _load_json(path)
            if not isinstance(data, list):
                raise CliError(f"{path}: expected a JSON array, as GenieACS's NBI returns it")
            loaded[name] = data
    # Check everything before writing anything.
    presets = [_preset(doc, f"presets.json[{i}]") for i, doc in enumerate(loaded.get("presets", []))]
    scripts: dict[str, list[tuple[str, str]]] = {}
    for kind in ("provisions", "virtual_parameters"):
        entries = []
        for i, doc in enumerate(loaded.get(kind, [])):
            if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str) or not isinstance(
                doc.get("script"), str
            ):
                raise CliError(f"{kind}.json[{i}]: expected {{\"_id\": ..., \"script\": ...}}")
            check_script(sandbox, doc["_id"], doc["script"])
            entries.append((doc["_id"], doc["script"]))
        scripts[kind] = entries
    for preset in presets:
        await store.put_preset(preset)
    for pid, source in scripts["provisions"]:
        await store.put_provision(Provision(pid, source))
    for vid, source in scripts["virtual_parameters"]:
        try:
            await store.put_virtual_parameter(VirtualParameter(vid, source))
        except ValueError as exc:
            raise CliError(f"virtual parameter {vid!r}: {exc}") from exc
    print(
        f"imported {len(presets)} preset(s), {len(scripts['provisions'])} provision(s), "
        f"{len(scripts['virtual_parameters'])} virtual parameter(s)"
    )
    return 0


async def run(args: argparse.Namespace) -> int:
    """Run one of this module's subcommands; returns the exit code."""
    sandbox: Sandbox | None = None
    try:
        store = await open_store(Path(args.db), must_exist=False)
    except CliError as exc:
        return fail(str(exc))
    try:
        if args.command == "presets":
            return await _presets(store, args)
        sandbox = Sandbox()
        if args.command == "import-genieacs":
            return await _import(store, args, sandbox)
        return await _scripts(store, args, sandbox)
    except CliError as exc:
        return fail(str(exc))
    finally:
        if sandbox is not None:
            await sandbox.close()
        await store.close()
