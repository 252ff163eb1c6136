"""Exercises of lesson 10."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _laplace_scale(sensitivity: float, epsilon: float) -> float:
    return float(sensitivity / epsilon)


def _random_sensitivity_epsilon(rng: np.random.Generator):
    return int(rng.integers(1, 101)), round(float(rng.uniform(0.1, 10.0)), 2)


def _clip_rows(gradients: np.ndarray, clip_norm: float) -> np.ndarray:
    norms = np.linalg.norm(gradients, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return gradients * np.minimum(1.0, clip_norm / norms)


def _random_gradients(rng: np.random.Generator):
    num_rows, num_columns = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    gradients = rng.normal(0.0, 2.0, (num_rows, num_columns)).round(2)
    # A zero gradient must stay zero (and not become NaN through 0 / 0).
    gradients[rng.random(num_rows) < 0.2] = 0.0
    return gradients, round(float(rng.uniform(0.1, 3.0)), 2)


def _log_log_slope(size_1: float, cost_1: float, size_2: float, cost_2: float) -> float:
    return float(np.log(cost_2 / cost_1) / np.log(size_2 / size_1))


def _random_measurements(rng: np.random.Generator):
    size_1 = int(rng.integers(100, 2000))
    size_2 = size_1 * int(rng.integers(2, 9))
    cost_1 = round(float(rng.uniform(0.01, 5.0)), 3)
    exponent = float(rng.uniform(0.5, 3.0))
    return size_1, cost_1, size_2, round(cost_1 * (size_2 / size_1) ** exponent, 3)


register(Exercise(
    "10.laplace_scale",
    "laplace_scale(sensitivity, epsilon): the scale b = Δ/ε of the Laplace noise that makes a "
    "query with L1 sensitivity Δ ε-differentially private.",
    reference=_laplace_scale,
    make_inputs=_random_sensitivity_epsilon,
))
register(Exercise(
    "10.clip_rows",
    "clip_rows(gradients, clip_norm): every row g shrunk to norm at most C, "
    "g · min(1, C / ‖g‖); a row of zeros stays zeros.",
    reference=_clip_rows,
    make_inputs=_random_gradients,
    compare=_allclose,
))
register(Exercise(
    "10.log_log_slope",
    "log_log_slope(size_1, cost_1, size_2, cost_2): the exponent β of cost ≈ a · size^β "
    "through two measurements, log(cost_2 / cost_1) / log(size_2 / size_1).",
    reference=_log_log_slope,
    make_inputs=_random_measurements,
))
