"""Skip the Spark lesson's notebook on machines where Spark cannot run.

Lesson 11 needs the optional extra (``python -m pip install -r requirements-spark.txt``) and
Java 17 or newer. Where either is missing, a bare ``python -m pytest`` reports every cell of
that notebook as skipped, and prints why at the end of the run, instead of failing. Nothing
happens while the notebook does not exist, or where Spark can run.
"""

from pathlib import Path

import pytest

SPARK_NOTEBOOK = Path(__file__).resolve().parent / "notebooks" / "11_scaling_out_with_spark.ipynb"

_skip_reason_key = pytest.StashKey[str]()


def _is_spark_notebook(item) -> bool:
    return Path(item.path).resolve() == SPARK_NOTEBOOK


def pytest_collection_modifyitems(config, items):
    spark_items = [item for item in items if _is_spark_notebook(item)]
    if not spark_items:
        return
    # Imported here, and the function looked up on the module, so that collecting other tests
    # costs nothing and tests can replace the function.
    import recsys_lessons.spark as spark_helpers

    reason = spark_helpers.spark_unavailable_reason()
    if reason is None:
        return
    # A skip marker is checked before nbval starts the notebook's kernel, so no kernel starts.
    marker = pytest.mark.skip(reason=f"Spark cannot run here. {reason}")
    for item in spark_items:
        item.add_marker(marker)
    if config is not None:
        config.stash[_skip_reason_key] = reason


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # pytest lists skip reasons only with -rs; say this one always, once.
    reason = config.stash.get(_skip_reason_key, None)
    if reason is not None:
        terminalreporter.write_sep("-", "Spark lesson skipped")
        terminalreporter.write_line(f"{SPARK_NOTEBOOK.name} was skipped. {reason}")
