"""Timing benchmarks for the course's evaluation code."""

import statistics
import time

import numpy as np
import pandas as pd

from recsys_lessons.evaluation import ranking_metrics


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
