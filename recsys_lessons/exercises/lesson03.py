"""Exercises of lesson 03."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _user_based_scores(matrix: np.ndarray, user: int, k: int) -> np.ndarray:
    from recsys_lessons.similarity import cosine

    similarities = cosine(matrix)[user]
    similarities[user] = -np.inf  # A user is not their own neighbour.
    neighbours = np.argsort(-similarities, kind="stable")[:k]
    return similarities[neighbours] @ matrix[neighbours]


def _random_user_item_k(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    num_users = int(rng.integers(2, 7))
    matrix = rng.integers(0, 2, (num_users, int(rng.integers(2, 6)))).astype(float)
    return matrix, int(rng.integers(0, num_users)), int(rng.integers(1, num_users))


def _shrink(similarity: np.ndarray, common: np.ndarray, shrinkage: float) -> np.ndarray:
    return similarity * common / (common + shrinkage)


def _random_similarity_common_shrinkage(rng: np.random.Generator):
    size = int(rng.integers(1, 6))
    similarity = rng.uniform(-1, 1, size).round(3)
    common = rng.integers(1, 50, size).astype(float)
    return similarity, common, float(rng.choice([0.0, 1.0, 10.0, 100.0]))


def _baseline_adjusted(baseline, similarities, neighbour_ratings, neighbour_baselines) -> float:
    weights = np.abs(similarities).sum()
    if weights == 0:
        return float(baseline)
    residuals = neighbour_ratings - neighbour_baselines
    return float(baseline + similarities @ residuals / weights)


def _random_neighbourhood(rng: np.random.Generator):
    size = int(rng.integers(0, 5))
    return (
        round(float(rng.uniform(2, 4.5)), 2),
        # Negative similarities too (as Pearson gives), so that Σ sim and Σ |sim| differ.
        rng.uniform(-1, 1, size).round(2) * (rng.random() > 0.1),
        rng.integers(1, 6, size).astype(float),
        rng.uniform(2, 4.5, size).round(2),
    )


register(Exercise(
    "03.user_based_scores",
    "user_based_scores(matrix, user, k): for a dense users × items 0/1 array, the score of "
    "every item for `user`: Σ over the k users most cosine-similar to `user` (never the user "
    "itself; ties to the lower index) of sim(user, v) · r_vi.",
    reference=_user_based_scores,
    make_inputs=_random_user_item_k,
    compare=_allclose,
))
register(Exercise(
    "03.shrink",
    "shrink(similarity, common, shrinkage): sim · n / (n + β) elementwise, for arrays of "
    "similarities and numbers of common raters n, and β = shrinkage.",
    reference=_shrink,
    make_inputs=_random_similarity_common_shrinkage,
    compare=_allclose,
))
register(Exercise(
    "03.baseline_adjusted",
    "baseline_adjusted(baseline, similarities, neighbour_ratings, neighbour_baselines): "
    "r̂_ui = b_ui + Σ sim · (r − b) / Σ |sim| over the neighbours; b_ui alone when there are "
    "no neighbours or all similarities are 0.",
    reference=_baseline_adjusted,
    make_inputs=_random_neighbourhood,
))
