"""Tests for UserKNN and ItemKNN: the toy example, brute-force checks of every formula, the
MovieLens targets, the model contract in rating mode and the checks of bad parameters."""

import math
import re

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse

import tests.test_model_contract as contract
from recsys_lessons.data import load_toy_ratings, stratified_split
from recsys_lessons.data.splits import k_fold_splits
from recsys_lessons.evaluation import evaluate_ranking, evaluate_rating
from recsys_lessons.models.baselines import BiasBaseline, fit_biases
from recsys_lessons.models.knn import ItemKNN, UserKNN, _neighbourhood_offsets
from tests.conftest import make_ratings

MODELS = pytest.mark.parametrize("model_class", [ItemKNN, UserKNN], ids=lambda c: c.__name__)


# ---------------------------------------------------------------------------
# The course's worked example
# ---------------------------------------------------------------------------


def test_toy_example_of_user_based_filtering():
    # A = (1, 0, 0), B = (0, 1, 0), C = (1, 0, 1) over movies 1-3.
    toy = load_toy_ratings()
    model = UserKNN(implicit=True, k=2, similarity="cosine").fit(toy)
    a, b, c = model.user_map_.to_index(["A", "B", "C"])
    # Similarities of A to the others: A·B = 0, and A·C / (‖A‖‖C‖) = 1 / √2.
    assert model.similarity_[a, b] == 0
    assert model.similarity_[a, c] == pytest.approx(1 / math.sqrt(2))
    # The others' preferences for A's unknown movies 2 and 3, weighted by similarity:
    # movie 2: sim(A, B)·1 + sim(A, C)·0 = 0; movie 3: sim(A, B)·0 + sim(A, C)·1 = 0.7071.
    np.testing.assert_allclose(model.score(["A", "A"], [2, 3]), [0.0, 1 / math.sqrt(2)])
    recommendations = model.recommend(["A"], k=3)
    assert recommendations["item_id"].tolist() == [3, 2]
    np.testing.assert_allclose(recommendations["score"], [1 / math.sqrt(2), 0.0])


def test_top_n_needs_no_rating_column():
    toy = load_toy_ratings().drop(columns="rating")
    for model_class in (ItemKNN, UserKNN):
        assert len(model_class().fit(toy).recommend(["A"], k=2)) == 2


# ---------------------------------------------------------------------------
# Top-N scores against a brute-force loop
# ---------------------------------------------------------------------------


def brute_force_interaction_similarity(rows, name, alpha, bm25_k1, bm25_b):
    """sim between the rows of a dense 0/1 matrix, pair by pair, from the sets of columns."""
    num_rows = rows.shape[0]
    sets = [set(np.flatnonzero(row)) for row in rows]
    sizes = [len(columns) for columns in sets]
    idf = np.log(num_rows / rows.sum(axis=0))
    row_weight = [
        (bm25_k1 + 1) / (bm25_k1 * (1 - bm25_b + bm25_b * size / np.mean(sizes)) + 1)
        for size in sizes
    ]
    similarity = np.zeros((num_rows, num_rows))
    for i in range(num_rows):
        for j in range(num_rows):
            common = sets[i] & sets[j]
            if name == "cosine":
                value = len(common) / math.sqrt(sizes[i] * sizes[j])
            elif name == "jaccard":
                value = len(common) / len(sets[i] | sets[j])
            elif name == "asymmetric":
                value = len(common) / (sizes[i] ** alpha * sizes[j] ** (1 - alpha))
            elif name == "tfidf":
                norms = math.sqrt(
                    sum(idf[f] ** 2 for f in sets[i]) * sum(idf[f] ** 2 for f in sets[j])
                )
                value = sum(idf[f] ** 2 for f in common) / norms if norms else 0.0
            else:  # bm25
                value = row_weight[i] * row_weight[j] * sum(idf[f] ** 2 for f in common)
            similarity[i, j] = value
    return similarity


def dense_interactions(model, ratings):
    matrix = np.zeros((len(model.user_map_), len(model.item_map_)))
    matrix[model.user_map_.to_index(ratings["user_id"]), model.item_map_.to_index(
        ratings["item_id"]
    )] = 1.0
    return matrix


def all_scores(model):
    users = np.repeat(model.user_map_.ids, len(model.item_map_))
    items = np.tile(model.item_map_.ids, len(model.user_map_))
    return model.score(users, items).reshape(len(model.user_map_), len(model.item_map_))


