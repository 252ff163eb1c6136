"""Tests for recsys_lessons.metrics: hand-computed examples, properties, and sklearn agreement."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import ndcg_score, roc_auc_score

from recsys_lessons.metrics import (
    auc,
    average_precision_at_k,
    catalog_coverage,
    f1_at_k,
    gini,
    hit_rate_at_k,
    intra_list_diversity,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

RANKING_METRICS = [
    precision_at_k,
    recall_at_k,
    f1_at_k,
    average_precision_at_k,
    map_at_k,
    ndcg_at_k,
    hit_rate_at_k,
    mrr_at_k,
]

# Three users, evaluated at k = 5:
#   user 0: list [1, 2, 3, 4, 5], relevant {1, 3, 6} -> hits at ranks 1 and 3
#   user 1: list [7, 8],          relevant {8}       -> a short list with a hit at rank 2
#   user 2: list [9],             relevant {10}      -> no hit
RECOMMENDED = [[1, 2, 3, 4, 5], [7, 8], [9]]
RELEVANT = [{1, 3, 6}, {8}, {10}]


def test_precision_hand_computed():
    # user 0: 2 hits / 5 = 0.4; user 1: 1 hit / 5 = 0.2 (divide by k, not by the list length);
    # user 2: 0 / 5 = 0.
    per_user = precision_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True)
    np.testing.assert_allclose(per_user, [0.4, 0.2, 0.0])
    assert precision_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx(0.6 / 3)


def test_recall_hand_computed():
    # user 0: 2 hits / 3 relevant; user 1: 1 / 1; user 2: 0 / 1.
    per_user = recall_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True)
    np.testing.assert_allclose(per_user, [2 / 3, 1.0, 0.0])
    assert recall_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx((2 / 3 + 1) / 3)


def test_f1_hand_computed():
    # user 0: 2 · 0.4 · (2/3) / (0.4 + 2/3) = 0.5333… / 1.0666… = 0.5
    # user 1: 2 · 0.2 · 1 / 1.2 = 1/3
    # user 2: precision = recall = 0, so F1 is defined as 0.
    per_user = f1_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True)
    np.testing.assert_allclose(per_user, [0.5, 1 / 3, 0.0])
    assert f1_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx((0.5 + 1 / 3) / 3)


def test_average_precision_hand_computed():
    # user 0: P@1 = 1 and P@3 = 2/3 at the hits; (1 + 2/3) / min(5, 3) = 5/9
    # user 1: P@2 = 1/2 at the single hit; 0.5 / min(5, 1) = 0.5
    # user 2: no hits, 0
    per_user = average_precision_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True)
    np.testing.assert_allclose(per_user, [5 / 9, 0.5, 0.0])
    assert map_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx((5 / 9 + 0.5) / 3)
    assert average_precision_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx(
        map_at_k(RECOMMENDED, RELEVANT, k=5)
    )


def test_average_precision_normalizations_differ_when_more_relevant_than_k():
    # A perfect list of length k = 2 for a user with 4 relevant items: P@1 = P@2 = 1.
    #   "min_k":    (1 + 1) / min(2, 4) = 1
    #   "relevant": (1 + 1) / 4         = 0.5
    recommended, relevant = [[1, 2]], [{1, 2, 3, 4}]
    assert map_at_k(recommended, relevant, k=2) == pytest.approx(1.0)
    assert map_at_k(recommended, relevant, k=2, normalization="relevant") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="normalization"):
        map_at_k(recommended, relevant, k=2, normalization="sklearn")


def test_ndcg_binary_hand_computed():
    # user 0: DCG = 1/log2(2) + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3) + 1/log2(4) ≈ 2.1309
    # user 1: DCG = 1/log2(3) ≈ 0.6309; IDCG = 1
    # user 2: DCG = 0
    user_0 = 1.5 / (1 + 1 / math.log2(3) + 0.5)
    user_1 = 1 / math.log2(3)
    per_user = ndcg_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True)
    np.testing.assert_allclose(per_user, [user_0, user_1, 0.0])
    assert ndcg_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx((user_0 + user_1) / 3)


def test_ndcg_graded_hand_computed():
    # List [a, b, c] with gains a = 1, b = 3, d = 2 (c is not relevant):
    #   DCG  = 1/log2(2) + 3/log2(3) + 0            ≈ 1 + 1.8928 = 2.8928
    #   k=3: IDCG = 3/log2(2) + 2/log2(3) + 1/log2(4) ≈ 3 + 1.2619 + 0.5 = 4.7619
    #   k=2: IDCG = 3/log2(2) + 2/log2(3)             ≈ 4.2619 (only the 2 best gains)
    recommended = [["a", "b", "c"]]
    relevant = [{"a": 1, "b": 3, "d": 2}]
    dcg = 1 + 3 / math.log2(3)
    assert ndcg_at_k(recommended, relevant, k=3) == pytest.approx(
        dcg / (3 + 2 / math.log2(3) + 0.5)
    )
    assert ndcg_at_k(recommended, relevant, k=2) == pytest.approx(dcg / (3 + 2 / math.log2(3)))


def test_ndcg_graded_with_unit_gains_equals_binary():
    graded = [dict.fromkeys(items, 1) for items in RELEVANT]
    np.testing.assert_allclose(
        ndcg_at_k(RECOMMENDED, graded, k=5, per_user=True),
        ndcg_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True),
    )


def test_ndcg_graded_rejects_bad_gains():
    with pytest.raises(ValueError, match="negative"):
        ndcg_at_k([[1]], [{1: -1.0}], k=1)
    with pytest.raises(ValueError, match="position 0 has no item with a positive gain"):
        ndcg_at_k([[1]], [{1: 0.0}], k=1)


def test_hit_rate_and_mrr_hand_computed():
    # Hits: users 0 and 1 have one, user 2 none -> HR = 2/3.
    # First hit: user 0 at rank 1 (1/1), user 1 at rank 2 (1/2), user 2 none (0).
    np.testing.assert_allclose(hit_rate_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True), [1, 1, 0])
    assert hit_rate_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx(2 / 3)
    np.testing.assert_allclose(mrr_at_k(RECOMMENDED, RELEVANT, k=5, per_user=True), [1, 0.5, 0])
    assert mrr_at_k(RECOMMENDED, RELEVANT, k=5) == pytest.approx(0.5)


def test_only_the_top_k_items_count():
    # At k = 2 user 0's hit at rank 3 is cut off: precision = 1/2, MRR = 1, recall = 1/3.
    assert precision_at_k([[1, 2, 3]], [{1, 3, 6}], k=2) == pytest.approx(0.5)
    assert recall_at_k([[1, 2, 3]], [{1, 3, 6}], k=2) == pytest.approx(1 / 3)
    assert mrr_at_k([[2, 3, 1]], [{1}], k=2) == 0.0


def test_per_user_returns_an_array_and_default_returns_a_float():
    for metric in RANKING_METRICS:
        per_user = metric(RECOMMENDED, RELEVANT, k=5, per_user=True)
        assert isinstance(per_user, np.ndarray) and per_user.shape == (3,)
        mean = metric(RECOMMENDED, RELEVANT, k=5)
        assert isinstance(mean, float) and mean == pytest.approx(per_user.mean())


@pytest.mark.parametrize("metric", RANKING_METRICS)
def test_empty_relevant_set_names_the_user_position(metric):
    with pytest.raises(ValueError, match="position 1 has no relevant items.*drop users"):
        metric([[1], [2]], [{1}, set()], k=1)


@pytest.mark.parametrize("metric", RANKING_METRICS)
@pytest.mark.parametrize("k", [0, -3, 2.5, "10", True])
def test_invalid_k_is_rejected(metric, k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        metric([[1]], [{1}], k=k)


@pytest.mark.parametrize("metric", RANKING_METRICS)
def test_mismatched_lengths_are_rejected(metric):
    with pytest.raises(ValueError, match="2 users but relevant has 1"):
        metric([[1], [2]], [{1}], k=1)


@pytest.mark.parametrize("metric", RANKING_METRICS)
def test_duplicate_items_in_a_list_are_rejected(metric):
    with pytest.raises(ValueError, match="position 0 contains the same item more than once"):
        metric([[1, 2, 1]], [{1}], k=3)


@pytest.mark.parametrize("metric", RANKING_METRICS)
def test_dicts_keyed_by_user_are_refused(metric):
    # Zipping dicts would pair the user names, not their items ("A" in "Ann" would be a hit).
    recommended, relevant = {"Ann": ["A", "B"]}, {"Ann": {"A"}}
    with pytest.raises(ValueError, match="relevant is a mapping.*one entry per user"):
        metric(list(recommended.values()), relevant, k=2)
    with pytest.raises(ValueError, match="recommended is a mapping"):
        metric(recommended, list(relevant.values()), k=2)


@pytest.mark.parametrize("metric", RANKING_METRICS)
def test_a_single_id_instead_of_a_collection_is_refused(metric):
    # "m1" in "m12" is True for strings, so a bare id would count substrings as hits.
    with pytest.raises(ValueError, match="relevant items of the user at position 0 is 'm1'"):
        metric([["m12", "m2"]], ["m1"], k=2)
    with pytest.raises(ValueError, match="relevant items .* is 12, which is not a collection"):
        metric([[12]], [12], k=1)
    with pytest.raises(ValueError, match="recommendation list of the user at position 0"):
        metric(["m1"], [{"m1"}], k=1)


def test_relevant_items_of_any_collection_count_by_value_and_once():
    # A pandas Series counts by its values (not its index); a repeated item counts once.
    relevant = [pd.Series([10, 20], index=[0, 1]), [30, 30]]
    recommended = [[0, 10], [30, 40]]
    assert hit_rate_at_k(recommended, relevant, k=2, per_user=True).tolist() == [1, 1]
    assert recall_at_k(recommended, relevant, k=2, per_user=True).tolist() == [0.5, 1.0]
    assert recall_at_k([[1, 2]], [np.array([1, 2])], k=2) == 1.0


def test_a_graded_mapping_counts_items_with_positive_gain_in_every_metric():
    recommended, graded = [["a", "b"]], [{"a": 0.0, "b": 3.0, "c": 0.0}]
    assert precision_at_k(recommended, graded, k=1) == 0.0
    assert hit_rate_at_k(recommended, graded, k=1) == 0.0
    assert mrr_at_k(recommended, graded, k=2) == 0.5
    assert recall_at_k(recommended, graded, k=2) == 1.0
    assert ndcg_at_k(recommended, graded, k=1) == 0.0
    with pytest.raises(ValueError, match="no item with a positive gain"):
        precision_at_k(recommended, [{"a": 0.0}], k=1)
    with pytest.raises(ValueError, match="negative or non-finite gain"):
        recall_at_k(recommended, [{"a": -1.0, "b": 2.0}], k=1)


def test_numpy_integer_k_and_array_lists_are_accepted():
    recommended = [np.array([1, 2, 3]), np.array([4, 5, 6])]
    assert precision_at_k(recommended, [{1}, {6}], k=np.int64(3)) == pytest.approx(1 / 3)


# --------------------------------------------------------------------------------------------
# Property-based tests
# --------------------------------------------------------------------------------------------

NUM_ITEMS = 15


@st.composite
def ranking_cases(draw):
    """Random users: a ranked list of distinct items and a non-empty relevant set each."""
    num_users = draw(st.integers(1, 8))
    recommended = [
        draw(st.lists(st.integers(0, NUM_ITEMS - 1), unique=True, max_size=NUM_ITEMS))
        for _ in range(num_users)
    ]
    relevant = [
        draw(st.sets(st.integers(0, NUM_ITEMS - 1), min_size=1, max_size=NUM_ITEMS))
        for _ in range(num_users)
    ]
    k = draw(st.integers(1, 12))
    return recommended, relevant, k


@settings(max_examples=75, deadline=None)
@given(ranking_cases())
def test_all_ranking_metrics_lie_in_the_unit_interval(case):
    recommended, relevant, k = case
    for metric in RANKING_METRICS:
        per_user = metric(recommended, relevant, k=k, per_user=True)
        assert np.all((per_user >= 0) & (per_user <= 1 + 1e-12)), metric.__name__
    per_user = map_at_k(recommended, relevant, k=k, per_user=True, normalization="relevant")
    assert np.all((per_user >= 0) & (per_user <= 1 + 1e-12))


@settings(max_examples=75, deadline=None)
@given(ranking_cases())
def test_a_perfect_ranking_reaches_the_maxima(case):
    _, relevant, k = case
    # Relevant items first, then the rest of the catalogue.
    perfect = [
        sorted(items) + [item for item in range(NUM_ITEMS) if item not in items]
        for items in relevant
    ]
    sizes = np.array([len(items) for items in relevant])
    np.testing.assert_allclose(ndcg_at_k(perfect, relevant, k=k, per_user=True), 1.0)
    np.testing.assert_allclose(map_at_k(perfect, relevant, k=k, per_user=True), 1.0)
    np.testing.assert_allclose(hit_rate_at_k(perfect, relevant, k=k, per_user=True), 1.0)
    np.testing.assert_allclose(mrr_at_k(perfect, relevant, k=k, per_user=True), 1.0)
    # Precision and recall are capped by min(k, |R_u|).
    np.testing.assert_allclose(
        precision_at_k(perfect, relevant, k=k, per_user=True), np.minimum(k, sizes) / k
    )
    np.testing.assert_allclose(
        recall_at_k(perfect, relevant, k=k, per_user=True), np.minimum(k, sizes) / sizes
    )


@settings(max_examples=75, deadline=None)
@given(ranking_cases(), st.randoms(use_true_random=False))
def test_reordering_users_permutes_per_user_values_and_keeps_the_mean(case, random):
    recommended, relevant, k = case
    order = list(range(len(recommended)))
    random.shuffle(order)
    shuffled_recommended = [recommended[index] for index in order]
    shuffled_relevant = [relevant[index] for index in order]
    for metric in RANKING_METRICS:
        original = metric(recommended, relevant, k=k, per_user=True)
        shuffled = metric(shuffled_recommended, shuffled_relevant, k=k, per_user=True)
        np.testing.assert_allclose(shuffled, original[order])
        assert metric(shuffled_recommended, shuffled_relevant, k=k) == pytest.approx(
            metric(recommended, relevant, k=k)
        )


@settings(max_examples=75, deadline=None)
@given(ranking_cases())
def test_recall_never_decreases_with_k(case):
    recommended, relevant, _ = case
    recalls = np.array(
        [recall_at_k(recommended, relevant, k=k, per_user=True) for k in range(1, NUM_ITEMS + 2)]
    )
    assert np.all(np.diff(recalls, axis=0) >= 0)


@settings(max_examples=75, deadline=None)
@given(ranking_cases())
def test_precision_per_user_never_exceeds_one(case):
    recommended, relevant, k = case
    per_user = precision_at_k(recommended, relevant, k=k, per_user=True)
    assert per_user.max() <= 1.0
    # Precision is the hit count over k, so it is a multiple of 1/k.
    np.testing.assert_allclose(per_user * k, np.round(per_user * k))


# --------------------------------------------------------------------------------------------
# Agreement with scikit-learn
# --------------------------------------------------------------------------------------------


def _random_lists_and_gains(rng, num_users, num_items, k, graded):
    """Ranked lists of at least k items plus a dense (users × items) gain matrix."""
    recommended = [
        list(rng.choice(num_items, size=rng.integers(k, num_items + 1), replace=False))
        for _ in range(num_users)
    ]
    if graded:
        gains = rng.integers(0, 5, size=(num_users, num_items)).astype(float)
    else:
        gains = (rng.random((num_users, num_items)) < 0.3).astype(float)
    gains[:, 0] = np.maximum(gains[:, 0], 1.0)  # every user needs a positive gain
    return recommended, gains


def _scores_from_lists(recommended, num_items):
    # sklearn ranks items by score: give the list's items descending scores and every other
    # item a score below them. Lists hold at least k items, so ties among the unlisted items
    # never reach the top k (sklearn would average the gains of tied items).
    scores = np.zeros((len(recommended), num_items))
    for row, items in enumerate(recommended):
        scores[row, items] = np.arange(len(items), 0, -1)
    return scores


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("graded", [False, True])
def test_ndcg_agrees_with_sklearn(seed, graded):
    rng = np.random.default_rng(seed)
    num_users, num_items = 12, 20
    k = int(rng.integers(1, 11))
    recommended, gains = _random_lists_and_gains(rng, num_users, num_items, k, graded)
    if graded:
        relevant = [
            {item: gains[row, item] for item in range(num_items) if gains[row, item] > 0}
            for row in range(num_users)
        ]
    else:
        relevant = [set(np.flatnonzero(gains[row])) for row in range(num_users)]
    expected = ndcg_score(gains, _scores_from_lists(recommended, num_items), k=k)
    assert ndcg_at_k(recommended, relevant, k=k) == pytest.approx(expected)


@pytest.mark.parametrize("seed", range(10))
def test_auc_agrees_with_sklearn(seed):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 60))
    labels = rng.integers(0, 2, size=size)
    labels[:2] = [0, 1]  # both classes must be present
    scores = rng.integers(0, 6, size=size)  # few distinct values, so many ties
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


# --------------------------------------------------------------------------------------------
# AUC, RMSE, MAE
# --------------------------------------------------------------------------------------------


def test_auc_hand_computed_with_a_tie():
    # Positive/negative pairs: (0.9, 0.9) tie -> 1/2, (0.9, 0.1) -> 1, (0.2, 0.9) -> 0,
    # (0.2, 0.1) -> 1. AUC = 2.5 / 4 = 0.625.
    assert auc([1, 0, 1, 0], [0.9, 0.9, 0.2, 0.1]) == pytest.approx(0.625)
    assert auc([True, False], [0.3, 0.1]) == 1.0


def test_auc_rejects_bad_labels():
    with pytest.raises(ValueError, match="one positive and one negative"):
        auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="binary labels"):
        auc([0, 2], [0.2, 0.3])
    with pytest.raises(ValueError, match="2 values but y_score has 3"):
        auc([0, 1], [0.2, 0.3, 0.4])


def test_rmse_and_mae_hand_computed():
    # Errors: 3-2 = 1, 4-4 = 0, 5-7 = -2. RMSE = sqrt((1 + 0 + 4) / 3); MAE = (1 + 0 + 2) / 3.
    assert rmse([3, 4, 5], [2, 4, 7]) == pytest.approx(math.sqrt(5 / 3))
    assert mae([3, 4, 5], [2, 4, 7]) == pytest.approx(1.0)


def test_rmse_and_mae_reject_bad_input():
    with pytest.raises(ValueError, match="empty"):
        rmse([], [])
    with pytest.raises(ValueError, match="NaN"):
        mae([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ValueError, match="y_true has 2 values but y_pred has 1"):
        rmse([1, 2], [1])
    # An infinite prediction (a diverged model) would give an infinite error, not a number.
    for metric in (rmse, mae):
        with pytest.raises(ValueError, match="infinite value"):
            metric([1.0, 2.0], [1.0, np.inf])


# --------------------------------------------------------------------------------------------
# Beyond-accuracy metrics
# --------------------------------------------------------------------------------------------


def test_catalog_coverage_hand_computed():
    # Distinct items {1, 2, 3} out of a catalogue of 10.
    assert catalog_coverage([[1, 2], [2, 3]], catalog_size=10) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="catalog_size"):
        catalog_coverage([[1, 2], [2, 3]], catalog_size=2)


# Item 0 = (1, 0), item 1 = (0, 1), item 2 = (1, 1).
ITEM_VECTORS = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_intra_list_diversity_hand_computed():
    # List [0, 1, 2]: cos(0,1) = 0, cos(0,2) = cos(1,2) = 1/√2, so the dissimilarities are
    #   1, 1 − 1/√2, 1 − 1/√2 and their mean is (3 − √2) / 3 ≈ 0.5286.
    # List [0, 1]: 1 − 0 = 1. List [2] has no pairs (NaN) and is left out of the mean.
    lists = [[0, 1, 2], [0, 1], [2]]
    first = (3 - math.sqrt(2)) / 3
    per_user = intra_list_diversity(lists, item_vectors=ITEM_VECTORS, per_user=True)
    np.testing.assert_allclose(per_user, [first, 1.0, np.nan])
    assert intra_list_diversity(lists, item_vectors=ITEM_VECTORS) == pytest.approx((first + 1) / 2)


def test_intra_list_diversity_inputs_agree():
    lists = [[0, 1, 2], [2, 0]]
    by_array = intra_list_diversity(lists, item_vectors=ITEM_VECTORS)
    by_mapping = intra_list_diversity(lists, item_vectors=dict(enumerate(ITEM_VECTORS)))
    unit = ITEM_VECTORS / np.linalg.norm(ITEM_VECTORS, axis=1, keepdims=True)
    matrix = unit @ unit.T
    by_matrix = intra_list_diversity(lists, similarity=matrix)
    by_callable = intra_list_diversity(lists, similarity=lambda a, b: matrix[a, b])
    assert by_mapping == pytest.approx(by_array)
    assert by_matrix == pytest.approx(by_array)
    assert by_callable == pytest.approx(by_array)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity(lists)
    with pytest.raises(ValueError, match="exactly one"):
        intra_list_diversity(lists, item_vectors=ITEM_VECTORS, similarity=matrix)


def test_novelty_hand_computed():
    # p = 50/100, 25/100, 100/100 -> self-information 1, 2, 0 bits.
    # List [a, b]: (1 + 2) / 2 = 1.5; list [c]: 0; mean 0.75.
    popularity = {"a": 50, "b": 25, "c": 100}
    assert novelty([["a", "b"], ["c"]], popularity, num_users=100) == pytest.approx(0.75)
    np.testing.assert_allclose(
        novelty([[0, 1], [2]], np.array([50, 25, 100]), num_users=100, per_user=True),
        [1.5, 0.0],
    )
    with pytest.raises(ValueError, match="popularity"):
        novelty([["a", "d"]], popularity, num_users=100)
    # An empty list has no novelty and is left out of the mean, not counted as 0.
    assert novelty([["a"], []], popularity, num_users=100) == pytest.approx(1.0)


def test_gini_hand_computed():
    # Counts over catalogue items 0..3: [2, 1, 1, 0] -> sorted [0, 1, 1, 2], n = 4, sum = 4,
    # weights 2j − n − 1 = [-3, -1, 1, 3]: (0·-3 + 1·-1 + 1·1 + 2·3) / (4 · 4) = 6/16.
    assert gini([[0, 1], [0, 2]], 4) == pytest.approx(0.375)
    assert gini([[0, 1], [0, 2]], catalog=[0, 1, 2, 3]) == pytest.approx(0.375)
    # Every item recommended equally often -> 0.
    assert gini([[0, 1], [2, 3]], 4) == pytest.approx(0.0)
    # Everything on one item -> (n − 1)/n = 0.75.
    assert gini([[0], [0]], 4) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="not in the catalogue"):
        gini([[0, 9]], catalog=[0, 1])


def test_item_positions_out_of_range_are_an_error_not_an_index_from_the_end():
    vectors = [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    with pytest.raises(ValueError, match="item position"):
        intra_list_diversity([[0, -1]], item_vectors=vectors)
    with pytest.raises(ValueError, match="item position"):
        novelty([[-1]], [1, 2, 10], num_users=10)
    with pytest.raises(ValueError, match="square"):
        intra_list_diversity([[0, 1]], similarity=np.ones((2, 3)))
    # numpy integers are positions too.
    assert intra_list_diversity([[0, np.int64(1)]], item_vectors=vectors) == pytest.approx(1.0)


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


def test_no_users_at_all_is_an_error_not_nan():
    # Without the check the mean over zero users is NaN (with a RuntimeWarning).
    with pytest.raises(ValueError, match="no users to evaluate"):
        precision_at_k([], [], k=1)


@pytest.mark.parametrize("bad_gain", [np.inf, np.nan])
def test_graded_gains_must_be_finite(bad_gain):
    # An infinite gain would give NDCG = inf / inf = NaN, a NaN gain NaN;
    # both must be refused up front, like a negative gain.
    with pytest.raises(ValueError, match="negative or non-finite gain"):
        ndcg_at_k([["a", "b"]], [{"a": bad_gain, "b": 1.0}], k=2)


def test_average_precision_default_normalization_is_min_k():
    # A perfect list of length k = 2 for a user with 4 relevant items:
    # P@1 = P@2 = 1, so AP = (1 + 1) / min(2, 4) = 1 by default ("relevant" would give 2/4).
    recommended, relevant = [[1, 2]], [{1, 2, 3, 4}]
    assert average_precision_at_k(recommended, relevant, k=2) == pytest.approx(1.0)
    assert average_precision_at_k(recommended, relevant, k=2, per_user=True).tolist() == [1.0]


def test_ndcg_uses_the_gains_when_only_some_users_have_a_mapping():
    # One graded user is enough to take the graded path; a plain set counts
    # every item with gain 1. k = 2:
    #   user 0: list [a, b], gains a = 1, b = 3: DCG = 1/log2(2) + 3/log2(3) = 1 + 3/log2(3);
    #           IDCG = 3/log2(2) + 1/log2(3) = 3 + 1/log2(3). (Binary NDCG would be 1.)
    #   user 1: list [c], relevant {c}: DCG = IDCG = 1 -> 1.
    user_0 = (1 + 3 / np.log2(3)) / (3 + 1 / np.log2(3))
    per_user = ndcg_at_k([["a", "b"], ["c"]], [{"a": 1.0, "b": 3.0}, {"c"}], k=2, per_user=True)
    np.testing.assert_allclose(per_user, [user_0, 1.0])


def test_rating_errors_refuse_two_dimensional_input():
    # A (1 × 2) nested list has length 1 on both sides and would be accepted.
    with pytest.raises(ValueError, match="one-dimensional"):
        rmse([[1.0, 2.0]], [[1.0, 3.0]])
    with pytest.raises(ValueError, match="one-dimensional"):
        auc([[0, 1]], [[0.2, 0.8]])


def test_full_catalog_coverage_is_one():
    # Every item of a catalogue of 3 ({1, 2, 3}) appears in a list: 3 / 3 = 1.
    assert catalog_coverage([[1, 2], [2, 3]], catalog_size=3) == 1.0


def test_catalog_size_zero_is_rejected_as_not_positive():
    # Catalog_size = 0 must be refused as such (not as "the lists hold 1
    # distinct items but catalog_size is 0", nor as a ZeroDivisionError for empty lists).
    with pytest.raises(ValueError, match="catalog_size must be a positive integer"):
        catalog_coverage([[1]], catalog_size=0)
    with pytest.raises(ValueError, match="catalog_size must be a positive integer"):
        catalog_coverage([], catalog_size=0)


def test_a_zero_item_vector_is_an_error_not_nan():
    # Cosine similarity with (0, 0) is 0/0; it must raise, not give NaN.
    vectors = np.array([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="all zeros"):
        intra_list_diversity([[0, 1]], item_vectors=vectors)


def test_novelty_refuses_popularity_above_num_users():
    # 150 of 100 users cannot have interacted with an item; s_i = 1.5 would give
    # a negative self-information −log2(1.5) ≈ −0.585 instead of an error.
    with pytest.raises(ValueError, match="not between 1 and num_users=100"):
        novelty([["a"]], {"a": 150}, num_users=100)


def test_novelty_refuses_a_bool_number_of_users():
    # True is an Integral equal to 1, but num_users=True is a mistake, as for k.
    with pytest.raises(ValueError, match="num_users must be a positive integer"):
        novelty([["a"]], {"a": 1}, num_users=True)
