import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse
from scipy.sparse.linalg import lsqr

from recsys_lessons.data import interaction_matrix
from recsys_lessons.models import BiasBaseline, GlobalMean, Popularity, RandomRecommender
from recsys_lessons.models.baselines import fit_biases
from tests.conftest import make_ratings


def test_popularity_scores_are_counts():
    ratings = pd.DataFrame({"user_id": [1, 2, 3, 1], "item_id": [7, 7, 7, 8]})
    model = Popularity().fit(ratings)
    assert model.score([2, 2], [7, 8]).tolist() == [3.0, 1.0]
    assert model.recommend([2], k=2)["item_id"].tolist() == [8]  # 7 is seen by user 2.


def test_random_recommender_depends_only_on_the_seed(small_ratings):
    first = RandomRecommender(random_state=1).fit(small_ratings).recommend(k=5)
    again = RandomRecommender(random_state=1).fit(small_ratings).recommend(k=5)
    other = RandomRecommender(random_state=2).fit(small_ratings).recommend(k=5)
    # A separate model with the same seed gives the very same lists; another seed does not.
    pd.testing.assert_frame_equal(first, again)
    assert not first["item_id"].equals(other["item_id"])
    scores = RandomRecommender(random_state=1).fit(small_ratings)._score_users(np.arange(30))
    assert 0 <= scores.min() and scores.max() < 1
    assert abs(scores.mean() - 0.5) < 0.05


def test_global_mean_predicts_the_mean(small_ratings):
    model = GlobalMean().fit(small_ratings)
    predictions = model.predict(small_ratings["user_id"], small_ratings["item_id"])
    np.testing.assert_allclose(predictions, small_ratings["rating"].mean())


def test_biases_minimise_the_regularised_least_squares():
    ratings = make_ratings(num_users=15, num_items=12, density=0.4, seed=2)
    matrix, _, _ = interaction_matrix(ratings, values="rating")
    reg_user, reg_item = 3.0, 2.0
    mean, user_bias, item_bias = fit_biases(matrix, reg_user, reg_item, iterations=200)
    # The same problem as one ridge regression: rows [one-hot user | one-hot item] with
    # √λ-weighted identity rows appended, solved by scipy's least squares.
    coo = matrix.tocoo()
    num_users, num_items = matrix.shape
    design = sparse.hstack([
        sparse.csr_matrix((np.ones(coo.nnz), (np.arange(coo.nnz), coo.row)), (coo.nnz, num_users)),
        sparse.csr_matrix((np.ones(coo.nnz), (np.arange(coo.nnz), coo.col)), (coo.nnz, num_items)),
    ])
    penalty = sparse.diags(np.r_[np.full(num_users, reg_user), np.full(num_items, reg_item)] ** 0.5)
    solution = lsqr(
        sparse.vstack([design, penalty]), np.r_[coo.data - mean, np.zeros(num_users + num_items)],
        atol=1e-12, btol=1e-12,
    )[0]
    np.testing.assert_allclose(np.r_[user_bias, item_bias], solution, atol=1e-6)


def test_bias_baseline_on_movielens(movielens):
    from recsys_lessons.data import stratified_split
    from recsys_lessons.evaluation import evaluate_rating

    train, test = stratified_split(movielens.ratings, seed=0)
    errors = evaluate_rating(BiasBaseline().fit(train), test)
    global_errors = evaluate_rating(GlobalMean().fit(train), test)
    # Biases explain a large part of the variance: RMSE drops from about 1.13 to about 0.95.
    assert errors["rmse"] < 0.96 < 1.1 < global_errors["rmse"]


def test_negative_regularisation_is_refused(small_ratings):
    with pytest.raises(ValueError, match="reg_user"):
        BiasBaseline(reg_user=-1).fit(small_ratings)


@pytest.mark.parametrize("parameters", [{"reg_user": float("nan")}, {"reg_item": None},
                                        {"reg_item": -1.0}])
