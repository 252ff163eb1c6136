"""Exercises of lesson 07."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register


def _scaled_dot_product_attention(
    queries: np.ndarray, keys: np.ndarray, values: np.ndarray, allowed: np.ndarray
) -> np.ndarray:
    scores = queries @ keys.T / np.sqrt(queries.shape[-1])
    # A masked score becomes −∞, so its weight after the softmax is exactly 0. Subtracting the
    # row maximum first keeps exp() from overflowing; it does not change the softmax.
    scores = np.where(allowed, scores, -np.inf)
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ values


def _random_attention_inputs(rng: np.random.Generator):
    num_queries, num_keys = int(rng.integers(1, 5)), int(rng.integers(1, 6))
    dim, value_dim = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    # Adding 0.0 turns the −0.0 that rounding can give into 0.0, which reads better.
    queries = rng.normal(0, 1, (num_queries, dim)).round(2) + 0.0
    keys = rng.normal(0, 1, (num_keys, dim)).round(2) + 0.0
    values = rng.normal(0, 1, (num_keys, value_dim)).round(2) + 0.0
    allowed = rng.random((num_queries, num_keys)) < 0.7
    # Every query must be allowed to look at something, or its softmax is undefined.
    allowed[np.arange(num_queries), rng.integers(0, num_keys, num_queries)] = True
    return queries, keys, values, allowed


def _causal_mask(tokens: np.ndarray) -> np.ndarray:
    length = len(tokens)
    earlier_or_same = np.tril(np.ones((length, length), dtype=bool))
    return earlier_or_same & (tokens != 0)[None, :]


def _random_window(rng: np.random.Generator):
    length = int(rng.integers(1, 8))
    padding = int(rng.integers(0, length + 1))
    tokens = np.zeros(length, dtype=np.int64)
    tokens[padding:] = rng.integers(1, 10, length - padding)
    return (tokens,)


def _left_padded_window(sequence: np.ndarray, max_length: int) -> np.ndarray:
    latest = np.asarray(sequence, dtype=np.int64)[-max_length:]
    window = np.zeros(max_length, dtype=np.int64)
    window[max_length - len(latest) :] = latest + 1
    return window


def _random_sequence(rng: np.random.Generator):
    return rng.integers(0, 9, int(rng.integers(0, 9))), int(rng.integers(1, 7))


def _held_out_ties() -> float:
    from recsys_lessons.data import leave_one_out, load_movielens

    train, test = leave_one_out(load_movielens("100k").ratings)
    latest_training = train.groupby("user_id")["timestamp"].max()
    held_out = test.set_index("user_id")["timestamp"]
    return float((held_out == latest_training.loc[held_out.index]).mean())


register(Exercise(
    "07.scaled_dot_product_attention",
    "scaled_dot_product_attention(queries, keys, values, allowed): softmax(QKᵀ/√d) V where "
    "the softmax of each row runs only over the keys that `allowed` marks True.",
    reference=_scaled_dot_product_attention,
    make_inputs=_random_attention_inputs,
    compare=_allclose,
))
register(Exercise(
    "07.causal_mask",
    "causal_mask(tokens): the L × L boolean mask of a left-padded window (0 = padding), True "
    "where position t may attend to position j: j ≤ t and position j holds an item.",
    reference=_causal_mask,
    make_inputs=_random_window,
))
register(Exercise(
    "07.left_padded_window",
    "left_padded_window(sequence, max_length): the latest max_length item indices as tokens "
    "(index + 1), with 0s on the left when the sequence is shorter.",
    reference=_left_padded_window,
    make_inputs=_random_sequence,
))
register(Exercise(
    "07.held_out_ties",
    "The share of leave-one-out test items in MovieLens 100K whose timestamp equals the "
    "latest timestamp of the same user's training ratings.",
    expected=_held_out_ties,
))
