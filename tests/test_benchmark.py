import datetime
import json
import os
import re
import time
from pathlib import Path

import pandas as pd
import pytest

import recsys_lessons.models as models
from recsys_lessons import benchmark
from recsys_lessons.__main__ import main
from recsys_lessons.benchmark import (
    format_table,
    run_benchmark,
    time_neumf_epoch,
    time_ranking_metrics,
)
from recsys_lessons.data import DataUnavailableError, load_movielens, stratified_split
from tests.conftest import make_ratings


def popularity_precision_by_hand() -> float:
    """Popularity's precision@10 on the standard split, without the package's models or metrics.

    Every user gets the ten most-rated training items they have not rated in train (ties to
    the smaller item id); precision@10 is the mean share of those ten in the user's test items.
    """
    ratings = load_movielens("100k").ratings
    train, test = stratified_split(ratings, test_size=0.25, seed=0)
    counts = train.groupby("item_id").size()
    by_popularity = sorted(counts.index, key=lambda item: (-counts[item], item))
    seen = train.groupby("user_id")["item_id"].agg(set)
    held_out = test.groupby("user_id")["item_id"].agg(set)
    shares = []
    for user, relevant in held_out.items():
        top = [item for item in by_popularity if item not in seen[user]][:10]
        shares.append(len(relevant.intersection(top)) / 10)
    return sum(shares) / len(shares)


def test_benchmark_table_for_chosen_models(capsys):
    assert main(["benchmark", "--models", "popularity", "BiasBaseline"]) == 0
    printed = capsys.readouterr().out
    assert "MovieLens 100K, per-user stratified 75%/25% split (seed 0), k=10" in printed
    # precision@10 under the standard protocol, as a plain loop computes it.
    assert f"| Popularity | {popularity_precision_by_hand():.3f} |" in printed
    assert "| BiasBaseline |" in printed and "Random" not in printed


def test_table_columns_end_with_timings():
    table = run_benchmark(["GlobalMean", "Popularity"])
    assert list(table.columns[-2:]) == ["fit_s", "recommend_s"]
    assert {"rmse", "ndcg@10"} <= set(table.columns)
    assert format_table(table).count("\n") == 3


def test_neighbourhood_models_get_no_rating_error_in_their_default_top_n_mode():
    # Their `predict` exists for the rating mode only; the table must not call it.
    table = run_benchmark(["BiasBaseline", "UserKNN", "ItemKNN"])
    assert table.loc[["UserKNN", "ItemKNN"], "rmse"].isna().all()
    assert table.loc["BiasBaseline", "rmse"] > 0


def test_a_bad_k_is_refused_before_any_model_trains(monkeypatch):
    def must_not_train(self, ratings):
        raise AssertionError("a model was fitted before k was checked")

    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    with pytest.raises(ValueError, match="k must be"):
        run_benchmark(["Popularity"], k=0)


def test_ranking_metrics_timing_reports_sizes():
    result = time_ranking_metrics(num_users=50, num_items=200, held_out_per_user=20, repeats=2)
    assert result["num_test_rows"] == 1000 and result["num_recommendation_rows"] == 500
    assert 0 < result["best_seconds"] <= result["median_seconds"]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"repeats": 0}, "repeats must be a positive integer"),
    ({"num_users": 0}, "num_users must be a positive integer"),
    ({"k": 300}, r"k \(300\) and held_out_per_user \(20\) must not exceed num_items \(200\)"),
])
def test_ranking_metrics_timing_checks_its_sizes(arguments, message):
    sizes = {"num_users": 5, "num_items": 200, "held_out_per_user": 20, **arguments}
    with pytest.raises(ValueError, match=message):
        time_ranking_metrics(**sizes)


