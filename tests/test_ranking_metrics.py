"""Tests for recsys_lessons.evaluation.ranking_metrics (the DataFrame-based evaluation)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons.evaluation import ranking_metrics
from recsys_lessons.metrics import (
    f1_at_k,
    hit_rate_at_k,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)

LIST_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "f1": f1_at_k,
    "map": map_at_k,
    "ndcg": ndcg_at_k,
    "hit_rate": hit_rate_at_k,
    "mrr": mrr_at_k,
}


def _expected_from_lists(recommendations, test, k, relevance_threshold=None):
    """The same evaluation written with a plain loop over users and the list-based metrics."""
    if relevance_threshold is not None:
        test = test[test["rating"] >= relevance_threshold]
    users = sorted(test["user_id"].unique())
    relevant = [set(test.loc[test["user_id"] == user, "item_id"]) for user in users]
    recommended = [
        list(recommendations[recommendations["user_id"] == user].sort_values("rank")["item_id"])
        for user in users
    ]
    expected = {
        f"{name}@{k}": metric(recommended, relevant, k=k) for name, metric in LIST_METRICS.items()
    }
    expected["users"] = float(len(users))
    return pd.Series(expected, name="metrics")


def _random_frames(rng, num_users=30, num_items=40, max_list=12, string_ids=False):
    """Random test and recommendation frames with the awkward cases mixed in.

    Some users have no recommendations, some recommendations belong to users without test
    rows, ranks have gaps, and the rows are shuffled.
    """
    test_rows, recommendation_rows = [], []
    for user in range(num_users):
        if rng.random() < 0.85:
            items = rng.choice(num_items, size=rng.integers(1, num_items // 2), replace=False)
            for item in items:
                test_rows.append((user, item, float(rng.integers(1, 6))))
        if rng.random() < 0.85:
            items = rng.choice(num_items, size=rng.integers(1, max_list + 1), replace=False)
            ranks = np.sort(rng.choice(3 * max_list, size=len(items), replace=False)) + 1
            for item, rank in zip(items, ranks, strict=True):
                recommendation_rows.append((user, item, rank, rng.random()))
    test = pd.DataFrame(test_rows, columns=["user_id", "item_id", "rating"])
    recommendations = pd.DataFrame(
        recommendation_rows, columns=["user_id", "item_id", "rank", "score"]
    )
    if string_ids:
        for frame in (test, recommendations):
            frame["user_id"] = "user-" + frame["user_id"].astype(str)
            frame["item_id"] = "item-" + frame["item_id"].astype(str)
    shuffle = rng.permutation
    return (
        recommendations.iloc[shuffle(len(recommendations))].reset_index(drop=True),
        test.iloc[shuffle(len(test))].reset_index(drop=True),
    )


@pytest.mark.parametrize("seed", range(15))
def test_agrees_with_the_list_based_metrics_on_random_frames(seed):
    rng = np.random.default_rng(seed)
    recommendations, test = _random_frames(rng, string_ids=seed % 2 == 1)
    k = int(rng.integers(1, 15))
    result = ranking_metrics(recommendations, test, k=k)
    expected = _expected_from_lists(recommendations, test, k)
    pd.testing.assert_series_equal(result, expected, check_exact=False, rtol=1e-12)


@pytest.mark.parametrize("seed", range(10))
def test_agrees_with_the_list_based_metrics_with_a_threshold(seed):
    rng = np.random.default_rng(100 + seed)
    recommendations, test = _random_frames(rng)
    threshold = float(rng.integers(2, 5))
    result = ranking_metrics(recommendations, test, k=5, relevance_threshold=threshold)
    expected = _expected_from_lists(recommendations, test, 5, relevance_threshold=threshold)
    pd.testing.assert_series_equal(result, expected, check_exact=False, rtol=1e-12)


@st.composite
def small_frames(draw):
    num_items = 8
    test_pairs = draw(
        st.sets(st.tuples(st.integers(0, 5), st.integers(0, num_items - 1)), min_size=1)
    )
    recommended_pairs = sorted(
        draw(st.sets(st.tuples(st.integers(0, 6), st.integers(0, num_items - 1))))
    )
    ranks = draw(
        st.lists(
            st.integers(1, 50),
            min_size=len(recommended_pairs),
            max_size=len(recommended_pairs),
            unique=True,
        )
    )
    test = pd.DataFrame(sorted(test_pairs), columns=["user_id", "item_id"])
    recommendations = pd.DataFrame(recommended_pairs, columns=["user_id", "item_id"])
    recommendations["rank"] = pd.Series(ranks, dtype="int64")
    return recommendations, test, draw(st.integers(1, 6))


@settings(max_examples=60, deadline=None)
@given(small_frames())
def test_agrees_with_the_list_based_metrics_property(case):
    recommendations, test, k = case
    result = ranking_metrics(recommendations, test, k=k)
    expected = _expected_from_lists(recommendations, test, k)
    pd.testing.assert_series_equal(result, expected, check_exact=False, rtol=1e-12)


def test_hand_computed_example_with_threshold_and_a_user_without_recommendations():
    # With relevance_threshold = 4 the relevant items are: user a -> {1, 3}, user b -> {5},
    # user c -> {7} (user c has no recommendations); user d has only a rating of 2 and is
    # not evaluated, so its recommendations are ignored.
    test = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "b", "c", "d"],
            "item_id": [1, 3, 2, 5, 7, 9],
            "rating": [5, 4, 3, 4, 5, 2],
        }
    )
    # User a's list by rank is [1, 2, 3]; user b's is [6, 5]. Rows are deliberately unordered.
    recommendations = pd.DataFrame(
        {
            "user_id": ["a", "b", "a", "b", "a", "d"],
            "item_id": [3, 5, 1, 6, 2, 9],
            "rank": [3, 2, 1, 1, 2, 1],
            "score": [0.1, 0.2, 0.9, 0.8, 0.5, 1.0],
        }
    )
    result = ranking_metrics(recommendations, test, k=3, relevance_threshold=4)
    # precision: a 2/3, b 1/3, c 0           -> 1/3
    # recall:    a 2/2, b 1/1, c 0           -> 2/3
    # f1:        a 0.8, b 0.5, c 0           -> 1.3/3   (a: 2·(2/3)·1/(5/3) = 0.8)
    # AP:        a (1 + 2/3)/2 = 5/6, b (1/2)/1 = 1/2, c 0 -> (4/3)/3
    # HR:        a 1, b 1, c 0               -> 2/3
    # MRR:       a 1, b 1/2, c 0             -> 1/2
    assert list(result.index) == [
        "precision@3",
        "recall@3",
        "f1@3",
        "map@3",
        "ndcg@3",
        "hit_rate@3",
        "mrr@3",
        "users",
    ]
    assert result.name == "metrics"
    assert result["users"] == 3
    assert result["precision@3"] == pytest.approx(1 / 3)
    assert result["recall@3"] == pytest.approx(2 / 3)
    assert result["f1@3"] == pytest.approx(1.3 / 3)
    assert result["map@3"] == pytest.approx(4 / 9)
    assert result["hit_rate@3"] == pytest.approx(2 / 3)
    assert result["mrr@3"] == pytest.approx(0.5)
    # NDCG: a (1 + 1/log2(4)) / (1 + 1/log2(3)), b (1/log2(3)) / 1, c 0.
    ndcg_a = 1.5 / (1 + 1 / np.log2(3))
    ndcg_b = 1 / np.log2(3)
    assert result["ndcg@3"] == pytest.approx((ndcg_a + ndcg_b) / 3)
    # Per user, each row belongs to its own user (a paired test pairs users by these labels).
    per_user = ranking_metrics(recommendations, test, k=3, relevance_threshold=4, per_user=True)
    assert per_user.loc["a", "precision@3"] == pytest.approx(2 / 3)
    assert per_user.loc["b", "mrr@3"] == pytest.approx(1 / 2)
    assert per_user.loc["b", "ndcg@3"] == pytest.approx(ndcg_b)
    assert (per_user.loc["c"] == 0).all() and "d" not in per_user.index


def test_without_threshold_every_test_row_is_relevant():
    test = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 11], "rating": [1.0, 5.0]})
    recommendations = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 12], "rank": [1, 2]})
    # Relevant {10, 11}: precision@2 = 1/2, recall@2 = 1/2.
    result = ranking_metrics(recommendations, test, k=2)
    assert result["precision@2"] == pytest.approx(0.5)
    assert result["recall@2"] == pytest.approx(0.5)
    # Threshold 3 leaves only item 11 relevant: no hit.
    result = ranking_metrics(recommendations, test, k=2, relevance_threshold=3)
    assert result["precision@2"] == 0.0


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _valid_frames():
    test = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 10], "rating": [5, 3, 4]})
    recommendations = pd.DataFrame(
        {"user_id": [1, 1, 2], "item_id": [10, 12, 11], "rank": [1, 2, 1]}
    )
    return recommendations, test


def test_missing_columns_are_named():
    recommendations, test = _valid_frames()
    with pytest.raises(ValueError, match=r"recommendations is missing the column\(s\) \['rank'\]"):
        ranking_metrics(recommendations.drop(columns="rank"), test)
    with pytest.raises(ValueError, match=r"test is missing the column\(s\) \['item_id'\]"):
        ranking_metrics(recommendations, test.rename(columns={"item_id": "movie_id"}))
    with pytest.raises(ValueError, match="relevance_threshold needs a rating column"):
        ranking_metrics(recommendations, test.drop(columns="rating"), relevance_threshold=4)


def test_missing_ids_are_rejected():
    recommendations, test = _valid_frames()
    test.loc[0, "item_id"] = np.nan
    with pytest.raises(ValueError, match="test.item_id contains missing values"):
        ranking_metrics(recommendations, test)
    recommendations, test = _valid_frames()
    recommendations["user_id"] = recommendations["user_id"].astype(object)
    recommendations.loc[1, "user_id"] = None
    with pytest.raises(ValueError, match="recommendations.user_id contains missing values"):
        ranking_metrics(recommendations, test)
    recommendations, test = _valid_frames()
    recommendations["rank"] = [1.0, np.nan, 1.0]
    with pytest.raises(ValueError, match="recommendations.rank contains missing values"):
        ranking_metrics(recommendations, test)


def test_duplicate_pairs_are_rejected():
    recommendations, test = _valid_frames()
    with pytest.raises(ValueError, match=r"test contains the same \(user_id, item_id\) pair"):
        ranking_metrics(recommendations, pd.concat([test, test.iloc[[0]]]))
    with pytest.raises(ValueError, match=r"recommendations contains the same \(user_id, item_id\)"):
        duplicated = pd.concat([recommendations, recommendations.iloc[[0]].assign(rank=5)])
        ranking_metrics(duplicated, test)


def test_duplicate_ranks_are_rejected():
    recommendations, test = _valid_frames()
    recommendations["rank"] = [1, 1, 1]  # user 1 has two items at rank 1; user 2 is fine
    with pytest.raises(ValueError, match="same rank to two items of one user"):
        ranking_metrics(recommendations, test)


def test_no_relevant_user_is_rejected():
    recommendations, test = _valid_frames()
    with pytest.raises(ValueError, match="no user has a relevant test item"):
        ranking_metrics(recommendations, test, relevance_threshold=10)


@pytest.mark.parametrize("k", [0, -1, 2.0, None])
def test_invalid_k_is_rejected(k):
    recommendations, test = _valid_frames()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ranking_metrics(recommendations, test, k=k)


def test_labels_use_the_actual_k():
    recommendations, test = _valid_frames()
    result = ranking_metrics(recommendations, test, k=7)
    assert "ndcg@7" in result.index and "precision@7" in result.index
    # user 1: hit at rank 1 of {10, 11}; user 2: no hit. precision@7 = (1/7 + 0) / 2.
    assert result["precision@7"] == pytest.approx(1 / 14)


def test_empty_recommendations_score_zero_for_every_user():
    _, test = _valid_frames()
    empty = pd.DataFrame({"user_id": [], "item_id": [], "rank": []})
    result = ranking_metrics(empty, test, k=3)
    assert result["users"] == 2
    assert (result.drop("users") == 0).all()