def test_bias_regularisation_must_be_a_number_at_least_zero(parameters):
    name = next(iter(parameters))
    with pytest.raises(ValueError, match=f"{name} must be a number >= 0"):
        BiasBaseline(**parameters).fit(make_ratings())
    # The helper itself checks too, for learners who call it directly.
    arguments = {"reg_user": 1.0, "reg_item": 1.0, **parameters}
    with pytest.raises(ValueError, match=f"{name} must be a number >= 0"):
        fit_biases(sparse.csr_matrix([[4.0, 2.0]]), iterations=3, **arguments)


def test_random_scores_are_one_seeded_draw_per_user(small_ratings):
    # The docstring's rule: user u's scores are the first draws of default_rng([seed_, u]),
    # so two users get different lists and a user's list does not depend on the batch.
    model = RandomRecommender(random_state=1).fit(small_ratings)
    scores = model._score_users(np.array([0, 1]))
    for row, user in enumerate([0, 1]):
        expected = np.random.default_rng([model.seed_, user]).random(len(model.item_map_))
        np.testing.assert_array_equal(scores[row], expected)


def test_ranking_scores_are_clipped_like_the_predictions():
    # With λ = 0, μ = 11/3, b_u = (2, 0, −2) and b_i = (−2/3, −2/3, 4/3) reproduce all six
    # ratings exactly, so they are the least-squares fit. User 1's unseen item 3 is then
    # predicted μ + b_1 + b_3 = 7, clipped to the highest rating, 5.
    ratings = pd.DataFrame({"user_id": [1, 1, 2, 2, 3, 3], "item_id": [1, 2, 2, 3, 2, 3],
                            "rating": [5.0, 5.0, 3.0, 5.0, 1.0, 3.0]})
    model = BiasBaseline(reg_user=0, reg_item=0, iterations=50).fit(ratings)
    top = model.recommend([1], k=1)
    assert top["item_id"].tolist() == [3]
    assert top["score"].iloc[0] == pytest.approx(5.0)
    assert model.score([1], [3])[0] == pytest.approx(5.0)


def test_fit_biases_centres_on_the_mean_rating():
    # Ratings 5, 1, 1: the mean is 7/3 (the median would be 1).
    mean, _, _ = fit_biases(sparse.csr_matrix([[5.0, 1.0], [0.0, 1.0]]), 0.0, 0.0, 5)
    assert mean == pytest.approx(7 / 3)


def test_fit_biases_one_round_by_hand():
    # R = [[5, 3], [·, 1]], λ_u = λ_i = 1, one round. μ = 3, so the residuals are 2, 0, −2.
    # Items first (b_u = 0): b_1 = 2/(1 + 1) = 1, b_2 = (0 − 2)/(1 + 2) = −2/3.
    # Then users: b_1 = ((2 − 1) + (0 + 2/3))/(1 + 2) = 5/9, b_2 = (−2 + 2/3)/(1 + 1) = −2/3.
    mean, user_bias, item_bias = fit_biases(sparse.csr_matrix([[5.0, 3.0], [0.0, 1.0]]),
                                            1.0, 1.0, 1)
    assert mean == pytest.approx(3.0)
    np.testing.assert_allclose(item_bias, [1.0, -2 / 3])
    np.testing.assert_allclose(user_bias, [5 / 9, -2 / 3])


def test_bias_baseline_default_shrinkage_by_hand():
    # Two users rate one film 5 and 1: μ = 3, b_i = (2 − 2)/(10 + 2) = 0 in every round, and
    # with the default λ_u = 15, b_u = ±2/(15 + 1) = ±0.125.
    ratings = pd.DataFrame({"user_id": [1, 2], "item_id": [10, 10], "rating": [5.0, 1.0]})
    model = BiasBaseline().fit(ratings)
    assert model.predict([1, 2], [10, 10]) == pytest.approx([3.125, 2.875])
