"""``python -m pruning``: see ``pruning.cli``."""

import sys

from .cli import main

sys.exit(main())
