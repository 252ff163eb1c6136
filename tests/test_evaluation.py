import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data import leave_one_out, stratified_split
from recsys_lessons.evaluation import (
    bootstrap_interval,
    cross_validate_rating,
    evaluate_ranking,
    evaluate_rating,
    paired_comparison,
    ranking_metrics,
)
from recsys_lessons.models import (
    BiasBaseline,
    GlobalMean,
    ItemKNN,
    Popularity,
    RandomRecommender,
)
from recsys_lessons.models.base import NotFittedError, Recommender


class FixedScores(Recommender):
    """A test model whose scores are given: item index i gets score table[u, i] (0 if None)."""

    def __init__(self, table=None):
        self.table = table

    def _fit(self, ratings):
        pass

    def _score_users(self, user_indices):
        if self.table is None:
            return np.zeros((len(user_indices), len(self.item_map_)))
        return np.asarray(self.table, dtype=float)[user_indices]


def test_full_protocol_by_hand():
    train = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 11]})
    test = pd.DataFrame({"user_id": [1, 2], "item_id": [12, 13]})
    catalog = pd.DataFrame({"user_id": [9, 9, 9, 9], "item_id": [10, 11, 12, 13]})
    # Items 10..13 are indices 0..3. User 1 ranks 13, 12 (hit at 2); user 2 ranks 13 first.
    model = FixedScores([[0, 0, 3, 4], [0, 0, 1, 5], [0, 0, 0, 0]]).fit(pd.concat([train, catalog]))
    result = evaluate_ranking(model, train, test, k=2)
    assert result["precision@2"] == pytest.approx((1 / 2 + 1 / 2) / 2)
    assert result["hit_rate@2"] == 1.0
    assert result["mrr@2"] == pytest.approx((1 / 2 + 1) / 2)
    assert result["ndcg@2"] == pytest.approx(((1 / np.log2(3)) / 1 + 1) / 2)
    assert result["users"] == 2


def test_sampled_protocol_counts_ties_against_the_model(movielens):
    train, test = leave_one_out(movielens.ratings)
    constant = FixedScores().fit(train)
    result = evaluate_ranking(constant, train, test, k=10, protocol="sampled")
    assert result["hit_rate@10"] == 0.0 and result["cases"] == 943
    random_result = evaluate_ranking(RandomRecommender().fit(train), train, test, k=10,
                                     protocol="sampled")
    # A random ranking of 100 candidates puts the held-out item in the top 10 about 10% of
    # the time; with 943 cases the standard error is about 0.01.
    assert 0.06 < random_result["hit_rate@10"] < 0.14


def test_popularity_under_the_standard_protocol(movielens):
    train, test = stratified_split(movielens.ratings, test_size=0.25, seed=0)
    result = evaluate_ranking(Popularity().fit(train), train, test, k=10)
    assert 0.20 < result["precision@10"] < 0.25
    assert 0.22 < result["ndcg@10"] < 0.28
    assert result["users"] == 943


def test_sampled_protocol_by_hand():
    # Items 1..8 are indices 0..7; user 9 rated them all, so all are in the catalogue. Users
    # 1-3 rated item 8 in train and one item in test, so the other six items are the six
    # negatives, whichever order they are drawn in.
    train = pd.DataFrame({"user_id": [1, 2, 3] + [9] * 8, "item_id": [8, 8, 8, *range(1, 9)]})
    test = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 2, 3]})
    model = FixedScores([
        [9, 1, 2, 3, 4, 5, 6, 0],  # user 1: item 1 above every negative, rank 1
        [5, 3, 1, 2, 4, 0, 0, 0],  # user 2: items 1 and 5 above item 2, rank 3
        [5, 5, 1, 5, 5, 5, 0, 0],  # user 3: five negatives above item 3, rank 6
        [0] * 8,
    ]).fit(pd.concat([train, test]))
    cases = evaluate_ranking(model, train, test, k=5, protocol="sampled", num_negatives=6,
                             per_user=True)
    assert cases.index.tolist() == [1, 2, 3]
    np.testing.assert_allclose(cases["hit_rate@5"], [1, 1, 0])
    np.testing.assert_allclose(cases["ndcg@5"], [1, 1 / np.log2(4), 0])
    np.testing.assert_allclose(cases["mrr@5"], [1, 1 / 3, 0])
    summary = evaluate_ranking(model, train, test, k=5, protocol="sampled", num_negatives=6)
    assert summary["ndcg@5"] == pytest.approx(0.5) and summary["cases"] == 3


