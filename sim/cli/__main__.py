"""``python -m sim.cli``: the ``outreach`` command."""

import sys

from sim.cli import main

sys.exit(main())
