"""The quiet TensorFlow import every TensorFlow-needing entry point goes through."""

import gc
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with fd 2 muted: its C++ start-up lines ("Could not find cuda
    drivers", oneDNN notes) are printed before any log setting applies and would bury
    the CLI's own messages. Python errors still surface as exceptions.

    The cyclic garbage collector pauses during the import: it makes some 300,000
    long-lived objects and almost no garbage, and collecting over them took a sixth of the
    import's CPU (about 1.3 s in each process that loads TensorFlow)."""
    if "tensorflow" in sys.modules:
        return
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    collecting = gc.isenabled()
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        gc.disable()
        import keras  # noqa: F401
        import tensorflow as tf

        tf.config.list_physical_devices()
    finally:
        if collecting:
            gc.enable()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
