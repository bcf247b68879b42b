"""Frozen entry point of ``fieldacs`` (the console), used by installer/fieldacs.spec.

The same as the ``fieldacs`` console script (``app.main:main``). ``--run-ext-child`` is the
hidden switch :mod:`acs_engine.scripting.ext` uses in a bundle, where ``sys.executable`` is this
program rather than a Python interpreter.
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

    from app.main import main

    sys.exit(main())
