"""The Keras plumbing: seeding, the negative-sampling dataset, the validation split and the
optimizer the base class picks."""

import random

import keras
import numpy as np
import pytest
import scipy.sparse as sparse

from recsys_lessons.models.keras_utils import (
    KerasRecommender,
    NegativeSamplingDataset,
    check_finite_weights,
    check_fraction,
    check_non_negative_float,
    check_positive_float,
    labelled_pairs,
    seed_everything,
    split_validation,
)
from tests.conftest import make_ratings


def random_matrix(num_users=20, num_items=15, density=0.3, seed=0) -> sparse.csr_matrix:
    """A binary users × items matrix in which every user has at least one positive."""
    rng = np.random.default_rng(seed)
    dense = rng.random((num_users, num_items)) < density
    dense[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    return sparse.csr_matrix(dense.astype(np.float32))


def is_positive(matrix, users, items) -> np.ndarray:
    return np.asarray(matrix[users, items]).ravel() > 0


def one_epoch(dataset):
    """Every batch of the current epoch, concatenated: users, items, labels."""
    batches = [dataset[index] for index in range(len(dataset))]
    users = np.concatenate([inputs["user"] for inputs, _ in batches])
    items = np.concatenate([inputs["item"] for inputs, _ in batches])
    labels = np.concatenate([labels for _, labels in batches])
    return users, items, labels


# ----------------------------------------------------------------------------- seeding


def test_seed_everything_makes_python_and_keras_draws_repeatable():
    def draws():
        return random.random(), keras.ops.convert_to_numpy(keras.random.normal((3,)))

    seed_everything(3)
    first = draws()
    seed_everything(3)
    second = draws()
    seed_everything(4)
    other = draws()
    assert first[0] == second[0] != other[0]
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[1], other[1])


def test_seed_everything_draws_a_seed_for_none_and_rejects_bad_seeds():
    # None draws a fresh seed each time (three equal draws out of 2**31 would be a fixed
    # seed), and every drawn seed is one that seed_everything itself accepts.
    drawn = [seed_everything(None) for _ in range(3)]
    assert all(isinstance(seed, int) and 0 <= seed < 2**32 for seed in drawn)
    assert len(set(drawn)) > 1
    assert seed_everything(np.int64(5)) == 5
    for bad in (1.5, "0", True, -1, 2**32):
        with pytest.raises(ValueError, match="random_state"):
            seed_everything(bad)


def test_number_checks_name_the_parameter():
    assert check_fraction(0, "f") == 0.0 and check_fraction(0.2, "f") == 0.2
    assert check_positive_float(1e-3, "rate") == 1e-3
    for bad in (-0.1, 1, 1.5, "0.1", None):
        with pytest.raises(ValueError, match=r"validation_fraction must be a number in \[0, 1\)"):
            check_fraction(bad, "validation_fraction")
    for bad in (0, -1.0, "0.1", None, float("nan")):
        with pytest.raises(ValueError, match="learning_rate must be a positive number"):
            check_positive_float(bad, "learning_rate")
    # numpy numbers are numbers too: a search grid stored as float32 gives np.float32 values.
    assert check_fraction(np.float32(0.25), "f") == 0.25
    assert check_positive_float(np.float32(0.5), "rate") == 0.5
    assert check_non_negative_float(np.int64(2), "decay") == 2.0
    for check in (check_fraction, check_positive_float, check_non_negative_float):
        with pytest.raises(ValueError, match="must be a"):
            check(np.bool_(True), "flag")
    assert check_non_negative_float(0, "decay") == 0.0
    assert check_non_negative_float(0.25, "decay") == 0.25
    for bad in (-0.1, "0.1", None, True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="weight_decay must be a non-negative number"):
            check_non_negative_float(bad, "weight_decay")


# ----------------------------------------------------------------------------- labelled pairs


def test_labelled_pairs_hold_every_positive_then_negatives():
    matrix = random_matrix()
    users, items, labels = labelled_pairs(matrix, 3, np.random.default_rng(0))
    assert len(users) == len(items) == len(labels) == 4 * matrix.nnz
    assert users.dtype == items.dtype == np.int32 and labels.dtype == np.float32
    positives = labels == 1
    assert positives.sum() == matrix.nnz and (labels[~positives] == 0).all()
    assert is_positive(matrix, users[positives], items[positives]).all()
    assert not is_positive(matrix, users[~positives], items[~positives]).any()
    # Each negative belongs to the user of its positive: 3 per positive of every user.
    np.testing.assert_array_equal(
        np.bincount(users[~positives], minlength=matrix.shape[0]), 3 * matrix.getnnz(axis=1)
    )


