"""TensorFlow's native notices stay out of the output; Python errors do not."""

import os
import subprocess
import sys

SCRIPT = """
from recsys_lessons.models.keras_import import import_keras, native_logs_hidden
keras = import_keras()
with native_logs_hidden():
    import os
    os.write(2, b"native notice\\n")
print("keras", keras.__version__.split(".")[0])
"""


def run(environment):
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env={**os.environ, **environment}, timeout=120)


def test_native_notices_are_hidden_and_can_be_shown():
    quiet = run({"RECSYS_LESSONS_SHOW_TF_LOGS": "0"})
    assert quiet.returncode == 0 and quiet.stdout.strip() == "keras 3"
    assert quiet.stderr == ""
    loud = run({"RECSYS_LESSONS_SHOW_TF_LOGS": "1"})
    assert "native notice" in loud.stderr


def test_errors_inside_still_raise():
    import pytest

    from recsys_lessons.models.keras_import import native_logs_hidden

    saved = os.fstat(2)
    with pytest.raises(ZeroDivisionError), native_logs_hidden():
        raise ZeroDivisionError("a Python error inside the block")
    restored = os.fstat(2)  # The descriptor points where it did before.
    assert (restored.st_dev, restored.st_ino) == (saved.st_dev, saved.st_ino)


FIRST_TRAINING_SCRIPT = """
import os
from recsys_lessons.models.keras_import import first_training_quiet
with first_training_quiet():
    os.write(2, b"first\\n")
with first_training_quiet():
    os.write(2, b"second\\n")
"""


def test_only_the_first_training_is_quiet():
    result = subprocess.run([sys.executable, "-c", FIRST_TRAINING_SCRIPT], capture_output=True,
                            text=True, env={**os.environ, "RECSYS_LESSONS_SHOW_TF_LOGS": "0"},
                            timeout=120)
    assert result.returncode == 0
    assert result.stderr == "second\n"
