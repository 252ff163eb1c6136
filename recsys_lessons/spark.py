"""Run the course's collaborative filtering on Apache Spark (lesson 11), from a notebook.

Spark is an optional extra: ``python -m pip install -r requirements-spark.txt`` installs
pyspark, and Spark 4 also needs Java 17 or newer. Importing this module never imports pyspark;
only the functions that work with Spark do, so the rest of the course runs without it.

- ``spark_unavailable_reason()`` and ``check_spark_available()``: is Spark usable here, and
  if not, exactly what is missing and how to install it.
- ``local_spark_session()``: a small, quiet Spark running inside this machine; Java's own
  messages go to the file ``SPARK_LOG_FILE``, not the notebook.
- ``to_spark(spark, frame)`` and ``to_pandas(spark_frame)``: move a pandas DataFrame into
  Spark and back, keeping the dtypes (ints stay ints).
- ``recommendations_from_spark(spark_frame)``: MLlib's ``recommendForAllUsers`` output as the
  course's recommendations frame (user_id, item_id, score, rank).
- ``recommend_top_k(model, k, exclude_seen=train)``: top-k lists from a fitted MLlib
  ``ALSModel`` without the items each user saw in training, as the course's protocol wants.
- ``evaluate_spark_recommendations(model, test, k, exclude_seen=train)``: those lists scored
  with ``recsys_lessons.evaluation.ranking_metrics``.

MLlib's ``recommendForAllUsers(n)`` ranks every item, including the ones the user already
rated in training. The course's standard protocol ranks only unseen items, so comparing
MLlib's raw lists with the package's models would be unfair to MLlib: a user's top 10 would
be filled with training items that can never count as hits. ``exclude_seen=train`` fixes
that: ``recommend_top_k`` asks MLlib for k + (the largest number of items any user saw)
items per user, so that k unseen items always remain, removes the seen (user, item) pairs
with a Spark anti-join, and ranks what is left 1..k.

MLlib's ALS on a laptop: pass ``numUserBlocks`` and ``numItemBlocks`` equal to the number of
cores (the default, 10 blocks each, makes many small tasks; on 2 cores it fit up to twice
as slowly on MovieLens 100K), fix ``seed`` (results depend on it and on the block counts),
and keep ``coldStartStrategy="drop"`` for RMSE (test rows of users or items absent from
training get no prediction). More than about 15 iterations need the checkpoint folder that
``local_spark_session`` sets.
"""

import atexit
import importlib.metadata
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from recsys_lessons._files import write_atomically
from recsys_lessons.data.validation import check_positive_int

__all__ = [
    "MINIMUM_JAVA_VERSION",
    "SPARK_FOLDER",
    "SPARK_LOG_FILE",
    "check_spark_available",
    "evaluate_spark_recommendations",
    "local_spark_session",
    "recommend_top_k",
    "recommendations_from_spark",
    "spark_unavailable_reason",
    "to_pandas",
    "to_spark",
]

#: Spark 4 runs on Java 17 or newer.
MINIMUM_JAVA_VERSION = 17

#: The oldest pyspark this module is written for.
MINIMUM_PYSPARK_MAJOR_VERSION = 4

_PYSPARK_INSTALL_HELP = (
    "Install the course's Spark extra from the repository root with\n"
    "    python -m pip install -r requirements-spark.txt\n"
    "and then restart the notebook kernel."
)

_JAVA_INSTALL_HELP = (
    f"Install Java {MINIMUM_JAVA_VERSION} (any newer version works too):\n"
    "  - Linux (Debian, Ubuntu): sudo apt install openjdk-17-jre-headless\n"
    "  - macOS (Homebrew): brew install openjdk@17, then follow the 'caveats' that brew "
    "prints to put it on the PATH (or set JAVA_HOME to it)\n"
    "  - Windows: winget install EclipseAdoptium.Temurin.17.JRE, or download Temurin 17 "
    "from https://adoptium.net\n"
    "Then open a new terminal and check with `java -version`: it must print version "
    f"\"{MINIMUM_JAVA_VERSION}\" or newer. If JAVA_HOME is set, it must point at that Java "
    "(Spark uses JAVA_HOME/bin/java before the `java` on the PATH). Restart the notebook "
    "kernel afterwards."
)