def test_labelled_pairs_never_label_an_excluded_pair_negative():
    everything = random_matrix(density=0.6)
    fit, validation = split_validation(everything, 0.5, np.random.default_rng(0))
    users, items, labels = labelled_pairs(fit, 5, np.random.default_rng(1), exclude=everything)
    negative = labels == 0
    assert not is_positive(everything, users[negative], items[negative]).any()
    # The dataset passes `exclude` on, in every epoch.
    dataset = NegativeSamplingDataset(fit, num_negatives=4, batch_size=64, seed=0,
                                      exclude=everything)
    for _ in range(3):
        negative = dataset.labels == 0
        assert not is_positive(everything, dataset.users[negative], dataset.items[negative]).any()
        dataset.on_epoch_end()


# ----------------------------------------------------------------------------- the dataset


def test_dataset_batches_have_the_right_shapes_and_count():
    matrix = random_matrix()
    dataset = NegativeSamplingDataset(matrix, num_negatives=4, batch_size=32, seed=0)
    total = 5 * matrix.nnz
    assert len(dataset) == -(-total // 32)
    inputs, labels = dataset[0]
    assert set(inputs) == {"user", "item"}
    assert inputs["user"].shape == inputs["item"].shape == labels.shape == (32,)
    last_inputs, last_labels = dataset[len(dataset) - 1]
    assert last_labels.shape == (total - 32 * (len(dataset) - 1),)
    assert last_inputs["user"].shape == last_labels.shape
    for index in (-1, len(dataset)):
        with pytest.raises(IndexError):
            dataset[index]


@pytest.mark.parametrize("num_negatives", [1, 4])
def test_an_epoch_holds_each_positive_once_and_n_negatives_per_positive(num_negatives):
    matrix = random_matrix(seed=2)
    dataset = NegativeSamplingDataset(matrix, num_negatives, batch_size=50, seed=0)
    users, items, labels = one_epoch(dataset)
    positives = labels == 1
    assert set(np.unique(labels)) == {0.0, 1.0}
    assert (~positives).sum() == num_negatives * positives.sum()
    keys = users[positives].astype(np.int64) * matrix.shape[1] + items[positives]
    coo = matrix.tocoo()
    np.testing.assert_array_equal(np.sort(keys), np.sort(coo.row * matrix.shape[1] + coo.col))
    assert not is_positive(matrix, users[~positives], items[~positives]).any()
    # Positives and negatives are shuffled together, not stored in two blocks.
    assert 0 < positives[: len(labels) // 2].sum() < positives.sum()


def test_negatives_are_redrawn_and_reshuffled_at_each_epoch_end():
    matrix = random_matrix()
    dataset = NegativeSamplingDataset(matrix, num_negatives=4, batch_size=64, seed=0)
    first = one_epoch(dataset)
    dataset.on_epoch_end()
    second = one_epoch(dataset)
    assert dataset.epoch == 1
    assert not np.array_equal(first[1], second[1])
    for users, items, labels in (first, second):
        negative = labels == 0
        assert not is_positive(matrix, users[negative], items[negative]).any()
    # Not only the order changed: the (user, negative item) pairs themselves differ.
    def negative_pairs(users, items, labels):
        return np.sort(users[labels == 0].astype(np.int64) * matrix.shape[1] + items[labels == 0])

    assert not np.array_equal(negative_pairs(*first), negative_pairs(*second))


def test_dataset_is_deterministic_under_a_seed():
    matrix = random_matrix()
    runs = []
    for seed in (7, 7, 8):
        dataset = NegativeSamplingDataset(matrix, num_negatives=2, batch_size=16, seed=seed)
        epochs = [one_epoch(dataset)]
        dataset.on_epoch_end()
        epochs.append(one_epoch(dataset))
        runs.append(np.concatenate([np.concatenate(epoch) for epoch in epochs]))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


def test_keras_fit_calls_on_epoch_end_once_per_epoch():
    matrix = random_matrix()
    dataset = NegativeSamplingDataset(matrix, num_negatives=1, batch_size=64, seed=0)
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    vector = keras.layers.Concatenate()([
        keras.layers.Embedding(matrix.shape[0], 2)(user),
        keras.layers.Embedding(matrix.shape[1], 2)(item),
    ])
    model = keras.Model({"user": user, "item": item}, keras.layers.Dense(1, "sigmoid")(vector))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(dataset, epochs=3, verbose=0, shuffle=False)
    # Keras calls on_epoch_end after every epoch and once more as fit starts: 3 + 1 calls,
    # each of which counts one epoch.
    assert dataset.epoch == 4
    assert len(history.history["loss"]) == 3


def test_dataset_rejects_bad_parameters():
    matrix = random_matrix()
    with pytest.raises(ValueError, match="num_negatives must be a positive integer"):
        NegativeSamplingDataset(matrix, num_negatives=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        NegativeSamplingDataset(matrix, batch_size=-5)


# ----------------------------------------------------------------------------- validation split


def test_split_validation_partitions_each_user_and_keeps_one_training_item():
    matrix = random_matrix(num_users=50, num_items=30, density=0.3, seed=4)
    fit, validation = split_validation(matrix, 0.25, np.random.default_rng(0))
    np.testing.assert_array_equal((fit + validation).toarray(), matrix.toarray())
    assert fit.multiply(validation).nnz == 0
    counts = matrix.getnnz(axis=1)
    assert (fit.getnnz(axis=1) >= 1).all()
    expected = np.minimum(np.round(0.25 * counts), counts - 1)
    np.testing.assert_array_equal(validation.getnnz(axis=1), expected)


def test_a_fraction_that_holds_out_nothing_is_refused():
    # Three items per user: round(0.1 · 3) = 0 for everyone, so early stopping would never run.
    matrix = sparse.csr_matrix(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"validation_fraction=0.1 holds out nothing.*is 3\)"):
        split_validation(matrix, 0.1, np.random.default_rng(0))
    assert split_validation(matrix, 0.2, np.random.default_rng(0))[1].nnz == 4


def test_split_validation_is_seeded_and_zero_fraction_holds_out_nothing():
    matrix = random_matrix()
    first = split_validation(matrix, 0.3, np.random.default_rng(1))[1]
    second = split_validation(matrix, 0.3, np.random.default_rng(1))[1]
    other = split_validation(matrix, 0.3, np.random.default_rng(2))[1]
    assert (first != second).nnz == 0
    assert (first != other).nnz > 0
    fit, validation = split_validation(matrix, 0.0, np.random.default_rng(0))
    assert validation.nnz == 0 and fit.nnz == matrix.nnz


# ----------------------------------------------------------------------------- the base class


class DotProduct(KerasRecommender):
    """σ(p_uᵀq_i): a minimal subclass that, like a model written before weight decay existed,
    has no `weight_decay` parameter."""

    def __init__(self, embedding_dim=2, num_negatives=1, epochs=1, batch_size=64,
                 learning_rate=0.01, validation_fraction=0.0, patience=1, random_state=0,
                 verbose=False):
        self.embedding_dim = embedding_dim
        self.num_negatives = num_negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    def _build_network(self, num_users, num_items):
        user = keras.Input(shape=(), dtype="int32", name="user")
        item = keras.Input(shape=(), dtype="int32", name="item")
        p_u = keras.layers.Embedding(num_users, self.embedding_dim)(user)
        q_i = keras.layers.Embedding(num_items, self.embedding_dim)(item)
        logit = keras.layers.Dot(axes=1)([p_u, q_i])
        output = keras.layers.Activation("sigmoid")(logit)
        return keras.Model({"user": user, "item": item}, output)


def test_a_network_holding_a_nan_weight_is_reported_as_diverged():
    recommender = DotProduct(learning_rate=0.5)
    network = recommender._build_network(3, 4)
    check_finite_weights(recommender, network)  # Finite weights pass.
    table = next(layer for layer in network.layers if isinstance(layer, keras.layers.Embedding))
    values = table.get_weights()[0]
    values[1, 0] = np.nan
    table.set_weights([values])
    with pytest.raises(FloatingPointError, match=r"DotProduct's training diverged.*0\.5"):
        check_finite_weights(recommender, network)


def test_a_subclass_without_weight_decay_trains_with_plain_adam():
    ratings = make_ratings(num_users=10, num_items=12, density=0.3, seed=1)
    model = DotProduct().fit(ratings)
    assert type(model.model_.optimizer) is keras.optimizers.Adam
    assert model.history_.index.tolist() == [1]
