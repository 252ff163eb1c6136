"""Tests of recsys_lessons.spark, the helpers of lesson 11 (collaborative filtering on Spark).

The first group runs everywhere: importing the module must not need pyspark, and the
"what is missing" messages must be right. The second group needs pyspark and Java 17+; it
skips, saying why, where they are missing. All Spark tests share one session, because
starting Spark's Java process takes several seconds.
"""

import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import recsys_lessons.spark as spark_helpers
from tests.conftest import make_ratings

REPOSITORY = Path(__file__).resolve().parent.parent

# --------------------------------------------------------------------------------------------
# Without Spark
# --------------------------------------------------------------------------------------------


def test_importing_the_module_does_not_import_pyspark():
    # A fresh interpreter: this test process may have imported pyspark already.
    code = (
        "import sys; import recsys_lessons.spark; "
        "assert 'pyspark' not in sys.modules, sorted(m for m in sys.modules if 'spark' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY)


def test_importing_the_module_works_when_pyspark_cannot_be_imported():
    # sys.modules["pyspark"] = None makes every `import pyspark` fail, as if it were absent.
    code = (
        "import sys; sys.modules['pyspark'] = None; import recsys_lessons.spark as s; "
        "reason = s.spark_unavailable_reason(); "
        "assert reason.startswith('pyspark is not installed'), reason"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPOSITORY)


@pytest.fixture
def java_17(monkeypatch):
    monkeypatch.setattr(spark_helpers, "_find_java", lambda: "/usr/bin/java")
    monkeypatch.setattr(spark_helpers, "_java_major_version", lambda java: 17)


@pytest.fixture
def pyspark_4(monkeypatch):
    monkeypatch.setattr(spark_helpers, "_installed_pyspark_version", lambda: "4.3.0")


def test_no_reason_when_pyspark_and_java_are_there(pyspark_4, java_17):
    assert spark_helpers.spark_unavailable_reason() is None
    spark_helpers.check_spark_available()


def test_missing_pyspark_says_how_to_install_it(monkeypatch, java_17):
    monkeypatch.setattr(spark_helpers, "_installed_pyspark_version", lambda: None)
    with pytest.raises(RuntimeError) as raised:
        spark_helpers.check_spark_available()
    message = str(raised.value)
    assert "pyspark is not installed" in message
    assert "python -m pip install -r requirements-spark.txt" in message
    assert "Java" not in message


def test_old_pyspark_is_reported(monkeypatch, java_17):
    monkeypatch.setattr(spark_helpers, "_installed_pyspark_version", lambda: "3.5.1")
    reason = spark_helpers.spark_unavailable_reason()
    assert "pyspark 3.5.1 is installed" in reason
    assert "requirements-spark.txt" in reason


def test_old_java_says_which_and_how_to_install_java_17(monkeypatch, pyspark_4):
    monkeypatch.setattr(spark_helpers, "_find_java", lambda: "/opt/jdk8/bin/java")
    monkeypatch.setattr(spark_helpers, "_java_major_version", lambda java: 8)
    with pytest.raises(RuntimeError) as raised:
        spark_helpers.check_spark_available()
    message = str(raised.value)
    assert "/opt/jdk8/bin/java is Java 8" in message
    for instruction in (
        "apt install openjdk-17-jre-headless",
        "brew install openjdk@17",
        "winget install EclipseAdoptium.Temurin.17.JRE",
        "java -version",
    ):
        assert instruction in message
    assert "pyspark" not in message


def test_missing_java_and_a_wrong_java_home_are_reported(monkeypatch, pyspark_4):
    monkeypatch.setattr(spark_helpers, "_find_java", lambda: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    reason = spark_helpers.spark_unavailable_reason()
    assert "no `java` command on the PATH" in reason
    assert "apt install openjdk-17-jre-headless" in reason
    monkeypatch.setenv("JAVA_HOME", "/nowhere/jdk")
    assert "JAVA_HOME is set to '/nowhere/jdk'" in spark_helpers.spark_unavailable_reason()


def test_both_problems_are_reported_together(monkeypatch):
    monkeypatch.setattr(spark_helpers, "_installed_pyspark_version", lambda: None)
    monkeypatch.setattr(spark_helpers, "_find_java", lambda: "java")
    monkeypatch.setattr(spark_helpers, "_java_major_version", lambda java: 11)
    reason = spark_helpers.spark_unavailable_reason()
    assert "pyspark is not installed" in reason
    assert "java is Java 11" in reason


def test_java_home_wins_over_the_path(monkeypatch, tmp_path):
    java = tmp_path / "bin" / ("java.exe" if sys.platform == "win32" else "java")
    java.parent.mkdir()
    java.write_text("")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    assert spark_helpers._find_java() == str(java)
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "missing"))
    assert spark_helpers._find_java() is None


