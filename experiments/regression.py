"""Check the regression baseline of key metrics, or rewrite it (``--update``).

The numbers, the file and the comparison live in :mod:`tests.regression.baseline`, beside the
test that checks them; this is its command::

    python experiments/regression.py            # check: exit 1 and a table of differences
    python experiments/regression.py --update   # rewrite the file; print what moved, by mean

Run it from the repository root (or anywhere: it finds the checkout from its own path).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The checkout's package and tests, even when it is not installed (a fresh clone).
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.regression.baseline import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
