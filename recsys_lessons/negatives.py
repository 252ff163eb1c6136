"""Which negatives to learn from: uniform, popularity-based and hard negatives for BPR.

A model trained on implicit feedback contrasts each positive (u, i) with items u never
interacted with. *Which* of those it sees decides what it learns:

- **uniform**: every unobserved item equally likely (`data.sampling`). Most draws are
  obscure items the model already ranks low, so after a while they teach little.
- **popularity**: P(j) ∝ n_j^0.75, with n_j the item's interaction count (the word2vec
  exponent; `data.sampling.item_probabilities`). Popular items are more often unobserved by
  choice, and the model learns to rank a user's items above *popular* ones, not only above
  obscure ones: less popularity bias.
- **hard**: dynamic negative sampling (Zhang, Chen, Wang & Yu 2013): draw m candidates
  uniformly and keep the one the current model scores highest, x̂_uj = max over the m.
  The most-confused negative gives the largest gradient g = σ(−(x̂_ui − x̂_uj)).

`NegativeSamplingBPR` is the package's `BPR` with the strategy as a parameter, so the three
can be compared on the same model; with ``negatives="uniform"`` it is exactly `BPR`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.sampling import item_probabilities, sample_negative_indices
from recsys_lessons.data.validation import check_positive_int
from recsys_lessons.models.matrix_factorization import BPR

#: The negative-sampling strategies of `NegativeSamplingBPR`.
NEGATIVE_STRATEGIES = ("uniform", "popularity", "hard")


def hard_negative_indices(
    matrix: sparse.csr_matrix,
    user_indices: np.ndarray,
    score: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rng: np.random.Generator,
    num_candidates: int = 10,
    probabilities: np.ndarray | None = None,
) -> np.ndarray:
    """One hard negative per entry of `user_indices`: the best-scored of `num_candidates`.

    Candidates are drawn with `sample_negative_indices` (never a positive of `matrix`;
    uniform, or with `probabilities`), then scored with ``score(users, items)``, which takes
    two arrays of the same shape (users × num_candidates) and returns the model's scores of
    those pairs in that shape. Returns the item index with the highest score in each row
    (the first of equals). With num_candidates=1 this is plain sampling.
    """
    num_candidates = check_positive_int(num_candidates, "num_candidates")
    user_indices = np.asarray(user_indices, dtype=np.int64)
    candidates = sample_negative_indices(
        matrix, user_indices, num_candidates, rng, probabilities
    )
    users = np.broadcast_to(user_indices[:, None], candidates.shape)
    scores = np.asarray(score(users, candidates))
    if scores.shape != candidates.shape:
        raise ValueError(
            f"score(users, items) must return scores of shape {candidates.shape}, the shape of "
            f"its arguments; got {scores.shape}."
        )
    return candidates[np.arange(len(user_indices)), np.argmax(scores, axis=1)]


class NegativeSamplingBPR(BPR):
    """BPR (see `BPR`) whose negatives j come from a chosen strategy.

    Parameters
    ----------
    negatives:
        "uniform" (as `BPR`), "popularity" (P(j) ∝ n_j^0.75) or "hard" (per mini-batch, the
        highest-scored of `num_candidates` uniform draws under the current model,
        x̂_uj = b_j + p_u·q_j).
    num_candidates:
        m, the candidates per hard negative; more is harder (and slower). Used by "hard" only.

    The other parameters are those of `BPR`, with the same defaults.
    """

    def __init__(
        self,
        negatives: str = "uniform",
        num_candidates: int = 10,
        factors: int = 128,
        learning_rate: float = 0.03,
        regularization: float = 0.02,
        epochs: int = 50,
        batch_size: int = 1024,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.negatives = negatives
        self.num_candidates = num_candidates
        super().__init__(factors, learning_rate, regularization, epochs, batch_size,
                         random_state, verbose)

    def _pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """x̂_uj = b_j + p_u·q_j for paired index arrays of any (equal) shape."""
        return self.item_bias_[items] + np.einsum(
            "...k,...k->...", self.user_factors_[users], self.item_factors_[items]
        )

    def _fit(self, ratings: pd.DataFrame) -> None:
        if self.negatives not in NEGATIVE_STRATEGIES:
            raise ValueError(
                f"negatives must be one of {NEGATIVE_STRATEGIES}, got {self.negatives!r}."
            )
        # Only the hard negatives use it; the other strategies ignore it, as documented.
        self._num_candidates = (check_positive_int(self.num_candidates, "num_candidates")
                                if self.negatives == "hard" else None)
        self._probabilities = (item_probabilities(self.user_items_, "popularity")
                               if self.negatives == "popularity" else None)
        # BPR's training loop, with this class's negatives: with negatives="uniform" it makes
        # the same draws in the same order as BPR, so the two give the same model.
        super()._fit(ratings)

    def _negative_sampler(self, users: np.ndarray, rng: np.random.Generator):
        if self.negatives == "hard":
            # Drawn batch by batch and scored with the factors as they are then, so the
            # negatives stay hard as the model learns.
            return lambda batch: hard_negative_indices(
                self.user_items_, users[batch], self._pair_scores, rng, self._num_candidates
            )
        negatives = sample_negative_indices(
            self.user_items_, users, 1, rng, self._probabilities
        )[:, 0]
        return lambda batch: negatives[batch]

__all__ = ["NEGATIVE_STRATEGIES", "NegativeSamplingBPR", "hard_negative_indices"]
