"""Exercises of lesson 04."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _predict_biased(global_mean, user_bias, item_bias, user_factors, item_factors, users, items):
    return (global_mean + user_bias[users] + item_bias[items]
            + np.sum(user_factors[users] * item_factors[items], axis=1))


def _random_factor_model(rng: np.random.Generator):
    num_users, num_items, factors = (int(value) for value in rng.integers(1, 5, 3))
    pairs = int(rng.integers(1, 6))
    return (
        round(float(rng.uniform(3, 4)), 2),
        rng.normal(0, 0.3, num_users).round(2),
        rng.normal(0, 0.3, num_items).round(2),
        rng.normal(0, 0.5, (num_users, factors)).round(2),
        rng.normal(0, 0.5, (num_items, factors)).round(2),
        rng.integers(0, num_users, pairs),
        rng.integers(0, num_items, pairs),
    )


def _sgd_step(rating, global_mean, user_bias, item_bias, p, q, learning_rate, regularization):
    error = rating - (global_mean + user_bias + item_bias + p @ q)
    return (
        user_bias + learning_rate * (error - regularization * user_bias),
        item_bias + learning_rate * (error - regularization * item_bias),
        p + learning_rate * (error * q - regularization * p),
        q + learning_rate * (error * p - regularization * q),
    )


def _random_sgd_state(rng: np.random.Generator):
    factors = int(rng.integers(1, 4))
    return (
        float(rng.integers(1, 6)), 3.5, round(float(rng.normal(0, 0.3)), 2),
        round(float(rng.normal(0, 0.3)), 2), rng.normal(0, 0.5, factors).round(2),
        rng.normal(0, 0.5, factors).round(2), float(rng.choice([0.01, 0.05, 0.1])),
        float(rng.choice([0.0, 0.02, 0.1])),
    )


def _same_sgd_state(expected, got) -> bool:
    try:
        parts = [np.atleast_1d(np.asarray(part, dtype=float)) for part in got]
    except (TypeError, ValueError):
        return False
    return len(parts) == 4 and _allclose(
        np.concatenate([np.atleast_1d(part) for part in expected]), np.concatenate(parts)
    )


def _bpr_loss(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    difference = positive_scores - negative_scores
    return float(np.mean(np.log1p(np.exp(-difference))))  # −ln σ(x) = ln(1 + e⁻ˣ)


def _random_score_pairs(rng: np.random.Generator):
    size = int(rng.integers(1, 8))
    return rng.normal(0, 2, size).round(2), rng.normal(0, 2, size).round(2)


def _ease_weights(interactions: np.ndarray, regularization: float) -> np.ndarray:
    gram = interactions.T @ interactions + regularization * np.eye(interactions.shape[1])
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights


def _random_interactions_and_lambda(rng: np.random.Generator):
    matrix = rng.integers(0, 2, (int(rng.integers(2, 7)), int(rng.integers(2, 6)))).astype(float)
    return matrix, float(rng.choice([0.5, 1.0, 10.0]))


register(Exercise(
    "04.predict",
    "predict_rating(global_mean, user_bias, item_bias, user_factors, item_factors, users, "
    "items): r̂_ui = μ + b_u + b_i + p_u·q_i for paired index arrays users and items.",
    reference=_predict_biased,
    make_inputs=_random_factor_model,
    compare=_allclose,
))
register(Exercise(
    "04.sgd_step",
    "sgd_step(rating, global_mean, user_bias, item_bias, p, q, learning_rate, regularization): "
    "one Funk SVD step on one rating; returns the new (user_bias, item_bias, p, q), every "
    "update computed from the old values.",
    reference=_sgd_step,
    make_inputs=_random_sgd_state,
    compare=_same_sgd_state,
))
register(Exercise(
    "04.bpr_loss",
    "bpr_loss(positive_scores, negative_scores): the mean of −ln σ(x̂_ui − x̂_uj) over paired "
    "scores of positives and sampled negatives.",
    reference=_bpr_loss,
    make_inputs=_random_score_pairs,
))
register(Exercise(
    "04.ease",
    "ease_weights(X, regularization): EASE's B for a dense 0/1 users × items array X: "
    "P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj, diag(B) = 0.",
    reference=_ease_weights,
    make_inputs=_random_interactions_and_lambda,
    compare=_allclose,
))
