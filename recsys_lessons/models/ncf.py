"""Neural collaborative filtering: GMF, MLP and NeuMF (He et al., WWW 2017).

All three learn a user embedding p_u and an item embedding q_i from implicit feedback and
differ in how they combine them into ŷ_ui, the predicted probability that u interacts with i:

- GMF (generalised matrix factorisation): ŷ_ui = σ(hᵀ(p_u ⊙ q_i) + b). With h = 1 and b = 0
  this is σ(p_uᵀq_i), plain matrix factorisation; learning h lets each factor matter more
  or less.
- MLP: ŷ_ui = σ(hᵀ z_L + b) with z_0 = [p_u ; q_i] and z_l = ReLU(W_l z_(l−1) + b_l): a
  tower of dense layers learns the interaction instead of fixing it to a product.
- NeuMF: both branches with their own embeddings, joined before the output layer:
  ŷ_ui = σ(hᵀ[p_uᴳ ⊙ q_iᴳ ; z_L] + b). It can start from a trained GMF and MLP.

Training (see `keras_utils.KerasRecommender`) minimises the binary cross-entropy over the
observed pairs and `num_negatives` sampled unobserved pairs per observed one, drawn fresh
every epoch, with Adam (AdamW, with a little weight decay, by default). The networks are
Keras functional models built only from Keras' own layers, so `get_config`, `from_config`
and `.keras` files work without custom objects.

The default hyper-parameters were chosen on MovieLens 100k without looking at any test
data: on a validation split carved out of the training data for the NCF paper's protocol
(each user's latest training interaction ranked among 99 unrated items, HR@10, averaged over
three seeds), and on one for the course's standard protocol (NDCG@10 of top-10 lists over
all unseen items). Training longer helps the first and, without regularisation, hurts the
second; a weight decay of 0.2 lets GMF and MLP train for 20 epochs, better on the first and
no worse on the second. Embeddings of 16 or 64, 8 negatives, an item bias and an L2 penalty
on the embeddings did no better.

Batches of 4096 pairs instead of 2048 then halved the steps per epoch, which is what a CPU
pays for. They were compared on one validation split of each kind (seed 0): validation
HR@10 for the NCF protocol, then NDCG@10 for the standard one:

- GMF and MLP at learning rate 0.003 (was 0.002), 20 epochs: GMF .683 / .248 against
  .687 / .255 before, MLP .660 / .242 against .656 / .239; they train in about 50% and 65%
  of the time.
- NeuMF at learning rate 0.004 for 8 epochs (was 0.001 for 18): .686 / .238 against
  .667 / .246, in a third of the time.

So GMF gave up a little on the standard protocol and NeuMF traded some of it for more on the
NCF protocol; the course's time budget on 2 CPU cores decided it.

A later check of NeuMF alone, on the NCF protocol's validation split (validation HR@10, mean
of model seeds 0 and 1, which differ by up to 0.018 in a setting): the defaults 0.684, against
0.685 for EASE. Towers of (128, 64, 32) scored 0.684 and (32, 16, 8) 0.686; embeddings of 64,
0.678; 8 negatives for 6 epochs, 0.679; 2 negatives for 12 epochs, 0.677; 14 epochs with a
weight decay of 0.5, 0.669; batches of 1024 at learning rate 0.002, 0.676; 12 epochs at 0.002,
0.679. None beat the defaults by more than the seeds' spread, so the defaults stayed.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import scipy.special

from recsys_lessons.data.validation import check_whole_count, is_real_number
from recsys_lessons.models.keras_utils import KerasRecommender

# ----------------------------------------------------------------------------- networks


def _inputs() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The two inputs of every NCF network: a batch of user and of item indices."""
    user = keras.Input(shape=(), dtype="int32", name="user")
    item = keras.Input(shape=(), dtype="int32", name="item")
    return user, item