def test_neumf_epoch_timing_subtracts_what_every_fit_pays_once(monkeypatch):
    """Each fit here costs 0.1 s once plus 0.1 s an epoch; the command must report 0.1 s."""
    def sleeping_fit(self, ratings):
        time.sleep(0.1 + 0.1 * self.epochs)

    monkeypatch.setattr(models.NeuMF, "_fit", sleeping_fit)
    ratings = make_ratings(num_users=6, num_items=8, density=0.5, seed=0)
    result = time_neumf_epoch(ratings, repeats=2, extra_epochs=2)
    # Wide enough for a busy machine's late wake-ups, narrow enough to catch 0.2 s (no
    # division by the extra epochs) or 0.15 s (a fit's time divided by its epochs).
    assert 0.07 < result["best_seconds"] <= result["median_seconds"] < 0.13
    positives = len(ratings[["user_id", "item_id"]].drop_duplicates())
    assert result["positives"] == positives
    # NeuMF's defaults: 4 negatives per positive, batches of 4096.
    assert result["rows_per_epoch"] == 5 * positives and result["batch_size"] == 4096


@pytest.mark.parametrize("arguments", [{"repeats": 0}, {"extra_epochs": 0}])
def test_neumf_epoch_timing_checks_its_counts_before_training(arguments, monkeypatch):
    monkeypatch.setattr(models.NeuMF, "fit", must_not_train)
    name = next(iter(arguments))
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        time_neumf_epoch(make_ratings(num_users=3, num_items=4, density=1.0, seed=0),
                         **arguments)


def test_the_epoch_command_prints_what_it_timed(monkeypatch, capsys):
    timing = {"positives": 99057, "rows_per_epoch": 495285, "batch_size": 4096,
              "best_seconds": 1.234, "median_seconds": 1.5}
    monkeypatch.setattr(benchmark, "time_neumf_epoch", lambda: timing)
    assert main(["benchmark-epoch"]) == 0
    assert capsys.readouterr().out == (
        "NeuMF with its defaults, one epoch of 495,285 rows (99,057 positives and their "
        "negatives) in batches of 4,096: best 1.23 s, median 1.50 s.\n"
    )


def test_fetch_command_reports_where_and_how_fast(capsys, movielens):
    assert main(["fetch"]) == 0
    printed = capsys.readouterr().out
    assert "100,000 rows" in printed and "movielens-100k" in printed and "verified in" in printed
    # The cache was written and reads back, so the message says where it is.
    assert "; cached in " in printed and "not cached" not in printed


def test_leave_one_out_table(capsys):
    assert main(["benchmark", "--models", "Popularity", "--protocol", "leave-one-out"]) == 0
    printed = capsys.readouterr().out
    assert "hit_rate@10" in printed and "| Popularity | 0.312 |" in printed
    assert "MovieLens 100K, leave-one-out: each user's latest rating" in printed


# ------------------------------------------------------------------------------- the record

def test_record_round_trip_keeps_rows_settings_and_provenance(tmp_path):
    table = run_benchmark(["Popularity", "GlobalMean"])
    path = benchmark.write_record(table, tmp_path)
    assert path.name == "benchmark_standard.json"
    recorded = benchmark.recorded_benchmark("standard", ["Popularity", "GlobalMean"], tmp_path)
    pd.testing.assert_frame_equal(recorded, table, check_names=False)
    provenance = recorded.attrs["provenance"]["Popularity"]
    assert provenance["recorded"] == datetime.date.today().isoformat()
    assert "CPU cores" in provenance["machine"] and provenance["versions"]["numpy"]


def test_recording_again_replaces_only_the_rows_it_measured(tmp_path):
    benchmark.write_record(run_benchmark(["Popularity", "GlobalMean"]), tmp_path)
    record_file = benchmark.record_path("standard", tmp_path)
    record = json.loads(record_file.read_text())
    record["models"]["GlobalMean"]["results"]["ndcg@10"] = 0.5  # an outdated measurement
    record["models"]["Popularity"]["results"]["ndcg@10"] = 0.5
    record_file.write_text(json.dumps(record))
    benchmark.write_record(run_benchmark(["Popularity"]), tmp_path)
    recorded = benchmark.recorded_benchmark("standard", ["Popularity", "GlobalMean"], tmp_path)
    assert recorded.loc["GlobalMean", "ndcg@10"] == 0.5
    assert round(recorded.loc["Popularity", "ndcg@10"], 3) == 0.253
    assert not list(tmp_path.glob(".*.part"))  # the temporary file was renamed


