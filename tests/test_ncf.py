"""GMF, MLP and NeuMF: the Keras networks, the recommenders around them, and MovieLens."""

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.special
from sklearn.metrics import roc_auc_score

from recsys_lessons.data import stratified_split
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models import keras_utils
from recsys_lessons.models.baselines import Popularity
from recsys_lessons.models.ncf import (
    GMF,
    MLP,
    NeuMF,
    gmf_network,
    load_pretrained,
    mlp_network,
    neumf_network,
)
from tests.conftest import make_ratings

TINY = {"embedding_dim": 4, "epochs": 2, "batch_size": 256}
TINY_TOWER = {**TINY, "hidden_layers": (8, 4)}
TINY_MODELS = [GMF(**TINY), MLP(**TINY_TOWER), NeuMF(**TINY_TOWER)]
NETWORKS = {
    "gmf": lambda: gmf_network(6, 9, embedding_dim=4),
    "mlp": lambda: mlp_network(6, 9, embedding_dim=4, hidden_layers=(8, 4)),
    "neumf": lambda: neumf_network(6, 9, embedding_dim=4, hidden_layers=(8, 4)),
}
ALL_NETWORKS = pytest.mark.parametrize("name", list(NETWORKS))
# Keras' .keras writer converts variables with np.array(x), which numpy 2 flags; not our code.
KERAS_SAVING_WARNING = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)
ALL_TINY = pytest.mark.parametrize("model", TINY_MODELS, ids=lambda model: type(model).__name__)


def pairs(num_pairs=12, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "user": rng.integers(0, 6, num_pairs).astype(np.int32),
        "item": rng.integers(0, 9, num_pairs).astype(np.int32),
    }


def logit(probability):
    return scipy.special.logit(np.asarray(probability, dtype=np.float64))


def block_ratings(num_users=60, num_items=40, seed=0) -> pd.DataFrame:
    """Two tastes: even users mostly pick even items, odd users odd items."""
    rng = np.random.default_rng(seed)
    users, items = np.meshgrid(np.arange(num_users), np.arange(num_items), indexing="ij")
    same_taste = users % 2 == items % 2
    chosen = rng.random(users.shape) < np.where(same_taste, 0.5, 0.03)
    return pd.DataFrame({"user_id": users[chosen], "item_id": items[chosen]})


@pytest.fixture(scope="module")
def train():
    return make_ratings(num_users=25, num_items=30, density=0.25, seed=7)


@pytest.fixture(scope="module")
def fitted(train):
    return {type(model).__name__: model.clone().fit(train) for model in TINY_MODELS}


# ----------------------------------------------------------------------------- the networks


@ALL_NETWORKS
def test_forward_pass_gives_one_probability_per_pair(name):
    output = keras.ops.convert_to_numpy(NETWORKS[name]()(pairs(12)))
    assert output.shape == (12, 1)
    assert ((output > 0) & (output < 1)).all()


@ALL_NETWORKS
def test_get_config_round_trip_gives_the_same_architecture(name):
    network = NETWORKS[name]()
    rebuilt = keras.Model.from_config(network.get_config())
    assert rebuilt.get_config() == network.get_config()
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in network.layers]
    assert rebuilt.count_params() == network.count_params()


@KERAS_SAVING_WARNING
@ALL_NETWORKS
def test_saving_and_loading_a_keras_file_gives_identical_predictions(name, tmp_path):
    network = NETWORKS[name]()
    path = tmp_path / f"{name}.keras"
    network.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded(pairs())), keras.ops.convert_to_numpy(network(pairs()))
    )


def test_every_embedding_table_starts_from_its_own_random_values():
    network = neumf_network(6, 6, embedding_dim=4)
    names = ["gmf_user_embedding", "gmf_item_embedding", "mlp_user_embedding",
             "mlp_item_embedding"]
    tables = [network.get_layer(name).get_weights()[0] for name in names]
    for index, table in enumerate(tables):
        assert 0 < table.std() < 0.05  # Small values, as in the paper.
        assert not any(np.allclose(table, other) for other in tables[index + 1 :])


