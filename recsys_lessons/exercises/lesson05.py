"""Exercises of lesson 05."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _gmf_score(p_u: np.ndarray, q_i: np.ndarray, h: np.ndarray, bias: float) -> float:
    return float(1 / (1 + np.exp(-(h @ (p_u * q_i) + bias))))


def _random_gmf(rng: np.random.Generator):
    size = int(rng.integers(1, 6))
    vectors = rng.normal(0, 1, (3, size)).round(2)
    return vectors[0], vectors[1], vectors[2], round(float(rng.normal()), 2)


def _binary_cross_entropy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(-np.mean(labels * np.log(predictions) + (1 - labels) * np.log(1 - predictions)))


def _random_labels_predictions(rng: np.random.Generator):
    size = int(rng.integers(1, 8))
    return rng.integers(0, 2, size).astype(float), rng.uniform(0.02, 0.98, size).round(3)


def _sampled_metrics(ranks: np.ndarray, k: int) -> tuple[float, float]:
    hit = ranks <= k
    return float(hit.mean()), float(np.where(hit, 1 / np.log2(ranks + 1), 0.0).mean())


def _random_ranks(rng: np.random.Generator):
    return rng.integers(1, 101, int(rng.integers(1, 9))), int(rng.integers(1, 21))


register(Exercise(
    "05.gmf_score",
    "gmf_score(p_u, q_i, h, bias): GMF's prediction σ(hᵀ(p_u ⊙ q_i) + b) for one pair.",
    reference=_gmf_score,
    make_inputs=_random_gmf,
))
register(Exercise(
    "05.binary_cross_entropy",
    "binary_cross_entropy(labels, predictions): −mean(y ln ŷ + (1 − y) ln(1 − ŷ)).",
    reference=_binary_cross_entropy,
    make_inputs=_random_labels_predictions,
))
register(Exercise(
    "05.sampled_metrics",
    "sampled_metrics(ranks, k): (HR@k, NDCG@k) of the held-out items, given the rank (1 = "
    "best) of each held-out item among its candidates; NDCG of one relevant item is "
    "1 / log2(rank + 1) when rank ≤ k, else 0.",
    reference=_sampled_metrics,
    make_inputs=_random_ranks,
    compare=lambda expected, got: _allclose(np.array(expected), got),
))
