"""Keras plumbing shared by the neural models (NCF, multi-task, sequential).

Every neural recommender of the course trains the same way on implicit feedback: each
observed (user, item) pair is a positive with label 1, and each positive is contrasted with
`num_negatives` items the user never interacted with, labelled 0. This module holds the parts
that do not depend on the network:

- `seed_everything` turns a `random_state` into one integer seed and seeds Python, numpy and
  the Keras backend with `keras.utils.set_random_seed`, so the same seed gives the same model.
- `NegativeSamplingDataset`, a `keras.utils.PyDataset` that draws fresh negatives and
  reshuffles every epoch.
- `split_validation` and `labelled_pairs` carve a validation set out of the training
  interactions for early stopping; the test set is never looked at while training.
- `KerasRecommender`, the base class that wraps a Keras network in the course's contract:
  `fit(DataFrame)`, `recommend`, `score`, plus `model_` (the Keras model) and `history_`.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.sampling import sample_negative_indices
from recsys_lessons.data.splits import validation_counts
from recsys_lessons.data.validation import (
    check_positive_int,
    check_seed,
    check_whole_count,
    is_real_number,
)
from recsys_lessons.models.base import Recommender
from recsys_lessons.models.keras_import import first_training_quiet

#: Scoring feeds the network batches of exactly this many (user, item) pairs (the last one is
#: padded), so a pair gets the same float32 score whichever other pairs share its batch.
SCORING_BATCH_SIZE = 8192


def seed_everything(random_state: int | None) -> int:
    """Seed Python, numpy and the Keras backend; return the integer seed used.

    ``random_state=None`` draws a fresh seed, so each fit differs; an integer makes weight
    initialisation, negative sampling and the validation split repeatable.
    """
    random_state = check_seed(random_state, "random_state", allow_none=True)
    if random_state is None:
        random_state = int(np.random.default_rng().integers(2**31 - 1))
    if random_state >= 2**32:
        raise ValueError(f"random_state must be below 2**32 (Keras' limit), got {random_state}.")
    keras.utils.set_random_seed(int(random_state))
    return int(random_state)


def labelled_pairs(
    positives: sparse.csr_matrix,
    num_negatives: int,
    rng: np.random.Generator,
    exclude: sparse.csr_matrix | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every positive of `positives` followed by `num_negatives` sampled negatives for each.

    Negatives are never a stored entry of `exclude` (by default `positives` itself), so a
    known positive is never labelled 0. Returns int32 user and item indices and float32
    labels, 1 for the positives and 0 for the negatives, unshuffled.
    """
    exclude = positives if exclude is None else exclude
    coo = positives.tocoo()
    users, items = coo.row.astype(np.int64), coo.col.astype(np.int64)
    negatives = sample_negative_indices(exclude, users, num_negatives, rng).ravel()
    all_users = np.concatenate([users, np.repeat(users, num_negatives)])
    all_items = np.concatenate([items, negatives])
    labels = np.concatenate([np.ones(len(users)), np.zeros(len(negatives))])
    return all_users.astype(np.int32), all_items.astype(np.int32), labels.astype(np.float32)


class NegativeSamplingDataset(keras.utils.PyDataset):
    """Batches of ({"user": u, "item": i}, label) pairs with fresh negatives every epoch.

    One epoch holds each positive once and `num_negatives` negatives per positive, shuffled
    together, so the ratio of negatives to positives is `num_negatives`:1 in every epoch.
    Keras calls `on_epoch_end` after each epoch (and once as `fit` starts), which draws new
    negatives and a new order: over the epochs a model sees many more negatives than a fixed
    sample would give it.

    Parameters
    ----------
    positives:
        The users × items matrix of the pairs to train on (stored entries are positives).
    num_negatives:
        Negatives per positive, n in the NCF paper (4 there).
    batch_size:
        Rows per batch; the last batch of an epoch may be smaller.
    seed:
        Seed of the numpy Generator that draws negatives and shuffles: the same seed gives
        the same sequence of epochs.
    exclude:
        Every known positive (by default `positives`); a negative is never one of them. Pass
        the full training matrix when `positives` is only part of it.
    """

    def __init__(
        self,
        positives: sparse.csr_matrix,
        num_negatives: int = 4,
        batch_size: int = 2048,
        seed: int | np.random.SeedSequence = 0,
        exclude: sparse.csr_matrix | None = None,
        **kwargs,
    ):
        # The data is drawn in the main process; Keras' worker threads would only add overhead.
        super().__init__(**kwargs)
        self.positives = sparse.csr_matrix(positives)
        self.exclude = self.positives if exclude is None else sparse.csr_matrix(exclude)
        self.num_negatives = check_positive_int(num_negatives, "num_negatives")
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self._draw_epoch()

    def _draw_epoch(self) -> None:
        users, items, labels = labelled_pairs(
            self.positives, self.num_negatives, self.rng, self.exclude
        )
        order = self.rng.permutation(len(labels))
        self.users, self.items, self.labels = users[order], items[order], labels[order]

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)  # Ceiling division.

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(f"Batch index {index} is out of range for {len(self)} batches.")
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return {"user": self.users[batch], "item": self.items[batch]}, self.labels[batch]

    def on_epoch_end(self) -> None:
        self.epoch += 1
        self._draw_epoch()


