"""Seeds: every function or model that draws takes a whole number >= 0 and says so otherwise."""

import inspect

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.augmentation import augment_sequences
from recsys_lessons.benchmark import time_ranking_metrics
from recsys_lessons.data import (
    candidate_sets,
    k_fold_splits,
    random_split,
    sample_negatives,
    stratified_split,
    synthetic_interactions,
)
from recsys_lessons.data.validation import seeded_generator
from recsys_lessons.evaluation import bootstrap_interval, paired_comparison
from recsys_lessons.models import ALL_MODELS, EASE
from recsys_lessons.negatives import NegativeSamplingBPR
from recsys_lessons.privacy import DPMatrixFactorization, DPPopularity, laplace_popularity
from recsys_lessons.tuning import Real, random_search
from tests.conftest import make_ratings

RATINGS = make_ratings(num_users=12, num_items=15, density=0.5, seed=3)
NOT_SEEDS = [-1, 1.5, "0", True, [1, 2]]


def test_seeded_generator_gives_numpys_stream_for_every_integer_type():
    for seed in (0, 42, np.int64(42), np.uint8(7), 2**40):
        expected = np.random.default_rng(int(seed)).random(5)
        np.testing.assert_array_equal(seeded_generator(seed).random(5), expected)


@pytest.mark.parametrize("seed", NOT_SEEDS + [None], ids=repr)
def test_seeded_generator_names_the_argument_and_the_fix(seed):
    with pytest.raises(ValueError, match=r"random_state must be a whole number >= 0") as error:
        seeded_generator(seed, "random_state")
    assert repr(seed) in str(error.value)
    assert "None" not in str(error.value).split("got")[0]  # None is not offered when refused.


def test_seeded_generator_takes_none_only_when_allowed():
    first = seeded_generator(None, allow_none=True).random(4)
    second = seeded_generator(None, allow_none=True).random(4)
    assert not np.array_equal(first, second)  # Fresh entropy each time.
    with pytest.raises(ValueError, match=r"or None for fresh, unrepeatable draws; got -1"):
        seeded_generator(-1, allow_none=True)


SEEDED_CALLS = {
    "random_split": lambda seed: random_split(RATINGS, seed=seed),
    "stratified_split": lambda seed: stratified_split(RATINGS, seed=seed),
    "k_fold_splits": lambda seed: next(iter(k_fold_splits(RATINGS, folds=3, seed=seed))),
    "synthetic_interactions": lambda seed: synthetic_interactions(10, 20, seed=seed),
    "sample_negatives": lambda seed: sample_negatives(RATINGS, seed=seed),
    "candidate_sets": lambda seed: candidate_sets(
        *stratified_split(RATINGS, seed=0), num_negatives=2, seed=seed
    ),
    "bootstrap_interval": lambda seed: bootstrap_interval([0.1, 0.5, 0.3], seed=seed),
    "paired_comparison": lambda seed: paired_comparison(
        [0.1, 0.5, 0.3], [0.2, 0.1, 0.4], seed=seed
    ),
    "augment_sequences": lambda seed: augment_sequences(RATINGS, seed=seed),
    "random_search": lambda seed: random_search(
        EASE(), {"regularization": Real(1.0, 10.0)}, RATINGS, n_trials=1, seed=seed
    ),
    "time_ranking_metrics": lambda seed: time_ranking_metrics(
        num_users=3, num_items=20, held_out_per_user=5, repeats=1, seed=seed
    ),
    "laplace_popularity": lambda seed: laplace_popularity(RATINGS, 1.0, seed=seed),
}


@pytest.mark.parametrize("name", SEEDED_CALLS)
@pytest.mark.parametrize("seed", NOT_SEEDS, ids=repr)
def test_a_bad_seed_is_refused_with_the_argument_named(name, seed):
    with pytest.raises(ValueError, match=r"seed must be a whole number >= 0"):
        SEEDED_CALLS[name](seed)


@pytest.mark.parametrize("name", SEEDED_CALLS)
def test_none_is_refused_except_by_the_privacy_releases(name):
    if name == "laplace_popularity":
        assert isinstance(SEEDED_CALLS[name](None), pd.Series)  # Fresh noise for a release.
    else:
        with pytest.raises(ValueError, match=r"seed must be a whole number >= 0.*got None"):
            SEEDED_CALLS[name](None)


@pytest.mark.parametrize("name", SEEDED_CALLS)
def test_a_numpy_integer_seed_draws_as_the_same_python_integer(name):
    """Seeds read from an array (np.int64) are common; they must draw the same numbers."""
    first, second = SEEDED_CALLS[name](np.int64(5)), SEEDED_CALLS[name](5)
    if name == "time_ranking_metrics":
        assert first.keys() == second.keys()  # Timings differ from run to run.
    elif name == "random_search":
        pd.testing.assert_frame_equal(first.trials.drop(columns="seconds"),
                                      second.trials.drop(columns="seconds"))
    elif isinstance(first, tuple):
        for part_one, part_two in zip(first, second, strict=True):
            _assert_same(part_one, part_two)
    else:
        _assert_same(first, second)


def _assert_same(first, second):
    if isinstance(first, pd.DataFrame):
        pd.testing.assert_frame_equal(first, second)
    elif isinstance(first, pd.Series):
        pd.testing.assert_series_equal(first, second)
    else:
        assert first == second


# Every model that takes a random_state: those the contract test runs over (ALL_MODELS, the
# Keras ones included) and the three that live outside it.
SEEDED_MODELS = [
    model_class for model_class in ALL_MODELS
    if "random_state" in inspect.signature(model_class).parameters
] + [NegativeSamplingBPR, DPPopularity, DPMatrixFactorization]


def test_the_seeded_models_are_the_ones_expected():
    # A model that stops taking random_state (or a new one that takes it) shows up here.
    assert {model_class.__name__ for model_class in SEEDED_MODELS} >= {
        "RandomRecommender", "BiasedMF", "ALS", "ImplicitALS", "BPR", "GMF", "MLP", "NeuMF",
        "NegativeSamplingBPR", "DPPopularity", "DPMatrixFactorization",
    }


@pytest.mark.parametrize("model_class", SEEDED_MODELS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("random_state", [-1, 1.5, "0", True], ids=repr)
def test_a_bad_random_state_is_refused_in_fit(model_class, random_state):
    model = model_class(random_state=random_state)  # Stored unchecked, as in scikit-learn.
    with pytest.raises(ValueError, match=r"random_state must be a whole number >= 0.*or None"):
        model.fit(RATINGS)