@MODELS
@pytest.mark.parametrize("similarity", ["cosine", "jaccard", "asymmetric", "tfidf", "bm25"])
@pytest.mark.parametrize("k", [3, 1000])
def test_top_n_scores_match_a_brute_force_loop(model_class, similarity, k):
    ratings = make_ratings(num_users=12, num_items=15, density=0.3, seed=4)
    parameters = {"alpha": 0.3, "bm25_k1": 2.0, "bm25_b": 0.6}
    model = model_class(k=k, similarity=similarity, **parameters).fit(ratings)
    interactions = dense_interactions(model, ratings)
    compared = interactions.T if model_class is ItemKNN else interactions
    similarity_matrix = brute_force_interaction_similarity(compared, similarity, **parameters)
    np.testing.assert_allclose(model.similarity_, similarity_matrix, atol=1e-12)

    # Pruning: each row keeps the k largest similarities to the others (zeros dropped).
    neighbours = model.neighbours_.toarray()
    for row in range(len(compared)):
        others = np.delete(similarity_matrix[row], row)
        expected = np.sort(others)[::-1][:k]
        kept = neighbours[row][neighbours[row] != 0]
        np.testing.assert_allclose(np.sort(kept)[::-1], expected[expected > 0])
        np.testing.assert_allclose(kept, similarity_matrix[row][neighbours[row] != 0])

    # Scores, one (user, item) pair at a time, over the neighbour sets N_k kept above.
    expected_scores = np.zeros_like(interactions)
    for user in range(interactions.shape[0]):
        for item in range(interactions.shape[1]):
            if model_class is ItemKNN:  # Σ_{j ∈ N_k(i) ∩ I_u} sim(i, j)
                expected_scores[user, item] = sum(
                    similarity_matrix[item, j]
                    for j in np.flatnonzero(neighbours[item])
                    if interactions[user, j]
                )
            else:  # Σ_{v ∈ N_k(u)} sim(u, v) · r_vi
                expected_scores[user, item] = sum(
                    similarity_matrix[user, v] * interactions[v, item]
                    for v in np.flatnonzero(neighbours[user])
                )
    np.testing.assert_allclose(all_scores(model), expected_scores, atol=1e-12)


# ---------------------------------------------------------------------------
# Rating estimators against a brute-force loop
# ---------------------------------------------------------------------------


def continuous_ratings(seed=0):
    """Ratings drawn from [1, 5], so that no two similarities tie by accident.

    The first user and the first item rate, and are rated, 3 throughout: their ratings
    minus their mean are exactly 0, and they must still count as neighbours.
    """
    ratings = make_ratings(num_users=14, num_items=11, density=0.6, seed=seed)
    rating = np.random.default_rng(seed + 1).uniform(1, 5, len(ratings))
    constant = (ratings["user_id"] == ratings["user_id"].min()) | (
        ratings["item_id"] == ratings["item_id"].min()
    )
    return ratings.assign(rating=np.where(constant, 3.0, rating))


def brute_force_rating_similarity(values, rated, baseline, name, min_support, shrinkage):
    """sim between the rows of dense rating matrices, pair by pair."""
    num_rows = values.shape[0]
    similarity = np.zeros((num_rows, num_rows))
    for a in range(num_rows):
        for b in range(num_rows):
            common = np.flatnonzero(rated[a] & rated[b])
            if name == "pearson_baseline":
                first = values[a, common] - baseline[a, common]
                second = values[b, common] - baseline[b, common]
                norms = math.sqrt(np.sum(first**2) * np.sum(second**2))
                value = np.sum(first * second) / norms if norms > 0 else 0.0
            elif name == "pearson":
                first, second = values[a, common], values[b, common]
                usable = len(common) >= 2 and first.std() > 0 and second.std() > 0
                value = np.corrcoef(first, second)[0, 1] if usable else 0.0
            else:  # cosine over every column, unrated entries as 0
                value = values[a] @ values[b] / (
                    np.linalg.norm(values[a]) * np.linalg.norm(values[b])
                )
            if shrinkage > 0:
                value *= len(common) / (len(common) + shrinkage)
            similarity[a, b] = value if len(common) >= min_support else 0.0
    return similarity


