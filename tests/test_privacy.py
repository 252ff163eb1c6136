import math

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from recsys_lessons.data import UnknownIdError, stratified_split
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models import NotFittedError, Popularity
from recsys_lessons.privacy import (
    DPMatrixFactorization,
    DPPopularity,
    _Adam,
    attribute_inference_auc,
    attribute_inference_auc_from_features,
    attribute_labels,
    clip_interactions_per_user,
    clip_rows,
    clip_scale,
    dp_sgd_epsilon,
    gaussian_mechanism_epsilon,
    gaussian_noise_multiplier,
    gaussian_popularity_noise,
    laplace_popularity,
    laplace_scale,
    noise_multiplier_for_epsilon,
    privacy_utility_curve,
    sampled_gaussian_rdp,
    user_factor_features,
    user_gradient_norms,
)
from tests.conftest import make_ratings

# ======================================================================= the attack


def planted_users(num_users=200, seed=0):
    """Users table and interactions where women mostly watch items 0–9, men items 10–19."""
    rng = np.random.default_rng(seed)
    gender = np.where(rng.random(num_users) < 0.4, "F", "M")
    rows = []
    for user, label in enumerate(gender):
        favourites = np.arange(10) if label == "F" else np.arange(10, 20)
        items = np.concatenate([rng.choice(favourites, 4, replace=False),
                                rng.choice(np.arange(20, 40), 3, replace=False)])
        rows += [(user, item) for item in items]
    users = pd.DataFrame({"user_id": np.arange(num_users), "gender": gender,
                          "age": rng.integers(15, 70, num_users)})
    return pd.DataFrame(rows, columns=["user_id", "item_id"]), users


def test_attribute_labels_by_value_by_function_and_missing():
    users = pd.DataFrame({"user_id": [1, 2, 3], "gender": ["F", "M", None], "age": [20, 40, 60]})
    np.testing.assert_array_equal(attribute_labels(users, [2, 1, 3, 9]), [0, 1, np.nan, np.nan])
    np.testing.assert_array_equal(
        attribute_labels(users, [1, 2, 3], "age", lambda age: age < 30), [1, 0, 0]
    )
    with pytest.raises(ValueError, match="no column 'income'"):
        attribute_labels(users, [1], "income")
    # A value no user has is a typo, and a function must say yes or no for each user.
    with pytest.raises(ValueError, match=r"No user with a known gender matches positive='f'.*"
                                         r"\['F', 'M'\]"):
        attribute_labels(users, [1, 2, 3], positive="f")
    with pytest.raises(ValueError, match=r"Every user with a known age matches"):
        attribute_labels(users, [1, 2, 3], "age", lambda age: age < 100)
    with pytest.raises(ValueError, match=r"True or False for each user.*gave \[0, 1, 2\]"):
        attribute_labels(users, [1, 2, 3], "age", lambda age: age // 20 - 1)
    # A nullable column answers NA for a missing age; that user is left out (NaN).
    nullable = users.assign(age=pd.array([20, None, 60], dtype="Int64"))
    np.testing.assert_array_equal(
        attribute_labels(nullable, [1, 2, 3], "age", lambda age: age < 30), [1, np.nan, 0])


def test_attack_finds_a_planted_attribute():
    interactions, users = planted_users()
    result = attribute_inference_auc(interactions, users, repeats=2)
    assert result.auc > 0.95
    assert result.num_users == 200
    assert len(result.fold_aucs) == 10
    assert 0.3 < result.positive_share < 0.5
    assert "auc=" in repr(result)


def test_attack_on_unrelated_attribute_is_near_chance():
    interactions, users = planted_users()
    result = attribute_inference_auc(interactions, users, "age", lambda age: age < 40, repeats=2)
    assert abs(result.auc - 0.5) < 0.1


def test_attack_on_ratings_sees_what_the_binary_matrix_hides():
    # Every user rates the same three films, so the binary rows are identical and tell
    # nothing (every score ties: AUC 0.5); the ratings of film 1 give the gender away.
    users = pd.DataFrame({"user_id": range(40), "gender": ["F", "M"] * 20})
    interactions = pd.DataFrame({
        "user_id": np.repeat(np.arange(40), 3),
        "item_id": np.tile([1, 2, 3], 40),
        "rating": [rating for gender in users["gender"]
                   for rating in ((5, 3, 3) if gender == "F" else (1, 3, 3))],
    })
    binary = attribute_inference_auc(interactions, users, values="binary", repeats=1)
    ratings = attribute_inference_auc(interactions, users, values="rating", repeats=1)
    assert binary.auc == 0.5 and ratings.auc == 1.0


def test_attack_from_features_perfect_and_chance():
    rng = np.random.default_rng(0)
    labels = (rng.random(300) < 0.3).astype(float)
    separable = np.column_stack([labels + 0.01 * rng.normal(size=300), rng.normal(size=300)])
    assert attribute_inference_auc_from_features(separable, labels, repeats=1).auc == 1.0
    noise = rng.normal(size=(300, 5))
    assert abs(attribute_inference_auc_from_features(noise, labels, repeats=2).auc - 0.5) < 0.1


def test_attack_from_features_matches_pandas_rows_by_user_id():
    rng = np.random.default_rng(0)
    users = np.arange(1, 301)
    labels = pd.Series((rng.random(300) < 0.3).astype(float), index=users)
    features = pd.DataFrame({"f": labels.to_numpy() + 0.01 * rng.normal(size=300)}, index=users)
    aligned = attribute_inference_auc_from_features(features, labels, repeats=1).auc
    shuffled = labels.sample(frac=1, random_state=0)  # The same users, in another order.
    assert aligned == 1.0
    assert attribute_inference_auc_from_features(features, shuffled, repeats=1).auc == aligned
    with pytest.raises(ValueError, match="indexed by different users"):
        attribute_inference_auc_from_features(features, labels.iloc[:-1], repeats=1)


def test_attack_is_seeded_and_skips_unknown_labels():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(100, 3))
    labels = (features[:, 0] + rng.normal(size=100) > 0).astype(float)
    first = attribute_inference_auc_from_features(features, labels, seed=3, repeats=1)
    np.testing.assert_array_equal(
        first.fold_aucs,
        attribute_inference_auc_from_features(features, labels, seed=3, repeats=1).fold_aucs,
    )
    with_unknown = np.append(labels, np.nan)
    result = attribute_inference_auc_from_features(
        np.vstack([features, [[0, 0, 0]]]), with_unknown, seed=3, repeats=1
    )
    assert result.num_users == 100 and result.auc == first.auc


