"""Frozen entry point of ``fieldacs-engine`` (the headless engine), used by installer/fieldacs.spec.

The same as the ``fieldacs-engine`` console script (``acs_engine.cli:main``), after the ext()
child switch (:mod:`frozen_entry`).
"""

import sys

from frozen_entry import run_ext_child_if_asked

if __name__ == "__main__":
    run_ext_child_if_asked()

    from acs_engine.cli import main

    sys.exit(main())
