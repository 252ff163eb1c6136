"""Exercises of lesson 09."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import ATOL, Exercise, _allclose, register


def _log_uniform(low: float, high: float, u: float) -> float:
    return float(low * (high / low) ** u)


def _random_log_uniform(rng: np.random.Generator):
    low = round(float(10 ** rng.uniform(-4, 2)), 4) or 0.001
    high = round(low * float(10 ** rng.uniform(0.5, 4)), 4)
    return low, high, round(float(rng.uniform(0, 1)), 3)


def _best_so_far(values: np.ndarray) -> np.ndarray:
    return np.fmax.accumulate(np.asarray(values, dtype=np.float64))


def _random_scores(rng: np.random.Generator):
    values = rng.uniform(0, 0.5, int(rng.integers(1, 10))).round(3)
    # Sometimes a trial failed (NaN), as a diverged model does in a search.
    values[rng.random(len(values)) < 0.2] = np.nan
    return (values,)


def _hardest_negatives(candidates: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return candidates[np.arange(len(candidates)), np.argmax(scores, axis=1)]


def _random_candidates(rng: np.random.Generator):
    rows, columns = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    candidates = rng.integers(0, 100, (rows, columns))
    # Scores on a coarse grid, so that ties happen and must go to the first candidate.
    scores = rng.integers(0, 5, (rows, columns)) / 4
    return candidates, scores


def _allclose_with_nan(expected, got) -> bool:
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(expected) and bool(
        np.allclose(got, expected, equal_nan=True, atol=ATOL)
    )


register(Exercise(
    "09.log_uniform",
    "log_uniform(low, high, u): the value at position u ∈ [0, 1) of a log scale from low to "
    "high, low · (high / low)^u, so that a uniform u covers every order of magnitude evenly.",
    reference=_log_uniform,
    make_inputs=_random_log_uniform,
))
register(Exercise(
    "09.best_so_far",
    "best_so_far(values): the running maximum of a search's validation scores, trial by "
    "trial, skipping failed trials (NaN); NaN until the first trial that finished.",
    reference=_best_so_far,
    make_inputs=_random_scores,
    compare=lambda expected, got: _allclose_with_nan(expected, got),
))
register(Exercise(
    "09.hardest_negatives",
    "hardest_negatives(candidates, scores): for each row, the candidate item with the highest "
    "score (the first one when scores tie): dynamic negative sampling.",
    reference=_hardest_negatives,
    make_inputs=_random_candidates,
    compare=lambda expected, got: _allclose(expected, got),
))

