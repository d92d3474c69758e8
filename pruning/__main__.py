"""``python -m pruning``: see ``pruning.cli``."""

import sys

from ._tf import import_tensorflow_quietly

import_tensorflow_quietly()  # before the CLI's modules import TensorFlow

from .cli import main  # noqa: E402

sys.exit(main())
