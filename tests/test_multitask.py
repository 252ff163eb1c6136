"""Multi-task models (SharedBottom, MMoE): features, tasks, networks, recommenders, MovieLens."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse

from recsys_lessons.data import leave_one_out
from recsys_lessons.data.interactions import UnknownIdError, interaction_matrix
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models.baselines import Popularity
from recsys_lessons.models.content_based import synthetic_items
from recsys_lessons.models.keras_utils import split_validation
from recsys_lessons.models.multitask import (
    MMoE,
    MultiTaskDataset,
    SharedBottom,
    gate_network,
    genre_domains,
    item_features,
    keras,
    mmoe_network,
    multitask_examples,
    sample_examples,
    shared_bottom_network,
    synthetic_users,
    task_targets,
    user_features,
)
from tests.conftest import make_ratings

TASKS = {"interaction": "interaction", "rating": "rating"}
TINY_TRAINING = {"epochs": 2, "batch_size": 256, "embedding_dim": 4, "tower_layers": (4,)}
TINY = {
    "MMoE": {**TINY_TRAINING, "num_experts": 3, "expert_layers": (8,)},
    "SharedBottom": {**TINY_TRAINING, "bottom_layers": (8,)},
}
MODEL_CLASSES = {"MMoE": MMoE, "SharedBottom": SharedBottom}
BOTH_MODELS = pytest.mark.parametrize("name", list(MODEL_CLASSES))
# Keras' .keras writer converts variables with np.array(x), which numpy 2 flags; not our code.
KERAS_SAVING_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def tiny_model(name, train, **parameters):
    """A small, fast model on synthetic side-feature tables for the ids of `train`."""
    tables = {"users": synthetic_users(train["user_id"].unique()),
              "items": synthetic_items(train["item_id"].unique())}
    return MODEL_CLASSES[name](**{**tables, **TINY[name], **parameters})


@pytest.fixture(scope="module")
def train():
    return make_ratings(num_users=25, num_items=30, density=0.25, seed=7)


@pytest.fixture(scope="module")
def fitted(train):
    return {name: tiny_model(name, train).fit(train) for name in MODEL_CLASSES}


def network_inputs(num_pairs=12, num_users=6, num_items=9, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user": rng.integers(0, num_users, num_pairs).astype(np.int32),
        "item": rng.integers(0, num_items, num_pairs).astype(np.int32),
    }


def tiny_network(kind, **parameters):
    rng = np.random.default_rng(1)
    user_side = (rng.random((6, 5)) < 0.5).astype(np.float32)
    item_side = (rng.random((9, 3)) < 0.5).astype(np.float32)
    if kind == "mmoe":
        return mmoe_network(6, 9, user_side, item_side, TASKS, embedding_dim=4, num_experts=3,
                            expert_layers=(8,), tower_layers=(4,), global_mean=3.5,
                            **parameters)
    return shared_bottom_network(6, 9, user_side, item_side, TASKS, embedding_dim=4,
                                 bottom_layers=(8,), tower_layers=(4,), global_mean=3.5,
                                 **parameters)


BOTH_NETWORKS = pytest.mark.parametrize("kind", ["mmoe", "shared_bottom"])


# ----------------------------------------------------------------------------- side features


def test_user_features_by_hand():
    users = pd.DataFrame({
        "user_id": [7, 3, 5],
        "age": [17, 30, np.nan],
        "gender": ["F", "M", "M"],
        "occupation": ["student", "writer", "student"],
    })
    features = user_features(users)
    assert features.index.tolist() == [7, 3, 5]
    assert features.columns.tolist() == [
        "age: under 18", "age: 18-24", "age: 25-34", "age: 35-44", "age: 45-49", "age: 50-55",
        "age: 56+", "gender: F", "gender: M", "occupation: student", "occupation: writer",
    ]
    expected = [
        [1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0],
        [0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1],
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0],  # An unknown age gives no age band.
    ]
    np.testing.assert_array_equal(features.to_numpy(), expected)
    assert (features.dtypes == np.float32).all()
    # Each band includes its lower bound: 18 is "18-24", 25 is "25-34", 56 is "56+".
    edges = user_features(users.assign(age=[18, 25, 56])).filter(like="age: ")
    assert edges.idxmax(axis=1).tolist() == ["age: 18-24", "age: 25-34", "age: 56+"]


def test_item_features_by_hand():
    items = pd.DataFrame({
        "item_id": [10, 20, 30],
        "year": pd.array([1995, pd.NA, 1989], dtype="Int64"),
        "genres": [["Comedy", "Action"], ["Drama"], []],
    })
    features = item_features(items)
    assert features.index.tolist() == [10, 20, 30]
    assert features.columns.tolist() == [
        "genre: Action", "genre: Comedy", "genre: Drama", "decade: 1980s", "decade: 1990s",
    ]
    np.testing.assert_array_equal(
        features.to_numpy(), [[1, 1, 0, 0, 1], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]
    )


def test_features_of_movielens_tables(movielens):
    users, items = user_features(movielens.users), item_features(movielens.items)
    assert users.shape == (943, 7 + 2 + 21)
    assert items.shape == (1682, 19 + 8)
    # One age band, one gender and one occupation per user; at least one genre per film.
    assert (users.sum(axis=1) == 3).all()
    assert (items.filter(like="genre: ").sum(axis=1) >= 1).all()


@pytest.mark.parametrize(("function", "table", "message"), [
    (user_features, pd.DataFrame({"user_id": [1], "age": [20]}), "missing the column"),
    (user_features, pd.DataFrame({"user_id": [1, 1], "age": [20, 30], "gender": ["F", "M"],
                                  "occupation": ["a", "b"]}), "more than once"),
    (item_features, pd.DataFrame({"item_id": [1], "year": [1990], "genres": ["Drama|War"]}),
     r"str\.split"),
    (item_features, [1, 2], "must be a pandas DataFrame"),
])
def test_bad_tables_are_a_clear_error(function, table, message):
    with pytest.raises(ValueError, match=message):
        function(table)


def test_genre_domains_splits_by_any_genre():
    items = pd.DataFrame({"item_id": [1, 2, 3, 4],
                          "genres": [["Action"], ["Drama", "Sci-Fi"], ["Drama"], []]})
    domains = genre_domains(items, ["Action", "Sci-Fi"], names=("action", "rest"))
    assert domains.to_dict() == {1: "action", 2: "action", 3: "rest", 4: "rest"}
    # One genre may be given as a plain string, not split into its letters.
    pd.testing.assert_series_equal(genre_domains(items, "Action"),
                                   genre_domains(items, ["Action"]))
    with pytest.raises(ValueError, match="Western"):
        genre_domains(items, ["Western"])
    with pytest.raises(ValueError, match="non-empty list of genres"):
        genre_domains(items, [])
    with pytest.raises(ValueError, match="two different"):
        genre_domains(items, ["Drama"], names=("a", "a"))


# ----------------------------------------------------------------------------- the tasks


def test_examples_pair_every_rating_with_negatives_that_are_never_positives():
    ratings = make_ratings(num_users=20, num_items=15, density=0.5, seed=1)
    matrix = sparse.csr_matrix(
        (ratings["rating"], (ratings["user_id"] - 100, ratings["item_id"] - 1000)),
        shape=(20, 15),
    )
    examples = sample_examples(matrix, 3, np.random.default_rng(0))
    num_ratings = matrix.nnz
    assert len(examples["user"]) == 4 * num_ratings
    positive = examples["interaction"] == 1
    assert positive.sum() == num_ratings
    # Positives carry their rating; negatives are unrated pairs and have no rating.
    users, items = examples["user"], examples["item"]
    np.testing.assert_array_equal(
        examples["rating"][positive], np.asarray(matrix[users[positive], items[positive]])[0]
    )
    assert np.isnan(examples["rating"][~positive]).all()
    assert (np.asarray(matrix[users[~positive], items[~positive]])[0] == 0).all()


def test_multitask_examples_table(small_ratings):
    examples = multitask_examples(small_ratings, num_negatives=2, seed=0)
    assert examples.columns.tolist() == ["user_id", "item_id", "interaction", "rating"]
    assert len(examples) == 3 * len(small_ratings)
    rated = set(zip(small_ratings["user_id"], small_ratings["item_id"], strict=True))
    negatives = examples[examples["interaction"] == 0]
    assert not rated & set(zip(negatives["user_id"], negatives["item_id"], strict=True))
    assert negatives["rating"].isna().all()
    pd.testing.assert_series_equal(
        examples["rating"].head(len(small_ratings)).reset_index(drop=True),
        small_ratings.sort_values(["user_id", "item_id"])["rating"].reset_index(drop=True),
        check_names=False,
    )
    again = multitask_examples(small_ratings, num_negatives=2, seed=0)
    pd.testing.assert_frame_equal(examples, again)
    # Another seed draws other never-rated items for the same rated pairs.
    other = multitask_examples(small_ratings, num_negatives=2, seed=1)
    assert not other["item_id"].equals(examples["item_id"])
    pd.testing.assert_frame_equal(other[other["interaction"] == 1],
                                  examples[examples["interaction"] == 1])
    # Four negatives per rating by default.
    default = multitask_examples(small_ratings)
    assert len(default) == 5 * len(small_ratings)
    assert (default["interaction"] == 0).sum() == 4 * len(small_ratings)


def test_task_targets_mask_the_rating_of_negatives_and_split_domains():
    examples = {
        "item": np.array([0, 1, 2, 0]),
        "interaction": np.array([1, 1, 0, 0], dtype=np.float32),
        "rating": np.array([5, 2, np.nan, np.nan], dtype=np.float32),
    }
    tasks = {"left": "interaction", "right": "interaction", "rating": "rating", "liked": "liked"}
    domains = np.array(["left", "right", "right"])
    targets, weights = task_targets(examples, tasks, domains)
    np.testing.assert_array_equal(targets["left"], [1, 1, 0, 0])
    np.testing.assert_array_equal(weights["left"], [1, 0, 0, 1])
    np.testing.assert_array_equal(weights["right"], [0, 1, 1, 0])
    np.testing.assert_array_equal(targets["rating"], [5, 2, 0, 0])
    np.testing.assert_array_equal(weights["rating"], [1, 1, 0, 0])
    np.testing.assert_array_equal(targets["liked"], [1, 0, 0, 0])
    np.testing.assert_array_equal(weights["liked"], [1, 1, 0, 0])
    # LIKED_THRESHOLD is 4 stars, and a rating of exactly 4 counts as liked.
    edge = {"item": np.array([0, 1]), "interaction": np.ones(2, dtype=np.float32),
            "rating": np.array([4.0, 3.5], dtype=np.float32)}
    np.testing.assert_array_equal(task_targets(edge, {"liked": "liked"})[0]["liked"], [1, 0])


# ----------------------------------------------------------------------------- the networks


@BOTH_NETWORKS
def test_forward_pass_gives_one_output_per_task(kind):
    outputs = tiny_network(kind)(network_inputs(12))
    assert set(outputs) == {"interaction", "rating"}
    interaction = keras.ops.convert_to_numpy(outputs["interaction"])
    assert interaction.shape == keras.ops.convert_to_numpy(outputs["rating"]).shape == (12, 1)
    assert ((interaction > 0) & (interaction < 1)).all()


def test_the_rating_head_starts_from_the_global_mean():
    network = tiny_network("mmoe")
    np.testing.assert_array_equal(network.get_layer("rating_residual").get_weights()[1], [3.5])
    for name in ("user_bias", "item_bias"):
        assert not network.get_layer(name).get_weights()[0].any()


def test_side_features_are_frozen_tables_in_the_network():
    network = tiny_network("mmoe")
    layer = network.get_layer("user_features")
    assert not layer.trainable
    expected = (np.random.default_rng(1).random((6, 5)) < 0.5).astype(np.float32)
    np.testing.assert_array_equal(layer.get_weights()[0], expected)


@BOTH_NETWORKS
def test_get_config_round_trip_gives_the_same_architecture(kind):
    network = tiny_network(kind)
    rebuilt = keras.Model.from_config(network.get_config())
    assert rebuilt.get_config() == network.get_config()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in network.layers]
    assert rebuilt.count_params() == network.count_params()


@KERAS_SAVING_WARNING
@BOTH_NETWORKS
def test_saving_and_loading_a_keras_file_gives_identical_predictions(kind, tmp_path):
    network = tiny_network(kind)
    network.save(tmp_path / "network.keras")
    loaded = keras.saving.load_model(tmp_path / "network.keras")
    before = network.predict_on_batch(network_inputs())
    after = loaded.predict_on_batch(network_inputs())
    for task in TASKS:
        np.testing.assert_array_equal(after[task], before[task])


def test_gates_are_softmax_weights_over_the_experts():
    gates = gate_network(tiny_network("mmoe")).predict_on_batch(network_inputs(20))
    for task in TASKS:
        assert gates[task].shape == (20, 3)
        assert (gates[task] > 0).all()
        np.testing.assert_allclose(gates[task].sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="not an MMoE"):
        gate_network(tiny_network("shared_bottom"))


# ----------------------------------------------------------------------------- the recommenders


@BOTH_MODELS
def test_fit_sets_the_network_tasks_features_and_history(name, fitted, train):
    model = fitted[name]
    assert isinstance(model.model_, keras.Model)
    assert model.tasks_ == TASKS
    assert model.task_weights_ == {"interaction": 1.0, "rating": 0.1}
    assert model.user_features_.index.tolist() == model.user_map_.ids.tolist()
    assert model.item_features_.index.tolist() == model.item_map_.ids.tolist()
    history = model.history_
    assert set(history.columns) == {"loss", "interaction_loss", "rating_loss", "rating_rmse"}
    assert history.index.tolist() == [1, 2] and history.index.name == "epoch"
    assert "<DataFrame of 25 rows>" in repr(model)


def test_a_validation_split_is_monitored_for_every_task(train):
    model = tiny_model("MMoE", train, validation_fraction=0.3, epochs=3, patience=1).fit(train)
    assert {"val_loss", "val_interaction_loss", "val_rating_loss",
            "val_rating_rmse"} <= set(model.history_.columns)
    assert model.history_["val_rating_loss"].notna().all()
    # μ, which starts the rating output, comes from the fit part only: redo the split (seeded
    # by the first of the three streams fit spawns) and compare.
    split_seed = np.random.SeedSequence(model.random_state).spawn(3)[0]
    fit_pairs, held_out = split_validation(model.user_items_, 0.3,
                                           np.random.default_rng(split_seed))
    ratings, _, _ = interaction_matrix(train, model.user_map_, model.item_map_, "rating")
    fit_ratings = np.asarray(ratings[fit_pairs.nonzero()]).ravel()
    assert held_out.nnz > 0 and model.global_mean_ == pytest.approx(fit_ratings.mean())
    assert model.global_mean_ != pytest.approx(train["rating"].mean())


def test_gate_weights_of_a_fitted_mmoe(fitted, train):
    gates = fitted["MMoE"].gate_weights(train["user_id"], train["item_id"])
    assert set(gates) == {"interaction", "rating"}
    for weights in gates.values():
        assert weights.shape == (len(train), 3)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(UnknownIdError):
        fitted["MMoE"].gate_weights([-1], [train["item_id"].iloc[0]])
    # One item id is never spread silently over several users.
    users, item = train["user_id"].to_numpy()[:3], train["item_id"].to_numpy()[:1]
    for method in (fitted["MMoE"].gate_weights, fitted["MMoE"].task_scores):
        with pytest.raises(ValueError, match="same length"):
            method(users, item)


@BOTH_MODELS
def test_scores_are_the_interaction_task_and_predict_the_rating_task(name, fitted, train):
    model = fitted[name]
    users, items = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    tasks = model.task_scores(users, items)
    np.testing.assert_array_equal(model.score(users, items), tasks["interaction"])
    low, high = model.rating_range_
    np.testing.assert_allclose(model.predict(users, items), np.clip(tasks["rating"], low, high))


@BOTH_MODELS
def test_predict_falls_back_to_the_learned_biases(name, fitted, train):
    model = fitted[name]
    user, item = train["user_id"].iloc[0], train["item_id"].iloc[0]
    user_index = model.user_map_.to_index([user])[0]
    item_index = model.item_map_.to_index([item])[0]
    np.testing.assert_allclose(model.user_bias_, model.model_.get_layer("user_bias")
                               .get_weights()[0][:, 0])
    expected = [model.global_mean_ + model.user_bias_[user_index],
                model.global_mean_ + model.item_bias_[item_index], model.global_mean_]
    np.testing.assert_allclose(model.predict([user, -1, -1], [-1, item, -1]),
                               np.clip(expected, *model.rating_range_))
    assert model.score([user], [-1])[0] == -np.inf


@pytest.mark.parametrize("name", ["MMoE"])
def test_a_task_weight_of_zero_switches_the_task_off(name, train):
    def fit(epochs):
        weights = {"interaction": 0.0, "rating": 1.0}
        return tiny_model(name, train, task_weights=weights, epochs=epochs).fit(train)

    one, three = fit(1), fit(3)
    # The interaction head gets no gradient: after 1 or 3 epochs it still holds its seeded
    # initial weights, while the rating head keeps learning.
    for layer in ("interaction_tower_1", "interaction", "gate_interaction"):
        for before, after in zip(one.model_.get_layer(layer).get_weights(),
                                 three.model_.get_layer(layer).get_weights(), strict=True):
            np.testing.assert_array_equal(before, after)
    assert not np.allclose(one.model_.get_layer("rating_tower_1").get_weights()[0],
                           three.model_.get_layer("rating_tower_1").get_weights()[0])
    # A rating-only model ranks by the predicted rating.
    users, items = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    np.testing.assert_array_equal(three.score(users, items), three.task_scores(users, items)
                                  ["rating"])


def test_a_rating_only_model_trains_on_the_rated_pairs_alone(train):
    # Its sampled pairs would count in no loss, so none are drawn, and its batches hold as
    # many rated pairs as a batch with negatives: batch_size // (1 + num_negatives).
    rating_only = tiny_model("MMoE", train, task_weights={"interaction": 0.0, "rating": 1.0})
    both = tiny_model("MMoE", train)
    steps = {name: int(model.fit(train).model_.optimizer.iterations)
             for name, model in (("rating only", rating_only), ("both", both))}
    epochs, batch_size, positives = TINY_TRAINING["epochs"], TINY_TRAINING["batch_size"], len(train)
    assert steps["rating only"] == epochs * -(-positives // (batch_size // 5))
    assert steps["both"] == epochs * -(-positives * 5 // batch_size)


def test_sample_examples_with_no_negatives_gives_the_rated_pairs(train):
    matrix, _, _ = interaction_matrix(train, values="rating")
    examples = sample_examples(matrix, 0, np.random.default_rng(0))
    assert len(examples["user"]) == matrix.nnz
    assert (examples["interaction"] == 1).all() and not np.isnan(examples["rating"]).any()
    with pytest.raises(ValueError, match="num_negatives"):
        sample_examples(matrix, -1, np.random.default_rng(0))


@pytest.fixture
def dataset(train):
    matrix, _, _ = interaction_matrix(train, values="rating")
    return MultiTaskDataset(matrix, TASKS, num_negatives=2, batch_size=8, seed=0)


def test_the_dataset_batches_a_shuffled_epoch_and_refuses_other_indices(dataset):
    assert len(dataset) == -(-len(dataset.examples["user"]) // 8)
    for index in (-1, len(dataset)):
        with pytest.raises(IndexError):
            dataset[index]
    # Unshuffled, every rated pair would come first and the first batch would hold no
    # negative; shuffled, it already mixes both.
    _, targets, weights = dataset[0]
    assert 0 < targets["interaction"].sum() < len(targets["interaction"])
    np.testing.assert_array_equal(weights["rating"], targets["interaction"])


def test_the_dataset_draws_fresh_negatives_every_epoch(dataset):
    def negatives():
        negative = dataset.examples["interaction"] == 0
        return sorted(zip(dataset.examples["user"][negative].tolist(),
                          dataset.examples["item"][negative].tolist(), strict=True))

    first, rated = negatives(), (dataset.examples["interaction"] == 1).sum()
    dataset.on_epoch_end()
    assert negatives() != first
    assert (dataset.examples["interaction"] == 1).sum() == rated


@BOTH_NETWORKS
def test_preference_dropout_applies_to_the_preference_tower_only(kind):
    network = tiny_network(kind, preference_dropout=0.3)
    names = {layer.name for layer in network.layers}
    assert "rating_dropout" in names and "interaction_dropout" not in names
    assert network.get_layer("rating_dropout").rate == pytest.approx(0.3)


def evaluate_on_one_batch(model, examples, targets, weights) -> dict:
    """The compiled losses of `model.model_` on `examples`, all in one batch."""
    inputs = {"user": examples["user"], "item": examples["item"]}
    return model.model_.evaluate(inputs, targets, sample_weight=weights, verbose=0,
                                 return_dict=True, batch_size=len(examples["user"]))


@pytest.mark.parametrize("task_weights", [{"interaction": 1.0, "rating": 0.0},
                                          {"interaction": 0.5, "rating": 2.0}])
def test_the_loss_is_the_weighted_sum_of_the_task_losses(task_weights, train):
    model = tiny_model("SharedBottom", train, task_weights=task_weights, epochs=1).fit(train)
    examples = sample_examples(model._rating_matrix(train), 4, np.random.default_rng(0))
    losses = evaluate_on_one_batch(model, examples, *task_targets(examples, model.tasks_))
    expected = sum(weight * losses[f"{task}_loss"] for task, weight in task_weights.items())
    assert losses["loss"] == pytest.approx(expected, rel=1e-5)
    assert model.predicts_ratings is (task_weights["rating"] > 0)
    if task_weights["rating"] == 0:
        with pytest.raises(ValueError, match="did not learn the rating task"):
            model.predict(train["user_id"][:1], train["item_id"][:1])


def test_the_rating_loss_ignores_negatives(fitted, train):
    model = fitted["MMoE"]
    matrix = model._rating_matrix(train)
    examples = sample_examples(matrix, 4, np.random.default_rng(0))
    targets, weights = task_targets(examples, model.tasks_)

    def rating_loss(rating_targets):
        targets_ = {**targets, "rating": rating_targets}
        return evaluate_on_one_batch(model, examples, targets_, weights)["rating_loss"]

    negative = examples["interaction"] == 0
    garbage = np.where(negative, 100.0, targets["rating"]).astype(np.float32)
    assert rating_loss(garbage) == pytest.approx(rating_loss(targets["rating"]), rel=1e-6)
    # It is the mean squared error over the rated pairs.
    rated = ~negative
    outputs = model._network_outputs(examples["user"][rated], examples["item"][rated])
    expected = np.mean((outputs["rating"][:, 0] - examples["rating"][rated]) ** 2)
    assert rating_loss(targets["rating"]) == pytest.approx(expected, rel=1e-4)


def test_same_seed_same_scores_other_seed_other_scores(fitted, train):
    users, items = train["user_id"], train["item_id"]
    first = fitted["MMoE"].score(users, items)
    again = tiny_model("MMoE", train).fit(train).score(users, items)
    other = tiny_model("MMoE", train, random_state=1).fit(train).score(users, items)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_switching_off_only_some_domain_tasks_is_refused(train):
    items = synthetic_items(train["item_id"].unique())
    domains = genre_domains(items, ["Action", "Sci-Fi"], names=("action", "other"))
    weights = {"action": 1.0, "other": 0.0, "rating": 0.1}
    with pytest.raises(ValueError, match=r"switch off the domain task\(s\) \['other'\]"):
        tiny_model("MMoE", train, domains=domains, task_weights=weights).fit(train)


@pytest.mark.parametrize("taken", ["item", "experts", "other_tower_1", "gate_other"])
def test_a_domain_named_like_a_layer_is_refused_with_the_fix(train, taken):
    # A domain is a task, and a task's output layer is named like the task.
    items = synthetic_items(train["item_id"].unique())
    domains = genre_domains(items, ["Action", "Sci-Fi"], names=(taken, "other"))
    with pytest.raises(ValueError, match=f'name of a layer .*"{taken}" is used 2 times.*Rename'):
        tiny_model("MMoE", train, domains=domains).fit(train)


def test_one_domain_or_a_domain_named_like_the_preference_task_is_refused(train):
    item_ids = np.sort(train["item_id"].unique())
    one_domain = dict.fromkeys(item_ids.tolist(), "movies")
    with pytest.raises(ValueError, match="every training item in one domain"):
        tiny_model("MMoE", train, domains=one_domain).fit(train)
    preference_name = {item: ("rating" if n % 2 else "other") for n, item in enumerate(item_ids)}
    with pytest.raises(ValueError, match="cannot name a task"):
        tiny_model("MMoE", train, domains=preference_name).fit(train)


def test_domains_make_one_interaction_task_per_domain(train):
    items = synthetic_items(train["item_id"].unique())
    domains = genre_domains(items, ["Action", "Sci-Fi"], names=("action", "other"))
    weights = {"action": 1.0, "other": 1.0, "rating": 0.5}
    model = tiny_model("MMoE", train, domains=domains, task_weights=weights).fit(train)
    assert model.tasks_ == {"action": "interaction", "other": "interaction", "rating": "rating"}
    assert set(model.gate_weights(train["user_id"][:3], train["item_id"][:3])) == set(weights)
    # Each item is scored by its own domain's task.
    users, items_ = train["user_id"].to_numpy(), train["item_id"].to_numpy()
    tasks = model.task_scores(users, items_)
    expected = np.where(domains.loc[items_].to_numpy() == "action", tasks["action"],
                        tasks["other"])
    np.testing.assert_array_equal(model.score(users, items_), expected)


def test_liked_preference_classifies_good_ratings(train):
    model = tiny_model("SharedBottom", train, preference="liked").fit(train)
    assert model.tasks_ == {"interaction": "interaction", "liked": "liked"}
    liked = model.task_scores(train["user_id"], train["item_id"])["liked"]
    assert ((liked > 0) & (liked < 1)).all()
    assert model.predicts_ratings is False
    with pytest.raises(ValueError, match="did not learn the rating task"):
        model.predict(train["user_id"], train["item_id"])


def test_the_side_feature_tables_must_cover_the_training_ids(train):
    users = synthetic_users(train["user_id"].unique()[1:])
    model = MMoE(users=users, items=synthetic_items(train["item_id"].unique()), **TINY["MMoE"])
    with pytest.raises(ValueError, match="not in the users table"):
        model.fit(train)


@pytest.mark.parametrize(("parameter", "value", "message"), [
    ("embedding_dim", 0, "embedding_dim must be a positive integer"),
    ("num_experts", 0, "num_experts must be a positive integer"),
    ("epochs", 1.0, "epochs must be a positive integer"),
    ("expert_layers", (), "expert_layers must be a non-empty sequence"),
    ("tower_layers", 16, "tower_layers must be a non-empty sequence"),
    ("learning_rate", 0.0, "learning_rate must be a positive number"),
    ("validation_fraction", 1.0, r"validation_fraction must be a number in \[0, 1\)"),
    ("random_state", "seed", "random_state must be a whole number >= 0"),
    ("preference", "stars", "preference must be one of"),
    ("preference_dropout", 1.0, r"preference_dropout must be a number in \[0, 1\)"),
    ("task_weights", {"interaction": 1.0}, "a weight for each task"),
    ("task_weights", {"interaction": 1.0, "rating": -1.0}, "must be a finite number >= 0"),
    ("task_weights", {"interaction": 1.0, "rating": True}, "must be a finite number >= 0"),
    ("task_weights", {"interaction": 1.0, "rating": np.inf}, "must be a finite number >= 0"),
    ("task_weights", {"interaction": 1.0, "rating": np.nan}, "must be a finite number >= 0"),
    ("task_weights", {"interaction": 0, "rating": 0}, "all 0"),
    ("domains", {1000: "a"}, "have no domain"),
    ("users", "users.csv", "users must be a pandas DataFrame"),
])
def test_bad_parameters_are_a_clear_error_in_fit(parameter, value, message, train):
    model = tiny_model("MMoE", train, **{parameter: value})  # Stored unchecked.
    assert model.get_params()[parameter] is value
    with pytest.raises(ValueError, match=message):
        model.fit(train)


def test_bad_shared_bottom_layers(train):
    with pytest.raises(ValueError, match="bottom_layers"):
        tiny_model("SharedBottom", train, bottom_layers=(8, 0)).fit(train)


def test_implicit_feedback_needs_the_rating_task_off(train):
    implicit = train.drop(columns=["rating", "timestamp"])
    with pytest.raises(ValueError, match="needs a rating column"):
        tiny_model("MMoE", train).fit(implicit)
    model = tiny_model("MMoE", train, task_weights={"interaction": 1, "rating": 0})
    assert len(model.fit(implicit).recommend(k=3)) == 3 * train["user_id"].nunique()


# ----------------------------------------------------------------------------- MovieLens


def test_mmoe_beats_popularity_on_movielens_leave_one_out(movielens):
    train, test = leave_one_out(movielens.ratings)
    popularity = evaluate_ranking(Popularity().fit(train), train, test, k=10, protocol="sampled")
    # Fewer epochs than the defaults keep the test short; it is still far above popularity.
    model = MMoE(users=movielens.users, items=movielens.items, epochs=3).fit(train)
    mmoe = evaluate_ranking(model, train, test, k=10, protocol="sampled")
    # Popularity reaches HR@10 0.31.
    assert mmoe["hit_rate@10"] > popularity["hit_rate@10"] + 0.1
