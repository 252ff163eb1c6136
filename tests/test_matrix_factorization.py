import math

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data import stratified_split
from recsys_lessons.evaluation import evaluate_ranking, evaluate_rating
from recsys_lessons.models.baselines import BiasBaseline
from recsys_lessons.models.matrix_factorization import (
    ALS,
    BPR,
    BiasedMF,
    ImplicitALS,
    PureSVD,
    check_non_negative,
    rating_gradient_steps,
    ridge_conjugate_gradient,
    ridge_solve,
    scatter_add,
)
from tests.conftest import make_ratings


def all_pairs(model):
    """User and item ids of every (user, item) cell, row by row."""
    users, items = model.user_map_.ids, model.item_map_.ids
    return np.repeat(users, len(items)), np.tile(items, len(users))


def dense_matrix(model, ratings, column=None):
    """The users × items matrix of `ratings` (1 per row, or the values of `column`)."""
    matrix = np.zeros((len(model.user_map_), len(model.item_map_)))
    users = model.user_map_.to_index(ratings["user_id"].to_numpy())
    items = model.item_map_.to_index(ratings["item_id"].to_numpy())
    matrix[users, items] = 1.0 if column is None else ratings[column].to_numpy()
    return matrix


# ----------------------------------------------------------------------- PureSVD


def test_pure_svd_matches_numpy_full_svd():
    ratings = make_ratings(num_users=12, num_items=15, density=0.4, seed=1)
    model = PureSVD(factors=4).fit(ratings)
    matrix = dense_matrix(model, ratings)
    _, singular_values, right_vectors = np.linalg.svd(matrix)
    top = right_vectors[:4].T
    np.testing.assert_allclose(model.singular_values_, singular_values[:4])
    expected = matrix @ top @ top.T
    np.testing.assert_allclose(model.score(*all_pairs(model)), expected.ravel(), atol=1e-10)


def test_pure_svd_with_every_factor_reproduces_the_matrix():
    # With all min(users, items) factors V Vᵀ projects onto the whole row space: R V Vᵀ = R.
    ratings = make_ratings(num_users=12, num_items=15, density=0.4, seed=1)
    model = PureSVD(factors=1000).fit(ratings)
    assert model.item_factors_.shape == (15, 12)
    np.testing.assert_allclose(
        model.score(*all_pairs(model)), dense_matrix(model, ratings).ravel(), atol=1e-10
    )


# ----------------------------------------------------------------------- the ridge solvers


def random_system(seed=0, rows=6, columns=9, factors=3, density=0.5):
    rng = np.random.default_rng(seed)
    mask = rng.random((rows, columns)) < density
    mask[:, 0] = True
    weights = np.where(mask, rng.uniform(0.5, 3.0, (rows, columns)), 0.0)
    fixed = rng.normal(size=(columns, factors))
    right_hand_side = rng.normal(size=(rows, factors))
    gram = fixed.T @ fixed
    return weights, fixed, right_hand_side, gram