def _embeddings(user, item, num_users: int, num_items: int, embedding_dim: int, prefix: str):
    """p_u and q_i: one learned row per user and per item, looked up by index."""

    def table(rows: int, name: str) -> keras.layers.Embedding:
        # Small initial values (a normal with σ = 0.01, as in the paper) start every score
        # near σ(b). Each table gets its own initializer: one shared unseeded initializer
        # would give every table the same random values.
        initializer = keras.initializers.RandomNormal(stddev=0.01)
        return keras.layers.Embedding(rows, embedding_dim, embeddings_initializer=initializer,
                                      name=f"{prefix}{name}")

    return table(num_users, "user_embedding")(user), table(num_items, "item_embedding")(item)


def _tower(vector, hidden_layers: Sequence[int]):
    """z_l = ReLU(W_l z_(l−1) + b_l) for each width in `hidden_layers`."""
    for depth, units in enumerate(hidden_layers, start=1):
        vector = keras.layers.Dense(units, activation="relu", name=f"hidden_{depth}")(vector)
    return vector


def _prediction(vector):
    """ŷ_ui = σ(hᵀ vector + b)."""
    return keras.layers.Dense(1, activation="sigmoid", name="prediction")(vector)


def gmf_network(num_users: int, num_items: int, embedding_dim: int = 32) -> keras.Model:
    """The GMF network: ŷ_ui = σ(hᵀ(p_u ⊙ q_i) + b)."""
    user, item = _inputs()
    p_u, q_i = _embeddings(user, item, num_users, num_items, embedding_dim, prefix="")
    interaction = keras.layers.Multiply(name="interaction")([p_u, q_i])
    return keras.Model({"user": user, "item": item}, _prediction(interaction), name="gmf")


def mlp_network(
    num_users: int,
    num_items: int,
    embedding_dim: int = 32,
    hidden_layers: Sequence[int] = (64, 32, 16),
) -> keras.Model:
    """The MLP network: ŷ_ui = σ(hᵀ z_L + b), z_0 = [p_u ; q_i], z_l = ReLU(W_l z_(l−1) + b_l)."""
    user, item = _inputs()
    p_u, q_i = _embeddings(user, item, num_users, num_items, embedding_dim, prefix="")
    z_0 = keras.layers.Concatenate(name="concatenate")([p_u, q_i])
    z_last = _tower(z_0, hidden_layers)
    return keras.Model({"user": user, "item": item}, _prediction(z_last), name="mlp")


def neumf_network(
    num_users: int,
    num_items: int,
    embedding_dim: int = 32,
    hidden_layers: Sequence[int] = (64, 32, 16),
) -> keras.Model:
    """The NeuMF network: ŷ_ui = σ(hᵀ[p_uᴳ ⊙ q_iᴳ ; z_L] + b).

    The GMF branch (embeddings "gmf_user_embedding", "gmf_item_embedding") and the MLP branch
    ("mlp_user_embedding", "mlp_item_embedding", "hidden_1", ...) have separate embeddings,
    because the best embedding for a product need not be the best input for a tower.
    """
    user, item = _inputs()
    gmf_p_u, gmf_q_i = _embeddings(user, item, num_users, num_items, embedding_dim, "gmf_")
    mlp_p_u, mlp_q_i = _embeddings(user, item, num_users, num_items, embedding_dim, "mlp_")
    gmf_vector = keras.layers.Multiply(name="interaction")([gmf_p_u, gmf_q_i])
    z_0 = keras.layers.Concatenate(name="concatenate")([mlp_p_u, mlp_q_i])
    mlp_vector = _tower(z_0, hidden_layers)
    both = keras.layers.Concatenate(name="neumf_concatenate")([gmf_vector, mlp_vector])
    return keras.Model({"user": user, "item": item}, _prediction(both), name="neumf")


