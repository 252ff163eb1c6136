"""Benchmarks: the course leaderboard, and the speed of the evaluation code.

`run_benchmark` fits every model on MovieLens 100K under the standard protocol;
`time_ranking_metrics` times `ranking_metrics` on synthetic data of a realistic size.

Standard protocol: per-user stratified 75/25 split with seed 0, k = 10, full ranking over all
items with the user's training items excluded, every held-out rating relevant. Rating models
also get RMSE and MAE on the same test rows. Timings are wall-clock seconds on this machine.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

from recsys_lessons.data import load_movielens, stratified_split
from recsys_lessons.evaluation import evaluate_rating, ranking_metrics
from recsys_lessons.models import ALL_MODELS, RatingPredictor

STANDARD_K = 10
STANDARD_TEST_SIZE = 0.25
STANDARD_SEED = 0


def model_classes(names: list[str] | None = None) -> list[type]:
    """The model classes to run: all of them, or those named (case-insensitive)."""
    by_name = {cls.__name__.lower(): cls for cls in ALL_MODELS}
    if not names:
        return list(ALL_MODELS)
    unknown = [name for name in names if name.lower() not in by_name]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {sorted(by_name)}.")
    return [by_name[name.lower()] for name in names]


def run_benchmark(names: list[str] | None = None, k: int = STANDARD_K) -> pd.DataFrame:
    """Fit, recommend and evaluate each model; one row per model."""
    ratings = load_movielens("100k").ratings
    train, test = stratified_split(ratings, test_size=STANDARD_TEST_SIZE, seed=STANDARD_SEED)
    users = test["user_id"].unique()
    rows = []
    for model_class in model_classes(names):
        model = model_class()
        start = time.perf_counter()
        model.fit(train)
        fitted = time.perf_counter()
        recommendations = model.recommend(users, k=k, exclude_seen=True)
        recommended = time.perf_counter()
        row = {"model": model_class.__name__}
        row.update(ranking_metrics(recommendations, test, k=k).drop("users").to_dict())
        if isinstance(model, RatingPredictor):
            row.update(evaluate_rating(model, test)[["rmse", "mae"]].to_dict())
        row["fit_s"] = fitted - start
        row["recommend_s"] = recommended - fitted
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    # Timings go last, whichever models ran.
    return table[[c for c in table.columns if not c.endswith("_s")] + ["fit_s", "recommend_s"]]


def format_table(table: pd.DataFrame) -> str:
    """A Markdown table, so the output can be pasted into the README as it is."""
    shown = table.copy()
    header = "| model | " + " | ".join(shown.columns) + " |"
    rule = "|---|" + "---:|" * len(shown.columns)
    lines = [header, rule]
    for name, row in shown.iterrows():
        cells = ["" if pd.isna(value) else f"{value:.3f}" for value in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_ranking_metrics(
    num_users: int = 5000,
    num_items: int = 10000,
    held_out_per_user: int = 1000,
    k: int = 10,
    seed: int = 0,
    repeats: int = 3,
) -> dict:
    """Time ``ranking_metrics`` on synthetic data of a realistic size.

    Every user gets ``held_out_per_user`` distinct test items and ``k`` distinct recommended
    items, both drawn uniformly from ``num_items`` items with a seeded generator, so the data
    are the same on every run. Only the ``ranking_metrics`` calls are timed. Returns the
    number of rows of both frames and the best and median time in seconds over ``repeats``
    calls.
    """
    rng = np.random.default_rng(seed)
    test_items = np.concatenate(
        [rng.choice(num_items, held_out_per_user, replace=False) for _ in range(num_users)]
    )
    recommended_items = np.concatenate(
        [rng.choice(num_items, k, replace=False) for _ in range(num_users)]
    )
    test = pd.DataFrame(
        {"user_id": np.repeat(np.arange(num_users), held_out_per_user), "item_id": test_items}
    )
    recommendations = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(num_users), k),
            "item_id": recommended_items,
            "rank": np.tile(np.arange(1, k + 1), num_users),
        }
    )

    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        ranking_metrics(recommendations, test, k=k)
        seconds.append(time.perf_counter() - start)
    return {
        "num_test_rows": len(test),
        "num_recommendation_rows": len(recommendations),
        "best_seconds": min(seconds),
        "median_seconds": statistics.median(seconds),
    }
