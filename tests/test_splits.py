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


# ---------------------------------------------------------------------------
# Checks on input (found missing by a mutation audit)
# ---------------------------------------------------------------------------

# Each user has a repeated (user, item) pair: not a valid ratings frame.
DUPLICATED = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [5, 5, 6, 5, 6, 7],
                           "timestamp": [1, 2, 3, 4, 5, 6]})
FOUR_ROWS = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 1, 2],
                          "timestamp": [1, 2, 3, 4]})


def test_an_empty_part_error_gives_the_advice_of_the_split():
    # round(0.1 · 4) = 0 test rows.
    with pytest.raises(ValueError, match=r"test empty \(4 rows in all\); pass more rows or "
                                         r"another test_size\."):
        random_split(FOUR_ROWS, test_size=0.1)
    singles = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1]})
    with pytest.raises(ValueError, match="only users with at least two rows get a test row"):
        stratified_split(singles)


@pytest.mark.parametrize("split", [random_split, stratified_split])
def test_random_splits_check_the_ratings(split):
    # A repeated pair or a missing column is named instead of being split silently.
    with pytest.raises(ValueError, match="repeated"):
        split(DUPLICATED)
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['item_id'\]"):
        split(DUPLICATED.drop(columns="item_id").drop_duplicates())


@pytest.mark.parametrize("split", [random_split, temporal_split])
@pytest.mark.parametrize("size", [0, 1.5, True, -0.5])
def test_test_size_outside_zero_and_one_is_refused(split, size):
    # Without the check, temporal_split(test_size=0) cuts at the last timestamp and returns a
    # one-row test set, and random_split fails only later, on an empty part.
    with pytest.raises(ValueError, match="test_size must be a fraction strictly between 0 and 1"):
        split(FOUR_ROWS, test_size=size)


def test_temporal_split_checks_the_timestamp_column():
    # A missing column is named (not a bare KeyError), and a NaN timestamp is refused: with a
    # cutoff given, it would otherwise land in train without a word.
    ratings = FOUR_ROWS.assign(timestamp=[1.0, 2.0, np.nan, 4.0])
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['timestamp'\]"):
        temporal_split(ratings.drop(columns="timestamp"))
    with pytest.raises(ValueError, match="1 NaN value.*'timestamp'"):
        temporal_split(ratings, cutoff=3)


def test_the_temporal_cutoff_is_the_interpolated_quantile():
    # Timestamps 1, 2, 3, 4 with test_size 0.5: the 0.5 quantile interpolates to 2.5, so test
    # holds the rows at 3 and 4. A cutoff truncated to 2 would move the row at 2 into test too.
    train, test = temporal_split(FOUR_ROWS, test_size=0.5)
    assert sorted(test["timestamp"]) == [3, 4] and sorted(train["timestamp"]) == [1, 2]