def test_attack_bad_input():
    features, labels = np.zeros((20, 2)), np.array([0, 1] * 10, dtype=float)
    with pytest.raises(ValueError, match="one row per label"):
        attribute_inference_auc_from_features(features, labels[:5])
    with pytest.raises(ValueError, match="labels must be 0, 1 or NaN"):
        attribute_inference_auc_from_features(features, labels * 2)
    with pytest.raises(ValueError, match="NaN or infinite"):
        attribute_inference_auc_from_features(np.full((20, 2), np.nan), labels)
    with pytest.raises(ValueError, match="folds must be at least 2"):
        attribute_inference_auc_from_features(features, labels, folds=1)
    rare_at_the_bound = np.zeros(20)
    rare_at_the_bound[:4] = 1  # Four of the rarer class cannot fill five folds.
    with pytest.raises(ValueError, match="rarer class has only 4"):
        attribute_inference_auc_from_features(features, rare_at_the_bound, folds=5)
    rare = np.zeros(20)
    rare[:3] = 1
    with pytest.raises(ValueError, match="rarer class has only 3"):
        attribute_inference_auc_from_features(features, rare, folds=5)
    interactions, users = planted_users(20)
    with pytest.raises(ValueError, match="values must be 'binary' or 'rating'"):
        attribute_inference_auc(interactions, users, values="counts")
    with pytest.raises(ValueError, match="same user ids"):
        attribute_inference_auc(interactions, users.assign(user_id=users["user_id"] + 1000))


def test_gender_is_predictable_from_movielens_ratings(movielens):
    result = attribute_inference_auc(movielens.ratings, movielens.users, repeats=1)
    assert result.auc > 0.6


def test_dp_user_factors_hide_gender(movielens):
    train, _ = stratified_split(movielens.ratings, 0.25, seed=0)

    def attack(model):
        features = user_factor_features(model.fit(train))
        labels = attribute_labels(movielens.users, features.index)
        return attribute_inference_auc_from_features(features, labels, repeats=2).auc

    # A model with room to learn (the defaults keep one factor, which leaks little anyway):
    # clipping alone (ε = ∞) leaves its factors informative; DP noise at ε = 1 does not.
    settings = {"factors": 16, "learning_rate": 0.03, "positive_weight": 5.0}
    clipped_only = attack(DPMatrixFactorization(epsilon=np.inf, **settings))
    private = attack(DPMatrixFactorization(epsilon=1.0, **settings))
    assert clipped_only > 0.6
    assert private < clipped_only - 0.08


def test_user_factor_features_needs_factors():
    ratings = make_ratings()
    with pytest.raises(ValueError, match="no user_factors_"):
        user_factor_features(Popularity().fit(ratings))
    features = user_factor_features(DPMatrixFactorization(factors=3, epochs=1).fit(ratings))
    assert features.shape == (ratings["user_id"].nunique(), 3)
    assert features.index.name == "user_id"


# ======================================================================= Laplace counts


def test_laplace_scale_is_sensitivity_over_epsilon():
    assert laplace_scale(50, 1.0) == 50
    assert laplace_scale(50, 0.5) == 100
    assert laplace_scale(1, 4.0) == 0.25
    assert laplace_scale(50, np.inf) == 0


@pytest.mark.parametrize("epsilon", [0, -1, "1", True, np.nan])
def test_bad_epsilon(epsilon):
    with pytest.raises(ValueError, match="epsilon must be a number > 0"):
        laplace_scale(1, epsilon)


def test_clipping_keeps_at_most_max_items_of_each_user():
    ratings = make_ratings(num_users=30, num_items=40, density=0.3)
    clipped = clip_interactions_per_user(ratings, 5, seed=1)
    sizes = ratings.groupby("user_id").size()
    kept = clipped.groupby("user_id").size()
    pd.testing.assert_series_equal(kept, np.minimum(sizes, 5))
    assert clipped.index.isin(ratings.index).all()  # A subset of the original rows.
    pd.testing.assert_frame_equal(clipped, clip_interactions_per_user(ratings, 5, seed=1))
    assert not clipped.equals(clip_interactions_per_user(ratings, 5, seed=2))


