"""``python -m app``: the same as the ``fieldacs`` entry point."""

import sys

from app.main import main

sys.exit(main())