def test_sampled_protocol_draws_its_negatives_with_the_seed(small_ratings):
    train, test = stratified_split(small_ratings, seed=0)
    model = Popularity().fit(train)

    def sampled(seed):
        return evaluate_ranking(model, train, test, k=5, protocol="sampled", num_negatives=10,
                                seed=seed, per_user=True)

    pd.testing.assert_frame_equal(sampled(1), sampled(1))
    assert not sampled(1)["ndcg@5"].equals(sampled(2)["ndcg@5"])


def test_full_protocol_leaves_out_test_users_the_model_does_not_know(small_ratings):
    train, test = stratified_split(small_ratings, seed=0)
    model = ItemKNN().fit(train)
    stranger = pd.DataFrame({"user_id": [-1] * 3, "item_id": test["item_id"].iloc[:3],
                             "rating": 5.0})
    with_stranger = evaluate_ranking(model, train, pd.concat([test, stranger]))
    pd.testing.assert_series_equal(with_stranger, evaluate_ranking(model, train, test))


def test_relevance_threshold_keeps_only_liked_items(movielens):
    train, test = stratified_split(movielens.ratings, seed=0)
    model = Popularity().fit(train)
    liked = evaluate_ranking(model, train, test, relevance_threshold=4)
    by_hand = evaluate_ranking(model, train, test[test["rating"] >= 4])
    pd.testing.assert_series_equal(liked, by_hand)


def test_evaluate_rating_by_hand():
    train = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": [2.0, 4.0]})
    test = pd.DataFrame({"user_id": [1, 2], "item_id": [2, 1], "rating": [5.0, 2.0]})
    # GlobalMean predicts 3 for both: errors 2 and -1.
    result = evaluate_rating(GlobalMean().fit(train), test)
    assert result["rmse"] == pytest.approx(np.sqrt((4 + 1) / 2))
    assert result["mae"] == pytest.approx(1.5)
    assert evaluate_rating(BiasBaseline().fit(train), test)["ratings"] == 2


def test_bad_arguments(small_ratings):
    model = Popularity().fit(small_ratings)
    with pytest.raises(ValueError, match="protocol"):
        evaluate_ranking(model, small_ratings, small_ratings, protocol="leave-out")
    with pytest.raises(TypeError, match="evaluate_ranking"):
        evaluate_rating(model, small_ratings)
    train, test = stratified_split(small_ratings, seed=0)
    with pytest.raises(ValueError, match="relevance_threshold needs a rating column in test"):
        evaluate_ranking(Popularity().fit(train), train, test.drop(columns="rating"),
                         relevance_threshold=4)


def test_per_user_values_average_to_the_summary(movielens):
    train, test = stratified_split(movielens.ratings, seed=0)
    model = Popularity().fit(train)
    summary = evaluate_ranking(model, train, test)
    per_user = evaluate_ranking(model, train, test, per_user=True)
    assert len(per_user) == summary["users"] and per_user.index.name == "user_id"
    pd.testing.assert_series_equal(
        per_user.mean(), summary.drop("users"), check_names=False
    )
    train, test = leave_one_out(movielens.ratings)
    cases = evaluate_ranking(model, train, test, protocol="sampled", per_user=True)
    sampled = evaluate_ranking(model, train, test, protocol="sampled")
    assert cases["ndcg@10"].mean() == pytest.approx(sampled["ndcg@10"])


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_more_users():
    from recsys_lessons.evaluation import bootstrap_interval

    rng = np.random.default_rng(0)
    small = rng.random(50)
    large = rng.random(5000)
    low, high = bootstrap_interval(small, seed=1)
    assert low < small.mean() < high
    large_low, large_high = bootstrap_interval(large, seed=1)
    assert (large_high - large_low) < (high - low) / 5  # width ∝ 1/√n: √100 = 10
    assert bootstrap_interval(small, seed=1) == (low, high)
    with pytest.raises(ValueError, match="at least two"):
        bootstrap_interval([1.0])


def test_bootstrap_interval_width_follows_the_confidence():
    values = np.random.default_rng(0).random(2000)
    low_95, high_95 = bootstrap_interval(values, confidence=0.95, seed=1)
    low_50, high_50 = bootstrap_interval(values, confidence=0.5, seed=1)
    assert low_95 < low_50 < values.mean() < high_50 < high_95
    # The mean of 2000 values is close to normal: the widths are 2·1.96 and 2·0.674 standard
    # errors, a ratio of 2.9.
    assert 2.6 < (high_95 - low_95) / (high_50 - low_50) < 3.2
    standard_error = values.std(ddof=1) / np.sqrt(len(values))
    assert (high_95 - low_95) / (2 * 1.96 * standard_error) == pytest.approx(1, abs=0.1)
    for confidence in (0, 1, 1.5):
        with pytest.raises(ValueError, match="confidence must be between 0 and 1"):
            bootstrap_interval(values, confidence=confidence)