def test_tied_neighbours_go_to_the_lower_index_alone_or_batched():
    # Similarities of 0.3 or 0.6 tie for the k-th place. Owner 0 has candidates 1..58, owner
    # 1 candidates 1..322, so batching the two pairs pads owner 0's row with more columns.
    size, k = 323, 9
    similarity = np.zeros((size, size))
    similarity[0, 1:] = np.random.default_rng(5).choice([0.3, 0.6], size - 1)
    rows = [0] * 58 + [1] * 322
    columns = list(range(1, 59)) + list(range(1, 323))
    deviations = sparse.csr_matrix((np.array(columns, float), (rows, columns)), shape=(2, size))
    alone, _ = _neighbourhood_offsets(similarity, deviations, np.array([0]), np.array([0]), k)
    batched, _ = _neighbourhood_offsets(similarity, deviations, np.array([0, 1]),
                                        np.array([0, 0]), k)
    candidates = np.arange(1, 59)
    nearest = candidates[np.argsort(-similarity[0, candidates], kind="stable")[:k]]
    expected = (similarity[0, nearest] * nearest).sum() / similarity[0, nearest].sum()
    assert alone[0] == batched[0] == pytest.approx(expected)


def brute_force_predictions(model_class, ratings, k, similarity, estimator, min_support,
                            shrinkage):
    """r̂_ui for every (user, item) cell, one cell at a time."""
    users, user_index = np.unique(ratings["user_id"], return_inverse=True)
    items, item_index = np.unique(ratings["item_id"], return_inverse=True)
    values = np.zeros((len(users), len(items)))
    values[user_index, item_index] = ratings["rating"]
    rated = values != 0
    # The baseline b_ui is BiasBaseline's, with its default regularisation.
    mean, user_bias, item_bias = fit_biases(
        sparse.csr_matrix(values), **BiasBaseline().get_params()
    )
    baseline = mean + user_bias[:, None] + item_bias[None, :]
    # Orient everything so that rows are the compared things: users, or items.
    by_users = model_class is UserKNN
    compared = values if by_users else values.T
    compared_rated = rated if by_users else rated.T
    compared_baseline = baseline if by_users else baseline.T
    sim = brute_force_rating_similarity(
        compared, compared_rated, compared_baseline, similarity, min_support, shrinkage
    )
    means = compared.sum(axis=1) / compared_rated.sum(axis=1)
    predictions = np.zeros_like(values)
    for user in range(len(users)):
        for item in range(len(items)):
            # The target is compared with the candidates: the other items the user rated
            # (ItemKNN), or the other users who rated the item (UserKNN).
            target, owner = (user, item) if by_users else (item, user)
            candidates = [
                c for c in np.flatnonzero(compared_rated[:, owner]) if c != target
            ]
            candidates.sort(key=lambda c: -sim[target, c])
            neighbours = [c for c in candidates[:k] if sim[target, c] > 0]
            if not neighbours:
                predictions[user, item] = baseline[user, item]
                continue
            if estimator == "baseline":
                deviations = [compared[c, owner] - compared_baseline[c, owner] for c in neighbours]
                base = baseline[user, item]
            else:
                deviations = [compared[c, owner] - means[c] for c in neighbours]
                base = means[target]
            weights = [sim[target, c] for c in neighbours]
            predictions[user, item] = base + np.dot(weights, deviations) / np.sum(weights)
    low, high = ratings["rating"].min(), ratings["rating"].max()
    return users, items, np.clip(predictions, low, high)


@MODELS
@pytest.mark.parametrize("estimator", ["baseline", "means"])
@pytest.mark.parametrize("similarity", ["pearson_baseline", "pearson", "cosine"])
def test_rating_predictions_match_a_brute_force_loop(model_class, estimator, similarity):
    ratings = continuous_ratings(seed=5)
    parameters = {"k": 3, "similarity": similarity, "estimator": estimator,
                  "min_support": 4, "shrinkage": 5.0}
    model = model_class(implicit=False, **parameters).fit(ratings)
    users, items, expected = brute_force_predictions(model_class, ratings, **parameters)
    user_ids, item_ids = np.repeat(users, len(items)), np.tile(items, len(users))
    predictions = model.predict(user_ids, item_ids).reshape(expected.shape)
    np.testing.assert_allclose(predictions, expected, atol=1e-10)
    # The ranking score of a rating model is its predicted rating.
    np.testing.assert_allclose(model.score(user_ids, item_ids), predictions.ravel())