def test_ridge_solvers_match_a_dense_solve_per_row():
    import scipy.sparse as sparse

    weights, fixed, right_hand_side, gram = random_system()
    penalties = np.arange(1.0, 7.0)
    expected = np.stack([
        np.linalg.solve(gram + fixed.T @ np.diag(weights[row]) @ fixed
                        + penalties[row] * np.eye(3), right_hand_side[row])
        for row in range(len(weights))
    ])
    sparse_weights = sparse.csr_matrix(weights)
    exact = ridge_solve(sparse_weights, right_hand_side, fixed, penalties, shared_gram=gram)
    np.testing.assert_allclose(exact, expected, rtol=1e-10, atol=1e-12)
    # Conjugate gradient solves a 3 × 3 system in 3 steps, up to rounding.
    iterative = ridge_conjugate_gradient(
        sparse_weights, right_hand_side, fixed, 2.0, np.zeros_like(expected), steps=10,
        shared_gram=gram,
    )
    expected_scalar = ridge_solve(sparse_weights, right_hand_side, fixed, 2.0, gram)
    np.testing.assert_allclose(iterative, expected_scalar, rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------- ALS


def als_objective(model, ratings, user_factors, item_factors):
    """Σ (r̃_ui − p_u·q_i)² + λ (Σ n_u ‖p_u‖² + Σ n_i ‖q_i‖²), r̃ the bias residual."""
    users = model.user_map_.to_index(ratings["user_id"].to_numpy())
    items = model.item_map_.to_index(ratings["item_id"].to_numpy())
    residual = (ratings["rating"].to_numpy() - model.global_mean_ - model.user_bias_[users]
                - model.item_bias_[items])
    errors = residual - np.einsum("nk,nk->n", user_factors[users], item_factors[items])
    per_user = np.bincount(users, minlength=len(user_factors))
    per_item = np.bincount(items, minlength=len(item_factors))
    penalty = (per_user @ (user_factors ** 2).sum(axis=1)
               + per_item @ (item_factors ** 2).sum(axis=1))
    return errors @ errors + model.regularization * penalty


def test_als_each_half_step_decreases_the_objective():
    ratings = make_ratings(num_users=20, num_items=25, density=0.4, seed=4)
    model = ALS(factors=4, regularization=0.05, iterations=1).fit(ratings)
    matrix = model._rating_matrix(ratings).tocoo()
    matrix.data = (matrix.data - model.global_mean_ - model.user_bias_[matrix.row]
                   - model.item_bias_[matrix.col])
    by_user, by_item = matrix.tocsr(), matrix.T.tocsr()
    user_factors, item_factors = model.user_factors_, model.item_factors_
    objective = als_objective(model, ratings, user_factors, item_factors)
    for _ in range(5):
        user_factors = ALS._half_step(by_user, item_factors, model.regularization)
        after_users = als_objective(model, ratings, user_factors, item_factors)
        item_factors = ALS._half_step(by_item, user_factors, model.regularization)
        after_items = als_objective(model, ratings, user_factors, item_factors)
        assert after_users <= objective + 1e-9 and after_items <= after_users + 1e-9
        objective = after_items
    # Each half-step is the exact minimiser: the gradient with respect to P vanishes.
    user_factors = ALS._half_step(by_user, item_factors, model.regularization)
    step = 1e-5
    for user, factor in [(0, 0), (3, 2), (11, 1)]:
        shifted = user_factors.copy()
        shifted[user, factor] += step
        up = als_objective(model, ratings, shifted, item_factors)
        shifted[user, factor] -= 2 * step
        down = als_objective(model, ratings, shifted, item_factors)
        assert abs(up - down) / (2 * step) < 1e-6


def test_als_fits_the_training_ratings_better_than_the_biases():
    ratings = make_ratings(num_users=30, num_items=40, density=0.4, seed=5)
    model = ALS(factors=5, regularization=0.05, iterations=10).fit(ratings)
    users = model.user_map_.to_index(ratings["user_id"].to_numpy())
    items = model.item_map_.to_index(ratings["item_id"].to_numpy())
    biases_only = model.global_mean_ + model.user_bias_[users] + model.item_bias_[items]
    actual = ratings["rating"].to_numpy()
    predicted = model.predict(ratings["user_id"], ratings["item_id"])
    assert np.sqrt(np.mean((actual - predicted) ** 2)) < 0.8 * np.sqrt(
        np.mean((actual - biases_only) ** 2)
    )


# ----------------------------------------------------------------------- ImplicitALS


def implicit_objective(preference, confidence, user_factors, item_factors, regularization):
    """Σ_u Σ_i c_ui (p_ui − x_u·y_i)² + λ (‖X‖² + ‖Y‖²) over every cell."""
    errors = preference - user_factors @ item_factors.T
    return (np.sum(confidence * errors ** 2)
            + regularization * (np.sum(user_factors ** 2) + np.sum(item_factors ** 2)))


def test_implicit_als_each_half_step_decreases_the_objective():
    ratings = make_ratings(num_users=20, num_items=25, density=0.3, seed=6)
    model = ImplicitALS(factors=5, regularization=0.5, alpha=4.0, iterations=1).fit(ratings)
    preference = dense_matrix(model, ratings)
    confidence = 1 + 4.0 * dense_matrix(model, ratings, "rating")
    extra = model._rating_matrix(ratings) * 4.0
    user_factors, item_factors = model.user_factors_, model.item_factors_
    objective = implicit_objective(preference, confidence, user_factors, item_factors, 0.5)
    for _ in range(5):
        user_factors = model._half_step(extra, item_factors, user_factors, 0.5)
        after_users = implicit_objective(preference, confidence, user_factors, item_factors, 0.5)
        item_factors = model._half_step(extra.T.tocsr(), user_factors, item_factors, 0.5)
        after_items = implicit_objective(preference, confidence, user_factors, item_factors, 0.5)
        assert after_users <= objective + 1e-9 and after_items <= after_users + 1e-9
        objective = after_items


def test_implicit_als_solve_matches_a_brute_force_dense_solve(monkeypatch):
    ratings = make_ratings(num_users=10, num_items=12, density=0.3, seed=8)
    model = ImplicitALS(factors=3, regularization=0.7, alpha=5.0, iterations=1).fit(ratings)
    preference = dense_matrix(model, ratings)
    strength = dense_matrix(model, ratings, "rating")
    items = model.item_factors_
    # Brute force: every user's full C_u = diag(1 + α r_u) over all items, and p(u).
    expected = np.stack([
        np.linalg.solve(items.T @ np.diag(1 + 5.0 * strength[user]) @ items + 0.7 * np.eye(3),
                        items.T @ np.diag(1 + 5.0 * strength[user]) @ preference[user])
        for user in range(len(preference))
    ])
    # With as many conjugate-gradient steps as factors (and more for rounding), CG reaches
    # the exact solution; the model's 3 steps from a warm start come close.
    monkeypatch.setattr(ImplicitALS, "conjugate_gradient_steps", 20)
    extra = model._rating_matrix(ratings) * 5.0
    solved = model._half_step(extra, items, np.zeros_like(model.user_factors_), 0.7)
    np.testing.assert_allclose(solved, expected, rtol=1e-8, atol=1e-10)


def test_implicit_als_confidence_grows_with_the_rating_or_is_binary_without_one():
    ratings = make_ratings(num_users=20, num_items=25, density=0.3, seed=7)
    parameters = dict(factors=3, iterations=2)
    without = ImplicitALS(**parameters).fit(ratings.drop(columns="rating"))
    all_ones = ImplicitALS(**parameters).fit(ratings.assign(rating=1.0))
    rated = ImplicitALS(**parameters).fit(ratings)
    np.testing.assert_allclose(without.user_factors_, all_ones.user_factors_)
    assert not np.allclose(without.user_factors_, rated.user_factors_)


def test_implicit_als_ranks_held_out_structure():
    # Two groups of users, each interacting with its own half of the items.
    rng = np.random.default_rng(0)
    group_of_user = np.arange(40) % 2
    group_of_item = np.arange(30) % 2
    likes = (group_of_user[:, None] == group_of_item) & (rng.random((40, 30)) < 0.6)
    users, items = np.nonzero(likes)
    ratings = pd.DataFrame({"user_id": users, "item_id": items})
    model = ImplicitALS(factors=4, regularization=1.0, iterations=10).fit(ratings)
    top = model.recommend(k=3)
    in_own_group = group_of_item[top["item_id"]] == group_of_user[top["user_id"]]
    assert in_own_group.mean() > 0.95


# ----------------------------------------------------------------------- BiasedMF


def test_biased_mf_loss_decreases_and_history_has_one_row_per_epoch():
    ratings = make_ratings(num_users=30, num_items=40, density=0.4, seed=9)
    model = BiasedMF(factors=5, learning_rate=0.01, regularization=0.02, epochs=15,
                     batch_size=32, validation_fraction=0.2).fit(ratings)
    history = model.history_
    assert history.shape == (15, 3)
    assert list(history.columns) == ["epoch", "train_rmse", "validation_rmse"]
    assert history["epoch"].tolist() == list(range(1, 16))
    assert history["train_rmse"].is_monotonic_decreasing
    assert history["validation_rmse"].notna().all()
    without_validation = BiasedMF(epochs=3).fit(ratings).history_
    assert without_validation["validation_rmse"].isna().all()


def test_biased_mf_steps_are_the_negative_gradient_of_the_batch_loss():
    ratings = make_ratings(num_users=6, num_items=8, density=0.5, seed=10)
    model = BiasedMF(factors=3, epochs=1, regularization=0.3).fit(ratings)
    rng = np.random.default_rng(0)
    batch = rng.choice(len(ratings), 12, replace=False)  # Users and items repeat.
    users = model.user_map_.to_index(ratings["user_id"].to_numpy()[batch])
    items = model.item_map_.to_index(ratings["item_id"].to_numpy()[batch])
    values = ratings["rating"].to_numpy(dtype=float)[batch]
    parameters = [model.user_bias_, model.item_bias_, model.user_factors_, model.item_factors_]

    def batch_loss():
        errors, _ = rating_gradient_steps(model, users, items, values, 0.0)
        penalty = (model.user_bias_[users] ** 2 + model.item_bias_[items] ** 2
                   + (model.user_factors_[users] ** 2).sum(1)
                   + (model.item_factors_[items] ** 2).sum(1))
        return 0.5 * errors @ errors + 0.5 * 0.3 * penalty.sum()

    _, steps = rating_gradient_steps(model, users, items, values, 0.3)
    indices = [users, items, users, items]
    for parameter, index, step in zip(parameters, indices, steps, strict=True):
        summed = np.zeros_like(parameter)
        scatter_add(summed, index, step)
        numeric = np.zeros_like(parameter)
        for position in np.ndindex(parameter.shape):
            original = parameter[position]
            parameter[position] = original + 1e-6
            up = batch_loss()
            parameter[position] = original - 1e-6
            down = batch_loss()
            parameter[position] = original
            numeric[position] = (up - down) / 2e-6
        np.testing.assert_allclose(summed, -numeric, atol=1e-6)


def test_scatter_add_adds_repeated_indices():
    target = np.zeros((3, 2))
    scatter_add(target, np.array([0, 2, 0]), np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(target, [[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]])
    vector = np.zeros(3)
    scatter_add(vector, np.array([1, 1]), np.array([0.5, 0.25]))
    np.testing.assert_array_equal(vector, [0.0, 0.75, 0.0])


# ----------------------------------------------------------------------- BPR


def two_taste_groups(seed=0):
    """Users of group g interact mostly with items of group g: ranking has structure."""
    rng = np.random.default_rng(seed)
    group_of_user = np.arange(60) % 2
    group_of_item = np.arange(40) % 2
    probability = np.where(group_of_user[:, None] == group_of_item, 0.5, 0.05)
    users, items = np.nonzero(rng.random((60, 40)) < probability)
    return pd.DataFrame({"user_id": users, "item_id": items})


def training_auc(model, ratings):
    """Mean over users of the share of (positive, negative) pairs ranked correctly."""
    scores = model._score_users(np.arange(len(model.user_map_)))
    positive = model.user_items_.toarray().astype(bool)
    areas = []
    for user_scores, is_positive in zip(scores, positive, strict=True):
        wins = user_scores[is_positive][:, None] > user_scores[~is_positive]
        areas.append(wins.mean())
    return float(np.mean(areas))


def test_bpr_training_auc_improves_over_epochs():
    ratings = two_taste_groups()
    parameters = dict(factors=8, learning_rate=0.05, regularization=0.01, batch_size=64)
    early = BPR(epochs=1, **parameters).fit(ratings)
    late = BPR(epochs=30, **parameters).fit(ratings)
    assert training_auc(late, ratings) > training_auc(early, ratings) + 0.05
    assert training_auc(late, ratings) > 0.8
    assert late.history_["train_loss"].iloc[-1] < late.history_["train_loss"].iloc[0]
    assert late.history_.shape == (30, 2)


def test_bpr_leaves_out_a_user_who_interacted_with_every_item():
    ratings = two_taste_groups()
    every_item = pd.DataFrame({"user_id": 10_000, "item_id": ratings["item_id"].unique()})
    every_item = every_item.assign(**{column: ratings[column].iloc[0]
                                      for column in ratings.columns if column not in every_item})
    model = BPR(factors=8, epochs=3, batch_size=64).fit(pd.concat([ratings, every_item]))
    assert np.isfinite(model.history_["train_loss"]).all()
    # Their factors were never stepped: they still hold the initial draw.
    initial = np.random.default_rng(0).normal(0.0, 0.1, model.user_factors_.shape)
    row = int(model.user_map_.to_index([10_000])[0])
    np.testing.assert_array_equal(model.user_factors_[row], initial[row])
    assert not np.array_equal(model.user_factors_[row - 1], initial[row - 1])
    assert model.recommend([10_000], k=5).empty
    with pytest.raises(ValueError, match="Every user interacted with every item"):
        BPR(epochs=1).fit(every_item)


def test_bpr_negatives_are_never_positives(monkeypatch):
    import recsys_lessons.models.matrix_factorization as module

    ratings = two_taste_groups(seed=1)
    seen = []
    sampler_calls = []
    original_step, original_sampler = BPR._step, module.sample_negative_indices

    def recording_step(self, users, positives, negatives, *arguments):
        seen.append((users.copy(), positives.copy(), negatives.copy()))
        return original_step(self, users, positives, negatives, *arguments)

    def recording_sampler(*arguments, **keywords):
        sampler_calls.append(arguments[1])
        return original_sampler(*arguments, **keywords)

    monkeypatch.setattr(BPR, "_step", recording_step)
    monkeypatch.setattr(module, "sample_negative_indices", recording_sampler)
    model = BPR(factors=4, epochs=3, batch_size=50).fit(ratings)
    # The negatives come from the data layer's sampler, one call per epoch for all triples.
    assert [len(users) for users in sampler_calls] == [len(ratings)] * 3
    users, positives, negatives = (np.concatenate(column) for column in zip(*seen, strict=True))
    interactions = model.user_items_.toarray().astype(bool)
    assert len(users) == 3 * len(ratings)  # Every interaction, once per epoch.
    assert interactions[users, positives].all()
    assert not interactions[users, negatives].any()


# ----------------------------------------------------------------------- every iterative model

ITERATIVE = [
    (BiasedMF, dict(factors=4, epochs=3)),
    (ALS, dict(factors=4, iterations=3)),
    (ImplicitALS, dict(factors=4, iterations=3)),
    (BPR, dict(factors=4, epochs=3)),
]


@pytest.mark.parametrize(("model_class", "parameters"), ITERATIVE,
                         ids=lambda value: getattr(value, "__name__", ""))
def test_same_seed_same_factors_other_seed_other_factors(model_class, parameters):
    ratings = make_ratings(seed=11)
    first = model_class(random_state=1, **parameters).fit(ratings)
    again = model_class(random_state=1, **parameters).fit(ratings)
    other = model_class(random_state=2, **parameters).fit(ratings)
    for name in ("user_factors_", "item_factors_"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
        assert not np.allclose(getattr(first, name), getattr(other, name))


@pytest.mark.parametrize(("model_class", "parameters"), ITERATIVE,
                         ids=lambda value: getattr(value, "__name__", ""))
def test_progress_bar_on_stderr_only_when_verbose(model_class, parameters, capsys):
    ratings = make_ratings(seed=12)
    model_class(verbose=False, **parameters).fit(ratings)
    quiet = capsys.readouterr()
    assert quiet.out == "" and quiet.err == ""
    model_class(verbose=True, **parameters).fit(ratings)
    shown = capsys.readouterr()
    assert shown.out == ""
    assert model_class.__name__ in shown.err and "3/3" in shown.err


BAD_PARAMETERS = [
    (PureSVD, dict(factors=0), "factors must be a positive integer"),
    (BiasedMF, dict(factors=-1), "factors must be a positive integer"),
    (BiasedMF, dict(learning_rate=0), "learning_rate must be a finite number > 0"),
    (BiasedMF, dict(regularization=-0.1), "regularization must be a finite number >= 0"),
    (BiasedMF, dict(epochs=0), "epochs must be a positive integer"),
    (BiasedMF, dict(batch_size=0), "batch_size must be a positive integer"),
    (BiasedMF, dict(validation_fraction=1.0), "validation_fraction must be in"),
    (ALS, dict(factors=0), "factors must be a positive integer"),
    (ALS, dict(regularization=-1), "regularization must be a finite number > 0"),
    (ALS, dict(iterations=0), "iterations must be a positive integer"),
    (ImplicitALS, dict(factors=2.5), "factors must be a positive integer"),
    (ImplicitALS, dict(regularization=-1), "regularization must be a finite number > 0"),
    (ImplicitALS, dict(alpha=-1), "alpha must be a finite number >= 0"),
    (ImplicitALS, dict(iterations=-3), "iterations must be a positive integer"),
    (BPR, dict(factors=0), "factors must be a positive integer"),
    (BPR, dict(learning_rate=-0.01), "learning_rate must be a finite number > 0"),
    (BPR, dict(regularization=-0.01), "regularization must be a finite number >= 0"),
    (BPR, dict(epochs=0), "epochs must be a positive integer"),
    (BPR, dict(learning_rate="fast"), "learning_rate must be a finite number > 0"),
    # Infinity passes "> 0" but turns the solves and steps into NaN.
    (ALS, dict(regularization=math.inf), "regularization must be a finite number > 0"),
    (ImplicitALS, dict(alpha=math.inf), "alpha must be a finite number >= 0"),
    (BiasedMF, dict(learning_rate=math.inf), "learning_rate must be a finite number > 0"),
]


@pytest.mark.parametrize(("model_class", "parameters", "message"), BAD_PARAMETERS,
                         ids=[f"{cls.__name__}-{next(iter(p))}" for cls, p, _ in BAD_PARAMETERS])
def test_bad_parameters_raise_in_fit(model_class, parameters, message):
    model = model_class(**parameters)  # __init__ only stores them.
    assert model.get_params()[next(iter(parameters))] == next(iter(parameters.values()))
    with pytest.raises(ValueError, match=message):
        model.fit(make_ratings(seed=13))


# ----------------------------------------------------------------------- MovieLens 100K


@pytest.fixture(scope="module")
def standard_split(movielens):
    return stratified_split(movielens.ratings, test_size=0.25, seed=0)


def test_pure_svd_on_movielens(standard_split):
    train, test = standard_split
    # The defaults reach 0.454 on this split (the benchmark record).
    assert evaluate_ranking(PureSVD().fit(train), train, test, k=10)["ndcg@10"] >= 0.445


def test_implicit_als_on_movielens(standard_split):
    train, test = standard_split
    # The defaults reach 0.485 on this split (0.483 to 0.491 over split seeds 0-4).
    assert evaluate_ranking(ImplicitALS().fit(train), train, test, k=10)["ndcg@10"] >= 0.48


def test_bpr_on_movielens(standard_split):
    train, test = standard_split
    # The defaults reach 0.443 on this split (the benchmark record).
    assert evaluate_ranking(BPR().fit(train), train, test, k=10)["ndcg@10"] >= 0.435


def test_biased_mf_rmse_on_one_fold_of_movielens(movielens):
    ratings = movielens.ratings
    # The first of five folds over shuffled ratings (seed 0).
    is_test = np.zeros(len(ratings), dtype=bool)
    is_test[np.array_split(np.random.default_rng(0).permutation(len(ratings)), 5)[0]] = True
    model = BiasedMF().fit(ratings[~is_test])
    assert evaluate_rating(model, ratings[is_test])["rmse"] <= 0.93


@pytest.mark.parametrize("bad_rating", [-8.0, np.inf])
def test_implicit_als_refuses_strengths_that_make_a_confidence_negative(bad_rating):
    ratings = make_ratings()
    ratings.loc[0, "rating"] = bad_rating
    # An infinite rating is refused by the shared input check, a negative one by ImplicitALS.
    with pytest.raises(ValueError, match="finite"):
        ImplicitALS(iterations=1).fit(ratings)


def test_pure_svd_with_as_many_factors_as_the_smaller_side():
    # min(users, items) = 12 is where svds stops working; the full SVD gives R V Vᵀ = R.
    ratings = make_ratings(num_users=12, num_items=15, density=0.4, seed=1)
    model = PureSVD(factors=12).fit(ratings)
    np.testing.assert_allclose(
        model.score(*all_pairs(model)), dense_matrix(model, ratings).ravel(), atol=1e-10
    )


def test_als_item_factors_solve_the_last_half_step_against_the_bias_residuals():
    # The last half-step is over the items: q_i = (P_iᵀP_i + λ n_i I)⁻¹ P_iᵀ r̃_i, with P_i the
    # factors of i's raters and r̃ = r − μ − b_u − b_i the residual of BiasBaseline's biases.
    ratings = make_ratings(num_users=20, num_items=25, density=0.4, seed=4)
    model = ALS(factors=3, regularization=0.1, iterations=3).fit(ratings)
    baseline = BiasBaseline().fit(ratings)
    assert model.global_mean_ == pytest.approx(baseline.global_mean_)
    np.testing.assert_allclose(model.user_bias_, baseline.user_bias_)
    np.testing.assert_allclose(model.item_bias_, baseline.item_bias_)
    users = model.user_map_.to_index(ratings["user_id"].to_numpy())
    items = model.item_map_.to_index(ratings["item_id"].to_numpy())
    residual = (ratings["rating"].to_numpy() - model.global_mean_ - model.user_bias_[users]
                - model.item_bias_[items])
    for item in range(len(model.item_map_)):
        rated = items == item
        raters = model.user_factors_[users[rated]]
        expected = np.linalg.solve(raters.T @ raters + 0.1 * rated.sum() * np.eye(3),
                                   raters.T @ residual[rated])
        np.testing.assert_allclose(model.item_factors_[item], expected, atol=1e-10)


@pytest.mark.parametrize("model_class", [ALS, BiasedMF])
def test_ranking_scores_of_rating_models_are_their_clipped_predictions(model_class):
    ratings = make_ratings(seed=6)
    model = model_class(factors=3).fit(ratings)
    # A large user bias pushes every prediction of that user above the rating scale.
    model.user_bias_[0] += 10
    user = model.user_map_.ids[0]
    listed = model.recommend([user], k=5, exclude_seen=False)
    np.testing.assert_allclose(listed["score"],
                               model.predict(np.full(5, user), listed["item_id"]))
    assert listed["score"].max() <= ratings["rating"].max()


@pytest.mark.parametrize("side", ["item", "user"])
def test_biased_mf_gives_ids_whose_ratings_were_all_held_out_no_random_factors(side):
    # A new item (or user) 9999 has one rating. When validation takes it, the id gets no
    # gradient (its bias stays exactly 0), and its factors must be 0 too, not the random
    # start: a bias-only prediction μ + b_u (or μ + b_i).
    ratings = make_ratings(seed=8)
    partner_side = "user" if side == "item" else "item"
    partner = ratings[f"{partner_side}_id"].iloc[0]
    ratings = pd.concat([ratings, pd.DataFrame({f"{side}_id": [9999],
                                                f"{partner_side}_id": [partner],
                                                "rating": [5.0], "timestamp": [0]})],
                        ignore_index=True)
    other = ratings[f"{partner_side}_id"].iloc[1]
    held_out_seeds = 0
    for seed in range(20):
        model = BiasedMF(factors=4, epochs=2, validation_fraction=0.3,
                         random_state=seed).fit(ratings)
        index = getattr(model, f"{side}_map_").to_index([9999])[0]
        factors = getattr(model, f"{side}_factors_")[index]
        if getattr(model, f"{side}_bias_")[index] == 0.0:
            held_out_seeds += 1
            np.testing.assert_array_equal(factors, 0.0)
            other_index = getattr(model, f"{partner_side}_map_").to_index([other])[0]
            other_bias = getattr(model, f"{partner_side}_bias_")[other_index]
            expected = np.clip(model.global_mean_ + other_bias, *model.rating_range_)
            pair = ([other], [9999]) if side == "item" else ([9999], [other])
            assert model.predict(*pair)[0] == pytest.approx(expected)
        else:
            assert np.abs(factors).sum() > 0
    # With 30 % held out, about 6 of the 20 seeds hold the id's rating out.
    assert 2 <= held_out_seeds <= 14


def test_implicit_als_accepts_a_zero_strength():
    # Strengths must be >= 0; a 0 gives confidence c_ui = 1 + α · 0 = 1, which is allowed.
    ratings = make_ratings(num_users=10, num_items=12, seed=3)
    ratings.loc[0, "rating"] = 0.0
    model = ImplicitALS(factors=2, iterations=1).fit(ratings)
    assert np.isfinite(model.user_factors_).all()


def test_bpr_step_by_hand():
    # One triple (u, i, j) = (0, 0, 1), η = 0.1, λ = 0.5, p_u = (1, 0), q_i = (0.5, 0),
    # q_j = (0.2, 0.4), b = (0.2, −0.1): x̂_uij = 0.2 + 0.1 + (1, 0)·(0.3, −0.4) = 0.6 and
    # g = σ(−0.6). Each parameter θ moves by η(g ∂x̂/∂θ − λθ).
    model = BPR()
    model.user_factors_ = np.array([[1.0, 0.0]])
    model.item_factors_ = np.array([[0.5, 0.0], [0.2, 0.4]])
    model.item_bias_ = np.array([0.2, -0.1])
    loss = model._step(np.array([0]), np.array([0]), np.array([1]), 0.1, 0.5)
    g = 1 / (1 + math.exp(0.6))
    assert loss == pytest.approx(math.log(1 + math.exp(-0.6)))
    np.testing.assert_allclose(model.user_factors_[0],
                               [1 + 0.1 * (0.3 * g - 0.5), 0.1 * (-0.4 * g)])
    np.testing.assert_allclose(model.item_factors_[0], [0.5 + 0.1 * (g - 0.25), 0.0])
    np.testing.assert_allclose(model.item_factors_[1], [0.2 + 0.1 * (-g - 0.1), 0.4 - 0.1 * 0.2])
    np.testing.assert_allclose(model.item_bias_,
                               [0.2 + 0.1 * (g - 0.1), -0.1 + 0.1 * (-g + 0.05)])


def test_bpr_shuffles_with_its_seed(monkeypatch):
    # Two seeds visit the same (user, positive) pairs in another order.
    orders = []
    original_step = BPR._step

    def recording_step(self, users, positives, *rest):
        orders[-1].append(np.stack([users, positives]))
        return original_step(self, users, positives, *rest)

    monkeypatch.setattr(BPR, "_step", recording_step)
    ratings = make_ratings(seed=5)
    for seed in (1, 2):
        orders.append([])
        BPR(factors=2, epochs=1, batch_size=10_000, random_state=seed).fit(ratings)
    first, second = (np.concatenate(order, axis=1) for order in orders)
    assert sorted(map(tuple, first.T)) == sorted(map(tuple, second.T))
    assert not np.array_equal(first, second)


def test_check_non_negative_refuses_nan_even_when_infinity_is_allowed():
    # The privacy module allows infinity (finite=False) for clip_norm and the like; NaN is
    # still no number >= 0.
    assert check_non_negative(math.inf, "clip_norm", finite=False) == math.inf
    with pytest.raises(ValueError, match="clip_norm must be a number >= 0"):
        check_non_negative(float("nan"), "clip_norm", finite=False)