def test_a_row_measured_with_other_settings_is_refused(tmp_path):
    benchmark.write_record(run_benchmark(["EASE"], protocol="leave-one-out"), tmp_path)
    record_file = benchmark.record_path("leave-one-out", tmp_path)
    record = json.loads(record_file.read_text())
    record["models"]["EASE"]["settings"]["regularization"] = 100.0
    record_file.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"measure it again with .*--models EASE --record"):
        benchmark.recorded_benchmark("leave-one-out", ["EASE"], tmp_path)


def test_missing_records_and_rows_say_how_to_measure_them(tmp_path):
    with pytest.raises(ValueError, match="No record at"):
        benchmark.recorded_benchmark("standard", record_dir=tmp_path)
    benchmark.write_record(run_benchmark(["Popularity"]), tmp_path)
    with pytest.raises(ValueError, match="EASE has no recorded standard row"):
        benchmark.recorded_benchmark("standard", ["EASE"], tmp_path)
    with pytest.raises(ValueError, match="k = 10"):
        benchmark.write_record(run_benchmark(["Popularity"], k=5), tmp_path)


def test_a_record_of_another_split_is_refused(tmp_path, monkeypatch):
    table = run_benchmark(["Popularity"])
    benchmark.write_record(table, tmp_path)
    # The same rows would be wrong for another split: read and extend both refuse.
    monkeypatch.setattr(benchmark, "STANDARD_SEED", 1)
    with pytest.raises(ValueError, match="protocol settings .* delete it and measure"):
        benchmark.recorded_benchmark("standard", ["Popularity"], tmp_path)
    with pytest.raises(ValueError, match="protocol settings"):
        benchmark.write_record(table, tmp_path)


def test_record_command_writes_where_the_package_reads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "RECORD_DIR", tmp_path)
    assert main(["benchmark", "--models", "Popularity", "--record"]) == 0
    assert "Recorded 1 row(s) in benchmark_standard.json" in capsys.readouterr().out
    assert benchmark.recorded_benchmark("standard", ["Popularity"]).shape[0] == 1


def test_the_committed_record_holds_every_model_with_its_current_defaults():
    # recorded_benchmark raises for a missing row or a row measured with other settings, so
    # this fails whenever a model is added or a default changes without measuring again.
    for protocol in benchmark.PROTOCOLS:
        recorded = benchmark.recorded_benchmark(protocol)
        assert list(recorded.index) == [cls.__name__ for cls in models.ALL_MODELS]
        assert recorded.notna().all().drop(["rmse", "mae"], errors="ignore").all()


def test_the_readme_tables_are_the_committed_record(capsys):
    readme = (Path(__file__).parents[1] / "README.md").read_text().splitlines()
    for protocol in benchmark.PROTOCOLS:
        assert main(["benchmark-record", "--protocol", protocol]) == 0
        rows = capsys.readouterr().out.splitlines()[1:]
        # The README's table starts at the record's header line and holds exactly its rows:
        # no row missing, none changed, and no stale row left after the last one.
        assert readme.count(rows[0]) == 1, f"the {protocol} table's header is not in README"
        start = readme.index(rows[0])
        end = start
        while end < len(readme) and readme[end].startswith("|"):
            end += 1
        assert readme[start:end] == rows, f"README's {protocol} table differs from the record"


def test_the_record_command_shows_the_standard_leaderboard_by_default(capsys):
    assert main(["benchmark-record"]) == 0
    assert capsys.readouterr().out.startswith("Recorded standard leaderboard, measured on ")