def test_removing_a_user_changes_the_counts_by_at_most_the_sensitivity():
    ratings = make_ratings(num_users=30, num_items=40, density=0.3)
    delta = 6

    def counts(frame):
        kept = clip_interactions_per_user(frame, delta, seed=0)
        return kept["item_id"].value_counts().reindex(ratings["item_id"].unique(), fill_value=0)

    everyone = counts(ratings)
    for user, own_rows in ratings.groupby("user_id"):
        without = counts(ratings[ratings["user_id"] != user])
        # Other users keep exactly the same rows, so only the user's own kept rows go.
        assert (everyone - without).abs().sum() == min(len(own_rows), delta)


def test_clipping_bad_input():
    ratings = make_ratings()
    with pytest.raises(ValueError, match="max_items_per_user must be a positive integer"):
        clip_interactions_per_user(ratings, 0)
    for seed in (-1, 1.5, None):
        with pytest.raises(ValueError, match=r"seed must be a whole number >= 0"):
            clip_interactions_per_user(ratings, 5, seed=seed)
    with pytest.raises(ValueError, match=r"seed must be below 2\*\*64"):
        clip_interactions_per_user(ratings, 5, seed=2**64)
    # The largest seed that fits in 64 bits works.
    assert len(clip_interactions_per_user(ratings, 5, seed=2**64 - 1)) > 0


def test_laplace_popularity_without_noise_is_the_count():
    ratings = make_ratings()
    exact = laplace_popularity(ratings, np.inf, max_items_per_user=10_000)
    pd.testing.assert_series_equal(
        exact, ratings["item_id"].value_counts().sort_index().astype(float),
        check_names=False,
    )
    assert exact.name == "noisy_count" and exact.index.name == "item_id"


def test_a_public_catalogue_hides_which_items_the_data_holds():
    ratings = make_ratings(num_users=20, num_items=15, seed=3)
    # Item 99 is rated by one user only: without a catalogue it is released with that user
    # and missing without them, whatever ε is.
    lone_user = ratings["user_id"].iloc[0]
    with_lone = pd.concat([ratings, pd.DataFrame({"user_id": [lone_user], "item_id": [99],
                                                  "rating": [4.0]})], ignore_index=True)
    without_lone = with_lone[with_lone["user_id"] != lone_user]
    assert 99 in laplace_popularity(with_lone, 1.0).index
    assert 99 not in laplace_popularity(without_lone, 1.0).index
    # The public list: item 99, the 15 rated items 1000–1014 and five that nobody rated.
    catalogue = np.array([99, *range(1000, 1020)])
    released = [laplace_popularity(data, 1.0, catalogue=catalogue)
                for data in (with_lone, without_lone)]
    for counts in released:
        assert counts.index.tolist() == catalogue.tolist()
    # Without noise, an item nobody rated counts 0 and the others count their users.
    exact = laplace_popularity(with_lone, np.inf, max_items_per_user=10_000, catalogue=catalogue)
    expected = with_lone["item_id"].value_counts().reindex(catalogue, fill_value=0)
    np.testing.assert_array_equal(exact.to_numpy(), expected.to_numpy(dtype=float))
    # The models cover the catalogue too, and can recommend an item nobody rated.
    popularity = DPPopularity(epsilon=np.inf, max_items_per_user=10_000,
                              catalogue=catalogue).fit(without_lone)
    np.testing.assert_array_equal(popularity.item_map_.ids, catalogue)
    assert {1015, 1019} <= set(popularity.recommend([lone_user], k=21)["item_id"])
    factorisation = DPMatrixFactorization(epsilon=5.0, factors=2, epochs=2,
                                          catalogue=catalogue).fit(without_lone)
    assert factorisation.item_factors_.shape == (21, 2)
    assert repr(popularity).endswith("catalogue=<ndarray of 21 items>)")
    # A catalogue that misses a rated item is not the list of every item.
    with pytest.raises(ValueError, match=r"1 item_id\(s\) of the interactions are not in the "
                                         r"catalogue, e.g. \[99\]"):
        DPPopularity(catalogue=catalogue[1:]).fit(with_lone)
    with pytest.raises(ValueError, match="not in the catalogue"):
        laplace_popularity(with_lone, 1.0, catalogue=catalogue[1:])
    # Ids of another type are named as such; an IdMap of the catalogue works like its ids.
    with pytest.raises(TypeError, match=r"catalogue's ids and the interactions' item_id are of "
                                        r"different types.*astype\(str\)"):
        laplace_popularity(with_lone, 1.0, catalogue=catalogue.astype(str))
    from recsys_lessons.data import IdMap

    pd.testing.assert_series_equal(
        laplace_popularity(with_lone, 1.0, catalogue=IdMap(catalogue)), released[0])
    # Whole numbers stored as floats are the integer ids they stand for.
    pd.testing.assert_series_equal(
        laplace_popularity(with_lone, 1.0, catalogue=catalogue.astype(float)), released[0])
    from_floats = DPPopularity(epsilon=np.inf, max_items_per_user=10_000,
                               catalogue=pd.Series(catalogue, dtype=float)).fit(without_lone)
    assert from_floats.recommend([lone_user], k=3)["item_id"].dtype == without_lone[
        "item_id"].dtype


