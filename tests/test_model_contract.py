"""The contract every model keeps, run over every model the package exports.

A model added to `recsys_lessons.models.ALL_MODELS` joins these tests automatically.
"""

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data import UnknownIdError
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models import ALL_MODELS, BPR, NotFittedError, RatingPredictor
from tests.conftest import make_ratings

MODELS = pytest.mark.parametrize("model_class", ALL_MODELS, ids=lambda cls: cls.__name__)


def make_model(model_class, train):
    """A model with default hyper-parameters, or the test instance the class asks for.

    A model that needs more than ratings (ContentBased needs an items table) defines the class
    method `_contract_test_instance(train)`; every other model is built with no arguments.
    """
    if hasattr(model_class, "_contract_test_instance"):
        return model_class._contract_test_instance(train)
    return model_class()


@pytest.fixture(scope="module")
def train():
    return make_ratings(num_users=25, num_items=30, density=0.25, seed=7)


@pytest.fixture(scope="module")
def fitted(train):
    return {model_class: make_model(model_class, train).fit(train) for model_class in ALL_MODELS}


@MODELS
def test_init_stores_parameters_unchanged_and_clone(model_class, train):
    model = make_model(model_class, train)
    parameters = model.get_params()
    assert model.clone().get_params() == parameters
    assert repr(model).startswith(model_class.__name__)
    assert not any(name.endswith("_") for name in vars(model))  # Nothing learned yet.


@MODELS
def test_use_before_fit_is_a_clear_error(model_class, train):
    with pytest.raises(NotFittedError, match="fit"):
        make_model(model_class, train).recommend([1])
    with pytest.raises(NotFittedError):
        make_model(model_class, train).score([1], [1])


@MODELS
def test_fit_returns_the_model(model_class, train):
    model = make_model(model_class, train)
    assert model.fit(train) is model


@MODELS
def test_recommend_shape_order_and_exclude_seen(model_class, fitted, train):
    model = fitted[model_class]
    users = train["user_id"].drop_duplicates().to_numpy()[:10]
    recommendations = model.recommend(users, k=5)
    assert list(recommendations.columns) == ["user_id", "item_id", "score", "rank"]
    seen = set(zip(train["user_id"], train["item_id"], strict=True))
    for user in users:
        rows = recommendations[recommendations["user_id"] == user]
        assert rows["rank"].tolist() == list(range(1, 6))
        assert rows["score"].is_monotonic_decreasing
        assert rows["item_id"].is_unique
        assert not {(user, item) for item in rows["item_id"]} & seen
    # Users come back in the order asked for.
    assert pd.unique(recommendations["user_id"]).tolist() == users.tolist()
    # score() agrees with the scores shown in the lists.
    np.testing.assert_allclose(
        model.score(recommendations["user_id"], recommendations["item_id"]),
        recommendations["score"],
    )


@MODELS
def test_without_exclude_seen_every_item_is_a_candidate(model_class, fitted, train):
    model = fitted[model_class]
    num_items = train["item_id"].nunique()
    everything = model.recommend([train["user_id"].iloc[0]], k=num_items, exclude_seen=False)
    assert sorted(everything["item_id"]) == sorted(train["item_id"].unique())


@MODELS
def test_k_larger_than_the_catalogue(model_class, fitted, train):
    model = fitted[model_class]
    user = train["user_id"].iloc[0]
    unseen = train["item_id"].nunique() - (train["user_id"] == user).sum()
    recommendations = model.recommend([user], k=10_000)
    assert len(recommendations) == unseen


def test_a_table_or_an_array_of_ids_is_shown_by_its_size_in_a_models_repr():
    from recsys_lessons.models import EASE, NeuMF
    from recsys_lessons.privacy import DPPopularity

    assert repr(DPPopularity(catalogue=np.arange(1682))).endswith(
        "catalogue=<ndarray of 1682 items>)")
    assert repr(DPPopularity(catalogue=pd.Series([1, 2]))).endswith(
        "catalogue=<Series of 2 items>)")
    assert repr(DPPopularity(catalogue=list(range(11)))).endswith("catalogue=<list of 11 items>)")
    assert repr(DPPopularity(catalogue=np.zeros((3, 500)))).endswith(
        "catalogue=<ndarray of shape (3, 500)>)")
    assert repr(DPPopularity(catalogue=pd.Series([7]))).endswith("<Series of 1 item>)")
    # Short lists, such as layer widths, and numbers in 0-d arrays are shown as they are.
    assert "hidden_layers=(64, 32, 16)" in repr(NeuMF())
    assert repr(EASE(regularization=np.array(500.0))) == "EASE(regularization=array(500.))"


