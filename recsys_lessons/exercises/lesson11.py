"""Exercises of lesson 11."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_lessons.exercises._core import Exercise, _allclose, random_ratings, register


def _items_to_request(train: pd.DataFrame, k: int) -> int:
    return int(k + train.groupby("user_id").size().max())


def _random_train_and_k(rng: np.random.Generator):
    return random_ratings(rng), int(rng.integers(1, 11))


def _drop_seen_and_rank(candidates: pd.DataFrame, train: pd.DataFrame, k: int) -> pd.DataFrame:
    seen = candidates.merge(train[["user_id", "item_id"]], how="left", indicator=True)
    unseen = seen[seen["_merge"] == "left_only"].drop(columns="_merge")
    unseen = unseen.sort_values(["user_id", "score", "item_id"], ascending=[True, False, True])
    top = unseen.groupby("user_id").head(k).copy()
    top["rank"] = top.groupby("user_id").cumcount() + 1
    return top[["user_id", "item_id", "score", "rank"]].reset_index(drop=True)


def _random_candidates_train_k(rng: np.random.Generator):
    train = random_ratings(rng)
    users = train["user_id"].unique()
    # Scores on a coarse grid, so that ties happen and the tie rule is tested.
    candidates = pd.DataFrame(
        [(user, 10 + item, float(rng.integers(0, 5)) / 4) for user in users for item in
         rng.choice(np.arange(1, 7), int(rng.integers(1, 7)), replace=False)],
        columns=["user_id", "item_id", "score"],
    )
    return candidates, train, int(rng.integers(1, 4))


def _als_user_solve(item_factors: np.ndarray, ratings: np.ndarray, regularization: float):
    factors = item_factors.shape[1]
    gram = item_factors.T @ item_factors + regularization * len(ratings) * np.eye(factors)
    return np.linalg.solve(gram, item_factors.T @ ratings)


def _random_als_problem(rng: np.random.Generator):
    num_items, factors = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    return (rng.normal(0, 1, (num_items, factors)).round(2),
            rng.integers(1, 6, num_items).astype(float), float(rng.choice([0.05, 0.1, 1.0])))


register(Exercise(
    "11.items_to_request",
    "items_to_request(train, k): how many items to ask MLlib for per user so that, after "
    "removing each user's training items, everyone still has k: k + the largest number of "
    "training rows of any user.",
    reference=_items_to_request,
    make_inputs=_random_train_and_k,
))
register(Exercise(
    "11.drop_seen_and_rank",
    "drop_seen_and_rank(candidates, train, k): from candidates (user_id, item_id, score), "
    "drop pairs present in train, keep each user's k best by score (ties: smaller item id) "
    "and return user_id, item_id, score, rank (1 = best).",
    reference=_drop_seen_and_rank,
    make_inputs=_random_candidates_train_k,
))
register(Exercise(
    "11.als_user_solve",
    "als_user_solve(item_factors, ratings, regularization): one ALS step for one user, "
    "p_u = (Q_uᵀQ_u + λ n_u I)⁻¹ Q_uᵀ r_u, with Q_u the rows of the items the user rated "
    "and n_u their number (MLlib scales λ by n_u).",
    reference=_als_user_solve,
    make_inputs=_random_als_problem,
    compare=_allclose,
))