def test_laplace_noise_has_the_right_spread_and_grows_as_epsilon_shrinks():
    ratings = make_ratings(num_users=30, num_items=40)

    def residual_spread(epsilon, max_items_per_user):
        # The clipping draws from the seed too, so the exact counts come from the same seed.
        residuals = np.concatenate([
            laplace_popularity(ratings, epsilon, max_items_per_user, seed=seed)
            - laplace_popularity(ratings, np.inf, max_items_per_user, seed=seed)
            for seed in range(50)
        ])
        return residuals.std()

    # Laplace(b) has standard deviation √2·b, with b = Δ/ε.
    assert residual_spread(2.0, 8) == pytest.approx(math.sqrt(2) * 4, rel=0.1)
    assert residual_spread(0.5, 8) == pytest.approx(math.sqrt(2) * 16, rel=0.1)
    # A scale below 1 (b = 1/4) is still noise, not rounding.
    assert residual_spread(4.0, 1) == pytest.approx(math.sqrt(2) / 4, rel=0.1)


def test_dp_popularity_noise_and_exact_limit():
    ratings = make_ratings()
    model = DPPopularity(epsilon=0.5, max_items_per_user=10).fit(ratings)
    assert model.noise_scale_ == 20
    exact = DPPopularity(epsilon=np.inf, max_items_per_user=10_000).fit(ratings)
    np.testing.assert_array_equal(exact.item_counts_, Popularity().fit(ratings).item_counts_)
    gaussian = DPPopularity(epsilon=1.0, max_items_per_user=9, delta=1e-5).fit(ratings)
    assert gaussian.noise_scale_ == pytest.approx(3 * gaussian_noise_multiplier(1.0, 1e-5))
    other_seed = DPPopularity(epsilon=0.5, max_items_per_user=10, random_state=1).fit(ratings)
    assert not np.array_equal(model.item_counts_, other_seed.item_counts_)


def test_gaussian_popularity_counts_get_the_noise_they_report():
    # σ = √Δ · σ(ε = 1, δ = 1e-5) = 3 × 3.73063, the analytic Gaussian mechanism's multiplier
    # (Balle & Wang 2018), found by root-finding outside the package.
    ratings = make_ratings(num_users=30, num_items=40)
    residuals = np.concatenate([
        DPPopularity(epsilon=1.0, max_items_per_user=9, delta=1e-5, random_state=seed)
        .fit(ratings).item_counts_
        - DPPopularity(epsilon=np.inf, max_items_per_user=9, random_state=seed)
        .fit(ratings).item_counts_
        for seed in range(50)
    ])
    assert residuals.std() == pytest.approx(3 * 3.73063, rel=0.1)


def test_gaussian_popularity_noise_uses_the_l2_sensitivity():
    assert gaussian_popularity_noise(1.0, 1e-5, 50) == pytest.approx(
        gaussian_noise_multiplier(1.0, 1e-5) * math.sqrt(50)
    )
    assert gaussian_popularity_noise(np.inf, 1e-5, 50) == 0


def test_dp_popularity_bad_parameters():
    ratings = make_ratings()
    with pytest.raises(ValueError, match="epsilon"):
        DPPopularity(epsilon=0).fit(ratings)
    with pytest.raises(ValueError, match="max_items_per_user"):
        DPPopularity(max_items_per_user=-3).fit(ratings)
    with pytest.raises(ValueError, match="delta must be below 1"):
        DPPopularity(delta=1.5).fit(ratings)


# ======================================================================= the accountant


def test_rdp_reference_values_of_tensorflow_privacy():
    # tensorflow_privacy's rdp_accountant_test: compute_rdp(q, σ, steps, orders).
    assert 10 * sampled_gaussian_rdp(2, 0.1, [5])[0] == pytest.approx(0.07737, abs=5e-6)
    np.testing.assert_allclose(
        50 * sampled_gaussian_rdp(2.5, 0.01, [5, 50, 100]),
        [0.00218075, 0.023846, 167.416307], rtol=1e-5,
    )


def test_rdp_limits():
    # No sampling: the Gaussian mechanism's α/(2σ²). No data: 0. No noise: no privacy.
    np.testing.assert_allclose(sampled_gaussian_rdp(10, 1.0, [2, 20]), [0.01, 0.1])
    np.testing.assert_array_equal(sampled_gaussian_rdp(1, 0.0, [2, 3]), [0, 0])
    assert np.isinf(sampled_gaussian_rdp(0, 0.5, [2])).all()


@pytest.mark.parametrize(("sigma", "q", "alpha"), [(1.0, 0.05, 4), (0.8, 0.2, 3), (3.0, 0.5, 7)])
def test_rdp_matches_numerical_integration(sigma, q, alpha):
    # A_α = E_{z ~ N(0, σ²)} [((1 − q) + q · N(z; 1, σ²) / N(z; 0, σ²))^α], integrated
    # numerically (in log space inside, so nothing overflows in the far tails).
    def integrand(z):
        log_ratio = (2 * z - 1) / (2 * sigma**2)
        log_mixture = np.logaddexp(np.log1p(-q), np.log(q) + log_ratio)
        return np.exp(norm.logpdf(z, scale=sigma) + alpha * log_mixture)

    a_alpha, _ = quad(integrand, -40 * sigma, 40 * sigma + alpha, limit=200, points=[0, 1])
    expected = np.log(a_alpha) / (alpha - 1)
    assert sampled_gaussian_rdp(sigma, q, [alpha])[0] == pytest.approx(expected, rel=1e-6)