def test_a_missing_record_is_a_usage_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "RECORD_DIR", tmp_path)
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark-record"])
    assert exit_status.value.code == 2
    assert "No record at" in capsys.readouterr().err


def must_not_train(self, ratings):
    raise AssertionError("a model was fitted before the arguments were checked")


def test_record_command_refuses_another_k_before_training(capsys, monkeypatch):
    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark", "--models", "Popularity", "--k", "5", "--record"])
    assert exit_status.value.code == 2
    assert "--record keeps the course's k = 10 only" in capsys.readouterr().err


@pytest.mark.parametrize(("arguments", "message"), [
    # A list longer than the 100 candidates would hold every one of them: HR@k = 1.
    (["--protocol", "leave-one-out", "--k", "100"], "k=100 is not fewer than the 100 candidates"),
    (["--k", "1682"], "k=1682 is not fewer than the 1682 items"),
    (["--models", "Popularity", "popularity"],
     r"named more than once: \['Popularity', 'popularity'\]"),
    (["--models", "NoSuchModel"], "Unknown model"),
    (["--models"], "expected at least one argument"),
])
def test_benchmark_mistakes_are_usage_errors_before_training(arguments, message, capsys,
                                                             monkeypatch):
    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark", *arguments] + ([] if "--models" in arguments
                                          else ["--models", "Popularity"]))
    assert exit_status.value.code == 2
    error = capsys.readouterr().err
    # The usage shown is the benchmark command's, with the message under it.
    assert "usage: python -m recsys_lessons benchmark" in error
    assert re.search(message, error)


def test_a_damaged_record_is_found_before_training(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(benchmark, "RECORD_DIR", tmp_path)
    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    # A merge left its markers in the record: --record would fail after every model trained.
    benchmark.record_path("standard").write_text('<<<<<<< HEAD\n{"protocol": "standard"}')
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark", "--models", "Popularity", "--record"])
    assert exit_status.value.code == 2
    error = capsys.readouterr().err
    assert "benchmark_standard.json is not readable" in error and "git checkout --" in error
    # Reading it names the file too, and so does a record without its table of models.
    benchmark.record_path("standard").write_text('{"protocol": "standard"}')
    with pytest.raises(ValueError, match="benchmark_standard.json is not readable .no table"):
        benchmark.recorded_benchmark("standard")


@pytest.mark.parametrize(("damage", "message"), [
    (lambda row: row.pop("settings"), "the row of Popularity has no settings"),
    (lambda row: row["results"].update({"ndcg@10": "0.25"}), "no table of numeric results"),
    (lambda row: row.pop("recorded"), r"lacks \['recorded'\]"),
])
def test_a_damaged_row_of_the_record_is_named(tmp_path, damage, message):
    path = benchmark.write_record(run_benchmark(["Popularity"]), tmp_path)
    record = json.loads(path.read_text())
    damage(record["models"]["Popularity"])
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match=f"not readable .*{message}.*git checkout"):
        benchmark.recorded_benchmark("standard", record_dir=tmp_path)


def test_a_record_of_another_k_is_refused(tmp_path):
    path = benchmark.write_record(run_benchmark(["Popularity"]), tmp_path)
    path.write_text(path.read_text().replace('"k": 10', '"k": 5'))
    with pytest.raises(ValueError, match="measured with k = 5, not 10"):
        benchmark.recorded_benchmark("standard", record_dir=tmp_path)


