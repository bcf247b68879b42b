"""Frozen entry point of ``fieldacs-engine`` (the headless engine), used by installer/fieldacs.spec.

The same as the ``fieldacs-engine`` console script (``acs_engine.cli:main``). ``--run-ext-child``
is the hidden switch :mod:`acs_engine.scripting.ext` uses in a bundle to run an extension
function in a child process (``sys.executable`` is a FieldACS program there, not Python).
"""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--run-ext-child"]:
        # ext_child.py ships as a plain file beside the bundle's modules; running it by path
        # keeps the child light (no V8, no engine imported), as when Python runs it.
        import os
        import runpy

        child = os.path.join(sys._MEIPASS, "acs_engine", "scripting", "ext_child.py")
        sys.argv = [child, *sys.argv[2:]]
        runpy.run_path(child, run_name="__main__")
        sys.exit(0)

    from acs_engine.cli import main

    sys.exit(main())