def load_pretrained(
    neumf: keras.Model, gmf: keras.Model, mlp: keras.Model, alpha: float = 0.5
) -> None:
    """Initialise a NeuMF network from a trained GMF and MLP network (section 3.4.1).

    The embeddings and hidden layers are copied; the output layer is the weighted join

        h ← [α·h_GMF ; (1 − α)·h_MLP],   b ← α·b_GMF + (1 − α)·b_MLP

    so that before any further training NeuMF's logit is the α-weighted sum of the two
    pretrained logits.
    """
    copies = {
        "gmf_user_embedding": (gmf, "user_embedding"),
        "gmf_item_embedding": (gmf, "item_embedding"),
        "mlp_user_embedding": (mlp, "user_embedding"),
        "mlp_item_embedding": (mlp, "item_embedding"),
    }
    depth = 1
    while any(layer.name == f"hidden_{depth}" for layer in mlp.layers):
        copies[f"hidden_{depth}"] = (mlp, f"hidden_{depth}")
        depth += 1
    for target, (source, name) in copies.items():
        neumf.get_layer(target).set_weights(source.get_layer(name).get_weights())
    h_gmf, b_gmf = gmf.get_layer("prediction").get_weights()
    h_mlp, b_mlp = mlp.get_layer("prediction").get_weights()
    neumf.get_layer("prediction").set_weights([
        np.concatenate([alpha * h_gmf, (1 - alpha) * h_mlp]),
        alpha * b_gmf + (1 - alpha) * b_mlp,
    ])


def _check_hidden_layers(hidden_layers) -> tuple[int, ...]:
    if isinstance(hidden_layers, int | str) or not isinstance(hidden_layers, Sequence):
        raise ValueError(
            f"hidden_layers must be a sequence of layer widths such as (64, 32, 16), got "
            f"{hidden_layers!r}."
        )
    if len(hidden_layers) == 0:
        raise ValueError("hidden_layers must hold at least one width, e.g. (64, 32, 16).")
    return tuple(check_whole_count(units, "every width in hidden_layers")
                 for units in hidden_layers)


# ----------------------------------------------------------------------------- recommenders

_TRAINING_PARAMETERS = """
    num_negatives:
        Unobserved items sampled per observed pair, fresh every epoch (n; the paper uses 4).
    epochs:
        Passes over the observed pairs.
    batch_size:
        Pairs per gradient step. Large batches keep training fast on a CPU.
    learning_rate:
        The step size of Adam (of AdamW when `weight_decay` > 0).
    weight_decay:
        Decoupled weight decay λ (AdamW): every step also shrinks each weight w by
        learning_rate · λ · w. It lets training run longer without over-fitting; 0 trains
        with plain Adam, as in the paper.
    validation_fraction:
        Share of each user's training items held out to monitor the validation loss; 0 trains
        on everything for exactly `epochs` epochs. With a split, training stops after
        `patience` epochs without improvement and keeps the best epoch's weights.
    patience:
        Epochs without a better validation loss before training stops.
    random_state:
        Seed of weights, negatives and the validation split; None gives a different model on
        each fit.
    verbose:
        Print one line per epoch while training.
"""


