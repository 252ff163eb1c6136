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