def test_dp_sgd_epsilon_reference_value():
    # Abadi et al. 2016: σ = 4, q = 0.01, 10,000 steps, δ = 10⁻⁵ gives ε ≈ 1.26;
    # tensorflow_privacy's test pins 1.258575 (orders 2..32, best order 20).
    assert dp_sgd_epsilon(4, 0.01, 10_000, 1e-5, orders=range(2, 33)) == pytest.approx(
        1.258575, abs=5e-7
    )
    assert dp_sgd_epsilon(4, 0.01, 10_000, 1e-5) <= 1.258576  # More orders never hurt.


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0, 5.0])
def test_accountant_is_an_upper_bound_of_the_exact_gaussian_epsilon(sigma):
    exact = gaussian_mechanism_epsilon(sigma, 1e-5)
    bound = dp_sgd_epsilon(sigma, 1.0, 1, 1e-5)
    assert exact <= bound < 1.5 * exact + 0.5


def test_exact_gaussian_mechanism_reference_values():
    # Balle & Wang 2018: ε = 1, δ = 10⁻⁵ needs σ ≈ 3.73 (the classical bound asks for 4.84).
    assert gaussian_noise_multiplier(1.0, 1e-5) == pytest.approx(3.7306, abs=1e-3)
    classical = math.sqrt(2 * math.log(1.25 / 1e-5)) / 0.5
    assert gaussian_mechanism_epsilon(classical, 1e-5) < 0.5
    for epsilon in (0.1, 1.0, 8.0):
        sigma = gaussian_noise_multiplier(epsilon, 1e-6)
        assert gaussian_mechanism_epsilon(sigma, 1e-6) == pytest.approx(epsilon, rel=1e-3)


def test_epsilon_grows_with_steps_and_sampling_and_shrinks_with_noise():
    base = dp_sgd_epsilon(1.0, 0.05, 100, 1e-5)
    assert dp_sgd_epsilon(1.0, 0.05, 200, 1e-5) > base
    assert dp_sgd_epsilon(1.0, 0.10, 100, 1e-5) > base
    assert dp_sgd_epsilon(2.0, 0.05, 100, 1e-5) < base
    assert dp_sgd_epsilon(1.0, 0.05, 0, 1e-5) == 0
    assert dp_sgd_epsilon(0.0, 0.05, 10, 1e-5) == np.inf


def test_noise_multiplier_for_epsilon_inverts_the_accountant():
    sigma = noise_multiplier_for_epsilon(2.0, 0.1, 500, 1e-5)
    assert dp_sgd_epsilon(sigma, 0.1, 500, 1e-5) <= 2.0
    assert dp_sgd_epsilon(sigma / 1.002, 0.1, 500, 1e-5) > 2.0
    # A smaller budget needs more noise; no budget limit needs none.
    assert noise_multiplier_for_epsilon(0.5, 0.1, 500, 1e-5) > sigma
    assert noise_multiplier_for_epsilon(np.inf, 0.1, 500, 1e-5) == 0


def test_an_epsilon_below_the_accountants_floor_names_the_way_out():
    # As σ grows every order's RDP falls to 0, leaving log(1/δ)/(α_max − 1): 0.1084 for orders
    # up to 256 and δ = 1e-12, so ε = 0.1 cannot be certified however much noise is added.
    with pytest.raises(ValueError, match=r"cannot certify an ε below about 0.1084.*more orders"):
        noise_multiplier_for_epsilon(0.1, 0.27, 74, 1e-12)
    sigma = noise_multiplier_for_epsilon(0.1, 0.27, 74, 1e-12, orders=range(2, 2001))
    assert dp_sgd_epsilon(sigma, 0.27, 74, 1e-12, orders=range(2, 2001)) <= 0.1


def test_a_model_whose_epsilon_is_below_the_floor_gives_advice_it_can_follow(train):
    # The accountant's own advice, more orders, is not a parameter of the model.
    with pytest.raises(ValueError, match=r"cannot certify epsilon=0.03 with delta=1e-05: its "
                                         r"accountant's floor is about 0.0451.*larger epsilon"):
        DPMatrixFactorization(epsilon=0.03).fit(train)


def test_a_secret_seed_gives_a_fresh_draw_of_noise():
    # A known seed lets anyone subtract the noise; None draws it from the operating system.
    ratings = make_ratings()
    assert laplace_popularity(ratings, 1.0, seed=0).equals(laplace_popularity(ratings, 1.0, seed=0))
    assert not laplace_popularity(ratings, 1.0, seed=None).equals(
        laplace_popularity(ratings, 1.0, seed=None))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: dp_sgd_epsilon(1, 0.1, 10, 1.0), "delta must be below 1"),
        (lambda: dp_sgd_epsilon(1, 1.5, 10, 1e-5), "sampling_rate must be a number in"),
        (lambda: dp_sgd_epsilon(-1, 0.1, 10, 1e-5), "noise_multiplier must be a number >= 0"),
        (lambda: sampled_gaussian_rdp(1, 0.1, [1.5]), "orders must be integers >= 2"),
        (lambda: noise_multiplier_for_epsilon(0, 0.1, 10, 1e-5), "epsilon must be"),
        (lambda: gaussian_mechanism_epsilon(0, 1e-5), "noise_multiplier must be a number > 0"),
    ],
)
def test_accountant_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ======================================================================= clipping


def test_clip_scale_and_clip_rows_by_hand():
    np.testing.assert_allclose(clip_scale([5.0, 0.5, 0.0], 1.0), [0.2, 1.0, 1.0])
    clipped = clip_rows([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]], 1.0)
    np.testing.assert_allclose(clipped, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])