def test_paired_comparison_sees_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    base = rng.random(400)
    shifted = paired_comparison(base + 0.05, base + rng.normal(0, 0.01, 400))
    assert shifted["ci_low"] > 0 and shifted["p_value"] < 1e-6
    noise = paired_comparison(base + rng.normal(0, 0.05, 400), base + rng.normal(0, 0.05, 400))
    assert noise["ci_low"] < 0 < noise["ci_high"] and noise["p_value"] > 0.01
    with pytest.raises(ValueError, match="same users"):
        paired_comparison(base, base[:-1])


class NanScores(FixedScores):
    """A model whose pair scores are NaN, as a diverged network's would be."""

    def _score_pairs(self, user_indices, item_indices):
        return np.full(len(user_indices), np.nan)


def test_nan_scores_are_an_error_not_a_perfect_rank(movielens):
    train, test = leave_one_out(movielens.ratings)
    with pytest.raises(ValueError, match="NaN"):
        evaluate_ranking(NanScores().fit(train), train, test, k=10, protocol="sampled")


@pytest.mark.parametrize("protocol", ["full", "sampled"])
def test_a_test_pair_that_is_also_in_train_is_a_leak(protocol, movielens):
    train, test = leave_one_out(movielens.ratings)
    leaky_train = pd.concat([train, test.head(3)])
    model = Popularity().fit(leaky_train)
    with pytest.raises(ValueError, match="3 .*also in train"):
        evaluate_ranking(model, leaky_train, test, k=10, protocol=protocol)


def test_sampled_negatives_exclude_test_items_below_the_threshold():
    # User 1 rated items 1-3 in train, and in test liked 4 and disliked 5; user 2 rated 5-7.
    train = pd.DataFrame({"user_id": [1, 1, 1, 2, 2, 2], "item_id": [1, 2, 3, 5, 6, 7],
                          "rating": [5.0, 4.0, 3.0, 4.0, 4.0, 2.0]})
    test = pd.DataFrame({"user_id": [1, 1], "item_id": [4, 5], "rating": [5.0, 1.0]})
    # Items 1..7 are indices 0..6. User 1's scores put item 5 above the liked item 4.
    model = FixedScores([[0, 0, 0, 1, 2, 0, 0], [0] * 7]).fit(pd.concat([train, test]))
    for seed in range(20):
        # Item 5 was rated, so it is never a negative: the candidates are 4, 6 and 7, and
        # item 4 is always first.
        result = evaluate_ranking(model, train, test, k=1, protocol="sampled", num_negatives=2,
                                  relevance_threshold=4, seed=seed)
        assert result["cases"] == 1 and result["hit_rate@1"] == 1.0


def test_recommendations_for_other_ids_are_an_error_not_zeros():
    test = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 11]})
    recommendations = pd.DataFrame({"user_id": ["1", "2"], "item_id": [10, 11], "rank": [1, 1]})
    with pytest.raises(ValueError, match="same ids of the same type"):
        ranking_metrics(recommendations, test, k=1)
    # The same for items, and for ids of two kinds inside columns of one dtype (object).
    text_items = recommendations.assign(user_id=[1, 2], item_id=["10", "11"])
    with pytest.raises(ValueError, match="no item_id of recommendations appears in test"):
        ranking_metrics(text_items, test, k=1)
    object_users = recommendations.astype({"user_id": object})
    with pytest.raises(ValueError, match="recommendations has text ids, test number"):
        ranking_metrics(object_users, test.astype({"user_id": object}), k=1)
    # 10.0 and 10 are the same id.
    float_items = recommendations.assign(user_id=[1, 2], item_id=[10.0, 11.0])
    assert ranking_metrics(float_items, test, k=1)["hit_rate@1"] == 1.0


def test_paired_comparison_of_equal_values_has_p_value_one():
    from recsys_lessons.evaluation import paired_comparison

    values = np.array([1.0, 0.0, 0.5, 0.25])
    same = paired_comparison(values, values.copy())
    # All differences 0: nothing tells the two apart (the t statistic would be 0 / 0).
    assert same["p_value"] == 1.0 and same["mean_difference"] == 0.0
    assert same["ci_low"] == same["ci_high"] == 0.0