def test_the_tower_has_the_widths_asked_for():
    network = mlp_network(6, 9, embedding_dim=5, hidden_layers=(16, 8, 4))
    widths = [network.get_layer(f"hidden_{depth}").units for depth in (1, 2, 3)]
    assert widths == [16, 8, 4]
    assert network.get_layer("hidden_1").kernel.shape == (10, 16)  # z_0 = [p_u ; q_i].


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_load_pretrained_copies_weights_and_joins_the_output_layers(alpha):
    gmf, mlp = NETWORKS["gmf"](), NETWORKS["mlp"]()
    neumf = NETWORKS["neumf"]()
    # Output biases start at zero; give them values so that joining them is tested too.
    for network, bias in ((gmf, 1.0), (mlp, -2.0)):
        h, _ = network.get_layer("prediction").get_weights()
        network.get_layer("prediction").set_weights([h, np.array([bias], dtype=np.float32)])
    load_pretrained(neumf, gmf, mlp, alpha=alpha)

    def weights(network, name):
        return network.get_layer(name).get_weights()

    for target, source, name in [
        ("gmf_user_embedding", gmf, "user_embedding"),
        ("gmf_item_embedding", gmf, "item_embedding"),
        ("mlp_user_embedding", mlp, "user_embedding"),
        ("mlp_item_embedding", mlp, "item_embedding"),
        ("hidden_1", mlp, "hidden_1"),
        ("hidden_2", mlp, "hidden_2"),
    ]:
        for copied, original in zip(weights(neumf, target), weights(source, name), strict=True):
            np.testing.assert_array_equal(copied, original)
    h_gmf, b_gmf = weights(gmf, "prediction")
    h_mlp, b_mlp = weights(mlp, "prediction")
    h, b = weights(neumf, "prediction")
    np.testing.assert_allclose(h, np.concatenate([alpha * h_gmf, (1 - alpha) * h_mlp]), rtol=1e-6)
    np.testing.assert_allclose(b, alpha * b_gmf + (1 - alpha) * b_mlp, rtol=1e-6)
    # So NeuMF starts as the α-weighted sum of the two logits.
    expected = alpha * logit(gmf(pairs())) + (1 - alpha) * logit(mlp(pairs()))
    np.testing.assert_allclose(logit(neumf(pairs())), expected, atol=1e-4)


# ----------------------------------------------------------------------------- the recommenders


def test_gmf_scores_are_the_formula_on_the_learned_weights(fitted, train):
    model = fitted["GMF"]
    p = model.model_.get_layer("user_embedding").get_weights()[0].astype(float)
    q = model.model_.get_layer("item_embedding").get_weights()[0].astype(float)
    h, b = model.model_.get_layer("prediction").get_weights()
    users = model.user_map_.to_index(train["user_id"])
    items = model.item_map_.to_index(train["item_id"])
    expected = 1 / (1 + np.exp(-((p[users] * q[items]) @ h[:, 0] + b[0])))
    scores = model.score(train["user_id"], train["item_id"])
    np.testing.assert_allclose(scores, expected, rtol=1e-10)
    # The network computes the same in float32.
    network = model.model_.predict_on_batch({"user": users, "item": items})
    np.testing.assert_allclose(scores, np.asarray(network).ravel(), rtol=1e-5)
    # The all-items scores behind recommend are the same formula.
    top = model.recommend(k=len(model.item_map_), exclude_seen=False)
    np.testing.assert_allclose(top["score"], model.score(top["user_id"], top["item_id"]),
                               rtol=1e-12)


@pytest.mark.parametrize("name", ["MLP", "NeuMF"])
def test_tower_scores_come_from_the_network(fitted, train, name):
    model = fitted[name]
    users = model.user_map_.to_index(train["user_id"])
    items = model.item_map_.to_index(train["item_id"])
    network = np.asarray(model.model_.predict_on_batch({"user": users, "item": items})).ravel()
    np.testing.assert_allclose(model.score(train["user_id"], train["item_id"]), network, rtol=1e-6)


@ALL_TINY
def test_fit_sets_the_keras_model_and_a_history_table(model, fitted):
    model = fitted[type(model).__name__]
    assert isinstance(model.model_, keras.Model)
    assert list(model.history_.columns) == ["loss"]
    assert model.history_.index.tolist() == [1, 2]
    assert model.history_.index.name == "epoch"


@KERAS_SAVING_WARNING
@ALL_TINY
def test_a_fitted_model_model_saves_and_loads(model, fitted, tmp_path):
    network = fitted[type(model).__name__].model_
    network.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    batch = {"user": np.arange(10, dtype=np.int32), "item": np.arange(10, dtype=np.int32)}
    np.testing.assert_array_equal(loaded.predict_on_batch(batch), network.predict_on_batch(batch))


@ALL_TINY
def test_same_seed_same_scores_other_seed_other_scores(model, train):
    users, items = train["user_id"], train["item_id"]
    first = model.clone().fit(train).score(users, items)
    again = model.clone().fit(train).score(users, items)
    other = model.clone().set_params(random_state=1).fit(train).score(users, items)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize("model_class", [GMF, MLP, NeuMF])