@MODELS
@pytest.mark.parametrize("estimator", ["baseline", "means"])
def test_without_neighbours_ratings_fall_back_to_the_baseline(model_class, estimator):
    ratings = continuous_ratings(seed=6)
    # No pair of rows shares this many ratings, so every similarity is 0: no neighbours.
    model = model_class(implicit=False, estimator=estimator, min_support=1000).fit(ratings)
    predictions = model.predict(ratings["user_id"], ratings["item_id"])
    users = model.user_map_.to_index(ratings["user_id"])
    items = model.item_map_.to_index(ratings["item_id"])
    baseline = model.global_mean_ + model.user_bias_[users] + model.item_bias_[items]
    np.testing.assert_allclose(predictions, np.clip(baseline, *model.rating_range_))


# ---------------------------------------------------------------------------
# The model contract, in rating mode (top-N mode runs in test_model_contract)
# ---------------------------------------------------------------------------


class ItemKNNRatings(ItemKNN):
    """ItemKNN(implicit=False) for the contract test, which builds models from a class."""

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(implicit=False)


class UserKNNRatings(UserKNN):
    """UserKNN(implicit=False) for the contract test, which builds models from a class."""

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(implicit=False)


@pytest.mark.parametrize("model_class", [ItemKNNRatings, UserKNNRatings],
                         ids=lambda c: c.__name__)
def test_rating_mode_keeps_the_model_contract(model_class):
    train = make_ratings(num_users=25, num_items=30, density=0.25, seed=7)
    fitted = {model_class: contract.make_model(model_class, train).fit(train)}
    contract.test_init_stores_parameters_unchanged_and_clone(model_class, train)
    contract.test_use_before_fit_is_a_clear_error(model_class, train)
    contract.test_fit_returns_the_model(model_class, train)
    contract.test_recommend_shape_order_and_exclude_seen(model_class, fitted, train)
    contract.test_without_exclude_seen_every_item_is_a_candidate(model_class, fitted, train)
    contract.test_k_larger_than_the_catalogue(model_class, fitted, train)
    contract.test_same_seed_same_model(model_class, train)
    contract.test_unknown_users_and_items(model_class, fitted, train)
    for k in (0, -1, 2.5, "10"):
        contract.test_bad_k(model_class, fitted, k)
    contract.test_bad_training_data(model_class, train)
    contract.test_score_needs_paired_arrays(model_class, fitted, train)
    contract.test_rating_models_predict_and_fall_back(model_class, fitted, train)


@MODELS
def test_rating_mode_refuses_a_rating_of_zero(model_class, small_ratings):
    # A 0 would count as a rating in the biases but as "not rated" in the similarities.
    ratings = small_ratings.assign(rating=small_ratings["rating"] - 1)
    assert (ratings["rating"] == 0).any()
    with pytest.raises(ValueError, match="rating.s. of 0"):
        model_class(implicit=False).fit(ratings)
    model_class(implicit=False).fit(small_ratings)


@MODELS
def test_top_n_mode_does_not_predict_ratings(model_class, small_ratings):
    model = model_class().fit(small_ratings)
    # The benchmark asks predicts_ratings before it computes an RMSE.
    assert model.predicts_ratings is False
    assert model_class(implicit=False).predicts_ratings is True
    with pytest.raises(TypeError, match="implicit=False"):
        model.predict(small_ratings["user_id"], small_ratings["item_id"])


# ---------------------------------------------------------------------------
# MovieLens 100K targets
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("model_class, least_ndcg", [(ItemKNN, 0.40), (UserKNN, 0.38)],
                         ids=["ItemKNN", "UserKNN"])
def test_top_n_on_the_standard_protocol(movielens, model_class, least_ndcg):
    train, test = stratified_split(movielens.ratings, test_size=0.25, seed=0)
    metrics = evaluate_ranking(model_class().fit(train), train, test, k=10)
    assert metrics["ndcg@10"] >= least_ndcg


def test_item_knn_ratings_on_one_fold(movielens):
    # The target is a mean RMSE of at most 0.925 over the five folds; the first fold is
    # among the easier ones (about 0.91).
    train, test = next(iter(k_fold_splits(movielens.ratings, folds=5, seed=0)))
    metrics = evaluate_rating(ItemKNN(implicit=False).fit(train), test)
    assert metrics["rmse"] <= 0.925


# ---------------------------------------------------------------------------
# Bad parameters
# ---------------------------------------------------------------------------


