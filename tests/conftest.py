"""Shared fixtures: small synthetic ratings for fast tests, and MovieLens 100K once per run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_ratings(num_users: int = 30, num_items: int = 40, density: float = 0.3, seed: int = 0):
    """Random explicit ratings with timestamps; every user and item has at least one row."""
    rng = np.random.default_rng(seed)
    mask = rng.random((num_users, num_items)) < density
    mask[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    mask[rng.integers(0, num_users, num_items), np.arange(num_items)] = True
    users, items = np.nonzero(mask)
    return pd.DataFrame({
        "user_id": users + 100,
        "item_id": items + 1000,
        "rating": rng.integers(1, 6, len(users)).astype(float),
        "timestamp": rng.integers(800_000_000, 900_000_000, len(users)),
    })


@pytest.fixture
def small_ratings() -> pd.DataFrame:
    return make_ratings()


@pytest.fixture(scope="session")
def movielens():
    from recsys_lessons.data import load_movielens

    return load_movielens("100k")
