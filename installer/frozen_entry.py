"""What both frozen entry points (fieldacs_main.py, fieldacs_engine_main.py) do first.

``--run-ext-child`` is the hidden switch :mod:`acs_engine.scripting.ext` uses in a bundle to
run an extension function in a child process (``sys.executable`` is a FieldACS program there,
not a Python interpreter). Imports nothing of FieldACS, so the child stays light.
"""

import os
import runpy
import sys

#: The switch :func:`acs_engine.scripting.ext._child_command` puts first in a bundle.
EXT_CHILD_SWITCH = "--run-ext-child"


def run_ext_child_if_asked() -> None:
    """Run ext_child.py and exit when this process was started as an ext() child."""
    if sys.argv[1:2] != [EXT_CHILD_SWITCH]:
        return
    # ext_child.py ships as a plain file beside the bundle's modules; running it by path
    # keeps the child light (no V8, no engine imported), as when Python runs it.
    child = os.path.join(sys._MEIPASS, "acs_engine", "scripting", "ext_child.py")  # type: ignore[attr-defined]
    sys.argv = [child, *sys.argv[2:]]
    runpy.run_path(child, run_name="__main__")
    sys.exit(0)
