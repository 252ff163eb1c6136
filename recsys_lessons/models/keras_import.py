"""Keras without TensorFlow's native start-up notices.

TensorFlow's C++ core writes notices straight to the process's standard error (file
descriptor 2): that oneDNN is on, that no CUDA driver was found, that cuInit failed on a
machine without a GPU, that a memory patch was applied when the first dataset ran. They are
harmless on a CPU, cannot be switched off from Python (TF_CPP_MIN_LOG_LEVEL does not reach
them), and Jupyter copies them into the notebook with timestamps, where they bury the lesson
and change on every run.

`native_logs_hidden` points file descriptor 2 at the null device for the duration of a
block; `import_keras` imports Keras inside such a block and runs one tiny operation, which
loads the devices. Only native output is affected: Python exceptions still raise, and in
Jupyter Python warnings still show (they go through `sys.stderr`, not the descriptor). Set
the environment variable ``RECSYS_LESSONS_SHOW_TF_LOGS=1`` to see the notices.
"""

from __future__ import annotations

import contextlib
import os
import sys

SHOW_LOGS_VARIABLE = "RECSYS_LESSONS_SHOW_TF_LOGS"


@contextlib.contextmanager
def native_logs_hidden():
    """Send what native code writes to file descriptor 2 to the null device, then restore."""
    if os.environ.get(SHOW_LOGS_VARIABLE) == "1":
        yield
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    null_device = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null_device, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(null_device)


_first_training_done = False


@contextlib.contextmanager
def first_training_quiet():
    """Hide native notices during the process's first Keras training, and only then.

    TensorFlow logs a memory-allocator notice the first time a Keras dataset runs. Later
    trainings pass through untouched, so a script's own messages on standard error stay
    visible.
    """
    global _first_training_done
    if _first_training_done:
        yield
        return
    _first_training_done = True
    with native_logs_hidden():
        yield


def import_keras():
    """Return the keras module, imported with TensorFlow's native notices hidden."""
    if "keras" in sys.modules:
        import keras

        return keras
    with native_logs_hidden():
        import keras

        # The first operation initialises the devices, which logs once more.
        keras.ops.convert_to_numpy(keras.ops.add(keras.ops.ones((1,)), 1.0))
    return keras
