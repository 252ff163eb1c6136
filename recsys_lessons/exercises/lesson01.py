"""Exercises of lesson 01."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from recsys_lessons.exercises._core import Exercise, register


def _random_vector_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two rating vectors of equal length (0 = not rated); sometimes one is all zeros."""
    length = int(rng.integers(1, 7))
    first = rng.integers(0, 6, length).astype(float)
    second = rng.integers(0, 6, length).astype(float)
    # Either vector may be the zero one, so a solution that guards only one of them fails.
    roll = rng.random()
    if roll < 0.1:
        first[:] = 0.0
    elif roll < 0.2:
        second[:] = 0.0
    return first, second


def _random_set_pair(rng: np.random.Generator) -> tuple[set, set]:
    items = np.arange(1, 9)
    first = set(rng.choice(items, int(rng.integers(0, 6)), replace=False).tolist())
    second = set(rng.choice(items, int(rng.integers(0, 6)), replace=False).tolist())
    return first, second


def _jaccard_of_sets(first: set, second: set) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def _most_similar_rows(matrix: np.ndarray, row: int, k: int) -> list[int]:
    from recsys_lessons.similarity import cosine

    similarities = cosine(matrix)[row]
    similarities[row] = -np.inf  # A row is not its own neighbour.
    # A stable sort on the negated values puts ties in order of the lower row index.
    return np.argsort(-similarities, kind="stable")[:k].tolist()


def _random_matrix_row_k(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    rows = int(rng.integers(3, 7))
    matrix = rng.integers(0, 2, (rows, int(rng.integers(2, 6)))).astype(float)
    return matrix, int(rng.integers(0, rows)), int(rng.integers(1, rows))


def _lesson01_reference(name: str) -> Callable:
    from recsys_lessons import similarity

    return getattr(similarity, name)


register(Exercise(
    "01.cosine",
    "cosine(x, y): the cosine similarity of two 1-D numpy arrays; 0 when either is all zeros.",
    reference=lambda x, y: _lesson01_reference("cosine")(x, y),
    make_inputs=_random_vector_pair,
))
register(Exercise(
    "01.jaccard",
    "jaccard(a, b): |a ∩ b| / |a ∪ b| for two Python sets; 0 when both are empty.",
    reference=_jaccard_of_sets,
    make_inputs=_random_set_pair,
))
register(Exercise(
    "01.pearson_co_rated",
    "pearson_co_rated(x, y): Pearson correlation over the positions both vectors rated "
    "(non-zero), with means over those positions; 0 when fewer than two are co-rated or "
    "either side is constant there.",
    reference=lambda x, y: _lesson01_reference("pearson")(x, y, co_rated=True),
    make_inputs=_random_vector_pair,
))
register(Exercise(
    "01.most_similar",
    "most_similar(matrix, row, k): the indices of the k rows most cosine-similar to `row`, "
    "most similar first, never `row` itself; ties go to the lower index.",
    reference=_most_similar_rows,
    make_inputs=_random_matrix_row_k,
))
