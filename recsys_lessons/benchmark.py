"""Benchmarks: the course leaderboard, and the speed of the evaluation code.

`run_benchmark` fits every model on MovieLens 100K under one of two protocols;
`time_ranking_metrics` times `ranking_metrics` on synthetic data of a realistic size.

- ``"standard"``: per-user stratified 75/25 split with seed 0, k = 10, full ranking over all
  items with the user's training items excluded, every held-out rating relevant. Rating models
  also get RMSE and MAE on the same test rows.
- ``"leave-one-out"``: each user's latest rating is held out and ranked among 99 items the
  user never rated (seed 0), scored with HR@10, NDCG@10 and MRR@10: the protocol of the
  neural collaborative filtering papers.

Timings are wall-clock seconds on the machine that runs the benchmark.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pandas as pd

import recsys_lessons.models as models
from recsys_lessons.data import leave_one_out, load_movielens, stratified_split
from recsys_lessons.evaluation import evaluate_ranking, evaluate_rating, ranking_metrics

STANDARD_K = 10
STANDARD_TEST_SIZE = 0.25
STANDARD_SEED = 0
PROTOCOLS = ("standard", "leave-one-out")


def model_classes(names: list[str] | None = None) -> list[type]:
    """The model classes to run: all of them, or those named (case-insensitive).

    Naming only classic models keeps TensorFlow unloaded.
    """
    if not names:
        return list(models.ALL_MODELS)
    known = {cls.__name__.lower(): cls.__name__ for cls in models.CLASSIC_MODELS}
    known.update({name.lower(): name for name in models._KERAS_MODELS})
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {sorted(known)}.")
    return [getattr(models, known[name.lower()]) for name in names]


def run_benchmark(
    names: list[str] | None = None, k: int = STANDARD_K, protocol: str = "standard"
) -> pd.DataFrame:
    """Fit, recommend and evaluate each model; one row per model."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")
    ratings = load_movielens("100k").ratings
    if protocol == "standard":
        train, test = stratified_split(ratings, test_size=STANDARD_TEST_SIZE, seed=STANDARD_SEED)
    else:
        train, test = leave_one_out(ratings)
    users = test["user_id"].unique()
    rows = []
    for model_class in model_classes(names):
        model = model_class()
        start = time.perf_counter()
        model.fit(train)
        fitted = time.perf_counter()
        row = {"model": model_class.__name__}
        if protocol == "standard":
            recommendations = model.recommend(users, k=k, exclude_seen=True)
            row.update(ranking_metrics(recommendations, test, k=k).drop("users").to_dict())
        else:
            sampled = evaluate_ranking(model, train, test, k=k, protocol="sampled",
                                       seed=STANDARD_SEED)
            row.update(sampled.drop("cases").to_dict())
        evaluated = time.perf_counter()
        if protocol == "standard" and isinstance(model, models.RatingPredictor):
            row.update(evaluate_rating(model, test)[["rmse", "mae"]].to_dict())
        row["fit_s"] = fitted - start
        # Standard: recommending for every user; leave-one-out: scoring the candidate lists.
        row["recommend_s" if protocol == "standard" else "score_s"] = evaluated - fitted
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    # Timings go last, whichever models ran.
    timings = [column for column in table.columns if column.endswith("_s")]
    return table[[column for column in table.columns if column not in timings] + timings]


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