def test_paired_comparison_refuses_series_of_different_user_orders():
    from recsys_lessons.evaluation import paired_comparison

    first = pd.Series([0.1, 0.9, 0.4, 0.6], index=[1, 2, 3, 4])
    reordered = first.iloc[::-1]
    with pytest.raises(ValueError, match=r"second.reindex\(first.index\)"):
        paired_comparison(first, reordered)
    # Aligned, the same values show no difference at all.
    assert paired_comparison(first, reordered.reindex(first.index))["mean_difference"] == 0.0


def test_interval_and_paired_test_refuse_several_cases_per_user(movielens):
    from recsys_lessons.evaluation import paired_comparison

    train, test = stratified_split(movielens.ratings, test_size=0.25, seed=0)
    cases = {
        name: evaluate_ranking(model.fit(train), train, test, protocol="sampled", per_user=True)
        for name, model in (("popularity", Popularity()), ("bias", BiasBaseline()))
    }
    # The sampled protocol gives one row per held-out rating: several rows per user here.
    assert cases["popularity"].index.has_duplicates
    with pytest.raises(ValueError, match=r"groupby\(level=0\).mean\(\)"):
        bootstrap_interval(cases["popularity"]["ndcg@10"])
    with pytest.raises(ValueError, match="several values for the same user"):
        paired_comparison(cases["popularity"]["ndcg@10"], cases["bias"]["ndcg@10"])
    per_user = {name: table["ndcg@10"].groupby(level=0).mean() for name, table in cases.items()}
    comparison = paired_comparison(per_user["popularity"], per_user["bias"])
    assert comparison["ci_low"] <= comparison["mean_difference"] <= comparison["ci_high"]


def test_nothing_to_evaluate_says_why(small_ratings):
    train, test = stratified_split(small_ratings, seed=0)
    model = Popularity().fit(train)
    for protocol in ("full", "sampled"):
        with pytest.raises(ValueError, match="no test row has a rating >= relevance_threshold"):
            evaluate_ranking(model, train, test, protocol=protocol, relevance_threshold=99)
    # Test users the model never saw: the error names that, not test or the threshold.
    strangers = test.assign(user_id=test["user_id"] + 10_000)
    with pytest.raises(ValueError, match="none of the .* test users is known to ItemKNN"):
        evaluate_ranking(ItemKNN().fit(train), train, strangers)


def test_sampled_protocol_names_unknown_users_once():
    from recsys_lessons.data.interactions import UnknownIdError

    train = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [10, 11, 12]})
    catalog = pd.concat([train, pd.DataFrame({"user_id": [3] * 3, "item_id": [13, 14, 15]})])
    model = ItemKNN().fit(catalog)
    test = pd.DataFrame({"user_id": [8, 9], "item_id": [13, 14]})
    with pytest.raises(UnknownIdError, match=r"2 unknown user_id\(s\), e.g. \[8, 9\]"):
        evaluate_ranking(model, catalog, test, protocol="sampled", num_negatives=1)


def test_bootstrap_needs_at_least_one_resample():
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_interval([0.1, 0.2, 0.3], resamples=0)


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


def test_ids_of_another_kind_are_fine_when_some_ids_match():
    # The "same ids of the same type" error is only for the case where *no*
    # recommended id appears in test. Here the user ids are mixed (1 and "guest"), so their kind
    # differs from test's numbers, but user 1 matches: evaluate, do not raise.
    # User 1: list [10], relevant {10} -> every metric 1; user "guest" has no test rows.
    test = pd.DataFrame({"user_id": [1], "item_id": [10]})
    recommendations = pd.DataFrame(
        {"user_id": pd.Series([1, "guest"], dtype=object), "item_id": [10, 11], "rank": [1, 1]}
    )
    result = ranking_metrics(recommendations, test, k=1)
    assert result["users"] == 1
    assert result["hit_rate@1"] == 1.0 and result["precision@1"] == 1.0


def test_a_missing_rating_is_not_relevant_under_a_threshold():
    # With a nullable rating column, rating >= 4 is <NA> for a missing rating;
    # that row must not count as relevant. Relevant = {10} (item 11 has no rating).
    # List [10, 11] at k = 2: precision = 1/2, recall = 1/1.
    test = pd.DataFrame({
        "user_id": [1, 1],
        "item_id": [10, 11],
        "rating": pd.array([5.0, None], dtype="Float64"),
    })
    recommendations = pd.DataFrame({"user_id": [1, 1], "item_id": [10, 11], "rank": [1, 2]})
    result = ranking_metrics(recommendations, test, k=2, relevance_threshold=4)
    assert result["precision@2"] == pytest.approx(0.5)
    assert result["recall@2"] == pytest.approx(1.0)