@pytest.mark.parametrize(("content", "expected"), [
    (b"vendor_id\t: Example\nmodel name\t: Example CPU 9000\n", "Example CPU 9000, "),
    # The record is written after every model trained: a strange file must not crash it.
    (b"model name\n", None),
    (b"model name\t: \n", None),
    (b"model name\t: Caf\xe9 CPU\n", "Caf\ufffd CPU, "),
])
def test_the_machine_names_its_processor(tmp_path, content, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_bytes(content)
    processor = benchmark._processor(cpuinfo)
    if expected is None:  # No usable name: the architecture, as on other systems.
        assert processor and not processor.startswith(",")
    else:
        assert processor.startswith(expected)
    assert benchmark._processor(tmp_path / "missing")  # no /proc/cpuinfo: the architecture
    assert benchmark._machine().startswith(f"{os.cpu_count()} CPU cores (")


def test_a_record_folder_that_cannot_be_written_is_found_before_training(tmp_path, monkeypatch,
                                                                         capsys):
    # An installed package's folder may be read-only; a file stands in for it here, since a
    # read-only folder does not stop root.
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setattr(benchmark, "RECORD_DIR", blocker / "recorded")
    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark", "--models", "Popularity", "--record"])
    assert exit_status.value.code == 2
    assert re.search(r"record cannot be written in .*not_a_folder.*drop --record",
                     capsys.readouterr().err)
    # A folder that can be written passes, and the probe leaves nothing behind.
    benchmark.check_record_writable("standard", tmp_path / "recorded")
    assert list((tmp_path / "recorded").iterdir()) == []


def test_an_empty_list_of_models_is_refused_not_taken_for_all():
    with pytest.raises(ValueError, match="No model named"):
        benchmark.run_benchmark([])
    with pytest.raises(ValueError, match="No model named"):
        benchmark.recorded_benchmark(names=[])


def test_fetch_and_benchmark_explain_unavailable_data_without_a_traceback(monkeypatch, capsys):
    def unavailable(*arguments, **keywords):
        raise DataUnavailableError("Could not obtain MovieLens 100K. Tried: nothing")

    monkeypatch.setattr("recsys_lessons.data.load_movielens", unavailable)
    monkeypatch.setattr(benchmark, "load_movielens", unavailable)
    for command in (["fetch"], ["benchmark", "--models", "Popularity"], ["benchmark-epoch"]):
        assert main(command) == 1
        assert "Could not obtain MovieLens 100K" in capsys.readouterr().err


def test_a_relative_data_folder_is_refused_without_a_traceback(monkeypatch, capsys):
    monkeypatch.setenv("RECSYS_LESSONS_DATA", "data")
    monkeypatch.setattr(models.Popularity, "fit", must_not_train)
    monkeypatch.setattr(models.NeuMF, "fit", must_not_train)
    for command in (["fetch"], ["benchmark-epoch"]):
        assert main(command) == 1
        assert "RECSYS_LESSONS_DATA='data' is a relative path" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_status:
        main(["benchmark", "--models", "Popularity"])
    assert exit_status.value.code == 2
    assert "RECSYS_LESSONS_DATA='data' is a relative path" in capsys.readouterr().err


def _small_record_table(names, hit_rates):
    table = pd.DataFrame({"hit_rate@10": hit_rates}, index=pd.Index(names, name="model"))
    table.attrs = {"protocol": "standard", "k": 10, "settings": {name: {} for name in names}}
    return table


def test_the_record_keeps_the_course_order_and_is_strict_json(tmp_path):
    table = _small_record_table(["ItemKNN", "Popularity"], [0.2, 0.1])
    table["rmse"] = [0.9, float("nan")]
    path = benchmark.write_record(table, tmp_path)
    # No NaN in the file, which other JSON readers refuse: a missing result is left out.
    def refuse_constant(constant):
        raise AssertionError(f"{constant} in the record")

    record = json.loads(path.read_text(), parse_constant=refuse_constant)
    assert "rmse" not in record["models"]["Popularity"]["results"]
    assert list(benchmark.read_record("standard", tmp_path)["models"]) == ["Popularity",
                                                                           "ItemKNN"]


def test_a_boolean_result_in_the_record_is_refused(tmp_path):
    path = benchmark.write_record(_small_record_table(["Popularity"], [0.1]), tmp_path)
    record = json.loads(path.read_text())
    record["models"]["Popularity"]["results"]["hit_rate@10"] = True
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="numeric results"):
        benchmark.read_record("standard", tmp_path)
