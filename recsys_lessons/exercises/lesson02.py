"""Exercises of lesson 02."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _decade_labels(years: pd.Series) -> pd.Series:
    def label(year):
        return None if pd.isna(year) else f"{int(year) // 10 * 10}s"

    return pd.Series([label(year) for year in years], index=years.index, dtype=object)


def _same_labels(expected: pd.Series, got) -> bool:
    if not isinstance(got, pd.Series) or len(got) != len(expected):
        return False
    return [None if pd.isna(value) else value for value in got.tolist()] == expected.tolist()


def _user_profile(item_features: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    deviations = ratings - ratings.mean()
    if np.abs(deviations).sum() == 0:
        return item_features.mean(axis=0)
    return deviations @ item_features / np.abs(deviations).sum()


def _rank_by_profile(profile: np.ndarray, item_features: np.ndarray, k: int) -> list[int]:
    from recsys_lessons.similarity import cosine

    scores = cosine(profile[None, :], item_features)[0]
    return np.argsort(-scores, kind="stable")[:k].tolist()


def _random_years(rng: np.random.Generator) -> tuple[pd.Series]:
    years = rng.integers(1920, 2000, int(rng.integers(1, 8)))
    series = pd.Series(years, dtype="Int64")
    series[rng.random(len(series)) < 0.2] = pd.NA
    return (series,)


def _random_features_and_ratings(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    num_items = int(rng.integers(1, 6))
    features = rng.integers(0, 2, (num_items, int(rng.integers(2, 6)))).astype(float)
    ratings = rng.integers(1, 6, num_items).astype(float)
    if rng.random() < 0.2:
        ratings[:] = ratings[0]
    return features, ratings


def _random_profile_features_k(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    num_items = int(rng.integers(2, 8))
    num_features = int(rng.integers(2, 5))
    features = rng.integers(0, 3, (num_items, num_features)).astype(float)
    profile = rng.normal(size=num_features).round(2)
    return profile, features, int(rng.integers(1, num_items + 1))


register(Exercise(
    "02.decade",
    "decade(years): for a pandas Series of release years (may hold missing values), a "
    "Series of labels such as '1970s', with None where the year is missing.",
    reference=_decade_labels,
    make_inputs=_random_years,
    compare=_same_labels,
))
register(Exercise(
    "02.user_profile",
    "user_profile(item_features, ratings): p_u = Σ_i (r_ui − r̄_u) · x_i / Σ_i |r_ui − r̄_u| "
    "over the rows x_i of item_features; the plain mean of the rows when all ratings are equal.",
    reference=_user_profile,
    make_inputs=_random_features_and_ratings,
    compare=_allclose,
))
register(Exercise(
    "02.rank_by_profile",
    "rank_by_profile(profile, item_features, k): the row indices of the k items whose feature "
    "vectors have the highest cosine with the profile, best first; ties to the lower index.",
    reference=_rank_by_profile,
    make_inputs=_random_profile_features_k,
))
