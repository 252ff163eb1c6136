import math

import numpy as np
import pytest

from recsys_lessons.data import stratified_split
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models.linear import EASE
from tests.conftest import make_ratings


@pytest.fixture(scope="module")
def tiny():
    ratings = make_ratings(num_users=15, num_items=8, density=0.4, seed=3)
    model = EASE(regularization=2.0).fit(ratings)
    matrix = np.zeros((15, 8))
    matrix[model.user_map_.to_index(ratings["user_id"].to_numpy()),
           model.item_map_.to_index(ratings["item_id"].to_numpy())] = 1.0
    return model, matrix


def test_closed_form_equals_one_ridge_regression_per_item(tiny):
    model, matrix = tiny
    # Brute force: predict column j from every other column, min ‖x_j − X_−j b‖² + λ‖b‖².
    for item in range(matrix.shape[1]):
        others = np.delete(np.arange(matrix.shape[1]), item)
        features = matrix[:, others]
        weights = np.linalg.solve(features.T @ features + 2.0 * np.eye(len(others)),
                                  features.T @ matrix[:, item])
        np.testing.assert_allclose(model.item_weights_[others, item], weights, atol=1e-10)


def test_diagonal_is_zero_and_scores_are_x_times_b(tiny):
    model, matrix = tiny
    np.testing.assert_array_equal(np.diag(model.item_weights_), 0.0)
    users = np.repeat(model.user_map_.ids, 8)
    items = np.tile(model.item_map_.ids, 15)
    np.testing.assert_allclose(model.score(users, items),
                               (matrix @ model.item_weights_).ravel(), atol=1e-12)


def test_stronger_regularization_shrinks_the_weights():
    ratings = make_ratings(num_users=15, num_items=8, density=0.4, seed=3)
    weak = EASE(regularization=1.0).fit(ratings).item_weights_
    strong = EASE(regularization=100.0).fit(ratings).item_weights_
    assert np.abs(strong).sum() < np.abs(weak).sum()


@pytest.mark.parametrize("regularization", [0, -5.0, "500", None, True, math.inf, math.nan])
def test_bad_regularization_raises_in_fit(regularization):
    model = EASE(regularization=regularization)
    assert model.regularization is regularization
    with pytest.raises(ValueError, match="regularization must be a finite number > 0"):
        model.fit(make_ratings(seed=1))


def test_ease_on_movielens(movielens):
    train, test = stratified_split(movielens.ratings, test_size=0.25, seed=0)
    assert evaluate_ranking(EASE().fit(train), train, test, k=10)["ndcg@10"] >= 0.47