@MODELS
@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"k": 0}, "k must be a positive integer"),
        ({"k": -5}, "k must be a positive integer"),
        ({"k": 2.5}, "k must be a positive integer"),
        ({"similarity": "euclidean"}, "Unknown similarity 'euclidean'"),
        ({"similarity": "pearson_baseline"}, "'pearson_baseline' is for implicit=False"),
        ({"implicit": False, "similarity": "bm25"}, "'bm25' is for implicit=True"),
        ({"implicit": False, "estimator": "median"}, "Unknown estimator 'median'"),
        ({"implicit": False, "shrinkage": -1.0}, "shrinkage must be a number >= 0"),
        ({"implicit": False, "min_support": -1}, "min_support must be an integer >= 0"),
        ({"implicit": "yes"}, "implicit must be True or False"),
        ({"similarity": "asymmetric", "alpha": 1.5}, "alpha must be a number between 0 and 1"),
        ({"similarity": "bm25", "bm25_b": 2.0}, "bm25_b must be a number between 0 and 1"),
        ({"similarity": "bm25", "bm25_k1": -1.0}, "bm25_k1 must be a number >= 0"),
    ],
)
def test_bad_parameters_are_reported_by_fit(model_class, parameters, message, small_ratings):
    model = model_class(**parameters)  # __init__ only stores its arguments.
    assert model.get_params() == {**model_class().get_params(), **parameters}
    with pytest.raises(ValueError, match=re.escape(message)):
        model.fit(small_ratings)


def test_defaults_are_filled_in_and_reported():
    ratings = make_ratings(seed=1)
    assert ItemKNN().fit(ratings).parameters_["similarity"] == ItemKNN.defaults["top_n"][
        "similarity"
    ]
    fitted = UserKNN(implicit=False).fit(ratings)
    assert fitted.parameters_["k"] == UserKNN.defaults["ratings"]["k"]
    assert fitted.parameters_["shrinkage"] == 100.0  # The Pearson similarities are shrunk.
    assert UserKNN().k is None  # What the learner passed is left as it was.


@pytest.mark.parametrize("model_class", [ItemKNN, UserKNN])
@pytest.mark.parametrize("zero", [0.0, "0"])
def test_a_rating_of_zero_is_refused_in_rating_mode(model_class, zero):
    # Rating mode reads "rated" from the non-zero entries, so a 0 would look unrated. A 0
    # written as text is the same rating and must be caught too.
    ratings = load_toy_ratings("explicit")
    ratings = ratings.astype({"rating": object})
    ratings.loc[ratings.index[0], "rating"] = zero
    with pytest.raises(ValueError, match=r"found 1 rating\(s\) of 0.*Shift the scale"):
        model_class(implicit=False).fit(ratings)