@MODELS
def test_same_seed_same_model(model_class, train):
    first = make_model(model_class, train).fit(train).recommend(k=5)
    second = make_model(model_class, train).fit(train).recommend(k=5)
    pd.testing.assert_frame_equal(first, second)


@MODELS
def test_unknown_users_and_items(model_class, fitted, train):
    model = fitted[model_class]
    user = train["user_id"].iloc[0]
    scores = model.score([user, user], [train["item_id"].iloc[0], -12345])
    assert scores[1] == model.unknown_item_score
    assert scores[0] > scores[1]
    if model.supports_unknown_users:
        assert len(model.recommend([-1], k=3)) == 3
    else:
        with pytest.raises(UnknownIdError, match="unknown user_id"):
            model.recommend([-1], k=3)


@MODELS
@pytest.mark.parametrize("k", [0, -1, 2.5, "10"])
def test_bad_k(model_class, fitted, k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        fitted[model_class].recommend(k=k)


@MODELS
def test_bad_training_data(model_class, train):
    with pytest.raises(ValueError, match="missing the column"):
        make_model(model_class, train).fit(train.rename(columns={"item_id": "movie"}))
    with pytest.raises(ValueError, match="empty"):
        make_model(model_class, train).fit(train.iloc[:0])
    duplicated = pd.concat([train, train.iloc[:1]])
    with pytest.raises(ValueError, match="repeated"):
        make_model(model_class, train).fit(duplicated)
    with_nan = train.assign(rating=train["rating"].where(train.index != train.index[0]))
    model = make_model(model_class, train)
    # A model that can do without ratings also says how to fit it on interactions alone,
    # which is the way out when the whole column is empty (dropna would drop every row).
    advice = "dropna" if model.needs_ratings else r"dropna.*drop\(columns='rating'\)"
    with pytest.raises(ValueError, match=f"NaN.*{advice}"):
        model.fit(with_nan)


@MODELS
def test_score_needs_paired_arrays(model_class, fitted, train):
    with pytest.raises(ValueError, match="same length"):
        fitted[model_class].score(train["user_id"].iloc[:2], train["item_id"].iloc[:3])


@pytest.mark.parametrize(
    "model_class",
    [cls for cls in ALL_MODELS if issubclass(cls, RatingPredictor)],
    ids=lambda cls: cls.__name__,
)
def test_rating_models_predict_and_fall_back(model_class, fitted, train):
    model = fitted[model_class]
    assert model.predicts_ratings is True
    predictions = model.predict(train["user_id"], train["item_id"])
    assert predictions.shape == (len(train),)
    assert predictions.min() >= train["rating"].min() and predictions.max() <= train["rating"].max()
    user, item = train["user_id"].iloc[0], train["item_id"].iloc[0]
    user_index = model.user_map_.to_index([user])[0]
    item_index = model.item_map_.to_index([item])[0]
    # An unknown item falls back to μ + b_u, an unknown user to μ + b_i, both unknown to μ.
    fallback = model.predict([user, -1, -1], [-1, item, -1])
    expected = [
        model.global_mean_ + model.user_bias_[user_index],
        model.global_mean_ + model.item_bias_[item_index],
        model.global_mean_,
    ]
    np.testing.assert_allclose(fallback, np.clip(expected, *model.rating_range_))
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['rating'\]"):
        make_model(model_class, train).fit(train.drop(columns="rating"))


def test_popularity_cold_start_matches_the_most_popular_items():
    from recsys_lessons.models import Popularity

    ratings = make_ratings(seed=3)
    top = ratings.groupby("item_id").size().sort_values(ascending=False, kind="stable")
    recommendations = Popularity().fit(ratings).recommend(["a new user"], k=3)
    assert recommendations["score"].tolist() == top.head(3).tolist()


# The Keras models get their ratings through the same Recommender.fit; two more fits of each
# would add about a minute to the suite, so these checks run on the others.
NUMPY_MODELS = pytest.mark.parametrize(
    "model_class",
    [cls for cls in ALL_MODELS
     if cls.__module__.rsplit(".", 1)[-1] not in {"ncf", "multitask", "sequential"}],
    ids=lambda cls: cls.__name__,
)


@NUMPY_MODELS
def test_ratings_written_as_text_fit_the_same_model(model_class, train):
    # check_interactions accepts text that reads as numbers. On a 1-10 scale, text would compare
    # "10" < "9", so every model must see the numbers, not the text.
    numbers = train.assign(rating=train["rating"] * 2)
    text = numbers.assign(rating=numbers["rating"].astype(int).astype(str))
    expected = make_model(model_class, numbers).fit(numbers)
    got = make_model(model_class, text).fit(text)
    users, items = numbers["user_id"], numbers["item_id"]
    np.testing.assert_allclose(got.score(users, items), expected.score(users, items), rtol=1e-6)
    if isinstance(got, RatingPredictor):
        assert got.rating_range_ == expected.rating_range_ == (2.0, 10.0)


@MODELS
def test_ids_must_be_one_dimensional(model_class, fitted, train):
    model = fitted[model_class]
    user, item = train["user_id"].iloc[0], train["item_id"].iloc[0]
    with pytest.raises(ValueError, match=r"item_ids must be one-dimensional, got shape \(2, 1\)"):
        model.score([user, user], [[item], [item]])
    if isinstance(model, RatingPredictor):
        with pytest.raises(ValueError, match=r"user_ids must be one-dimensional"):
            model.predict([[user, user]], [item, item])


@MODELS
def test_missing_ids_are_refused_not_taken_for_unknown_ones(model_class, fitted, train):
    # A test frame from a left merge can hold NaN ids. Masked as unknown, they would be scored
    # as new users or items (μ, or Popularity's list) and enter a metric unnoticed.
    model = fitted[model_class]
    user, item = train["user_id"].iloc[0], train["item_id"].iloc[0]
    message = r"1 of the 2 (user|item)_id values are missing.*dropna\(subset=\['(user|item)_id'\]\)"
    with pytest.raises(ValueError, match=message.replace("(user|item)", "item")):
        model.score([user, user], [item, np.nan])
    with pytest.raises(ValueError, match=message.replace("(user|item)", "user")):
        model.score(pd.array([user, pd.NA], dtype="Int64"), [item, item])
    with pytest.raises(ValueError, match="1 of the 2 user_id values are missing"):
        model.recommend([user, None], k=3)
    if isinstance(model, RatingPredictor):
        with pytest.raises(ValueError, match="1 of the 2 item_id values are missing"):
            model.predict([user, user], [item, None])


# Every model trained by gradient steps, except GRU4Rec: its GRU saturates, so its weights stay
# finite at any learning rate, and its loss only grows.
GRADIENT_MODELS = pytest.mark.parametrize(
    "model_class",
    [cls for cls in ALL_MODELS
     if "learning_rate" in cls._parameter_names() and cls.__name__ != "GRU4Rec"],
    ids=lambda cls: cls.__name__,
)


@GRADIENT_MODELS
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the point here
def test_a_training_that_diverges_is_refused(model_class, train):
    # Keras ends fit normally when its loss becomes NaN; every score would then be NaN.
    model = make_model(model_class, train).set_params(learning_rate=1e30)
    with pytest.raises(FloatingPointError, match="(?i)diverged.*lower.*learning_rate"):
        model.fit(train)
    with pytest.raises(NotFittedError, match="fit"):
        model.recommend([train["user_id"].iloc[0]], k=3)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_failed_fit_leaves_no_fitted_model(train):
    # Recommender.fit sets the new id maps before the model learns; a fit that fails must not
    # leave them next to the previous fit's parameters.
    model = BPR(epochs=2).fit(train).set_params(learning_rate=1e30, epochs=50)
    with pytest.raises(FloatingPointError, match="diverged"):
        model.fit(train)
    with pytest.raises(NotFittedError, match="fit"):
        model.score([train["user_id"].iloc[0]], [train["item_id"].iloc[0]])
    with pytest.raises(NotFittedError, match="fit"):
        evaluate_ranking(model, train, train.head(5), k=3)
