import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons.data import leave_one_out, random_split, stratified_split, temporal_split
from tests.conftest import make_ratings

SPLITS = {
    "random": lambda frame: random_split(frame, 0.25, seed=3),
    "stratified": lambda frame: stratified_split(frame, 0.25, seed=3),
    "temporal": lambda frame: temporal_split(frame, 0.25),
    "leave_one_out": leave_one_out,
}


@pytest.mark.parametrize("name", SPLITS)
def test_disjoint_complete_deterministic(name, small_ratings):
    train, test = SPLITS[name](small_ratings)
    assert len(train) + len(test) == len(small_ratings)
    assert not set(train.index) & set(test.index)
    pd.testing.assert_frame_equal(
        pd.concat([train, test]).sort_index(), small_ratings.sort_index()
    )
    again_train, again_test = SPLITS[name](small_ratings)
    pd.testing.assert_frame_equal(train, again_train)
    pd.testing.assert_frame_equal(test, again_test)


def test_seed_changes_random_splits(small_ratings):
    assert not stratified_split(small_ratings, seed=0)[1].index.equals(
        stratified_split(small_ratings, seed=1)[1].index
    )
    assert not random_split(small_ratings, seed=0)[1].index.equals(
        random_split(small_ratings, seed=1)[1].index
    )


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    test_size=st.floats(0.05, 0.95),
    density=st.floats(0.02, 0.9),
)
def test_stratified_keeps_every_user_on_both_sides(seed, test_size, density):
    ratings = make_ratings(num_users=12, num_items=9, density=density, seed=seed)
    train, test = stratified_split(ratings, test_size=test_size, seed=seed)
    counts = ratings.groupby("user_id").size()
    test_counts = test.groupby("user_id").size().reindex(counts.index, fill_value=0)
    train_counts = train.groupby("user_id").size().reindex(counts.index, fill_value=0)
    several = counts >= 2
    assert (test_counts[several] >= 1).all() and (train_counts[several] >= 1).all()
    assert (test_counts[~several] == 0).all()
    expected = np.clip(np.round(test_size * counts[several]), 1, counts[several] - 1)
    np.testing.assert_array_equal(test_counts[several], expected)


def test_random_split_share(small_ratings):
    _, test = random_split(small_ratings, test_size=0.2, seed=0)
    assert len(test) == round(0.2 * len(small_ratings))


def test_temporal_split_has_no_leakage(small_ratings):
    train, test = temporal_split(small_ratings, test_size=0.3)
    assert train["timestamp"].max() < test["timestamp"].min()
    # The latest 30 % of rows, give or take the row at the quantile (distinct timestamps here).
    assert abs(len(test) - 0.3 * len(small_ratings)) <= 1
    cutoff = int(small_ratings["timestamp"].median())
    train, test = temporal_split(small_ratings, cutoff=cutoff)
    assert (train["timestamp"] < cutoff).all() and (test["timestamp"] >= cutoff).all()


def test_leave_one_out_takes_latest_and_breaks_ties_by_item():
    ratings = pd.DataFrame({
        "user_id": [1, 1, 1, 2, 2, 3],
        "item_id": [10, 30, 20, 10, 20, 10],
        "timestamp": [5, 9, 9, 7, 3, 1],
    })
    train, test = leave_one_out(ratings)
    assert sorted(map(tuple, test[["user_id", "item_id"]].to_numpy().tolist())) == [
        (1, 30), (2, 10)
    ]
    assert 3 in set(train["user_id"])  # A single-row user stays in train.


def test_leave_one_out_on_movielens(movielens):
    train, test = leave_one_out(movielens.ratings)
    assert len(test) == 943 and test["user_id"].is_unique
    latest = movielens.ratings.groupby("user_id")["timestamp"].max()
    assert (test.set_index("user_id")["timestamp"] == latest.loc[test["user_id"]]).all()


@pytest.mark.parametrize("size", [0, 1, -0.1, 1.5, "0.2"])
def test_bad_test_size(size, small_ratings):
    with pytest.raises(ValueError, match="test_size"):
        stratified_split(small_ratings, test_size=size)


def test_missing_timestamp_column_is_named(small_ratings):
    with pytest.raises(ValueError, match="timestamp"):
        leave_one_out(small_ratings.drop(columns="timestamp"))


def test_a_split_that_leaves_a_part_empty_is_an_error():
    four = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 2],
                         "timestamp": [5, 5, 5, 5]})
    with pytest.raises(ValueError, match="test empty"):
        random_split(four, test_size=0.1)
    with pytest.raises(ValueError, match="train empty"):
        temporal_split(four, test_size=0.5)  # every row is tied at the cutoff
    single_rows = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "timestamp": [1, 2]})
    with pytest.raises(ValueError, match="test empty"):
        stratified_split(single_rows)


def test_numpy_test_sizes_are_accepted(small_ratings):
    train, test = random_split(small_ratings, test_size=np.float32(0.25), seed=0)
    pd.testing.assert_frame_equal(test, random_split(small_ratings, test_size=0.25, seed=0)[1])


def test_temporal_split_names_a_non_numeric_timestamp(small_ratings):
    dated = small_ratings.assign(timestamp=pd.to_datetime(small_ratings["timestamp"], unit="s"))
    with pytest.raises(ValueError, match="timestamp must be numeric"):
        temporal_split(dated)


def test_validation_counts_never_hold_out_a_users_last_item():
    from recsys_lessons.data.splits import validation_counts

    # round(f · n), but every user keeps at least one item to train on.
    np.testing.assert_array_equal(validation_counts([1, 2, 3], 0.9), [0, 1, 2])
    np.testing.assert_array_equal(validation_counts([1, 2, 4, 10], 0.6), [0, 1, 2, 6])
    np.testing.assert_array_equal(validation_counts([5, 6], 0.1), [0, 1])
