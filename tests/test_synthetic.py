import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data.synthetic import TIMESTAMP_RANGE, synthetic_interactions


@pytest.fixture(scope="module")
def interactions():
    return synthetic_interactions(2000, 500, interactions_per_user=20, seed=0)


def test_columns_ids_and_every_user_present(interactions):
    assert list(interactions.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert sorted(interactions["user_id"].unique()) == list(range(1, 2001))
    assert interactions["item_id"].between(1, 500).all()


def test_no_repeated_pairs(interactions):
    assert not interactions.duplicated(["user_id", "item_id"]).any()


def test_ratings_and_timestamps(interactions):
    assert set(interactions["rating"].unique()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert interactions["timestamp"].between(*TIMESTAMP_RANGE).all()
    # Sorted by user, then by time.
    assert interactions["user_id"].is_monotonic_increasing
    assert (interactions.groupby("user_id")["timestamp"].diff().dropna() >= 0).all()
    # round(3.5 + b_u + b_i + noise), clipped to 1..5: the mean stays near 3.5 stars.
    assert 3.3 < interactions["rating"].mean() < 3.6


@pytest.mark.parametrize("column", ["user_id", "item_id"])
def test_every_user_and_item_has_its_own_rating_offset(interactions, column):
    # Offsets b_u and b_i have a standard deviation of 0.5, so the mean ratings of users or
    # items with 30 or more ratings spread far more than the noise of averaging alone gives.
    per_id = interactions.groupby(column)["rating"].agg(["mean", "size"])
    assert per_id.loc[per_id["size"] >= 30, "mean"].std() > 0.3


def test_mean_activity_and_its_spread(interactions):
    per_user = interactions.groupby("user_id").size()
    assert per_user.mean() == pytest.approx(20, rel=0.1)
    # Lognormal activity: a long right tail, the median well below the mean.
    assert per_user.median() < per_user.mean()
    assert per_user.max() > 5 * per_user.median()


def test_long_tail_of_item_popularity(interactions):
    counts = interactions["item_id"].value_counts()
    top_tenth = counts.iloc[: len(counts) // 10].sum() / len(interactions)
    assert top_tenth > 0.4
    # Popularity ranks go to the items in a random order, so an id says nothing about how
    # often the item is drawn.
    correlation = np.corrcoef(counts.index.to_numpy(), counts.rank().to_numpy())[0, 1]
    assert abs(correlation) < 0.2


def test_exponent_zero_gives_flat_popularity():
    flat = synthetic_interactions(2000, 500, popularity_exponent=0.0, seed=0)
    counts = flat["item_id"].value_counts()
    assert counts.iloc[:50].sum() / len(flat) < 0.15  # About 10 %, the share of 50 of 500.


def test_without_spread_every_user_gets_exactly_the_mean():
    exact = synthetic_interactions(300, 50, interactions_per_user=7, activity_spread=0.0)
    assert (exact.groupby("user_id").size() == 7).all()


def test_a_user_can_take_the_whole_catalogue():
    # Drawing all 30 items of a steep Zipf catalogue needs many redraws of repeats.
    everything = synthetic_interactions(5, 30, interactions_per_user=30, activity_spread=0.0,
                                        popularity_exponent=1.0)
    assert (everything.groupby("user_id").size() == 30).all()


def test_same_seed_same_data_other_seed_other_data():
    first = synthetic_interactions(200, 100, seed=3)
    pd.testing.assert_frame_equal(first, synthetic_interactions(200, 100, seed=3))
    assert not first.equals(synthetic_interactions(200, 100, seed=4))


def test_works_with_the_models():
    from recsys_lessons.models import Popularity

    data = synthetic_interactions(50, 40, interactions_per_user=5, activity_spread=0.0, seed=1)
    assert len(Popularity().fit(data).recommend(k=3)) == 150


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"num_users": 0}, "num_users must be a positive integer"),
        ({"num_items": 2.5}, "num_items must be a positive integer"),
        ({"interactions_per_user": 0}, "interactions_per_user must be a finite number > 0"),
        ({"interactions_per_user": 101}, "more than num_items"),
        ({"popularity_exponent": -1}, "popularity_exponent must be a finite number >= 0"),
        ({"activity_spread": np.nan}, "activity_spread must be a finite number"),
        ({"activity_spread": np.inf}, "activity_spread must be a finite number"),
        ({"popularity_exponent": np.inf}, "popularity_exponent must be a finite number"),
        ({"interactions_per_user": "20"}, "interactions_per_user must be a finite number"),
    ],
)
def test_bad_input(arguments, message):
    parameters = {"num_users": 10, "num_items": 100, **arguments}
    with pytest.raises(ValueError, match=message):
        synthetic_interactions(**parameters)


def test_ratings_are_floats():
    assert synthetic_interactions(5, 10, 3).dtypes["rating"] == np.float64