@pytest.mark.parametrize("output, version", [
    ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
    ('java version "1.8.0_381"\nJava(TM) SE Runtime Environment', 8),
    ('openjdk version "21" 2023-09-19', 21),
    ('Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "11.0.2" 2019-01-15', 11),
    ('openjdk version "25-ea" 2025-09-16', 25),
    ("bash: java: command not found", None),
])
def test_java_version_parsing(output, version):
    assert spark_helpers._parse_java_version(output) == version


# The skip hook of the top-level conftest.py, loaded from its file: it is not importable as a
# module of its own name while pytest has it loaded as a conftest.
_spec = importlib.util.spec_from_file_location("top_level_conftest", REPOSITORY / "conftest.py")
top_level_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(top_level_conftest)


def _fake_item(path: Path):
    markers = []
    return SimpleNamespace(path=path, add_marker=markers.append, markers=markers)


def test_conftest_skips_only_the_spark_notebook_and_says_why(monkeypatch):
    monkeypatch.setattr(spark_helpers, "spark_unavailable_reason", lambda: "no Java here")
    spark_cell = _fake_item(top_level_conftest.SPARK_NOTEBOOK)
    other_cell = _fake_item(REPOSITORY / "notebooks" / "01_similarity.ipynb")
    top_level_conftest.pytest_collection_modifyitems(None, [spark_cell, other_cell])
    assert other_cell.markers == []
    [marker] = spark_cell.markers
    assert marker.name == "skip"
    assert "no Java here" in marker.kwargs["reason"]


def test_conftest_leaves_the_spark_notebook_alone_where_spark_runs(monkeypatch):
    monkeypatch.setattr(spark_helpers, "spark_unavailable_reason", lambda: None)
    spark_cell = _fake_item(top_level_conftest.SPARK_NOTEBOOK)
    top_level_conftest.pytest_collection_modifyitems(None, [spark_cell])
    assert spark_cell.markers == []


# --------------------------------------------------------------------------------------------
# With Spark
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def spark():
    pytest.importorskip("pyspark", reason="pyspark is not installed (requirements-spark.txt)")
    reason = spark_helpers.spark_unavailable_reason()
    if reason is not None:
        pytest.skip(f"Spark cannot run here: {reason}")
    session = spark_helpers.local_spark_session(app_name="recsys-lessons-tests")
    yield session
    session.stop()


posix_only = pytest.mark.skipif(not hasattr(os, "getuid"),
                                reason="Windows has a temporary folder per user")


@posix_only
def test_spark_files_go_to_a_folder_per_user_in_the_shared_temporary_folder(monkeypatch):
    assert str(os.getuid()) in spark_helpers.SPARK_FOLDER.name
    assert spark_helpers.SPARK_LOG_FILE.parent == spark_helpers.SPARK_FOLDER
    folders = set()
    for user_id in (1001, 1002):
        monkeypatch.setattr(os, "getuid", lambda user_id=user_id: user_id)
        folder = spark_helpers._spark_folder_path()
        assert folder.parent == Path(tempfile.gettempdir()) and str(user_id) in folder.name
        folders.add(folder)
    assert len(folders) == 2


@posix_only
def test_the_spark_folder_is_created_private_and_a_loose_one_is_tightened(tmp_path):
    folder = spark_helpers._prepare_spark_folder(tmp_path / "spark")
    assert folder.stat().st_mode & 0o777 == 0o700
    folder.chmod(0o755)
    spark_helpers._prepare_spark_folder(folder)
    assert folder.stat().st_mode & 0o777 == 0o700


@posix_only
@pytest.mark.parametrize("kind", ["another user's folder", "a link", "a file"])
def test_a_spark_folder_that_is_not_ours_is_refused(tmp_path, monkeypatch, kind):
    folder = tmp_path / "spark"
    if kind == "another user's folder":
        folder.mkdir(mode=0o700)
        monkeypatch.setattr(os, "getuid", lambda: os.stat(folder).st_uid + 1)
    elif kind == "a link":
        (tmp_path / "elsewhere").mkdir()
        folder.symlink_to(tmp_path / "elsewhere")
    else:
        folder.write_text("not a folder")
    with pytest.raises(RuntimeError, match="is not a folder of yours.*TMPDIR"):
        spark_helpers._prepare_spark_folder(folder)


@posix_only
def test_checkpoints_of_ended_processes_are_removed_and_others_kept(tmp_path):
    # A process that has ended, like a notebook kernel that nbval killed.
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    folder = tmp_path / "spark"
    folder.mkdir()
    left_over = folder / f"checkpoints-{ended.pid}-abc"
    (left_over / "data").mkdir(parents=True)
    (left_over / "data" / "part-0").write_bytes(b"factors")
    ours = folder / f"checkpoints-{os.getpid()}-def"
    ours.mkdir()
    log = folder / "spark.log"
    log.write_text("kept")
    not_a_checkpoint = folder / f"notes-{ended.pid}-x"
    not_a_checkpoint.mkdir()

    spark_helpers._prepare_spark_folder(folder)
    assert not left_over.exists()
    assert ours.is_dir() and log.is_file() and not_a_checkpoint.is_dir()


