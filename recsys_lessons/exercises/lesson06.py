"""Exercises of lesson 06."""

from __future__ import annotations

import numpy as np

from recsys_lessons.exercises._core import Exercise, _allclose, register

#: The genres of the "action" domain in lesson 06; every other film is in the "other" domain.
ACTION_GENRES = ("Action", "Adventure", "Sci-Fi", "Thriller")


def _gate_mixture(gate_logits: np.ndarray, expert_outputs: np.ndarray) -> np.ndarray:
    gate = np.exp(gate_logits - gate_logits.max())
    gate /= gate.sum()
    return gate @ expert_outputs


def _random_gate_and_experts(rng: np.random.Generator):
    num_experts, width = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    return (rng.normal(0, 1.5, num_experts).round(2),
            rng.normal(0, 1, (num_experts, width)).round(2))


def _multitask_loss(
    interaction: np.ndarray,
    predicted_interaction: np.ndarray,
    rating: np.ndarray,
    predicted_rating: np.ndarray,
    rating_weight: float,
) -> float:
    interaction_loss = -np.mean(
        interaction * np.log(predicted_interaction)
        + (1 - interaction) * np.log(1 - predicted_interaction)
    )
    rated = ~np.isnan(rating)
    rating_loss = np.mean((rating[rated] - predicted_rating[rated]) ** 2)
    return float(interaction_loss + rating_weight * rating_loss)


def _random_examples(rng: np.random.Generator):
    # One rated pair first, so that the rating loss is always a mean over at least one pair;
    # the other examples are rated or sampled at random, as in one epoch of training.
    size = int(rng.integers(1, 7))
    interaction = np.concatenate([[1.0], rng.integers(0, 2, size - 1).astype(float)])
    rating = np.where(interaction == 1, rng.integers(1, 6, size), np.nan).astype(float)
    return (
        interaction,
        rng.uniform(0.02, 0.98, size).round(3),
        rating,
        rng.uniform(1, 5, size).round(2),
        float(rng.choice([0.0, 0.1, 0.5, 1.0, 3.0])),
    )


def _pareto_front(hit_rates: np.ndarray, rmses: np.ndarray) -> np.ndarray:
    # Point j dominates point i when it is at least as good on both metrics (higher HR@10,
    # lower RMSE) and strictly better on one.
    # Row i, column j compares point j with point i.
    hit_rate_of_other, hit_rate_of_point = hit_rates[None, :], hit_rates[:, None]
    rmse_of_other, rmse_of_point = rmses[None, :], rmses[:, None]
    at_least_as_good = (hit_rate_of_other >= hit_rate_of_point) & (rmse_of_other <= rmse_of_point)
    strictly_better = (hit_rate_of_other > hit_rate_of_point) | (rmse_of_other < rmse_of_point)
    return ~(at_least_as_good & strictly_better).any(axis=1)


def _random_trade_off(rng: np.random.Generator):
    # Values on a coarse grid, so that ties between weightings happen.
    size = int(rng.integers(1, 7))
    return (rng.integers(40, 61, size) / 100, rng.integers(100, 111, size) / 100)


def _action_share() -> float:
    from recsys_lessons.data import load_movielens

    movielens = load_movielens("100k")
    # The same rule as multitask.genre_domains: a film with any of the genres is "action".
    is_action = movielens.items.set_index("item_id")["genres"].map(
        lambda genres: bool(set(genres) & set(ACTION_GENRES))
    )
    return float(movielens.ratings["item_id"].map(is_action).mean())


register(Exercise(
    "06.gate_mixture",
    "gate_mixture(gate_logits, expert_outputs): the MMoE mixture h^k = Σ_e g_e f_e(x), with "
    "g = softmax(gate_logits) (length E) and expert_outputs an E × d array, one row per expert.",
    reference=_gate_mixture,
    make_inputs=_random_gate_and_experts,
    compare=_allclose,
))
register(Exercise(
    "06.multitask_loss",
    "multitask_loss(interaction, predicted_interaction, rating, predicted_rating, "
    "rating_weight): the binary cross-entropy of the interaction task over every example, plus "
    "rating_weight times the mean squared rating error over the rated examples only (rating "
    "is NaN for a sampled, never-rated pair).",
    reference=_multitask_loss,
    make_inputs=_random_examples,
))
register(Exercise(
    "06.pareto_front",
    "pareto_front(hit_rates, rmses): a boolean array, True for every weighting that no other "
    "weighting dominates (at least as high an HR@10 and at least as low an RMSE, and strictly "
    "better on one of the two).",
    reference=_pareto_front,
    make_inputs=_random_trade_off,
))
register(Exercise(
    "06.action_share",
    "The share of MovieLens 100K's ratings whose film is in the 'action' domain of "
    "genre_domains(items, ['Action', 'Adventure', 'Sci-Fi', 'Thriller']) (a number).",
    expected=_action_share,
))