class GMF(KerasRecommender):
    """Generalised matrix factorisation: ŷ_ui = σ(hᵀ(p_u ⊙ q_i) + b).

    p_u ⊙ q_i is the element-wise product of the user and item embeddings; h weighs each of
    its `embedding_dim` factors and σ(x) = 1 / (1 + e⁻ˣ) turns the result into a probability.

    Parameters
    ----------
    embedding_dim:
        Length of p_u and q_i (the number of predictive factors).
    """

    __doc__ = __doc__.rstrip() + _TRAINING_PARAMETERS

    def __init__(
        self,
        embedding_dim: int = 32,
        num_negatives: int = 4,
        epochs: int = 20,
        batch_size: int = 4096,
        learning_rate: float = 0.003,
        weight_decay: float = 0.2,
        validation_fraction: float = 0.0,
        patience: int = 2,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.embedding_dim = embedding_dim
        self.num_negatives = num_negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(embedding_dim=4, epochs=2, batch_size=256)

    def _build_network(self, num_users, num_items):
        return gmf_network(num_users, num_items, self.embedding_dim)

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The learned P (users × factors), Q (items × factors), h and b, as float64 arrays."""
        self._check_fitted()
        p = self.model_.get_layer("user_embedding").get_weights()[0].astype(np.float64)
        q = self.model_.get_layer("item_embedding").get_weights()[0].astype(np.float64)
        h, b = self.model_.get_layer("prediction").get_weights()
        return p, q, h[:, 0].astype(np.float64), float(b[0])

    # The formula needs no network: scoring with numpy from the learned weights is exact and
    # scores every item of a user with one matrix product.
    def _score_users(self, user_indices):
        p, q, h, b = self.weights()
        return scipy.special.expit((p[user_indices] * h) @ q.T + b)

    def _score_pairs(self, user_indices, item_indices):
        p, q, h, b = self.weights()
        return scipy.special.expit(np.sum(p[user_indices] * h * q[item_indices], axis=1) + b)


class MLP(KerasRecommender):
    """Multi-layer perceptron: ŷ_ui = σ(hᵀ z_L + b).

    z_0 = [p_u ; q_i] is the concatenation of the embeddings, and each hidden layer computes
    z_l = ReLU(W_l z_(l−1) + b_l). The tower can learn interactions a dot product cannot
    express, but it has to learn even the dot product from data.

    Parameters
    ----------
    embedding_dim:
        Length of p_u and of q_i; z_0 has twice that length.
    hidden_layers:
        Widths of the hidden layers, from bottom to top: a tower that halves each time.
    """

    __doc__ = __doc__.rstrip() + _TRAINING_PARAMETERS

    def __init__(
        self,
        embedding_dim: int = 32,
        hidden_layers: Sequence[int] = (64, 32, 16),
        num_negatives: int = 4,
        epochs: int = 20,
        batch_size: int = 4096,
        learning_rate: float = 0.003,
        weight_decay: float = 0.2,
        validation_fraction: float = 0.0,
        patience: int = 2,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.embedding_dim = embedding_dim
        self.hidden_layers = hidden_layers
        self.num_negatives = num_negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(embedding_dim=4, hidden_layers=(8, 4), epochs=2, batch_size=256)

    def _check_parameters(self):
        super()._check_parameters()
        _check_hidden_layers(self.hidden_layers)

    def _build_network(self, num_users, num_items):
        return mlp_network(num_users, num_items, self.embedding_dim, tuple(self.hidden_layers))


class NeuMF(KerasRecommender):
    """Neural matrix factorisation: ŷ_ui = σ(hᵀ[p_uᴳ ⊙ q_iᴳ ; z_L] + b).

    A GMF branch (embeddings p_uᴳ, q_iᴳ) and an MLP branch (its own embeddings and tower,
    ending in z_L) are concatenated before the output layer, so the model gets both the
    product's inductive bias and the tower's flexibility.

    Parameters
    ----------
    embedding_dim:
        Length of the embeddings of each branch.
    hidden_layers:
        Widths of the MLP branch's hidden layers.
    pretrained:
        None (random start), or a pair (gmf, mlp) of a fitted `GMF` and a fitted `MLP` with
        the same `embedding_dim` and `hidden_layers`, fitted on the same data. Their weights
        become NeuMF's starting point (see `load_pretrained`); the paper reports that this
        start gives the best NeuMF. `NeuMF.from_pretrained(gmf, mlp)` builds such a model
        with the matching architecture and fine-tuning defaults.
    alpha:
        With `pretrained`, the weight of the GMF branch in the output layer:
        h = [α·h_GMF ; (1 − α)·h_MLP]. The paper uses 0.5; 0.7, which leans on GMF, the
        stronger of the two on MovieLens, did slightly better on validation data.
    """

    __doc__ = __doc__.rstrip() + _TRAINING_PARAMETERS

    def __init__(
        self,
        embedding_dim: int = 32,
        hidden_layers: Sequence[int] = (64, 32, 16),
        pretrained: tuple | None = None,
        alpha: float = 0.7,
        num_negatives: int = 4,
        epochs: int = 8,
        batch_size: int = 4096,
        learning_rate: float = 0.004,
        weight_decay: float = 0.2,
        validation_fraction: float = 0.0,
        patience: int = 2,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.embedding_dim = embedding_dim
        self.hidden_layers = hidden_layers
        self.pretrained = pretrained
        self.alpha = alpha
        self.num_negatives = num_negatives
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(embedding_dim=4, hidden_layers=(8, 4), epochs=2, batch_size=256)

    @classmethod
    def from_pretrained(
        cls,
        gmf: GMF,
        mlp: MLP,
        alpha: float = 0.7,
        epochs: int = 2,
        learning_rate: float = 0.0005,
        **parameters,
    ) -> NeuMF:
        """An unfitted NeuMF that starts from a fitted GMF and MLP (the paper's best NeuMF).

        The architecture (`embedding_dim`, `hidden_layers`) is taken from the two models, and
        the defaults suit fine-tuning: the start is already good, so two epochs at a small
        learning rate polish it (on validation data, more epochs or a rate of 0.001 did not
        help).
        Other parameters (num_negatives, weight_decay, random_state, ...) pass through. Fit it
        on the data GMF and MLP were fitted on. A validation split says less here: GMF and MLP
        were trained on the held-out pairs too.
        """
        return cls(
            embedding_dim=gmf.embedding_dim,
            hidden_layers=mlp.hidden_layers,
            pretrained=(gmf, mlp),
            alpha=alpha,
            epochs=epochs,
            learning_rate=learning_rate,
            **parameters,
        )

    def _check_parameters(self):
        super()._check_parameters()
        hidden_layers = _check_hidden_layers(self.hidden_layers)
        if not is_real_number(self.alpha) or not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha must be a number in [0, 1], got {self.alpha!r}.")
        if self.pretrained is None:
            return
        if not (isinstance(self.pretrained, tuple | list) and len(self.pretrained) == 2
                and isinstance(self.pretrained[0], GMF) and isinstance(self.pretrained[1], MLP)):
            raise ValueError(
                "pretrained must be None or a pair (gmf, mlp) of a fitted GMF and a fitted MLP, "
                f"got {self.pretrained!r}."
            )
        gmf, mlp = self.pretrained
        gmf._check_fitted()
        mlp._check_fitted()
        if gmf.embedding_dim != self.embedding_dim or mlp.embedding_dim != self.embedding_dim:
            raise ValueError(
                f"The pretrained GMF and MLP have embedding_dim {gmf.embedding_dim} and "
                f"{mlp.embedding_dim}, but this NeuMF has {self.embedding_dim}; they must match."
            )
        if tuple(mlp.hidden_layers) != hidden_layers:
            raise ValueError(
                f"The pretrained MLP has hidden_layers {tuple(mlp.hidden_layers)}, but this "
                f"NeuMF has {hidden_layers}; they must match."
            )
        for model in (gmf, mlp):
            same_users = np.array_equal(model.user_map_.ids, self.user_map_.ids)
            if not (same_users and np.array_equal(model.item_map_.ids, self.item_map_.ids)):
                raise ValueError(
                    f"The pretrained {type(model).__name__} was fitted on other users or items; "
                    "fit GMF, MLP and NeuMF on the same training data."
                )

    def _build_network(self, num_users, num_items):
        return neumf_network(
            num_users, num_items, self.embedding_dim, tuple(self.hidden_layers)
        )

    def _after_build(self, model):
        if self.pretrained is not None:
            gmf, mlp = self.pretrained
            load_pretrained(model, gmf.model_, mlp.model_, self.alpha)


__all__ = [
    "GMF",
    "MLP",
    "NeuMF",
    "gmf_network",
    "load_pretrained",
    "mlp_network",
    "neumf_network",
]