def test_session_has_the_documented_configuration(spark):
    settings = spark.sparkContext.getConf()
    assert spark.sparkContext.master == "local[2]"
    assert settings.get("spark.driver.memory") == "1g"
    assert settings.get("spark.ui.enabled") == "false"
    assert spark.sparkContext.uiWebUrl is None
    assert settings.get("spark.ui.showConsoleProgress") == "false"
    assert spark.conf.get("spark.sql.shuffle.partitions") == "4"
    assert spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert "log4j2.configurationFile" in settings.get("spark.driver.extraJavaOptions")
    # A second call returns the running session instead of failing or starting another,
    # from another thread too (where pyspark's getActiveSession sees no session).
    assert spark_helpers.local_spark_session() is spark
    from_thread = []
    thread = threading.Thread(
        target=lambda: from_thread.append(spark_helpers.local_spark_session()))
    thread.start()
    thread.join()
    assert from_thread and from_thread[0].sparkContext is spark.sparkContext


def test_checkpoints_go_to_a_folder_of_this_process_in_the_private_folder(spark):
    checkpoints = spark.sparkContext._jsc.sc().getCheckpointDir().get()
    folder = Path(checkpoints.removeprefix("file:")).parent
    assert folder.parent == spark_helpers.SPARK_FOLDER
    assert folder.name.startswith(f"checkpoints-{os.getpid()}-")
    if hasattr(os, "getuid"):
        assert spark_helpers.SPARK_FOLDER.stat().st_mode & 0o777 == 0o700


def test_round_trip_keeps_values_and_dtypes(spark):
    frame = pd.DataFrame({
        "user_id": np.array([1, 2, 3], dtype="int64"),
        "item_id": np.array([10, 20, 30], dtype="int32"),
        "rating": [4.5, np.nan, 1.0],
        "weight": np.array([0.5, 1.5, 2.5], dtype="float32"),
        "seen": [True, False, True],
        "count": pd.array([7, None, 9], dtype="Int64"),
        "title": pd.Series(["Toy Story", None, "Heat"]),
    })
    spark_frame = spark_helpers.to_spark(spark, frame)
    types = {field.name: type(field.dataType).__name__ for field in spark_frame.schema.fields}
    assert types == {
        "user_id": "LongType", "item_id": "IntegerType", "rating": "DoubleType",
        "weight": "FloatType", "seen": "BooleanType", "count": "LongType",
        "title": "StringType",
    }
    # Missing values are Spark nulls, not NaN.
    assert spark_frame.filter("rating IS NULL").count() == 1
    pd.testing.assert_frame_equal(spark_helpers.to_pandas(spark_frame), frame)


def test_round_trip_of_ratings_and_of_an_empty_frame(spark):
    ratings = make_ratings(num_users=20, num_items=15, seed=3)
    pd.testing.assert_frame_equal(
        spark_helpers.to_pandas(spark_helpers.to_spark(spark, ratings)), ratings
    )
    empty = ratings.iloc[:0]
    back = spark_helpers.to_pandas(spark_helpers.to_spark(spark, empty))
    assert len(back) == 0
    assert back.dtypes.to_dict() == empty.dtypes.to_dict()


def test_to_spark_rejects_columns_it_cannot_convert(spark):
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(TypeError, match="cannot convert column 'when'"):
        spark_helpers.to_spark(spark, frame)


@pytest.fixture(scope="session")
def hand_built_recommendations(spark):
    """Two users' lists in the shape of ALSModel.recommendForAllUsers(4), best first."""
    rows = [
        (1, [(30, 0.9), (10, 0.8), (20, 0.5), (40, 0.1)]),
        (2, [(10, 2.0), (40, 1.5), (30, 1.0), (20, 0.5)]),
    ]
    schema = "user_id int, recommendations array<struct<item_id: int, rating: float>>"
    return spark.createDataFrame(rows, schema)


def test_recommendations_from_spark_ranks_each_list(hand_built_recommendations):
    recommendations = spark_helpers.recommendations_from_spark(hand_built_recommendations)
    assert list(recommendations.columns) == ["user_id", "item_id", "score", "rank"]
    assert recommendations.dtypes.astype(str).tolist() == ["int64", "int64", "float64", "int64"]
    assert recommendations["user_id"].tolist() == [1, 1, 1, 1, 2, 2, 2, 2]
    assert recommendations["item_id"].tolist() == [30, 10, 20, 40, 10, 40, 30, 20]
    assert recommendations["rank"].tolist() == [1, 2, 3, 4, 1, 2, 3, 4]
    np.testing.assert_allclose(recommendations["score"].iloc[:2], [0.9, 0.8], rtol=1e-6)
    top_two = spark_helpers.recommendations_from_spark(hand_built_recommendations, k=2)
    assert top_two["item_id"].tolist() == [30, 10, 10, 40]