def test_clipping_refuses_a_negative_or_infinite_bound_and_handles_zero():
    # C = 0 removes every gradient; a zero gradient keeps factor 1 instead of 0/0 = NaN.
    np.testing.assert_array_equal(clip_rows([[0.0, 0.0], [3.0, 4.0]], 0.0), [[0, 0], [0, 0]])
    for bad in (-1.0, np.inf):
        with pytest.raises(ValueError, match="clip_norm"):
            clip_scale([1.0], bad)


def test_accounting_inputs_that_have_no_meaning_are_refused():
    with pytest.raises(ValueError, match="whole number"):
        dp_sgd_epsilon(4.0, 0.01, 0.5, 1e-5)
    with pytest.raises(ValueError, match="sensitivity must be finite"):
        laplace_scale(np.inf, 1.0)
    # Infinite noise releases nothing about anyone: ε = 0, not a solver error.
    assert gaussian_mechanism_epsilon(np.inf, 1e-5) == 0.0


def test_user_gradient_norms_match_the_explicit_gradient():
    rng = np.random.default_rng(0)
    num_users, num_items, factors = 4, 6, 3
    ascent = rng.normal(size=(num_users, num_items))
    user_vectors = rng.normal(size=(num_users, factors))
    item_factors = rng.normal(size=(num_items, factors))
    for user in range(num_users):
        # The gradient of user u's loss over (p_u, Q, b), written out element by element.
        by_user_vector = sum(ascent[user, i] * item_factors[i] for i in range(num_items))
        by_item_factors = np.array([ascent[user, i] * user_vectors[user]
                                    for i in range(num_items)])
        by_bias = ascent[user]
        full = np.concatenate([by_user_vector, by_item_factors.ravel(), by_bias])
        items_only = np.concatenate([by_item_factors.ravel(), by_bias])
        assert user_gradient_norms(ascent, user_vectors, item_factors)[user] == pytest.approx(
            np.linalg.norm(full))
        assert user_gradient_norms(ascent, user_vectors, item_factors,
                                   include_user_factors=False)[user] == pytest.approx(
            np.linalg.norm(items_only))


# ======================================================================= DP matrix factorisation


def test_dp_mf_solves_the_noise_for_epsilon():
    ratings = make_ratings(num_users=40)
    model = DPMatrixFactorization(epsilon=2.0, batch_size=10, epochs=3).fit(ratings)
    assert model.sampling_rate_ == 0.25
    assert model.steps_ == 12
    assert model.noise_multiplier_ == noise_multiplier_for_epsilon(2.0, 0.25, 12, 1e-5)
    assert model.epsilon_ <= 2.0
    assert list(model.history_.columns) == ["epoch", "loss", "clipped_share"]
    assert len(model.history_) == 3
    assert model.history_["clipped_share"].between(0, 1).all()


def test_dp_mf_with_a_noise_multiplier_reports_epsilon():
    ratings = make_ratings()
    model = DPMatrixFactorization(epsilon=None, noise_multiplier=1.5, epochs=2).fit(ratings)
    assert model.epsilon_ == dp_sgd_epsilon(1.5, 1.0, 2, 1e-5)
    no_noise = DPMatrixFactorization(epsilon=np.inf, epochs=2).fit(ratings)
    assert no_noise.noise_multiplier_ == 0 and no_noise.epsilon_ == np.inf


def test_noise_reaches_every_shared_parameter_but_no_local_user_vector():
    ratings = make_ratings(num_users=40)
    settings = {"epsilon": 1.0, "factors": 3, "batch_size": 1, "epochs": 1}
    initial = np.random.default_rng(0).normal(0.0, 0.1, (40, 3))
    shared = DPMatrixFactorization(**settings).fit(ratings)
    local = DPMatrixFactorization(user_factors="local", **settings).fit(ratings)
    # With one user per step in expectation, some users are never sampled. Under "shared"
    # their vectors still move (noise goes everywhere); under "local" they stay as they began.
    assert not np.isclose(shared.user_factors_, initial).all(axis=1).any()
    assert np.isclose(local.user_factors_, initial).all(axis=1).any()


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"epsilon": None}, "Give exactly one of epsilon"),
        ({"noise_multiplier": 1.0}, "Give exactly one of epsilon"),
        ({"user_factors": "device"}, "user_factors must be one of"),
        ({"delta": 0}, "delta must be a finite number > 0"),
        ({"clip_norm": np.inf}, "clip_norm must be finite"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"positive_weight": -1}, "positive_weight must be a finite number > 0"),
    ],
)
def test_dp_mf_bad_parameters(parameters, message):
    with pytest.raises(ValueError, match=message):
        DPMatrixFactorization(**parameters).fit(make_ratings())


# ======================================================================= the contract
# The checks of tests/test_model_contract.py, for the two private models (importing that
# module would load TensorFlow, which these tests do not need).

DP_MODELS = pytest.mark.parametrize(
    "model_class", [DPPopularity, DPMatrixFactorization], ids=lambda cls: cls.__name__
)


def small_model(model_class):
    return DPMatrixFactorization(epsilon=5.0, factors=4, epochs=5) \
        if model_class is DPMatrixFactorization else model_class()


@pytest.fixture(scope="module")
def train():
    return make_ratings(num_users=25, num_items=30, density=0.25, seed=7)


@DP_MODELS
def test_contract_parameters_and_use_before_fit(model_class):
    model = small_model(model_class)
    assert model.clone().get_params() == model.get_params()
    assert not any(name.endswith("_") for name in vars(model))
    with pytest.raises(NotFittedError, match="fit"):
        model.recommend([1])