@pytest.mark.parametrize("model_class", [UserKNN, ItemKNN])
def test_changed_parameters_wait_for_the_next_fit(model_class):
    ratings = make_ratings(seed=1)
    users, items = ratings["user_id"].iloc[:20], ratings["item_id"].iloc[::-1].iloc[:20]
    means = model_class(implicit=False, estimator="means").fit(ratings)
    fitted_predictions = means.predict(users, items)
    # Until the next fit, the model predicts with the estimator it was fitted with; reading the
    # new one would mix "means" deviations into the "baseline" formula.
    means.set_params(estimator="baseline")
    np.testing.assert_array_equal(means.predict(users, items), fitted_predictions)
    baseline = model_class(implicit=False, estimator="baseline").fit(ratings)
    assert not np.allclose(baseline.predict(users, items), fitted_predictions)
    np.testing.assert_array_equal(means.fit(ratings).predict(users, items),
                                  baseline.predict(users, items))
    # A model refitted in top-N mode does not predict ratings with an earlier fit's biases
    # after switching back without a refit, and keeps ranking as it was fitted to.
    model = model_class(implicit=False).fit(ratings).set_params(implicit=True)
    model.fit(ratings.iloc[: len(ratings) // 2])
    ranked = model.recommend(k=5)
    model.set_params(implicit=False)
    assert model.predicts_ratings is False  # It answers for the mode it was fitted in.
    with pytest.raises(TypeError, match=r"implicit=True\) ranks items"):
        model.predict(users, items)
    pd.testing.assert_frame_equal(model.recommend(k=5), ranked)


def test_only_the_k_most_similar_candidates_count_even_one_more_than_k():
    # Target 0, whose owner row holds three candidates (similarities 0.9, 0.5 and 0.1, values
    # 1, 2 and 4). With k = 2 only the first two count: (0.9·1 + 0.5·2) / (0.9 + 0.5).
    similarity = np.zeros((4, 4))
    similarity[0, 1:] = [0.9, 0.5, 0.1]
    owner_rows = sparse.csr_matrix(([1.0, 2.0, 4.0], ([0, 0, 0], [1, 2, 3])), shape=(1, 4))
    offsets, found = _neighbourhood_offsets(similarity, owner_rows, np.array([0]),
                                            np.array([0]), 2)
    assert found.tolist() == [True]
    assert offsets[0] == pytest.approx(1.9 / 1.4)


def test_pearson_similarities_are_shrunk_by_default():
    ratings = make_ratings(seed=1)
    model = ItemKNN(implicit=False, similarity="pearson").fit(ratings)
    assert model.parameters_["shrinkage"] == 100.0
    unshrunk = ItemKNN(implicit=False, similarity="pearson", shrinkage=0).fit(ratings)
    # sim · n / (n + β), with n the number of users who rated both items.
    rated = (model._rating_matrix(ratings) > 0).astype(float)
    co_raters = (rated.T @ rated).toarray()
    np.testing.assert_allclose(model.similarity_,
                               unshrunk.similarity_ * co_raters / (co_raters + 100.0), atol=1e-12)


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------

# Users A, B, C and items 1, 2, 3: A has {1, 2}, B has {1}, C has {2, 3}. Seen from the items,
# U_1 = {A, B}, U_2 = {A, C}, U_3 = {C}.
INTERACTIONS = pd.DataFrame({"user_id": ["A", "A", "B", "C", "C"], "item_id": [1, 2, 1, 2, 3]})

# Two users, two items: A rated 1 → 5 and 2 → 3, B rated 1 → 4. As item vectors over (A, B):
# item 1 = (5, 4), item 2 = (3, 0); one co-rater (A), n_12 = 1.
TWO_BY_TWO = pd.DataFrame({"user_id": ["A", "A", "B"], "item_id": [1, 2, 1],
                           "rating": [5.0, 3.0, 4.0]})


def item_similarity(model, first, second):
    i, j = model.item_map_.to_index([first, second])
    return model.similarity_[i, j]


def test_rating_cosine_is_not_shrunk_by_default():
    # ItemKNN(implicit=False) defaults to "cosine"
    # with β = 0: sim(1, 2) = (5·3 + 4·0) / (√41 · 3) = 5 / √41 ≈ 0.781, not shrunk by
    # n / (n + β) (with β = 10 it would be 5 / √41 / 11).
    model = ItemKNN(implicit=False).fit(TWO_BY_TWO)
    assert model.parameters_["similarity"] == "cosine"
    assert model.parameters_["shrinkage"] == 0.0
    assert item_similarity(model, 1, 2) == pytest.approx(5 / math.sqrt(41))


def test_defaults_are_the_documented_ones():
    # The docstrings state the tuned defaults, which learners copy; comparing parameters_
    # with the class's own `defaults` dict alone would not notice one changing.
    # ItemKNN: top-N k = 200, "tfidf", bm25_b = 0.25; ratings k = 25, "cosine".
    # UserKNN: top-N k = 100, "bm25", bm25_b = 1.0; ratings k = 40, "pearson_baseline".
    expected = {
        (ItemKNN, True): (200, "tfidf", 0.25), (ItemKNN, False): (25, "cosine", 0.25),
        (UserKNN, True): (100, "bm25", 1.0), (UserKNN, False): (40, "pearson_baseline", 1.0),
    }
    for (model_class, implicit), (k, similarity, bm25_b) in expected.items():
        data = INTERACTIONS if implicit else TWO_BY_TWO
        parameters = model_class(implicit=implicit).fit(data).parameters_
        assert (parameters["k"], parameters["similarity"], parameters["bm25_b"]) == (
            k, similarity, bm25_b
        ), (model_class.__name__, implicit)


def test_a_shrinkage_below_one_is_applied():
    # A shrinkage below 1 still shrinks. β = 0.5, n_12 = 1:
    # sim(1, 2) = 5/√41 · 1 / (1 + 0.5) = 5/√41 · 2/3 ≈ 0.521.
    model = ItemKNN(implicit=False, similarity="cosine", shrinkage=0.5).fit(TWO_BY_TWO)
    assert item_similarity(model, 1, 2) == pytest.approx(5 / math.sqrt(41) * 2 / 3)


def test_asymmetric_with_alpha_zero():
    # The docstring allows α in [0, 1]; with α = 0,
    # sim(i, j) = |U_i ∩ U_j| / |U_j|: sim(2, 3) = 1 / |U_3| = 1, sim(3, 2) = 1 / |U_2| = 1/2,
    # sim(1, 2) = 1 / 2, sim(1, 3) = 0.
    model = ItemKNN(similarity="asymmetric", alpha=0.0).fit(INTERACTIONS)
    assert item_similarity(model, 2, 3) == pytest.approx(1.0)
    assert item_similarity(model, 3, 2) == pytest.approx(0.5)
    assert item_similarity(model, 1, 2) == pytest.approx(0.5)
    assert item_similarity(model, 1, 3) == 0


def test_bm25_with_k1_zero_is_the_idf_weighted_dot_product():
    # K1 = 0 "switches the length scaling off": every row weight is
    # (0 + 1) / (0 + 1) = 1, so sim(i, j) = Σ_{u ∈ U_i ∩ U_j} idf_u², idf_u = ln(3 / |I_u|):
    # idf_A = ln(3/2), idf_B = ln 3, idf_C = ln(3/2). sim(1, 2) = ln(3/2)² ≈ 0.164,
    # sim(1, 1) = ln(3/2)² + ln(3)² ≈ 1.371.
    model = ItemKNN(similarity="bm25", bm25_k1=0.0).fit(INTERACTIONS)
    assert item_similarity(model, 1, 2) == pytest.approx(math.log(1.5) ** 2)
    assert item_similarity(model, 1, 1) == pytest.approx(math.log(1.5) ** 2 + math.log(3) ** 2)


@MODELS
def test_min_support_zero_is_accepted(model_class):
    # The docstring and the error message say "an integer
    # >= 0"; pairs without a co-rater have similarity 0 anyway, so 0 behaves like 1.
    zero = model_class(implicit=False, min_support=0).fit(TWO_BY_TWO)
    one = model_class(implicit=False, min_support=1).fit(TWO_BY_TWO)
    np.testing.assert_allclose(zero.similarity_, one.similarity_)


@MODELS
@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"implicit": False, "min_support": True}, "min_support must be an integer >= 0"),
        ({"implicit": 1}, "implicit must be True or False"),
    ],
)
def test_bools_and_ints_are_not_taken_for_each_other(model_class, parameters, message):
    # min_support=True is not 1, and implicit=1 is not True: both are mistakes.
    with pytest.raises(ValueError, match=re.escape(message)):
        model_class(**parameters).fit(TWO_BY_TWO)


