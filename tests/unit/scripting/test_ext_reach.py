"""ext() reach, issue 11 finding 9: a script can call only functions an extension defines
itself, and the extension's process does not see the engine's secrets (a real child
process each time)."""

from __future__ import annotations

import pytest

from acs_engine.scripting import ExtCall, Sandbox, ScriptFault
from acs_engine.scripting.ext import child_environment

from .conftest import make_run

MODULE = (
    "import os\n"
    "import subprocess\n"
    "from subprocess import check_output\n"
    "from os import getenv as fetch\n"
    "class Tool:\n"
    "    pass\n"
    "run = subprocess.run\n"
    "def env():\n"
    "    return dict(os.environ)\n"
    "def hello(name):\n"
    "    return 'hello ' + name\n"
)


@pytest.mark.parametrize("name", ["check_output", "fetch", "run", "Tool", "os", "print"])
async def test_attack_ext_cannot_call_names_the_module_imported(
    sandbox: Sandbox, name: str
) -> None:
    assert sandbox.ext_dir is not None
    (sandbox.ext_dir / "tools.py").write_text(MODULE)
    (sandbox.ext_dir / "pwned").unlink(missing_ok=True)
    fault = await sandbox.run_ext(ExtCall("tools", name, ("touch", "pwned")))
    assert isinstance(fault, ScriptFault), fault
    assert fault.code == "ext.AttributeError" and "of its own" in fault.message
    assert not (sandbox.ext_dir / "pwned").exists()
    assert await sandbox.run_ext(ExtCall("tools", "hello", ("you",))) == "hello you"


async def test_attack_ext_through_a_script_cannot_run_check_output(sandbox: Sandbox) -> None:
    assert sandbox.ext_dir is not None
    (sandbox.ext_dir / "tools.py").write_text(MODULE)
    source = 'log(String(ext("tools", "check_output", "id")));'
    cache: dict[str, object] = {}
    r = await sandbox.run(make_run(source, ext_cache=cache))
    for call in r.ext_needed:
        cache[call.file + call.fn] = await sandbox.run_ext(call)
    (outcome,) = cache.values()
    assert isinstance(outcome, ScriptFault) and outcome.code == "ext.AttributeError"


async def test_attack_ext_child_does_not_inherit_engine_secrets(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.ext_dir is not None
    (sandbox.ext_dir / "tools.py").write_text(MODULE)
    monkeypatch.setenv("FIELDACS_CWMP_PASSWORD", "engine-cwmp-pw")
    monkeypatch.setenv("FIELDACS_NBI_TOKEN", "engine-nbi-token")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    monkeypatch.setenv("TZ", "UTC")
    env = await sandbox.run_ext(ExtCall("tools", "env", ()))
    assert isinstance(env, dict), env
    leaked = {k for k, v in env.items() if v in {"engine-cwmp-pw", "engine-nbi-token",
                                                   "cloud-secret"}}
    assert not leaked and not any(k.startswith("FIELDACS_") for k in env)
    assert env.get("TZ") == "UTC"  # what a well-behaved extension needs is still there


def test_child_environment_is_an_allow_list() -> None:
    env = child_environment({"PATH": "/bin", "SystemRoot": "C:\\Windows", "FIELDACS_X": "1",
                             "PYTHONPATH": "/evil", "LD_PRELOAD": "/evil.so"})
    assert env == {"PATH": "/bin", "SystemRoot": "C:\\Windows"}