@DP_MODELS
def test_contract_recommend_score_and_seed(model_class, train):
    model = small_model(model_class)
    assert model.fit(train) is model
    users = train["user_id"].drop_duplicates().to_numpy()[:5]
    recommendations = model.recommend(users, k=4)
    assert list(recommendations.columns) == ["user_id", "item_id", "score", "rank"]
    seen = set(zip(train["user_id"], train["item_id"], strict=True))
    assert not set(zip(recommendations["user_id"], recommendations["item_id"],
                       strict=True)) & seen
    for _, rows in recommendations.groupby("user_id"):
        assert rows["rank"].tolist() == [1, 2, 3, 4]
        assert rows["score"].is_monotonic_decreasing
    np.testing.assert_allclose(
        model.score(recommendations["user_id"], recommendations["item_id"]),
        recommendations["score"],
    )
    scores = model.score([users[0], users[0]], [train["item_id"].iloc[0], -12345])
    assert scores[1] == -np.inf < scores[0]
    pd.testing.assert_frame_equal(
        recommendations, small_model(model_class).fit(train).recommend(users, k=4)
    )


@DP_MODELS
def test_contract_bad_training_data(model_class, train):
    with pytest.raises(ValueError, match="missing the column"):
        small_model(model_class).fit(train.rename(columns={"item_id": "movie"}))
    with pytest.raises(ValueError, match="repeated"):
        small_model(model_class).fit(pd.concat([train, train.iloc[:1]]))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        small_model(model_class).fit(train).recommend(k=0)


def test_dp_popularity_serves_unknown_users_and_dp_mf_does_not(train):
    assert len(DPPopularity().fit(train).recommend(["new user"], k=3)) == 3
    with pytest.raises(UnknownIdError, match="unknown user_id"):
        small_model(DPMatrixFactorization).fit(train).recommend(["new user"], k=3)


# ======================================================================= the curve


def test_privacy_utility_curve_table():
    ratings = make_ratings(num_users=40, num_items=30, seed=2)
    train, test = stratified_split(ratings, 0.25, seed=0)
    curve = privacy_utility_curve(
        lambda epsilon: DPPopularity(epsilon=epsilon), train, test, epsilons=(0.5, np.inf), k=5
    )
    assert list(curve.index) == [0.5, np.inf]
    assert list(curve.columns) == ["ndcg@5", "recall@5", "fit_seconds"]
    # Each row is the model built for its own ε, fitted on train and scored on test. The
    # models are seeded, so the same ε gives the same noise when rebuilt here.
    for epsilon in (0.5, np.inf):
        expected = evaluate_ranking(DPPopularity(epsilon=epsilon).fit(train), train, test, k=5)
        assert curve.loc[epsilon, "ndcg@5"] == pytest.approx(expected["ndcg@5"])
        assert curve.loc[epsilon, "recall@5"] == pytest.approx(expected["recall@5"])
    assert (curve["fit_seconds"] > 0).all()
    with pytest.raises(TypeError, match="make_model must be a function of epsilon"):
        privacy_utility_curve(DPPopularity(), train, test)


class _RecordingOptimizer:
    """Stands in for Adam in one DP-SGD step: records each block's gradient, moves nothing."""

    def __init__(self):
        self.gradients = {}

    def next_step(self):
        pass

    def step(self, name, gradient):
        self.gradients[name] = gradient.copy()
        return np.zeros_like(gradient)


def one_recorded_step(users, **parameters):
    ratings = make_ratings(num_users=40, num_items=30, density=0.3, seed=3)
    model = DPMatrixFactorization(
        **{"factors": 3, "epochs": 1, "batch_size": None, "regularization": 0.0, **parameters}
    ).fit(ratings)
    optimizer = _RecordingOptimizer()
    model._step(np.asarray(users, dtype=int), model._check_parameters(), optimizer,
                np.random.default_rng(0))
    return model, optimizer.gradients


@pytest.mark.parametrize("mode", ["shared", "local"])
def test_one_step_moves_the_released_parameters_by_exactly_one_clipped_gradient(mode):
    # Without noise and with every user in the batch (q = 1), a step of one user is that
    # user's gradient over the released blocks, clipped to C, divided by N = 40. The raw
    # gradient is far longer than C = 0.05, so its clipped norm is C exactly.
    model, gradients = one_recorded_step([7], epsilon=np.inf, clip_norm=0.05, user_factors=mode)
    released = ["item", "bias"] + (["user"] if mode == "shared" else [])
    norm = math.sqrt(sum(float((gradients[name] ** 2).sum()) for name in released))
    assert norm * len(model.user_map_) == pytest.approx(0.05, rel=1e-9)
    if mode == "local":
        # The user's own vector moves by the exact gradient, which is longer than C.
        assert np.linalg.norm(gradients["user"][7]) * 40 > 0.05


def test_the_noise_of_a_step_is_sigma_times_the_clip_norm():
    # An empty batch leaves only noise, N(0, σ²C²) per coordinate, divided by N = 40.
    model, gradients = one_recorded_step([], epsilon=None, noise_multiplier=2.0, clip_norm=0.1)
    noise = np.concatenate([gradients[name].ravel() for name in ("user", "item", "bias")])
    assert len(noise) == 40 * 3 + 30 * 3 + 30
    assert noise.std() * len(model.user_map_) == pytest.approx(2.0 * 0.1, rel=0.1)


