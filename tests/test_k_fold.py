"""Tests for k_fold_splits: complete, disjoint, balanced, shuffled, seeded and checked."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons.data.splits import k_fold_splits
from tests.conftest import make_ratings


def test_every_row_is_tested_exactly_once(small_ratings):
    folds = list(k_fold_splits(small_ratings, folds=4, seed=0))
    assert len(folds) == 4
    for train, test in folds:
        # Each fold is a complete split of the rows, with the original columns and index.
        assert not set(train.index) & set(test.index)
        pd.testing.assert_frame_equal(
            pd.concat([train, test]).sort_index(), small_ratings.sort_index()
        )
    tested = np.concatenate([test.index.to_numpy() for _, test in folds])
    assert sorted(tested) == sorted(small_ratings.index)


@settings(max_examples=40, deadline=None)
@given(num_rows_seed=st.integers(0, 1000), folds=st.integers(2, 12), seed=st.integers(0, 99))
def test_folds_differ_in_size_by_at_most_one(num_rows_seed, folds, seed):
    ratings = make_ratings(num_users=6, num_items=5, density=0.5, seed=num_rows_seed)
    sizes = [len(test) for _, test in k_fold_splits(ratings, folds=folds, seed=seed)]
    assert len(sizes) == folds and sum(sizes) == len(ratings)
    assert max(sizes) - min(sizes) <= 1


def test_same_seed_same_folds_and_another_seed_other_folds(small_ratings):
    first = [test.index for _, test in k_fold_splits(small_ratings, seed=3)]
    again = [test.index for _, test in k_fold_splits(small_ratings, seed=3)]
    other = [test.index for _, test in k_fold_splits(small_ratings, seed=4)]
    assert all(a.equals(b) for a, b in zip(first, again, strict=True))
    assert not all(a.equals(b) for a, b in zip(first, other, strict=True))


def test_rows_are_shuffled_before_cutting(small_ratings):
    # Without shuffling the first fold would be the first fifth of the rows, in order.
    _, first_test = next(iter(k_fold_splits(small_ratings, folds=5, seed=0)))
    assert not first_test.index.equals(small_ratings.index[: len(first_test)])


@pytest.mark.parametrize("folds", [1, 0, -2, 2.5, "5", True])
def test_bad_number_of_folds_is_reported_at_once(small_ratings, folds):
    # The check runs when the function is called, not when the first fold is asked for.
    with pytest.raises(ValueError, match="folds must be an integer of at least 2"):
        k_fold_splits(small_ratings, folds=folds)


def test_more_folds_than_rows():
    ratings = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 1, 1]})
    with pytest.raises(ValueError, match="more than the 3 rows"):
        k_fold_splits(ratings, folds=4)
    assert [len(test) for _, test in k_fold_splits(ratings, folds=3)] == [1, 1, 1]


def test_bad_ratings_are_reported(small_ratings):
    with pytest.raises(TypeError, match="DataFrame"):
        k_fold_splits(small_ratings.to_numpy())
    with pytest.raises(ValueError, match="missing the column"):
        k_fold_splits(small_ratings.rename(columns={"item_id": "movie"}))