def test_recommendations_from_spark_excludes_seen_items(spark, hand_built_recommendations):
    seen = pd.DataFrame({"user_id": [1, 2, 2], "item_id": [30, 10, 30]})
    for exclude_seen in (seen, spark_helpers.to_spark(spark, seen)):
        recommendations = spark_helpers.recommendations_from_spark(
            hand_built_recommendations, k=2, exclude_seen=exclude_seen
        )
        assert recommendations["user_id"].tolist() == [1, 1, 2, 2]
        assert recommendations["item_id"].tolist() == [10, 20, 40, 20]
        assert recommendations["rank"].tolist() == [1, 2, 1, 2]
    # The frame can go straight to evaluation: user 1's list is [10, 20], user 2's [40, 20].
    test = pd.DataFrame({"user_id": [1, 2], "item_id": [20, 40]})
    metrics = spark_helpers.evaluate_spark_recommendations(
        hand_built_recommendations, test, k=2, exclude_seen=seen
    )
    assert metrics["hit_rate@2"] == 1.0
    assert metrics["mrr@2"] == pytest.approx((1 / 2 + 1) / 2)


def test_a_user_whose_whole_list_was_seen_counts_as_a_miss(spark, hand_built_recommendations):
    # User 1 saw all four listed items: an empty list, scored 0, not a user left out (which
    # would report the other user's perfect score as everyone's).
    seen = pd.DataFrame({"user_id": [1, 1, 1, 1], "item_id": [10, 20, 30, 40]})
    test = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [50, 10, 10]})
    metrics = spark_helpers.evaluate_spark_recommendations(
        hand_built_recommendations, test, k=2, exclude_seen=seen
    )
    # User 3 has no list at all (absent from training), so only users 1 and 2 are evaluated.
    assert metrics["users"] == 2
    assert metrics["hit_rate@2"] == pytest.approx(0.5)


def test_tiny_als_end_to_end(spark):
    from pyspark.ml.recommendation import ALS

    from recsys_lessons.data import stratified_split
    from recsys_lessons.evaluation import ranking_metrics
    from recsys_lessons.metrics import rmse

    ratings = make_ratings(num_users=40, num_items=30, density=0.3, seed=1)
    train, test = stratified_split(ratings, 0.25, seed=0)
    train_spark = spark_helpers.to_spark(spark, train[["user_id", "item_id", "rating"]])
    train_spark = train_spark.cache()
    common = dict(userCol="user_id", itemCol="item_id", ratingCol="rating", rank=4, maxIter=5,
                  seed=0, coldStartStrategy="drop", numUserBlocks=2, numItemBlocks=2)

    explicit = ALS(regParam=0.1, **common).fit(train_spark)
    predictions = spark_helpers.to_pandas(
        explicit.transform(spark_helpers.to_spark(spark, test[["user_id", "item_id", "rating"]]))
    )
    assert 0 < len(predictions) <= len(test)
    assert rmse(predictions["rating"], predictions["prediction"]) < 3

    implicit = ALS(regParam=0.1, implicitPrefs=True, alpha=5.0, **common).fit(train_spark)
    recommendations = spark_helpers.recommend_top_k(implicit, k=5, exclude_seen=train)
    assert recommendations.groupby("user_id")["rank"].apply(list).map(
        lambda ranks: ranks == [1, 2, 3, 4, 5]
    ).all()
    seen_pairs = recommendations.merge(train[["user_id", "item_id"]], on=["user_id", "item_id"])
    assert seen_pairs.empty
    # A numpy integer, as a loop over np.arange gives, is a k like any other.
    subset = spark_helpers.recommend_top_k(implicit, k=np.int64(5), exclude_seen=train,
                                           users=[100, 101])
    assert sorted(subset["user_id"].unique()) == [100, 101]
    assert subset.groupby("user_id").size().eq(5).all()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        spark_helpers.recommend_top_k(implicit, k=0)

    metrics = spark_helpers.evaluate_spark_recommendations(
        implicit, test, k=5, exclude_seen=train
    )
    assert metrics.name == "metrics"
    assert metrics["users"] == test["user_id"].nunique()
    assert 0 <= metrics["ndcg@5"] <= 1
    # evaluate_spark_recommendations scores exactly the lists of recommend_top_k.
    pd.testing.assert_series_equal(metrics, ranking_metrics(recommendations, test, 5))
    train_spark.unpersist()