@pytest.mark.parametrize("min_support", [0, 1])
def test_pearson_baseline_of_users_without_a_common_item_is_zero(min_support):
    # A rated 1 and 2, B rated 3
    # only: no co-rated item, so both sums of squares are 0 and sim(A, B) must be 0, not
    # 0 / 0 = NaN. With min_support = 0 nothing else resets it.
    ratings = pd.DataFrame({"user_id": ["A", "A", "B", "C", "C"], "item_id": [1, 2, 3, 1, 3],
                            "rating": [5.0, 3.0, 4.0, 2.0, 1.0]})
    model = UserKNN(implicit=False, similarity="pearson_baseline",
                    min_support=min_support).fit(ratings)
    a, b = model.user_map_.to_index(["A", "B"])
    assert np.isfinite(model.similarity_).all()
    assert model.similarity_[a, b] == 0


def test_a_single_item_or_user_has_no_neighbours():
    # With one item (ItemKNN) or one user
    # (UserKNN) there is nothing else to be a neighbour: k is cut to 0 and every score is 0.
    one_item = pd.DataFrame({"user_id": ["A", "B"], "item_id": [1, 1]})
    model = ItemKNN().fit(one_item)
    assert model.neighbours_.nnz == 0
    np.testing.assert_array_equal(model.score(["A", "B"], [1, 1]), [0.0, 0.0])
    one_user = pd.DataFrame({"user_id": ["A", "A"], "item_id": [1, 2]})
    model = UserKNN().fit(one_user)
    assert model.neighbours_.nnz == 0
    np.testing.assert_array_equal(model.score(["A", "A"], [1, 2]), [0.0, 0.0])
