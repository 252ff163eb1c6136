"""Baselines: the floor every other model must clear.

- `Popularity` recommends what most people interacted with. It is hard to beat on MovieLens.
- `RandomRecommender` ranks at random: the score of "no model at all".
- `GlobalMean` predicts μ, the mean training rating, for every pair.
- `BiasBaseline` predicts r̂_ui = μ + b_u + b_i: some users rate high, some movies are loved.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.validation import check_positive_int, seeded_generator
from recsys_lessons.models.base import RatingPredictor, Recommender


class Popularity(Recommender):
    """Score of item i = number of training users who interacted with i.

    Every user gets the same list (minus what they have seen). Users absent from training get
    it too, which makes Popularity the usual cold-start fallback.
    """

    supports_unknown_users = True

    def __init__(self):
        pass

    def _fit(self, ratings: pd.DataFrame) -> None:
        self.item_counts_ = np.asarray(self.user_items_.sum(axis=0), dtype=np.float64).ravel()

    def _score_users(self, user_indices):
        return np.broadcast_to(self.item_counts_, (len(user_indices), len(self.item_counts_)))

    def _score_unknown_users(self, count):
        return self._score_users(np.zeros(count, dtype=np.int64))


class RandomRecommender(Recommender):
    """Scores drawn uniformly from [0, 1), fixed per (seed, training data, user).

    The same seed and training data give the same lists. Each user's generator is seeded with
    the user's index and draws one score per training item, so a different set of users or
    items in training changes every list. ``random_state=None`` draws a fresh seed at each fit.
    """

    def __init__(self, random_state: int | None = 0):
        self.random_state = random_state

    def _fit(self, ratings: pd.DataFrame) -> None:
        # Each user's scores come from a generator seeded with (seed, user index), so that
        # `score` and `recommend` agree and no call changes what a later call returns.
        generator = seeded_generator(self.random_state, "random_state", allow_none=True)
        self.seed_ = int(generator.integers(2**31))

    def _score_users(self, user_indices):
        num_items = len(self.item_map_)
        return np.stack([
            np.random.default_rng([self.seed_, int(user)]).random(num_items)
            for user in user_indices
        ])


def fit_biases(
    ratings: sparse.csr_matrix, reg_user: float, reg_item: float, iterations: int
) -> tuple[float, np.ndarray, np.ndarray]:
    """Fit μ, b_u and b_i by alternating least squares.

    Minimises Σ_(u,i) (r_ui − μ − b_u − b_i)² + λ_u Σ_u b_u² + λ_i Σ_i b_i², where the sum
    runs over observed ratings. With b_u fixed the best b_i has a closed form, and vice versa:

        b_i = Σ_u∈U_i (r_ui − μ − b_u) / (λ_i + |U_i|)
        b_u = Σ_i∈I_u (r_ui − μ − b_i) / (λ_u + |I_u|)

    A few rounds of the two updates converge. The regularisation pulls the bias of a user or
    item with few ratings towards 0, i.e. towards the global mean.
    """
    for name, value in (("reg_user", reg_user), ("reg_item", reg_item)):
        # `not value >= 0` also refuses NaN, which would spread through every bias.
        if isinstance(value, bool) or not isinstance(value, Real) or not value >= 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}.")
    iterations = check_positive_int(iterations, "iterations")
    ratings = ratings.tocsr()
    global_mean = float(ratings.data.mean())
    coo = ratings.tocoo()
    users, items, values = coo.row, coo.col, coo.data - global_mean
    num_users, num_items = ratings.shape
    ratings_per_user = np.bincount(users, minlength=num_users)
    ratings_per_item = np.bincount(items, minlength=num_items)
    user_bias = np.zeros(num_users)
    item_bias = np.zeros(num_items)
    for _ in range(iterations):
        residual = values - user_bias[users]
        item_bias = np.bincount(items, residual, num_items) / (reg_item + ratings_per_item)
        residual = values - item_bias[items]
        user_bias = np.bincount(users, residual, num_users) / (reg_user + ratings_per_user)
    return global_mean, user_bias, item_bias


class GlobalMean(RatingPredictor):
    """r̂_ui = μ, the mean of all training ratings. Ranks every item equally."""

    def __init__(self):
        pass

    def _fit(self, ratings: pd.DataFrame) -> None:
        self.global_mean_ = float(ratings["rating"].mean())
        self.user_bias_ = np.zeros(len(self.user_map_))
        self.item_bias_ = np.zeros(len(self.item_map_))

    def _predict_known(self, user_indices, item_indices):
        return np.full(len(user_indices), self.global_mean_)


class BiasBaseline(RatingPredictor):
    """r̂_ui = μ + b_u + b_i with regularised biases, fitted by alternating least squares.

    Parameters
    ----------
    reg_user, reg_item:
        λ_u and λ_i: how strongly a bias is pulled towards 0. The defaults (15 and 10, with
        10 iterations) are the usual ones for MovieLens-sized data.
    iterations:
        Rounds of the alternating updates; see `fit_biases`.
    """

    def __init__(self, reg_user: float = 15.0, reg_item: float = 10.0, iterations: int = 10):
        self.reg_user = reg_user
        self.reg_item = reg_item
        self.iterations = iterations

    def _fit(self, ratings: pd.DataFrame) -> None:
        self.global_mean_, self.user_bias_, self.item_bias_ = fit_biases(
            self._rating_matrix(ratings), self.reg_user, self.reg_item, self.iterations
        )

    def _predict_known(self, user_indices, item_indices):
        return self.global_mean_ + self.user_bias_[user_indices] + self.item_bias_[item_indices]

    def _score_users(self, user_indices):
        scores = self.global_mean_ + self.user_bias_[user_indices, None] + self.item_bias_[None, :]
        return np.clip(scores, *self.rating_range_)