def _tiny_split():
    # User 2 rated items 1..6 in train, so every item is known; user 1 holds out items 1, 2.
    train = pd.DataFrame({"user_id": [1] + [2] * 6, "item_id": [5, 1, 2, 3, 4, 5, 6]})
    test = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2]})
    return train, test


def test_sampled_summary_counts_cases_not_users():
    # User 1 holds out two items, so there are two cases but one user.
    # Popularity scores = train counts: items 1, 2, 3, 4, 6 have 1, item 5 has 2. User 1 rated
    # item 5 in train and 1, 2 in test, so the negatives are two of {3, 4, 6}, all scored 1
    # like the held-out item: ties count against the model, rank = 1 + 2 = 3 in both cases.
    # HR@5 = 1, NDCG@5 = 1/log2(3 + 1) = 0.5, MRR@5 = 1/3; cases = 2.
    train, test = _tiny_split()
    model = Popularity().fit(train)
    summary = evaluate_ranking(model, train, test, k=5, protocol="sampled", num_negatives=2)
    assert summary["cases"] == 2
    assert summary["hit_rate@5"] == 1.0
    assert summary["ndcg@5"] == pytest.approx(0.5)
    assert summary["mrr@5"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_sampled_protocol_rejects_a_bad_k(k):
    # The sampled protocol never calls ranking_metrics, so without the check
    # k = 0 silently gives HR@0 = 0 for every case.
    train, test = _tiny_split()
    with pytest.raises(ValueError, match="k must be a positive integer"):
        evaluate_ranking(Popularity().fit(train), train, test, k=k, protocol="sampled",
                         num_negatives=2)


@pytest.mark.parametrize("protocol", ["full", "sampled"])
def test_an_unfitted_model_says_it_is_not_fitted(protocol):
    # An unfitted ItemKNN has no user_map_; without the check the caller gets a
    # bare AttributeError about user_map_ instead of "not fitted yet".
    train, test = _tiny_split()
    with pytest.raises(NotFittedError, match="not fitted yet"):
        evaluate_ranking(ItemKNN(), train, test, k=2, protocol=protocol, num_negatives=2)


def test_cross_validation_refuses_a_ranking_only_model_before_fitting():
    # Popularity has fit but no predict; the factory check must say so
    # ("no fit and predict") instead of failing later inside evaluate_rating.
    ratings = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [1, 2, 1, 3, 2, 3],
                            "rating": [5.0, 3.0, 4.0, 2.0, 1.0, 4.0]})
    with pytest.raises(TypeError, match="no fit and predict"):
        cross_validate_rating(Popularity, ratings, folds=2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_bootstrap_refuses_non_finite_values(bad):
    # One NaN (or inf) value would make every resampled mean, and so both
    # interval ends, NaN (or inf/NaN) instead of raising.
    with pytest.raises(ValueError, match="finite"):
        bootstrap_interval([0.1, bad, 0.3])


def test_bootstrap_resamples_every_user_including_the_last():
    # With values [0, 1], a resample of 2 users has mean 0, 0.5 or 1 with
    # probabilities 1/4, 1/2, 1/4, so the 2.5% and 97.5% quantiles of 2000 means are 0 and 1.
    # Never drawing the last user would give (0, 0).
    assert bootstrap_interval([0.0, 1.0], seed=0) == (0.0, 1.0)


def test_paired_comparison_reports_the_mean_not_the_median_difference():
    # Differences [3, 0, 0, 0] have mean 0.75 (median 0).
    result = paired_comparison([3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0])
    assert result["mean_difference"] == pytest.approx(0.75)


def test_paired_comparison_refuses_several_values_per_user_in_second():
    # First is a plain array (no index to compare), second repeats user 1.
    second = pd.Series([0.1, 0.2, 0.3], index=[1, 1, 2])
    with pytest.raises(ValueError, match="second holds several values for the same user"):
        paired_comparison(np.array([0.5, 0.4, 0.3]), second)


def test_paired_comparison_uses_its_confidence():
    # Differences [1, 0]; a resample of 2 has mean 0, 0.5, 1 with probabilities
    # 1/4, 1/2, 1/4. At confidence 0.2 the 40% and 60% quantiles both fall on 0.5; at the
    # default 0.95 the interval would be (0, 1).
    result = paired_comparison([1.0, 0.0], [0.0, 0.0], confidence=0.2)
    assert (result["ci_low"], result["ci_high"]) == (0.5, 0.5)
