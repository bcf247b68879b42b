"""Frozen entry point of ``fieldacs`` (the console), used by installer/fieldacs.spec.

The same as the ``fieldacs`` console script (``app.main:main``), after the ext() child switch
(:mod:`frozen_entry`).
"""

import sys

from frozen_entry import run_ext_child_if_asked

if __name__ == "__main__":
    run_ext_child_if_asked()

    from app.main import main

    sys.exit(main())
