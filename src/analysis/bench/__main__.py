"""``python -m analysis.bench``: see :mod:`analysis.bench.run`."""

import sys

from analysis.bench.run import main

sys.exit(main())