def test_training_learns_the_structure_of_a_small_problem(model_class):
    ratings = block_ratings()
    model = model_class(embedding_dim=8, epochs=15, batch_size=128, learning_rate=0.01)
    if model_class is not GMF:
        model.set_params(hidden_layers=(16, 8))
    model.fit(ratings)
    loss = model.history_["loss"].to_numpy()
    assert loss[-1] < 0.75 * loss[0]
    # Unseen items of the user's own taste mostly outrank unseen items of the other taste.
    scores = model._score_users(np.arange(60))
    seen = model.user_items_.toarray() > 0
    same_taste = (np.arange(60)[:, None] % 2) == (np.arange(40)[None, :] % 2)
    auc = roc_auc_score(same_taste[~seen], scores[~seen])
    assert auc > 0.9


def test_verbose_false_prints_nothing_and_verbose_true_prints_epochs(train, capsys):
    GMF(**TINY).fit(train)
    assert capsys.readouterr() == ("", "")
    GMF(**TINY, verbose=True).fit(train)
    assert "Epoch 2/2" in capsys.readouterr().out


def test_weight_decay_trains_with_adamw_and_shrinks_the_weights(train):
    plain = GMF(**TINY, learning_rate=0.01, weight_decay=0.0).fit(train)
    decayed = GMF(**TINY, learning_rate=0.01, weight_decay=10.0).fit(train)
    assert type(plain.model_.optimizer) is keras.optimizers.Adam
    assert isinstance(decayed.model_.optimizer, keras.optimizers.AdamW)
    assert decayed.model_.optimizer.weight_decay == 10.0
    # Each step also shrinks every weight by learning_rate · weight_decay · w.
    for table in ("user_embedding", "item_embedding"):
        norm = {name: np.linalg.norm(model.model_.get_layer(table).get_weights()[0])
                for name, model in (("plain", plain), ("decayed", decayed))}
        assert norm["decayed"] < 0.9 * norm["plain"]


def test_validation_split_monitors_the_loss_and_stops_early(train, monkeypatch):
    drawn = []  # Every (positives, users, items, labels) drawn for training and validation.
    labelled_pairs = keras_utils.labelled_pairs

    def recording(positives, *arguments, **keywords):
        pairs = labelled_pairs(positives, *arguments, **keywords)
        drawn.append((positives, *pairs))
        return pairs

    monkeypatch.setattr(keras_utils, "labelled_pairs", recording)
    model = GMF(embedding_dim=16, epochs=40, batch_size=64, learning_rate=0.05,
                validation_fraction=0.3, patience=3).fit(train)
    assert list(model.history_.columns) == ["loss", "val_loss"]
    # Fast learning on 25 users over-fits quickly: training stops long before 40 epochs,
    # `patience` epochs after the best validation loss, and keeps that epoch's weights.
    validation_loss = model.history_["val_loss"].to_numpy()
    assert len(validation_loss) < 40
    assert len(validation_loss) - (np.argmin(validation_loss) + 1) == 3
    # The validation pairs are drawn from the held-out matrix, the smaller of the two.
    _, users, items, labels = min(drawn, key=lambda pairs: pairs[0].nnz)
    kept = model.model_.evaluate({"user": users, "item": items}, labels, verbose=0,
                                 batch_size=keras_utils.SCORING_BATCH_SIZE)
    np.testing.assert_allclose(kept, validation_loss.min(), rtol=1e-4)
    assert kept < validation_loss[-1]
    # No negative, for training or for validation, is a pair the user has in train.
    known = model.user_items_.toarray() > 0
    assert len(drawn) >= 2
    for _, users, items, labels in drawn:
        assert not known[users[labels == 0], items[labels == 0]].any()


@pytest.mark.parametrize("model_class", [GMF, MLP, NeuMF])
@pytest.mark.parametrize(("parameter", "value", "message"), [
    ("embedding_dim", 0, "embedding_dim must be a positive integer"),
    ("embedding_dim", -3, "embedding_dim must be a positive integer"),
    ("num_negatives", 0, "num_negatives must be a positive integer"),
    ("learning_rate", 0.0, "learning_rate must be a positive number"),
    ("learning_rate", -0.01, "learning_rate must be a positive number"),
    ("weight_decay", -0.1, "weight_decay must be a non-negative number"),
    ("weight_decay", "0.1", "weight_decay must be a non-negative number"),
    ("epochs", 0, "epochs must be a positive integer"),
    ("patience", 0, "patience must be a positive integer"),
    ("batch_size", 2.5, "batch_size must be a positive integer"),
    # Whole-number floats too: Keras layers and fit refuse them with less helpful messages.
    ("embedding_dim", 4.0, "embedding_dim must be a positive integer .*a float"),
    ("epochs", 2.0, "epochs must be a positive integer"),
    ("validation_fraction", 1.0, r"validation_fraction must be a number in \[0, 1\)"),
    ("random_state", "seed", "random_state must be a whole number >= 0"),
])
def test_bad_parameters_are_a_clear_error_in_fit(model_class, parameter, value, message, train):
    model = model_class(**{parameter: value})  # Stored unchecked, as in scikit-learn.
    assert getattr(model, parameter) == value
    with pytest.raises(ValueError, match=message):
        model.fit(train)