def split_validation(
    matrix: sparse.csr_matrix, fraction: float, rng: np.random.Generator
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Hold out about `fraction` of each user's training items for validation.

    A user with n items gives round(fraction · n) of them, chosen at random, but always keeps
    at least one for training, so every user still gets an embedding that learns. Returns the
    two binary matrices (fit, validation); together they are `matrix`. A `fraction` above 0
    that holds out nothing at all (every user has too few items) is refused.
    """
    coo = sparse.csr_matrix(matrix).tocoo()
    users, items = coo.row, coo.col
    # Visit the pairs in random order, grouped by user; a pair's position within its user's
    # group decides whether it is held out.
    order = np.lexsort((rng.random(len(users)), users))
    users, items = users[order], items[order]
    counts = np.bincount(users, minlength=matrix.shape[0])
    group_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position = np.arange(len(users)) - group_start[users]
    num_held_out = validation_counts(counts, fraction)
    held_out = position < num_held_out[users]
    if fraction > 0 and not held_out.any():
        # Training would then run every epoch without the early stopping that was asked for.
        raise ValueError(
            f"validation_fraction={fraction} holds out nothing here: a user with n items holds "
            f"out round({fraction} · n) of them and keeps at least one, which is 0 for every "
            f"user (the most items of one user is {counts.max()}). Pass a larger "
            "validation_fraction, or 0 to train without a validation split."
        )

    def to_matrix(mask):
        values = np.ones(int(mask.sum()), dtype=np.float32)
        return sparse.csr_matrix((values, (users[mask], items[mask])), shape=matrix.shape)

    return to_matrix(~held_out), to_matrix(held_out)


def check_finite_weights(recommender, network: keras.Model) -> None:
    """Refuse a network whose training diverged, as the numpy models' `fit` does.

    Keras ends `fit` normally when the loss becomes NaN, and every score of the network is then
    NaN. The weights are checked rather than the last loss, because early stopping may have
    restored the finite weights of an earlier epoch.
    """
    for weight in network.weights:
        if not np.isfinite(weight.numpy()).all():
            raise FloatingPointError(
                f"{type(recommender).__name__}'s training diverged: the weight {weight.path!r} "
                "holds NaN or infinite values after fit. Lower the learning_rate (now "
                f"{recommender.learning_rate}) and fit again."
            )


def check_fraction(value, name: str) -> float:
    """Return `value` as a float in [0, 1), or raise with a message that says so."""
    if not is_real_number(value) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1), got {value!r}.")
    return float(value)


def check_non_negative_float(value, name: str) -> float:
    """Return `value` as a float >= 0, or raise with a message that says so."""
    if not is_real_number(value) or not value >= 0 or value == float("inf"):
        raise ValueError(f"{name} must be a non-negative number, got {value!r}.")
    return float(value)


def check_positive_float(value, name: str) -> float:
    """Return `value` as a float > 0, or raise with a message that says so."""
    if not is_real_number(value) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


class KerasRecommender(Recommender):
    """A recommender whose scores come from a Keras network ŷ_ui = f(u, i) trained on BCE.

    Training minimises the binary cross-entropy over positives 𝒴 and sampled negatives 𝒴⁻:

        L = −Σ_(u,i)∈𝒴 log ŷ_ui − Σ_(u,j)∈𝒴⁻ log(1 − ŷ_uj)

    with Adam, `num_negatives` fresh negatives per positive each epoch. A `weight_decay` λ > 0
    trains with AdamW instead: each step also shrinks every weight w by learning_rate · λ · w
    (decoupled weight decay, Loshchilov & Hutter 2019), which keeps longer training from
    over-fitting. With
    `validation_fraction` > 0, that share of each user's training items is held out (seeded),
    the validation loss is computed after each epoch against fixed sampled negatives, training
    stops after `patience` epochs without improvement, and the best epoch's weights are kept.

    Subclasses store their hyper-parameters in `__init__` (the common ones are `embedding_dim`,
    `num_negatives`, `epochs`, `batch_size`, `learning_rate`, `weight_decay`,
    `validation_fraction`, `patience`, `random_state`, `verbose`; a subclass without
    `weight_decay` trains with plain Adam) and implement `_build_network(num_users,
    num_items)`, which returns a Keras model with inputs "user" and "item" (int32 indices,
    shape (batch,)) and an output of shape (batch, 1) in (0, 1).

    Attributes set by `fit`
    -----------------------
    model_ : keras.Model
        The trained network.
    history_ : pandas.DataFrame
        One row per epoch (index "epoch", from 1): training "loss", and "val_loss" when a
        validation split is used.
    """

    #: Items absent from training cannot be scored; known items get σ(·) in (0, 1).
    unknown_item_score = -np.inf

    # ----------------------------------------------------------------- to override

    def _build_network(self, num_users: int, num_items: int) -> keras.Model:
        raise NotImplementedError

    def _check_parameters(self) -> None:
        """Validate the hyper-parameters in `fit` (scikit-learn convention: not in __init__)."""
        check_whole_count(self.embedding_dim, "embedding_dim")
        check_whole_count(self.num_negatives, "num_negatives")
        check_whole_count(self.epochs, "epochs")
        check_whole_count(self.batch_size, "batch_size")
        check_positive_float(self.learning_rate, "learning_rate")
        check_non_negative_float(getattr(self, "weight_decay", 0.0), "weight_decay")
        check_fraction(self.validation_fraction, "validation_fraction")
        check_whole_count(self.patience, "patience")

    def _optimizer(self) -> keras.optimizers.Optimizer:
        """Adam, or AdamW when the model has a `weight_decay` > 0."""
        weight_decay = getattr(self, "weight_decay", 0.0)
        if weight_decay > 0:
            return keras.optimizers.AdamW(
                learning_rate=self.learning_rate, weight_decay=weight_decay
            )
        return keras.optimizers.Adam(learning_rate=self.learning_rate)

    def _after_build(self, model: keras.Model) -> None:
        """A hook to change the freshly built network before training (NeuMF pretraining)."""

    # ----------------------------------------------------------------- training

    def _fit(self, ratings: pd.DataFrame) -> None:
        self._check_parameters()
        seed = seed_everything(self.random_state)
        # Separate streams for the validation split and for the training negatives, so that
        # changing one (e.g. num_negatives) does not change the other.
        split_seed, validation_seed, training_seed = np.random.SeedSequence(seed).spawn(3)
        fit_matrix, validation_matrix = split_validation(
            self.user_items_, self.validation_fraction, np.random.default_rng(split_seed)
        )
        training_data = NegativeSamplingDataset(
            fit_matrix,
            self.num_negatives,
            self.batch_size,
            seed=training_seed,
            exclude=self.user_items_,
        )
        num_users, num_items = self.user_items_.shape
        model = self._build_network(num_users, num_items)
        self._after_build(model)
        model.compile(
            optimizer=self._optimizer(),
            loss="binary_crossentropy",
        )
        validation_data, callbacks = None, []
        if validation_matrix.nnz:
            users, items, labels = labelled_pairs(
                validation_matrix,
                self.num_negatives,
                np.random.default_rng(validation_seed),
                exclude=self.user_items_,
            )
            validation_data = ({"user": users, "item": items}, labels)
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=self.patience, restore_best_weights=True
            ))
        with first_training_quiet():
            history = model.fit(
                training_data,
                epochs=self.epochs,
                validation_data=validation_data,
                validation_batch_size=SCORING_BATCH_SIZE,
                callbacks=callbacks,
                # The dataset shuffles itself with its own seeded generator.
                shuffle=False,
                verbose=2 if self.verbose else 0,
            )
        check_finite_weights(self, model)
        self.model_ = model
        self.history_ = pd.DataFrame(history.history, index=pd.RangeIndex(
            1, len(history.epoch) + 1, name="epoch"
        ))

    # ----------------------------------------------------------------- scoring

    def _predict_pairs(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        """ŷ_ui for paired indices, from the network in batches of `SCORING_BATCH_SIZE`."""
        count = len(user_indices)
        padded = -(-count // SCORING_BATCH_SIZE) * SCORING_BATCH_SIZE
        users = np.zeros(padded, dtype=np.int32)
        items = np.zeros(padded, dtype=np.int32)
        users[:count], items[:count] = user_indices, item_indices
        scores = np.empty(padded, dtype=np.float64)
        for start in range(0, padded, SCORING_BATCH_SIZE):
            batch = slice(start, start + SCORING_BATCH_SIZE)
            output = self.model_.predict_on_batch({"user": users[batch], "item": items[batch]})
            scores[batch] = np.asarray(output).reshape(-1)
        return scores[:count]

    def _score_users(self, user_indices: np.ndarray) -> np.ndarray:
        # Every (user, item) pair of the block, row by row: user 0 with items 0..n-1, then
        # user 1, and so on, so the flat scores reshape into a users × items matrix.
        num_items = len(self.item_map_)
        users = np.repeat(user_indices, num_items)
        items = np.tile(np.arange(num_items), len(user_indices))
        return self._predict_pairs(users, items).reshape(len(user_indices), num_items)

    def _score_pairs(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        return self._predict_pairs(user_indices, item_indices)


__all__ = [
    "SCORING_BATCH_SIZE",
    "KerasRecommender",
    "NegativeSamplingDataset",
    "check_finite_weights",
    "check_fraction",
    "check_non_negative_float",
    "check_positive_float",
    "labelled_pairs",
    "seed_everything",
    "split_validation",
]