# --------------------------------------------------------------------------------------------
# Is Spark usable here?
# --------------------------------------------------------------------------------------------


def _installed_pyspark_version() -> str | None:
    """The installed pyspark's version, "unknown" when it has no metadata, None when absent.

    Looks the package up without importing it, so that importing pyspark's 500 MB of jars
    and its Java gateway code only happens when Spark is really used.
    """
    try:
        spec = importlib.util.find_spec("pyspark")
    except (ImportError, ValueError):
        # ValueError: sys.modules["pyspark"] is None, which is how tests hide a package.
        return None
    if spec is None:
        return None
    try:
        return importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        # pyspark put on sys.path by hand (e.g. from a Spark download) has no metadata.
        return "unknown"


def _find_java() -> str | None:
    """The java executable that Spark will start: JAVA_HOME/bin/java, else `java` on PATH."""
    executable = "java.exe" if os.name == "nt" else "java"
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        # Spark's launch scripts use JAVA_HOME whenever it is set, even when it is wrong, so a
        # wrong JAVA_HOME means no Java for Spark even if `java` is on the PATH.
        candidate = Path(java_home) / "bin" / executable
        return str(candidate) if candidate.is_file() else None
    return shutil.which("java")


def _parse_java_version(text: str) -> int | None:
    """The major version in the output of `java -version`, e.g. 17 or 8; None if none found.

    Java 8 and older print "1.8.0_381"; Java 9 and newer print "17.0.15", "21" or "25-ea".
    """
    match = re.search(r'version "(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def _java_major_version(java: str) -> int | None:
    """Run `java -version` and return the major version, or None if that fails."""
    try:
        completed = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # `java -version` writes to stderr; some builds write to stdout, so read both.
    return _parse_java_version(completed.stderr + "\n" + completed.stdout)


def _pyspark_problem() -> str | None:
    version = _installed_pyspark_version()
    if version is None:
        return "pyspark is not installed. " + _PYSPARK_INSTALL_HELP
    major = version.split(".")[0]
    if major.isdigit() and int(major) < MINIMUM_PYSPARK_MAJOR_VERSION:
        return (
            f"pyspark {version} is installed, but this lesson needs pyspark "
            f"{MINIMUM_PYSPARK_MAJOR_VERSION} or newer. " + _PYSPARK_INSTALL_HELP
        )
    return None


def _java_problem() -> str | None:
    java = _find_java()
    if java is None:
        java_home = os.environ.get("JAVA_HOME")
        if java_home:
            where = f"JAVA_HOME is set to {java_home!r}, but it has no bin/java"
        else:
            where = "JAVA_HOME is not set and there is no `java` command on the PATH"
        return (
            f"Spark needs Java {MINIMUM_JAVA_VERSION} or newer, but no Java was found: "
            f"{where}.\n" + _JAVA_INSTALL_HELP
        )
    version = _java_major_version(java)
    if version is None:
        return (
            f"Spark needs Java {MINIMUM_JAVA_VERSION} or newer, but `{java} -version` did "
            "not run or did not print a version.\n" + _JAVA_INSTALL_HELP
        )
    if version < MINIMUM_JAVA_VERSION:
        return (
            f"Spark needs Java {MINIMUM_JAVA_VERSION} or newer, but {java} is Java "
            f"{version}.\n" + _JAVA_INSTALL_HELP
        )
    return None


def spark_unavailable_reason() -> str | None:
    """None when Spark can run here; otherwise what is missing and how to install it.

    Checks that pyspark 4 is installed (without importing it) and that the Java that Spark
    would start (JAVA_HOME/bin/java when JAVA_HOME is set, else `java` on the PATH) is version
    17 or newer. The test suite uses it to skip the Spark lesson on machines without Spark.
    """
    problems = [problem for problem in (_pyspark_problem(), _java_problem()) if problem]
    return "\n\n".join(problems) if problems else None


def check_spark_available() -> None:
    """Raise RuntimeError saying what is missing (pyspark, Java 17+) and how to install it."""
    reason = spark_unavailable_reason()
    if reason is not None:
        raise RuntimeError("Spark cannot run on this machine.\n\n" + reason)


# --------------------------------------------------------------------------------------------
# A local session
# --------------------------------------------------------------------------------------------

def _spark_folder_path() -> Path:
    """This user's folder for Spark's files (log, log configuration, checkpoints).

    On Linux and macOS the temporary folder is shared by every user of the machine. One
    private folder per user, named with the user id, keeps a second learner on a shared
    workshop machine from failing on files the first one created, and keeps other users from
    reading the log or placing files in it first. Windows gives every user a temporary
    folder of their own.
    """
    owner = f"-{os.getuid()}" if hasattr(os, "getuid") else ""
    return Path(tempfile.gettempdir()) / f"recsys-lessons-spark{owner}"


#: This user's folder for Spark's files, created private (readable by this user only) when a
#: session starts.
SPARK_FOLDER = _spark_folder_path()

#: Where Spark's Java process writes its own messages (warnings, errors, Java's start-up
#: notes) instead of the notebook. Look here when Spark fails or seems stuck.
SPARK_LOG_FILE = SPARK_FOLDER / "spark.log"

# Checkpoint folders are named "checkpoints-<process id>-<random>", so that a session can
# tell which ones belong to a process that has ended.
_CHECKPOINTS_PREFIX = "checkpoints-"


def _prepare_spark_folder(folder: Path) -> Path:
    """Create `folder` readable by this user only, or check that an existing one is ours.

    Raises RuntimeError when the path is taken by something that is not this user's own
    folder (another user's folder, a link, a file): Spark's files must not go there.
    """
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except FileExistsError:
        pass  # A file or a link to a file; the check below names it.
    if hasattr(os, "getuid"):
        status = folder.lstat()
        if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid():
            raise RuntimeError(
                f"{folder} is not a folder of yours (it is a link, a file, or belongs to "
                "another user), so Spark's log and checkpoints cannot safely go there. "
                "Remove it, or point TMPDIR at a folder of your own and restart the kernel."
            )
        if stat.S_IMODE(status.st_mode) != 0o700:
            # A folder made with looser permissions, by hand or under an unusual umask.
            folder.chmod(0o700)
    _remove_checkpoints_of_ended_processes(folder)
    return folder


def _process_is_running(process_id: int) -> bool:
    """Whether a process with this id exists (POSIX: signal 0 checks without sending)."""
    try:
        os.kill(process_id, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # It exists and belongs to another user.
    return True


def _remove_checkpoints_of_ended_processes(folder: Path) -> None:
    """Delete checkpoint folders whose Python process has ended.

    A session removes its own folder when Python exits normally, but a kernel that is killed
    (as nbval and "Restart kernel" after a hang do) cannot, and each left-over folder holds
    about a megabyte. Only POSIX systems are cleaned: on Windows, os.kill would end the
    process instead of checking it.
    """
    if os.name != "posix":
        return
    pattern = re.compile(rf"{_CHECKPOINTS_PREFIX}(\d+)-")
    for entry in folder.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not _process_is_running(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


# Spark logs through log4j 2. Its default set-up logs at INFO and announces which profile it
# uses; this configuration keeps warnings and errors only. The logger of the class that starts
# Spark's side of pyspark (PythonGatewayServer) gets the same level, because Spark compares
# the two and otherwise announces that it sets "the default log level" to WARN.
_LOG4J2_PROPERTIES = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
logger.gateway.name = org.apache.spark.api.python.PythonGatewayServer
logger.gateway.level = warn
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n%ex
"""


def _log4j2_configuration_uri() -> str:
    """Write the log4j 2 configuration to SPARK_FOLDER; return its file URI."""
    path = SPARK_FOLDER / "log4j2.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != _LOG4J2_PROPERTIES:
        # Two sessions starting at once never see half a file.
        write_atomically(path, _LOG4J2_PROPERTIES.encode("utf-8"))
    # A URI has no spaces (they become %20), so it survives Spark's splitting of the Java
    # options at spaces, even under a Windows user folder like C:\Users\Ada Lovelace.
    return path.as_uri()


def _session_settings(app_name: str, cores: int, memory: str) -> dict[str, str]:
    """The configuration of ``local_spark_session``, each setting with the reason for it."""
    java_options = " ".join([
        # Warnings and errors only from Spark's own logging; see _LOG4J2_PROPERTIES.
        f"-Dlog4j2.configurationFile={_log4j2_configuration_uri()}",
        # MLlib's linear algebra uses a system BLAS/LAPACK library when it finds one and its
        # pure-Java version otherwise. Always using the Java version (fast enough for these
        # sizes) gives the same numbers on every machine, so notebook outputs match.
        "-Ddev.ludovic.netlib.blas.allowNative=false",
        "-Ddev.ludovic.netlib.lapack.allowNative=false",
    ])
    return {
        # Driver and executor in one Java process, with `cores` worker threads.
        "spark.master": f"local[{cores}]",
        "spark.app.name": app_name,
        # The heap of that one Java process; 1g is plenty for MovieLens 100K.
        "spark.driver.memory": memory,
        "spark.driver.extraJavaOptions": java_options,
        # No web UI: it would start a web server (slower start-up, a port that may clash
        # with another notebook's) that nobody looks at in a lesson.
        "spark.ui.enabled": "false",
        # No "[Stage 3:====>  (2 + 2) / 4]" progress bars.
        "spark.ui.showConsoleProgress": "false",
        # Shuffles (joins, groupBy) split data into 200 partitions by default, sized for a
        # cluster; on 2 cores and 100,000 rows that is 200 tiny tasks per step.
        "spark.sql.shuffle.partitions": "4",
        # Talk over the loopback address: nothing leaves the machine, and no "cannot bind"
        # errors on laptops with a VPN or an odd network set-up.
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        # Show and convert timestamps in UTC, so outputs are the same in every time zone.
        "spark.sql.session.timeZone": "UTC",
        # Python worker processes (to_spark's rows, Python UDFs) run this notebook's Python
        # rather than whichever `python3` comes first on the PATH.
        "spark.pyspark.python": sys.executable,
        # Spark 4 tries Arrow in its own createDataFrame(pandas)/toPandas and warns when
        # pyarrow is not installed; to_spark and to_pandas below do not use Arrow.
        "spark.sql.execution.arrow.pyspark.enabled": "false",
        # Delete checkpoint files (see below) once nothing uses them any more.
        "spark.cleaner.referenceTracking.cleanCheckpoints": "true",
    }


def _log_tail(lines: int = 20) -> str:
    try:
        text = SPARK_LOG_FILE.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


# Two threads that start a session at once would otherwise both build a SparkContext.
_SESSION_LOCK = threading.Lock()


def local_spark_session(app_name: str = "recsys-lessons", cores: int = 2, memory: str = "1g"):
    """A SparkSession that runs Spark inside this machine, set up for small data and notebooks.

    ``local[cores]`` runs the driver and one executor with `cores` worker threads in a single
    Java process: the same program that would run on a cluster, without a cluster. `memory`
    is that process's Java heap. The settings, and why, are in ``_session_settings``: no web
    UI, no progress bars, 4 shuffle partitions, warnings and errors only, UTC.

    Java's own output (Spark's log, a start-up note about incubator modules, tracebacks of
    Spark's Python worker processes) goes to ``SPARK_LOG_FILE`` rather than the notebook,
    where it would appear at random points. Errors still reach Python as exceptions.

    Calling it while a session is running returns that session (Spark allows one per Python
    process), from any thread. After ``spark.stop()`` a new call starts a new session in the
    same Java process, whose start-up settings (memory, Java options) then stay as they were.

    Raises RuntimeError, naming what is missing, when pyspark or Java 17+ is not installed.
    """
    check_spark_available()
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be a positive integer, got {cores!r}.")

    # pyspark.testing.utils, which pyspark imports the first time it converts a numpy value,
    # warns once that pyspark does not fully support pandas 3. This module's conversions do
    # not use pyspark's pandas code (see to_spark), so the warning is silenced here, where it
    # would otherwise appear at a random later point of the notebook.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet", category=FutureWarning)
        try:
            import pyspark.testing.utils  # noqa: F401
        except ImportError:
            pass  # Another pyspark version may not have this module; then nothing to do.
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    with _SESSION_LOCK:
        running = SparkSession.getActiveSession()
        if running is not None:
            return running
        if SparkContext._active_spark_context is not None:
            # A session started in another thread: getActiveSession only sees this thread's.
            return SparkSession.builder.getOrCreate()
        return _start_session(app_name, cores, memory)


def _start_session(app_name: str, cores: int, memory: str):
    """Start Java (output to the log file), a SparkContext with a checkpoint folder, a session."""
    from pyspark import SparkConf, SparkContext
    from pyspark.java_gateway import launch_gateway
    from pyspark.sql import SparkSession

    _prepare_spark_folder(SPARK_FOLDER)
    conf = SparkConf().setAll(list(_session_settings(app_name, cores, memory).items()))
    gateway = None
    if SparkContext._gateway is None:
        # Start Java ourselves, as pyspark would, but with its stdout and stderr going to the
        # log file. (A Java process left from an earlier, stopped session is reused.)
        with SPARK_LOG_FILE.open("ab") as log:
            log.write(f"\n==== {app_name}: starting Spark (local[{cores}])\n".encode())
            log.flush()
            try:
                gateway = launch_gateway(conf, popen_kwargs={"stdout": log, "stderr": log})
            except Exception as error:
                raise RuntimeError(
                    f"Spark's Java process did not start. The end of {SPARK_LOG_FILE}:\n"
                    f"{_log_tail()}"
                ) from error
    spark_context = SparkContext(conf=conf, gateway=gateway)
    # Every ALS iteration adds a step to the recipe (lineage) Spark keeps for recomputing its
    # data; after about 15 iterations that recipe is too deep for Java's stack, and fit()
    # fails with a StackOverflowError. With a checkpoint folder, ALS saves its factors every
    # checkpointInterval (10) iterations and starts a fresh recipe. The files are removed
    # when they are no longer needed, and the folder when Python exits (or, if the kernel is
    # killed, when the next session starts).
    checkpoints = tempfile.mkdtemp(dir=SPARK_FOLDER,
                                   prefix=f"{_CHECKPOINTS_PREFIX}{os.getpid()}-")
    atexit.register(shutil.rmtree, checkpoints, ignore_errors=True)
    spark_context.setCheckpointDir(checkpoints)
    return SparkSession(spark_context)


# --------------------------------------------------------------------------------------------
# pandas <-> Spark
# --------------------------------------------------------------------------------------------

# pandas/numpy integer and float dtypes and the Spark types that hold them exactly.
_SPARK_TYPE_NAMES = {
    "int8": "ByteType", "int16": "ShortType", "int32": "IntegerType", "int64": "LongType",
    "uint8": "ShortType", "uint16": "IntegerType", "uint32": "LongType",
    "float32": "FloatType", "float64": "DoubleType", "bool": "BooleanType",
}

# And back: the numpy dtype for each Spark type, and the nullable pandas dtype used when the
# column holds missing values (numpy integers and booleans cannot hold them).
_NUMPY_DTYPES = {
    "ByteType": ("int8", "Int8"), "ShortType": ("int16", "Int16"),
    "IntegerType": ("int32", "Int32"), "LongType": ("int64", "Int64"),
    "FloatType": ("float32", "float32"), "DoubleType": ("float64", "float64"),
    "BooleanType": ("bool", "boolean"),
}


def _spark_field(name: str, column: pd.Series):
    """The StructField for one pandas column: the exact Spark type, nullable if it has NA."""
    from pyspark.sql import types

    dtype = column.dtype
    has_missing = bool(column.isna().any())
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        # Nullable extension dtypes (Int64, boolean, Float32) share numpy's names in lower
        # case: Int64 -> int64.
        numpy_name = str(getattr(dtype, "numpy_dtype", dtype)).lower()
        type_name = _SPARK_TYPE_NAMES.get(numpy_name)
        if type_name is not None:
            return types.StructField(name, getattr(types, type_name)(), has_missing)
    elif pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        return types.StructField(name, types.StringType(), has_missing)
    raise TypeError(
        f"to_spark cannot convert column {name!r} of dtype {dtype}; it converts integer, "
        "float, boolean and string columns. Convert the column first (timestamps to integer "
        "Unix seconds, for example) or drop it."
    )


def _python_values(column: pd.Series, has_missing: bool) -> list:
    """The column as Python scalars, with None for every missing value (NaN, None, pd.NA)."""
    if not has_missing:
        # tolist() turns numpy scalars into Python int, float, bool and str.
        return column.tolist()
    return column.astype(object).where(column.notna(), None).tolist()


def to_spark(spark, frame: pd.DataFrame):
    """A Spark DataFrame with the rows of a pandas DataFrame and matching column types.

    int64 becomes Spark's LongType, int32 IntegerType, float64 DoubleType, bool BooleanType,
    str StringType, and so on (see ``_SPARK_TYPE_NAMES``); the index is dropped (call
    ``reset_index()`` first to keep it). Missing values (NaN, None, pd.NA) become Spark's null.
    Other dtypes (timestamps, lists, categories) raise TypeError: convert them first.

    Why not ``spark.createDataFrame(frame)``? pyspark 4.3 warns that it does not yet fully
    support pandas 3; its Arrow path needs the extra package pyarrow and then turns nullable
    integer columns into floats on the way back (Int64 -> float64), and its non-Arrow path
    guesses types from the values. Handing Spark plain Python rows with an explicit schema
    avoids all of that; for the 100,000 ratings of MovieLens 100K it takes about a second.
    """
    from pyspark.sql import types

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"to_spark converts a pandas DataFrame, got {type(frame).__name__}.")
    names = [str(name) for name in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"the column names must be unique to go to Spark, got {names}.")
    fields, columns = [], []
    for name, (_, column) in zip(names, frame.items(), strict=True):
        field = _spark_field(name, column)
        fields.append(field)
        columns.append(_python_values(column, field.nullable))
    rows = list(zip(*columns, strict=True))
    return spark.createDataFrame(rows, schema=types.StructType(fields))


def _pandas_column(values: tuple, spark_type) -> pd.Series | np.ndarray:
    """One collected Spark column as a numpy array or pandas Series with a sensible dtype."""
    numpy_dtypes = _NUMPY_DTYPES.get(type(spark_type).__name__)
    has_missing = any(value is None for value in values)
    if numpy_dtypes is not None:
        numpy_dtype, nullable_dtype = numpy_dtypes
        if not has_missing:
            return np.array(values, dtype=numpy_dtype)
        if nullable_dtype.startswith("float"):
            return np.array([np.nan if value is None else value for value in values],
                            dtype=nullable_dtype)
        return pd.array(list(values), dtype=nullable_dtype)
    if type(spark_type).__name__ == "StringType" and not all(
        value is None for value in values
    ):
        # pandas picks its default string dtype (str in pandas 3); None becomes missing.
        return pd.Series(list(values))
    # Dates, timestamps, decimals, arrays and structs stay Python objects.
    return pd.Series(list(values), dtype=object)


def to_pandas(spark_frame) -> pd.DataFrame:
    """Collect a Spark DataFrame into pandas, with dtypes that follow the Spark schema.

    LongType becomes int64, IntegerType int32, DoubleType float64, BooleanType bool, StringType
    pandas' string dtype; an integer or boolean column with nulls becomes the nullable Int64
    (Int32, ..., boolean) dtype and a float column with nulls holds NaN. Other types (arrays,
    structs, dates) stay Python objects. All rows travel to this Python process, so call it
    on results (recommendations, metrics), not on big inputs. Like ``to_spark``, it does not
    use pyspark's pandas code.
    """
    schema = spark_frame.schema
    names = [field.name for field in schema.fields]
    if len(set(names)) != len(names):
        raise ValueError(f"the column names must be unique to go to pandas, got {names}.")
    rows = spark_frame.collect()
    # Rows are tuples; zip(*rows) gives the columns. An empty result still needs its columns.
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame({
        field.name: _pandas_column(values, field.dataType)
        for field, values in zip(schema.fields, columns, strict=True)
    })


# --------------------------------------------------------------------------------------------
# MLlib's recommendations in the course's format
# --------------------------------------------------------------------------------------------


def _seen_pairs(spark, exclude_seen):
    """The distinct (user_id, item_id) pairs of a pandas or Spark frame, as a Spark frame."""
    from pyspark.sql import DataFrame

    if isinstance(exclude_seen, DataFrame):
        return exclude_seen.select("user_id", "item_id").distinct()
    if isinstance(exclude_seen, pd.DataFrame):
        pairs = exclude_seen[["user_id", "item_id"]].drop_duplicates()
        return to_spark(spark, pairs)
    raise TypeError(
        "exclude_seen must be the training interactions (a pandas or Spark DataFrame with "
        f"user_id and item_id columns) or None, got {type(exclude_seen).__name__}."
    )


def recommendations_from_spark(
    spark_frame,
    k: int | None = None,
    exclude_seen=None,
    user_column: str = "user_id",
    item_column: str = "item_id",
    recommendations_column: str = "recommendations",
    score_field: str = "rating",
) -> pd.DataFrame:
    """MLlib's recommendation lists as the course's frame: user_id, item_id, score, rank.

    `spark_frame` is the output of ``ALSModel.recommendForAllUsers(n)`` or
    ``recommendForUserSubset(users, n)``: one row per user with `user_column` and an array
    column `recommendations_column` of structs (`item_column`, `score_field`), best first.
    Each struct becomes one row; rank is its position in the list, 1 = best.

    `exclude_seen`, the training interactions (pandas or Spark, with user_id and item_id),
    removes every item a user saw in training before ranking, as the course's protocol does.
    MLlib's lists include seen items, so the lists must be long enough to still hold k unseen
    items: ask for n = k + the largest number of training items of any user, or let
    ``recommend_top_k`` do that. `k` keeps the first k of what remains (all when None).

    Returns a pandas DataFrame sorted by user_id and rank, with the dtypes of the package's
    ``Recommender.recommend``: user_id, item_id and rank int64, score float64.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if k is not None:
        # Spark needs a Python int; numpy integers (and 10.0) are turned into one.
        k = check_positive_int(k, "k")
    # One row per recommended item; posexplode keeps its position in the list (0 = best).
    items = spark_frame.select(
        F.col(user_column).alias("user_id"),
        F.posexplode(recommendations_column).alias("position", "recommendation"),
    ).select(
        "user_id",
        F.col(f"recommendation.{item_column}").alias("item_id"),
        F.col(f"recommendation.{score_field}").alias("score"),
        "position",
    )
    if exclude_seen is not None:
        # A left anti-join keeps the rows that have no match: the unseen items.
        seen = _seen_pairs(spark_frame.sparkSession, exclude_seen)
        items = items.join(seen, on=["user_id", "item_id"], how="left_anti")
    # Rank the remaining items of each user 1, 2, 3, ... in their original order.
    by_user = Window.partitionBy("user_id").orderBy("position")
    items = items.withColumn("rank", F.row_number().over(by_user))
    if k is not None:
        items = items.filter(F.col("rank") <= k)
    recommendations = to_pandas(items.select("user_id", "item_id", "score", "rank"))
    recommendations = recommendations.astype(
        {"user_id": "int64", "item_id": "int64", "score": "float64", "rank": "int64"}
    )
    return recommendations.sort_values(["user_id", "rank"], ignore_index=True)


def _largest_seen_count(exclude_seen) -> int:
    """The largest number of distinct items one user has in the training interactions."""
    if isinstance(exclude_seen, pd.DataFrame):
        pairs = exclude_seen[["user_id", "item_id"]].drop_duplicates()
        return int(pairs.groupby("user_id").size().max()) if len(pairs) else 0
    from pyspark.sql import functions as F

    counts = exclude_seen.select("user_id", "item_id").distinct().groupBy("user_id").count()
    largest = counts.agg(F.max("count")).first()[0]
    return int(largest or 0)


def recommend_top_k(model, k: int = 10, exclude_seen=None, users=None) -> pd.DataFrame:
    """Top-k recommendations of a fitted MLlib ALSModel, as the course's pandas frame.

    With `exclude_seen` (the training interactions, pandas or Spark), items a user saw in
    training are left out, as in the course's standard protocol: MLlib is asked for
    k + (the largest number of training items of any user) items per user, so that at least
    k unseen items remain for everyone, and ``recommendations_from_spark`` removes the seen
    ones and keeps the best k. `users` (a list, array or Series of user ids) limits the
    lists to those users (``recommendForUserSubset``); None means every user in training.

    Returns user_id, item_id, score, rank (1..k), like ``Recommender.recommend``.
    """
    from pyspark.sql import types

    k = check_positive_int(k, "k")
    length = k + (_largest_seen_count(exclude_seen) if exclude_seen is not None else 0)
    user_column, item_column = model.getUserCol(), model.getItemCol()
    if users is None:
        lists = model.recommendForAllUsers(length)
    else:
        spark = model.userFactors.sparkSession
        user_ids = [(int(user),) for user in pd.unique(np.asarray(users).ravel())]
        schema = types.StructType([types.StructField(user_column, types.LongType(), False)])
        lists = model.recommendForUserSubset(spark.createDataFrame(user_ids, schema), length)
    return recommendations_from_spark(
        lists, k=k, exclude_seen=exclude_seen, user_column=user_column, item_column=item_column
    )


def evaluate_spark_recommendations(
    model_or_recommendations, test: pd.DataFrame, k: int = 10, exclude_seen=None
) -> pd.Series:
    """Ranking metrics at k (precision, recall, MAP, NDCG, ...) of MLlib's recommendations.

    `model_or_recommendations` is either a fitted ``ALSModel`` (its lists then come from
    ``recommend_top_k``, which fetches enough items to exclude the seen ones) or a frame
    returned by ``recommendForAllUsers``/``recommendForUserSubset`` (then ask for enough
    items yourself when you pass `exclude_seen`; see ``recommendations_from_spark``).
    `test` is the held-out pandas frame (user_id, item_id); `exclude_seen` the training
    interactions, whose items are removed from each user's list as in the course's protocol.

    Like ``evaluate_ranking(..., protocol="full")``, only test users the model knows are
    evaluated (ALS cannot recommend for users absent from training): the users of the model's
    factors, or the users that have a row in the given frame. A known user whose list is empty
    once the seen items are removed (the list was too short) still counts, with zero hits, so
    a short list lowers the metrics instead of silently dropping the user.
    Returns the Series of ``recsys_lessons.evaluation.ranking_metrics``.
    """
    from pyspark.sql import DataFrame

    from recsys_lessons.evaluation import ranking_metrics

    if isinstance(model_or_recommendations, DataFrame):
        # The lists are read twice (the recommendations, then who has a list); keeping them
        # in memory meanwhile saves Spark computing the top-k of every user a second time.
        lists = model_or_recommendations
        cached_here = not lists.is_cached
        if cached_here:
            lists = lists.cache()
        try:
            recommendations = recommendations_from_spark(lists, k=k, exclude_seen=exclude_seen)
            known = to_pandas(lists.select("user_id").distinct())
        finally:
            if cached_here:
                lists.unpersist()
    elif hasattr(model_or_recommendations, "recommendForAllUsers"):
        # Lists for every training user: recommendForAllUsers is about twice as fast as
        # recommendForUserSubset(test users), and ranking_metrics ignores the extra users.
        recommendations = recommend_top_k(model_or_recommendations, k=k, exclude_seen=exclude_seen)
        known = to_pandas(model_or_recommendations.userFactors.select("id"))
    else:
        raise TypeError(
            "evaluate_spark_recommendations needs a fitted ALSModel or the Spark frame of its "
            f"recommendForAllUsers, got {type(model_or_recommendations).__name__}."
        )
    known_users = test["user_id"].isin(known.iloc[:, 0].unique())
    return ranking_metrics(recommendations, test[known_users], k)