def test_popularity_counts_clip_each_user_to_max_items_per_user():
    # User 1 has five items and is clipped to two; user 2 has one: 2 + 1 = 3 counts in all.
    ratings = pd.DataFrame({"user_id": [1, 1, 1, 1, 1, 2], "item_id": [1, 2, 3, 4, 5, 1]})
    assert laplace_popularity(ratings, np.inf, max_items_per_user=2).sum() == 3
    model = DPPopularity(epsilon=np.inf, max_items_per_user=2).fit(ratings)
    assert model.item_counts_.sum() == 3



@pytest.mark.parametrize("mode", ["shared", "local"])
def test_weight_decay_pulls_every_factor_towards_zero(mode):
    # An empty batch without noise leaves only the decay: −λ·θ, for the local user vectors too.
    model, gradients = one_recorded_step([], epsilon=np.inf, regularization=0.1, user_factors=mode)
    np.testing.assert_allclose(gradients["item"], -0.1 * model.item_factors_)
    np.testing.assert_allclose(gradients["user"], -0.1 * model.user_factors_)


def test_positive_weight_scales_the_positive_cells_of_the_gradient():
    # Without clipping or noise, a step of user 7 is the weighted logistic-loss gradient of the
    # item biases, w·(y − σ(b_i + q_iᵀp_7)) with w = 4 on positives, divided by N = 40.
    model, gradients = one_recorded_step([7], epsilon=np.inf, clip_norm=1e9, positive_weight=4.0)
    labels = model.user_items_[7].toarray()[0] > 0
    logits = model.item_bias_ + model.item_factors_ @ model.user_factors_[7]
    expected = np.where(labels, 4.0, 1.0) * (labels - 1 / (1 + np.exp(-logits))) / 40
    np.testing.assert_allclose(gradients["bias"], expected)


def test_delta_sets_the_noise_and_the_reported_epsilon():
    # References from a separate RDP computation (integer orders 2–256; sampled Gaussian by
    # the binomial sum): σ for ε = 2 with q = 0.25 and T = 12 steps is 2.13223 at δ = 1e-3
    # (2.67155 at δ = 1e-5); σ = 1.5 with q = 1 and T = 2 spends ε = 3.94916 at δ = 1e-3.
    ratings = make_ratings(num_users=40)
    solved = DPMatrixFactorization(epsilon=2.0, delta=1e-3, batch_size=10, epochs=3).fit(ratings)
    assert solved.steps_ == 12
    assert solved.noise_multiplier_ == pytest.approx(2.13223, rel=2e-3)
    given = DPMatrixFactorization(epsilon=None, noise_multiplier=1.5, delta=1e-3, epochs=2,
                                  batch_size=None).fit(make_ratings())
    assert given.epsilon_ == pytest.approx(3.94916, rel=1e-4)


def test_steps_round_up_to_cover_every_epoch():
    # q = 12/40 = 0.3 needs 1/q = 3.33 steps per epoch: four, not three.
    model = DPMatrixFactorization(epsilon=2.0, batch_size=12, epochs=1)
    assert model.fit(make_ratings(num_users=40)).steps_ == 4


def test_adam_corrects_its_first_step_for_the_zero_start():
    # With both moments corrected, a first step is the learning rate times the gradient's sign.
    optimizer = _Adam(0.01)
    optimizer.next_step()
    np.testing.assert_allclose(optimizer.step("x", np.array([2.0, -3.0])), [0.01, -0.01],
                               rtol=1e-6)


def _sklearn_fold_aucs(features, labels, regularization, seed, standardize):
    """The attack written directly with scikit-learn, for comparison."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    aucs = []
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=1, random_state=seed)
    for train_rows, test_rows in folds.split(features, labels):
        steps = [StandardScaler()] if standardize else []
        steps.append(LogisticRegression(C=regularization, max_iter=2000, random_state=seed))
        pipeline = make_pipeline(*steps).fit(features[train_rows], labels[train_rows])
        scores = pipeline.decision_function(features[test_rows])
        aucs.append(roc_auc_score(labels[test_rows], scores))
    return np.array(aucs)


@pytest.mark.parametrize("regularization, seed, standardize", [(0.001, 4, True), (1.0, 0, False)])
def test_attack_uses_its_regularization_seed_and_scaling(regularization, seed, standardize):
    # The telling feature is a thousand times smaller than the others, so scaling, a strong
    # penalty and the fold seed all change the AUCs.
    rng = np.random.default_rng(2)
    features = rng.normal(size=(200, 4)) * [1e-3, 1, 1, 1]
    labels = (features[:, 0] * 1e3 + 0.8 * features[:, 1] + rng.normal(size=200) > 0)
    labels = labels.astype(float)
    result = attribute_inference_auc_from_features(
        features, labels, standardize=standardize, regularization=regularization, seed=seed,
        repeats=1,
    )
    np.testing.assert_allclose(
        result.fold_aucs, _sklearn_fold_aucs(features, labels, regularization, seed, standardize)
    )


def test_each_seed_clips_each_user_to_its_own_rows():
    # Without noise (ε = ∞) the counts differ between seeds only through the clipping, which
    # keeps 2 of each user's rows, chosen by the seed.
    ratings = make_ratings(num_users=30, num_items=40)
    counts = [laplace_popularity(ratings, np.inf, max_items_per_user=2, seed=seed)
              for seed in range(5)]
    assert all(count.sum() == 2 * 30 for count in counts)
    assert len({tuple(count) for count in counts}) > 1
