"""Exercises of lesson 00."""

from __future__ import annotations

import pandas as pd

from recsys_lessons.exercises._core import Exercise, random_ratings, register


def _sparsity(ratings: pd.DataFrame) -> float:
    num_users = ratings["user_id"].nunique()
    num_items = ratings["item_id"].nunique()
    return float(1 - len(ratings) / (num_users * num_items))


def _most_rated(ratings: pd.DataFrame, n: int) -> list:
    counts = ratings.groupby("item_id").size().reset_index(name="count")
    counts = counts.sort_values(["count", "item_id"], ascending=[False, True])
    return counts["item_id"].head(n).tolist()


def _to_implicit(ratings: pd.DataFrame, threshold: float) -> pd.DataFrame:
    liked = ratings[ratings["rating"] >= threshold]
    return liked[["user_id", "item_id"]].reset_index(drop=True)


def _median_ratings_per_movie() -> float:
    from recsys_lessons.data import load_movielens

    return float(load_movielens("100k").ratings.groupby("item_id").size().median())


register(Exercise(
    "00.sparsity",
    "sparsity(ratings): the share of (user, item) cells with no rating, "
    "1 − |ratings| / (|users| · |items|), over the users and items in the frame.",
    reference=_sparsity,
    make_inputs=lambda rng: (random_ratings(rng),),
))
register(Exercise(
    "00.most_rated",
    "most_rated(ratings, n): the ids of the n items with the most ratings, most first "
    "(all of them when there are fewer than n); ties go to the smaller item id.",
    reference=_most_rated,
    make_inputs=lambda rng: (random_ratings(rng), int(rng.integers(1, 4))),
))
register(Exercise(
    "00.to_implicit",
    "to_implicit(ratings, threshold): the user_id, item_id rows whose rating is at least "
    "threshold (explicit ratings turned into implicit 'liked' feedback).",
    reference=_to_implicit,
    make_inputs=lambda rng: (random_ratings(rng), float(rng.integers(1, 6))),
))
register(Exercise(
    "00.median_movie_ratings",
    "The median number of ratings per movie in MovieLens 100K (a number).",
    expected=_median_ratings_per_movie,
))
