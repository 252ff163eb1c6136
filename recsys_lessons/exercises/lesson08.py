"""Exercises of lesson 08."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _average_precision(recommended: list, relevant: set, k: int) -> float:
    hits = [item in relevant for item in recommended[:k]]
    summed_precision = sum(
        sum(hits[: rank + 1]) / (rank + 1) for rank, hit in enumerate(hits) if hit
    )
    return float(summed_precision / min(k, len(relevant)))


def _random_list_and_relevant(rng: np.random.Generator):
    catalog = np.arange(1, 13)
    recommended = rng.permutation(catalog)[: int(rng.integers(1, 9))].tolist()
    relevant = set(rng.choice(catalog, size=int(rng.integers(1, 8)), replace=False).tolist())
    return recommended, relevant, int(rng.integers(1, 9))


def _ap_two_ways(hits: np.ndarray, num_relevant: int) -> tuple[float, float]:
    hits = np.asarray(hits, dtype=float)
    ranks = np.arange(1, len(hits) + 1)
    summed_precision = float((np.cumsum(hits) / ranks * hits).sum())
    return summed_precision / min(len(hits), num_relevant), summed_precision / num_relevant


def _random_hits(rng: np.random.Generator):
    k = int(rng.integers(1, 11))
    hits = (rng.random(k) < 0.4).astype(int)
    # A user has at least as many relevant items as hits, and at least one.
    return hits, int(max(hits.sum(), 1) + rng.integers(0, 12))


def _paired_bootstrap_interval(
    first: np.ndarray, second: np.ndarray, resamples: int, seed: int
) -> tuple[float, float]:
    # One draw of users serves both models: that pairing is the point of the exercise.
    differences = np.asarray(first, dtype=float) - np.asarray(second, dtype=float)
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(differences), size=(resamples, len(differences)))
    low, high = np.quantile(differences[samples].mean(axis=1), [0.025, 0.975])
    return float(low), float(high)


def _random_paired_values(rng: np.random.Generator):
    size = int(rng.integers(2, 12))
    first, second = rng.random(size).round(2), rng.random(size).round(2)
    return first, second, int(rng.integers(20, 201)), int(rng.integers(0, 100))


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    positives = scores[labels == 1]
    negatives = scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    ties = (positives[:, None] == negatives[None, :]).sum()
    return float((wins + 0.5 * ties) / (len(positives) * len(negatives)))


def _random_labels_and_scores(rng: np.random.Generator):
    size = int(rng.integers(2, 10))
    labels = np.zeros(size, dtype=int)
    # At least one positive and one negative, so that AUC is defined.
    labels[rng.permutation(size)[: int(rng.integers(1, size))]] = 1
    # Small integer scores, so that ties between a positive and a negative happen.
    return labels, rng.integers(0, 5, size).astype(float)


register(Exercise(
    "08.average_precision",
    "average_precision(recommended, relevant, k): AP@k of one user's ranked list, "
    "Σ_{i≤k} precision@i · rel_i / min(k, |R_u|).",
    reference=_average_precision,
    make_inputs=_random_list_and_relevant,
))
register(Exercise(
    "08.ap_two_ways",
    "ap_two_ways(hits, num_relevant): the pair (S / min(k, |R_u|), S / |R_u|) for one user, "
    "where S = Σ_{i≤k} precision@i · rel_i, hits[i] is 1 when the item at rank i + 1 is "
    "relevant and k = len(hits).",
    reference=_ap_two_ways,
    make_inputs=_random_hits,
    compare=lambda expected, got: _allclose(np.array(expected), got),
))
register(Exercise(
    "08.paired_bootstrap_interval",
    "paired_bootstrap_interval(first, second, resamples, seed): the 95% percentile bootstrap "
    "interval (low, high) of the mean per-user difference first − second; draw the resampled "
    "users once for both models, as np.random.default_rng(seed).integers(0, n, "
    "size=(resamples, n)).",
    reference=_paired_bootstrap_interval,
    make_inputs=_random_paired_values,
    compare=lambda expected, got: _allclose(np.array(expected), got),
))
register(Exercise(
    "08.auc",
    "auc(labels, scores): the share of (positive, negative) pairs in which the positive "
    "scores higher, a tie counting one half.",
    reference=_auc,
    make_inputs=_random_labels_and_scores,
))
