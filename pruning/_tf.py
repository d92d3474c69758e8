"""The quiet TensorFlow import every TensorFlow-needing entry point goes through."""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with fd 2 muted: its C++ start-up lines ("Could not find cuda
    drivers", oneDNN notes) are printed before any log setting applies and would bury
    the CLI's own messages. Python errors still surface as exceptions."""
    if "tensorflow" in sys.modules:
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
