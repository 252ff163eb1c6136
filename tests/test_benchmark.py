from recsys_lessons.__main__ import main
from recsys_lessons.benchmark import format_table, run_benchmark, time_ranking_metrics


def test_benchmark_table_for_chosen_models(capsys):
    assert main(["benchmark", "--models", "popularity", "BiasBaseline"]) == 0
    printed = capsys.readouterr().out
    assert "| Popularity | 0.226 |" in printed  # precision@10 under the standard protocol
    assert "| BiasBaseline |" in printed and "Random" not in printed


def test_table_columns_end_with_timings():
    table = run_benchmark(["GlobalMean", "Popularity"])
    assert list(table.columns[-2:]) == ["fit_s", "recommend_s"]
    assert {"rmse", "ndcg@10"} <= set(table.columns)
    assert format_table(table).count("\n") == 3


def test_ranking_metrics_timing_reports_sizes():
    result = time_ranking_metrics(num_users=50, num_items=200, held_out_per_user=20, repeats=2)
    assert result["num_test_rows"] == 1000 and result["num_recommendation_rows"] == 500
    assert 0 < result["best_seconds"] <= result["median_seconds"]


def test_fetch_command_reports_where_and_how_fast(capsys, movielens):
    assert main(["fetch"]) == 0
    printed = capsys.readouterr().out
    assert "100,000 rows" in printed and "movielens-100k" in printed and "verified in" in printed


def test_leave_one_out_table(capsys):
    assert main(["benchmark", "--models", "Popularity", "--protocol", "leave-one-out"]) == 0
    printed = capsys.readouterr().out
    assert "hit_rate@10" in printed and "| Popularity | 0.312 |" in printed