@pytest.mark.parametrize("model_class", [MLP, NeuMF])
@pytest.mark.parametrize("hidden_layers", [(), 32, (32, 0), "64", (8.0,)])
def test_bad_hidden_layers(model_class, hidden_layers, train):
    with pytest.raises(ValueError, match="hidden_layers"):
        model_class(hidden_layers=hidden_layers).fit(train)


# ----------------------------------------------------------------------------- NeuMF pretraining


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0])
def test_neumf_from_pretrained_starts_from_the_two_models(fitted, train, alpha):
    gmf, mlp = fitted["GMF"], fitted["MLP"]
    # A vanishing learning rate leaves the copied start almost unchanged.
    neumf = NeuMF.from_pretrained(gmf, mlp, alpha=alpha, epochs=1, learning_rate=1e-9).fit(train)
    assert neumf.get_params()["pretrained"] == (gmf, mlp)
    assert (neumf.embedding_dim, tuple(neumf.hidden_layers)) == (4, (8, 4))
    for target, source, name in [
        ("gmf_user_embedding", gmf, "user_embedding"),
        ("gmf_item_embedding", gmf, "item_embedding"),
        ("mlp_user_embedding", mlp, "user_embedding"),
        ("hidden_2", mlp, "hidden_2"),
    ]:
        np.testing.assert_allclose(
            neumf.model_.get_layer(target).get_weights()[0],
            source.model_.get_layer(name).get_weights()[0], atol=1e-6,
        )
    h_gmf = gmf.model_.get_layer("prediction").get_weights()[0]
    h_mlp = mlp.model_.get_layer("prediction").get_weights()[0]
    np.testing.assert_allclose(
        neumf.model_.get_layer("prediction").get_weights()[0],
        np.concatenate([alpha * h_gmf, (1 - alpha) * h_mlp]), atol=1e-6,
    )


def test_neumf_pretrained_must_match_and_be_fitted_on_the_same_data(fitted, train):
    gmf, mlp = fitted["GMF"], fitted["MLP"]
    with pytest.raises(ValueError, match="embedding_dim"):
        NeuMF(embedding_dim=8, hidden_layers=(8, 4), pretrained=(gmf, mlp)).fit(train)
    wide_mlp = MLP(**{**TINY_TOWER, "embedding_dim": 6}).fit(train)
    with pytest.raises(ValueError, match="embedding_dim 4 and 6"):
        NeuMF(**TINY_TOWER, pretrained=(gmf, wide_mlp)).fit(train)
    with pytest.raises(ValueError, match="hidden_layers"):
        NeuMF(embedding_dim=4, hidden_layers=(8,), pretrained=(gmf, mlp)).fit(train)
    with pytest.raises(ValueError, match="same training data"):
        NeuMF.from_pretrained(gmf, mlp).fit(train[train["user_id"] != train["user_id"].iloc[0]])
    # As many users and items as before, but one id renamed: these are other users or items.
    for column in ("user_id", "item_id"):
        renamed = train.replace({column: {train[column].max(): 99_999}})
        with pytest.raises(ValueError, match="GMF was fitted on other users or items"):
            NeuMF.from_pretrained(gmf, mlp).fit(renamed)
    # The MLP is checked as well as the GMF.
    other_mlp = MLP(**TINY_TOWER).fit(renamed)
    with pytest.raises(ValueError, match="MLP was fitted on other users or items"):
        NeuMF.from_pretrained(gmf, other_mlp).fit(train)
    with pytest.raises(ValueError, match="This MLP is not fitted yet"):
        NeuMF.from_pretrained(gmf, MLP(**TINY_TOWER)).fit(train)
    with pytest.raises(ValueError, match="a fitted GMF and a fitted MLP"):
        NeuMF(pretrained=(mlp, gmf)).fit(train)
    with pytest.raises(ValueError, match="fit"):
        NeuMF.from_pretrained(GMF(**TINY), mlp).fit(train)
    with pytest.raises(ValueError, match=r"alpha must be a number in \[0, 1\]"):
        NeuMF(alpha=1.5).fit(train)


# ----------------------------------------------------------------------------- MovieLens


def test_gmf_with_default_settings_beats_popularity_on_movielens(movielens):
    train, test = stratified_split(movielens.ratings, 0.25, seed=0)
    popularity = evaluate_ranking(Popularity().fit(train), train, test, k=10)
    gmf = evaluate_ranking(GMF().fit(train), train, test, k=10)
    # Popularity reaches NDCG@10 0.253; GMF with its defaults about 0.44.
    assert gmf["ndcg@10"] > popularity["ndcg@10"] + 0.1
