"""Privacy: what a recommender reveals about its users, and two ways to reveal less.

The risk
    A user's ratings say more than their taste. `attribute_inference_auc` trains a plain
    logistic regression to guess a private attribute (gender, age band) from the items a user
    rated, and reports the cross-validated ROC AUC: 0.5 is a coin flip, 1 a perfect guess.
    `attribute_inference_auc_from_features` runs the same attack on anything else a system
    computes per user, such as a model's user factors.

Differential privacy (Dwork et al. 2006)
    A randomised algorithm M is (ε, δ)-differentially private when, for any two data sets D
    and D′ that differ in the data of one *privacy unit* and any set S of outputs,

        P[M(D) ∈ S] ≤ e^ε · P[M(D′) ∈ S] + δ

    so whatever is released, it is almost as likely without you as with you. The unit must be
    named: *user-level* privacy protects everything one user did, *interaction-level* (or
    rating-level) privacy protects one rating and says much less about a user with a hundred
    ratings (by group privacy, k ratings get only about k·ε).

Defence A: noisy popularity counts (the Laplace mechanism)
    `laplace_popularity` releases c_i + Laplace(Δ/ε) for every item count c_i, where the
    sensitivity Δ bounds how much one user can change the vector of counts;
    `DPPopularity` recommends from those counts (or, given a δ, from Gaussian-noised ones).

Defence B: DP-SGD (Abadi et al. 2016)
    `DPMatrixFactorization` clips each user's gradient to a norm C and adds Gaussian noise
    N(0, σ²C²) to each step's sum. `dp_sgd_epsilon` is the accountant that turns
    (σ, sampling rate q, steps T, δ) into ε; `noise_multiplier_for_epsilon` inverts it.

The trade-off
    `privacy_utility_curve` fits one model per ε and measures NDCG@k: less ε, more noise,
    less accuracy.

Both defences are private at the user level, and everything is seeded. One honest caveat
holds throughout: the item catalogue (which items exist) is treated as public, as a film list
is; only who interacted with what is protected. So pass the public list as `catalogue`: every
item in it gets a count or a factor, rated or not. Without one, the catalogue is the set of
items in the data, and that set is *not* covered by ε: an item only one user rated is
released with that user and missing without them.

Seeds and real releases
    A seed makes the noise reproducible, which a course needs, and also undoes the privacy:
    whoever knows the seed (the default, 0, is in every signature) can draw the same noise and
    subtract it, recovering the exact counts or gradients. A real release must draw its noise
    from a secret source: pass ``random_state=None`` (``seed=None``) for fresh entropy from
    the operating system. Production libraries go further still, with a cryptographically
    secure generator and noise sampling that resists attacks on floating-point arithmetic
    (Mironov 2012); numpy's generator is neither.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, gammaln, log_expit, logsumexp
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from recsys_lessons.data.interactions import IdMap, interaction_matrix
from recsys_lessons.data.validation import (
    check_interactions,
    check_positive_int,
    check_seed,
    seeded_generator,
)
from recsys_lessons.metrics import auc
from recsys_lessons.models.base import Recommender
from recsys_lessons.models.baselines import Popularity
from recsys_lessons.models.matrix_factorization import check_non_negative, check_positive

# ======================================================================= the risk


@dataclass(frozen=True)
class AttackResult:
    """The outcome of an attribute-inference attack.

    auc: the mean ROC AUC over the cross-validation folds (0.5 = no better than chance).
    fold_aucs: the AUC of each fold of each repetition; their spread says how much one
        fold's estimate varies (a few hundred users make it vary by several hundredths).
    num_users: users attacked (those with both features and a known attribute).
    positive_share: the share of those users with the attribute, e.g. the share of women.
    """

    auc: float
    fold_aucs: np.ndarray
    num_users: int
    positive_share: float

    def __repr__(self) -> str:
        return (f"AttackResult(auc={self.auc:.3f}, fold_auc_std={self.fold_aucs.std():.3f} "
                f"over {len(self.fold_aucs)} folds, num_users={self.num_users}, "
                f"positive_share={self.positive_share:.3f})")


def attribute_labels(users: pd.DataFrame, user_ids, attribute: str = "gender",
                     positive="F") -> np.ndarray:
    """0/1 labels of `attribute` for `user_ids`, in that order.

    `positive` is the value that counts as 1 (``"F"``), or a function of the column that
    returns booleans, e.g. ``lambda age: age < 30``. Users absent from `users`, or with a
    missing attribute, get NaN so that the caller can leave them out. A `positive` that no
    user, or every user, matches is refused: it is almost always a typo ("f" for "F"), and an
    attack needs both classes.
    """
    if not isinstance(users, pd.DataFrame) or "user_id" not in users.columns:
        raise ValueError("users must be a DataFrame with a user_id column, like MovieLens.users.")
    if attribute not in users.columns:
        raise ValueError(
            f"users has no column {attribute!r}; it has {list(users.columns)}."
        )
    column = users.set_index("user_id")[attribute].reindex(np.asarray(user_ids))
    known = column.notna().to_numpy()
    # An object array keeps pd.NA where a nullable column is missing; only known users count.
    is_positive = np.asarray(positive(column) if callable(positive) else column == positive,
                             dtype=object)
    answers = is_positive[known] if is_positive.shape == known.shape else None
    if answers is None or not all(isinstance(answer, bool | np.bool_) or answer in (0, 1)
                                  for answer in answers):
        shown = is_positive.shape if answers is None else answers[:3].tolist()
        raise ValueError(
            f"positive must be a value of users[{attribute!r}] or a function that returns "
            f"True or False for each user, e.g. lambda age: age < 30; it gave {shown}."
        )
    labels = np.full(len(known), np.nan)
    labels[known] = answers.astype(float)
    matched = int(labels[known].sum())
    if known.any() and matched in (0, int(known.sum())):
        values = pd.unique(column[known])[:5].tolist()
        raise ValueError(
            f"{'No' if matched == 0 else 'Every'} user with a known {attribute} matches "
            f"positive={positive!r}, so there is one class only; the users given have values "
            f"such as {values}."
        )
    return labels


def _check_folds(folds, labels: np.ndarray) -> int:
    folds = check_positive_int(folds, "folds")
    if folds < 2:
        raise ValueError(f"folds must be at least 2 for cross-validation, got {folds}.")
    smallest_class = int(min(labels.sum(), len(labels) - labels.sum()))
    if smallest_class < folds:
        raise ValueError(
            f"The rarer class has only {smallest_class} user(s), fewer than folds={folds}: "
            "each fold needs users of both classes. Use fewer folds or more users."
        )
    return folds


def _cross_validated_auc(features, labels: np.ndarray, pipeline_steps, seed, folds, repeats):
    """Mean and per-fold ROC AUC of a classifier, over repeated stratified, seeded folds."""
    from sklearn.base import clone
    from sklearn.model_selection import RepeatedStratifiedKFold
    from sklearn.pipeline import make_pipeline

    folds = _check_folds(folds, labels)
    repeats = check_positive_int(repeats, "repeats")
    # Stratified folds keep the share of each class the same in every fold; repeating the
    # split with other shuffles averages away the luck of one particular split.
    splitter = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    pipeline = make_pipeline(*pipeline_steps)
    fold_aucs = []
    for train_rows, test_rows in splitter.split(np.zeros(len(labels)), labels):
        classifier = clone(pipeline).fit(features[train_rows], labels[train_rows])
        # The decision function ranks users exactly as the predicted probability does.
        scores = classifier.decision_function(features[test_rows])
        fold_aucs.append(auc(labels[test_rows], scores))
    fold_aucs = np.asarray(fold_aucs)
    return AttackResult(float(fold_aucs.mean()), fold_aucs, len(labels), float(labels.mean()))


def _logistic_regression(regularization, seed):
    from sklearn.linear_model import LogisticRegression

    regularization = check_positive(regularization, "regularization")
    return LogisticRegression(C=regularization, max_iter=2000, random_state=seed)


def attribute_inference_auc(
    interactions: pd.DataFrame,
    users: pd.DataFrame,
    attribute: str = "gender",
    positive="F",
    values: str = "binary",
    tfidf: bool = True,
    regularization: float = 1.0,
    seed: int = 0,
    folds: int = 5,
    repeats: int = 5,
) -> AttackResult:
    """How well a user's interactions alone predict a private attribute (cross-validated AUC).

    Each user becomes the row x_u of the users × items matrix (1 for an interaction, or the
    rating with ``values="rating"``), weighted by TF-IDF, x_ui · (log((1 + n)/(1 + n_i)) + 1)
    with n users and n_i users of item i, then scaled to unit length (``tfidf=False`` only
    scales). A logistic regression P(y_u = 1 | x_u) = σ(w·x_u + b) with an L2 penalty
    (strength 1/`regularization`, scikit-learn's C) is trained on the other folds and scores
    the held-out users; the ROC AUC of those scores is the probability that a random user with
    the attribute is ranked above a random one without it. The `folds`-fold split is
    repeated `repeats` times with other shuffles (seeded by `seed`) and the AUCs averaged.

    `interactions` is any frame of user_id, item_id (and rating) rows: raw ratings, a training
    set, or a model's released recommendation lists. Users without a known attribute are
    left out. Returns an `AttackResult`; its ``auc`` near 0.5 means the attack learned nothing.
    """
    from sklearn.feature_extraction.text import TfidfTransformer
    from sklearn.preprocessing import Normalizer

    if values not in ("binary", "rating"):
        raise ValueError(f"values must be 'binary' or 'rating', got {values!r}.")
    check_interactions(interactions, name="interactions")
    matrix, user_map, _ = interaction_matrix(interactions, values=values)
    labels = attribute_labels(users, user_map.ids, attribute, positive)
    known = ~np.isnan(labels)
    if not known.any():
        raise ValueError(
            "No user of interactions has a known attribute in users; check that both use the "
            "same user ids."
        )
    weighting = TfidfTransformer() if tfidf else Normalizer()
    return _cross_validated_auc(
        matrix[known], labels[known],
        [weighting, _logistic_regression(regularization, seed)], seed, folds, repeats,
    )


def attribute_inference_auc_from_features(
    features,
    labels,
    standardize: bool = True,
    regularization: float = 1.0,
    seed: int = 0,
    folds: int = 5,
    repeats: int = 5,
) -> AttackResult:
    """The attack of `attribute_inference_auc` on any per-user features.

    `features` has one row per user (a numpy array, or a DataFrame such as
    `user_factor_features(model)`); `labels` holds the matching 0/1 labels (see
    `attribute_labels`); rows whose label is NaN are left out. When both are pandas objects,
    rows are matched by their index (user_id), so the two may come in different orders;
    otherwise they are matched by position. Each feature is standardised
    to mean 0 and variance 1 (``standardize=True``) before the logistic regression, so the
    scale of learned factors does not matter.

    Features that carry no information still give AUCs a few hundredths either side of 0.5:
    compare with the same attack on shuffled labels, e.g.
    ``attribute_inference_auc_from_features(features, np.random.default_rng(0).permutation(
    labels))``, to see what chance looks like.
    """
    from sklearn.preprocessing import StandardScaler

    if isinstance(features, pd.DataFrame | pd.Series) and isinstance(labels, pd.Series):
        # Matching by position would pair one user's features with another's label, and a
        # shuffled pairing scores about 0.5: "no leak" where there is one.
        if not labels.index.sort_values().equals(features.index.sort_values()):
            raise ValueError(
                "features and labels are indexed by different users; pass the labels of "
                "exactly the users in features, e.g. labels.reindex(features.index)."
            )
        labels = labels.reindex(features.index)
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(labels):
        raise ValueError(
            f"features must be a 2-D array with one row per label; got shape {features.shape} "
            f"and {len(labels)} labels."
        )
    known = ~np.isnan(labels)
    if not np.isin(labels[known], (0, 1)).all():
        raise ValueError("labels must be 0, 1 or NaN (unknown); see attribute_labels.")
    if not np.isfinite(features[known]).all():
        raise ValueError("features contain NaN or infinite values.")
    steps = [StandardScaler()] if standardize else []
    return _cross_validated_auc(
        features[known], labels[known], steps + [_logistic_regression(regularization, seed)],
        seed, folds, repeats,
    )


def user_factor_features(model: Recommender) -> pd.DataFrame:
    """A fitted factor model's user vectors p_u as a DataFrame indexed by user_id.

    These are what a system stores about each user; feed them, with `attribute_labels`, to
    `attribute_inference_auc_from_features`.
    """
    model._check_fitted()
    if not hasattr(model, "user_factors_"):
        raise ValueError(f"{type(model).__name__} has no user_factors_; use a factor model.")
    return pd.DataFrame(model.user_factors_, index=pd.Index(model.user_map_.ids, name="user_id"))


# ======================================================================= defence A: Laplace


def check_epsilon(epsilon) -> float:
    """ε as a float: a number > 0, or ``np.inf`` for "no privacy" (no noise at all)."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, Real) or not epsilon > 0:
        raise ValueError(
            f"epsilon must be a number > 0 (smaller is more private; np.inf means no noise), "
            f"got {epsilon!r}."
        )
    return float(epsilon)


def laplace_scale(sensitivity: float, epsilon: float) -> float:
    """b = Δ/ε, the scale of the Laplace noise that makes a query ε-differentially private.

    The Laplace mechanism releases f(D) + Laplace(b) in each coordinate, with density
    (1/2b) e^(−|x|/b). If one unit changes f by at most Δ in L1 norm, ‖f(D) − f(D′)‖₁ ≤ Δ,
    the density ratio of any output under D and D′ is at most e^(Δ/b) = e^ε. The noise has
    standard deviation √2 · b, so halving ε doubles it. ε = ∞ gives b = 0.
    """
    sensitivity = check_non_negative(sensitivity, "sensitivity", finite=False)
    if math.isinf(sensitivity):
        raise ValueError("sensitivity must be finite: no noise can hide an unbounded change.")
    return 0.0 if math.isinf(check_epsilon(epsilon)) else sensitivity / epsilon


def _mix_bits(values: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser: scrambles 64-bit integers so that every input bit matters."""
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _row_keys(user_ids: pd.Series, item_ids: pd.Series, seed: int) -> np.ndarray:
    """A pseudo-random 64-bit key for each (user_id, item_id), fixed by the pair and seed.

    pandas hashes each id (numbers and strings alike); mixing the two hashes with the seed
    gives keys that look random but depend on nothing else, unlike a random number drawn
    per row, which would change when another row is removed.
    """
    user_hashes = pd.util.hash_array(user_ids.to_numpy())
    item_hashes = pd.util.hash_array(item_ids.to_numpy())
    seeded = _mix_bits(np.full(len(user_hashes), seed, dtype=np.uint64))
    return _mix_bits(user_hashes ^ _mix_bits(item_hashes ^ seeded))


def clip_interactions_per_user(
    interactions: pd.DataFrame, max_items_per_user: int, seed: int = 0
) -> pd.DataFrame:
    """Keep at most `max_items_per_user` rows of each user, chosen at random.

    This bounds the sensitivity: after clipping, adding or removing a user changes the item
    counts by at most Δ = max_items_per_user in L1 norm. Each row gets a pseudo-random key
    computed from (seed, user_id, item_id) alone, and each user keeps their rows with the
    smallest keys. So which rows a user keeps depends only on that user's own rows and the
    seed: removing another user changes nothing, and the bound holds exactly.
    """
    check_interactions(interactions, name="interactions")
    max_items_per_user = check_positive_int(max_items_per_user, "max_items_per_user")
    # The seed is mixed into 64-bit keys, so it must fit in 64 bits.
    if check_seed(seed) >= 2**64:
        raise ValueError(f"seed must be below 2**64, got {seed!r}.")
    keys = _row_keys(interactions["user_id"], interactions["item_id"], seed)
    user_codes, _ = pd.factorize(interactions["user_id"])
    # Rank each user's rows by key (one sort, no loop over users); keep the first ones.
    order = np.lexsort((keys, user_codes))
    counts = np.bincount(user_codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position_in_user = np.empty(len(interactions), dtype=np.int64)
    position_in_user[order] = np.arange(len(interactions)) - np.repeat(starts, counts)
    return interactions[position_in_user < max_items_per_user]


def _catalogue_map(catalogue, interactions: pd.DataFrame) -> IdMap | None:
    """The public list of items as an IdMap, checked to hold every item of `interactions`."""
    if catalogue is None:
        return None
    ids = catalogue.ids if isinstance(catalogue, IdMap) else catalogue
    items = pd.unique(interactions["item_id"].to_numpy())
    floats = np.asarray(ids)
    if (np.issubdtype(floats.dtype, np.floating) and np.issubdtype(items.dtype, np.integer)
            and np.isfinite(floats).all() and (floats == np.round(floats)).all()):
        # Whole numbers read as floats (a column that once held a NaN, say) are the integer
        # ids they stand for; kept as floats, the released ids would be 1.0 instead of 1.
        ids = floats.astype(items.dtype)
    item_map = IdMap(ids, "item_id")
    try:
        unlisted = items[item_map.to_index(items, unknown="mask") < 0]
    except TypeError as error:
        # IdMap's message speaks of "ids seen in fitting"; here the catalogue is the reference.
        raise TypeError(
            f"The catalogue's ids and the interactions' item_id are of different types (text "
            f"and numbers), so no item would be found in it. Convert one to the other's type, "
            f"for example catalogue = catalogue.astype(str). ({error})"
        ) from error
    if len(unlisted):
        raise ValueError(
            f"{len(unlisted)} item_id(s) of the interactions are not in the catalogue, e.g. "
            f"{unlisted[:5].tolist()}. The catalogue is the public list of every item; add "
            "them to it, or drop their rows."
        )
    return item_map


def _use_catalogue(model: Recommender, ratings: pd.DataFrame) -> None:
    """Put the model's item map and interactions over its public catalogue, when it has one."""
    item_map = _catalogue_map(model.catalogue, ratings)
    if item_map is not None:
        model.user_items_, model.user_map_, model.item_map_ = interaction_matrix(
            ratings, model.user_map_, item_map
        )


def _noisy_item_counts(interactions, item_map, epsilon, max_items_per_user, delta, rng):
    """Clipped counts of the items of `item_map` plus noise; also the noise's scale.

    Laplace(Δ/ε) noise when `delta` is None, else Gaussian noise N(0, s²) with s calibrated
    for (ε, δ) and the L2 sensitivity √Δ (see `gaussian_popularity_noise`).
    """
    clipped = clip_interactions_per_user(
        interactions, max_items_per_user, seed=int(rng.integers(2**31))
    )
    counts = np.bincount(
        item_map.to_index(clipped["item_id"].to_numpy()), minlength=len(item_map)
    ).astype(np.float64)
    if delta is None:
        # User-level privacy: removing one user removes up to Δ of their (clipped) rows, each
        # lowering one count by 1, so the L1 sensitivity of the count vector is Δ.
        scale = laplace_scale(max_items_per_user, epsilon)
        if scale > 0:
            counts += rng.laplace(0.0, scale, len(counts))
        return counts, scale
    scale = gaussian_popularity_noise(epsilon, delta, max_items_per_user)
    if scale > 0:
        counts += rng.normal(0.0, scale, len(counts))
    return counts, scale


def laplace_popularity(
    interactions: pd.DataFrame,
    epsilon: float,
    max_items_per_user: int = 20,
    seed: int | None = 0,
    catalogue=None,
) -> pd.Series:
    """Item popularity counts released with user-level ε-differential privacy.

        ĉ_i = c_i + Laplace(Δ/ε),   Δ = max_items_per_user

    where c_i counts the users of item i after each user is clipped to at most Δ interactions
    (see `clip_interactions_per_user`). The noisy counts may be negative or fractional;
    rounding them or clipping them at 0 is post-processing and keeps the guarantee.
    `catalogue` is the public list of item ids, each of which gets a count (0 plus noise when
    nobody rated it); None takes the items of `interactions`, whose presence is then not
    covered by ε (see the module's caveat). `seed` seeds the clipping and the noise; a known
    seed undoes the privacy, so a real release passes None (see "Seeds and real releases"
    above).

    Returns a Series of ĉ_i indexed by item_id, named "noisy_count".
    """
    check_interactions(interactions, name="interactions")
    epsilon = check_epsilon(epsilon)
    max_items_per_user = check_positive_int(max_items_per_user, "max_items_per_user")
    item_map = _catalogue_map(catalogue, interactions)
    if item_map is None:
        _, _, item_map = interaction_matrix(interactions)
    counts, _ = _noisy_item_counts(
        interactions, item_map, epsilon, max_items_per_user, None,
        seeded_generator(seed, allow_none=True),
    )
    return pd.Series(counts, index=pd.Index(item_map.ids, name="item_id"), name="noisy_count")


def gaussian_popularity_noise(epsilon: float, delta: float, max_items_per_user: int) -> float:
    """Standard deviation s of Gaussian noise that makes clipped item counts (ε, δ)-DP.

    One user changes at most Δ counts by 1 each, so the count vector moves by at most Δ in
    L1 norm but only √Δ in L2 norm, and the Gaussian mechanism pays for the L2 norm:

        s = σ(ε, δ) · √Δ

    with σ(ε, δ) the exact noise multiplier of `gaussian_noise_multiplier`. For Δ = 50,
    ε = 1 and δ = 10⁻⁵ that is about 26, against a standard deviation of √2 · 50 ≈ 71 for
    Laplace(Δ/ε): a small δ buys much less noise when a user touches many counts.
    """
    max_items_per_user = check_positive_int(max_items_per_user, "max_items_per_user")
    return gaussian_noise_multiplier(epsilon, delta) * math.sqrt(max_items_per_user)


class DPPopularity(Popularity):
    """Popularity from item counts released with user-level differential privacy.

        score(u, i) = ĉ_i = c_i + noise

    with each user clipped to Δ = `max_items_per_user` interactions (see
    `clip_interactions_per_user`). With ``delta=None`` the noise is Laplace(Δ/ε) and the
    guarantee pure ε-DP (`laplace_popularity`); with a δ it is Gaussian, calibrated to the L2
    sensitivity √Δ, and the guarantee (ε, δ)-DP (`gaussian_popularity_noise`), the same kind
    as DP-SGD's. Everyone gets the same list, so the recommendations add nothing to what the
    noisy counts reveal (apart from leaving out the user's own seen items, which the user
    knows anyway).

    Parameters
    ----------
    epsilon: ε, the privacy budget; np.inf gives the exact clipped counts.
    max_items_per_user: Δ. Small Δ means little noise but drops the data of heavy users;
        large Δ keeps all data but needs more noise. On MovieLens 100K's training split
        the median user has 49 ratings.
    delta: None for the Laplace mechanism, or δ for the Gaussian one.
    random_state: seed of the clipping and of the noise. Anyone who knows it can subtract the
        noise, so a real release passes None (see the module's "Seeds and real releases").
    catalogue: the public list of item ids, every one of which gets a noisy count and can be
        recommended; None takes the training items, whose presence ε does not cover.

    Attributes
    ----------
    item_counts_: the noisy counts ĉ_i. What is private is what the model *outputs*, these
        counts and the lists: the fitted object also keeps the training interactions
        (`user_items_`, as every model does, to leave out seen items), so publish the counts,
        never the object itself.
    noise_scale_: the Laplace scale b = Δ/ε, or the Gaussian standard deviation.
    """

    def __init__(self, epsilon: float = 1.0, max_items_per_user: int = 20,
                 delta: float | None = None, random_state: int | None = 0, catalogue=None):
        self.epsilon = epsilon
        self.max_items_per_user = max_items_per_user
        self.delta = delta
        self.random_state = random_state
        self.catalogue = catalogue

    def _fit(self, ratings: pd.DataFrame) -> None:
        _use_catalogue(self, ratings)
        epsilon = check_epsilon(self.epsilon)
        max_items_per_user = check_positive_int(self.max_items_per_user, "max_items_per_user")
        delta = None if self.delta is None else check_delta(self.delta)
        self.item_counts_, self.noise_scale_ = _noisy_item_counts(
            ratings, self.item_map_, epsilon, max_items_per_user, delta,
            seeded_generator(self.random_state, "random_state", allow_none=True),
        )


# ======================================================================= the accountant

#: Rényi orders α tried by `dp_sgd_epsilon`. Integer orders have an exact closed form; the
#: best order is usually between 2 and 64 for useful ε, and large ones help when ε is tiny.
DEFAULT_ORDERS = tuple(range(2, 257))


def _check_sampling_rate(sampling_rate) -> float:
    if isinstance(sampling_rate, bool) or not isinstance(sampling_rate, Real) \
            or not 0 <= sampling_rate <= 1:
        raise ValueError(f"sampling_rate must be a number in [0, 1], got {sampling_rate!r}.")
    return float(sampling_rate)


def _check_orders(orders) -> np.ndarray:
    orders = np.atleast_1d(np.asarray(orders))
    if orders.ndim != 1 or not len(orders) or not np.issubdtype(orders.dtype, np.integer) \
            or (orders < 2).any():
        raise ValueError(
            "orders must be integers >= 2: the closed form used here holds for integer Rényi "
            f"orders only. Got {orders!r}."
        )
    return orders.astype(np.int64)


def sampled_gaussian_rdp(noise_multiplier: float, sampling_rate: float, orders=DEFAULT_ORDERS):
    """Rényi DP of one step of the sampled Gaussian mechanism, at each integer order α.

    One DP-SGD step includes each unit independently with probability q (Poisson sampling),
    sums their clipped gradients (sensitivity C) and adds N(0, σ²C²). Adding or removing one
    unit turns the output's distribution N(0, σ²) into the mixture (1 − q)·N(0, σ²) +
    q·N(1, σ²) (in units of C). For integer α ≥ 2 the Rényi divergence of order α between
    the two is exactly (Mironov, Talwar & Zhang 2019, section 3.3, who also show that the
    divergence in the other direction is never larger)

        RDP(α) = 1/(α − 1) · log Σ_{k=0..α} C(α, k) (1 − q)^(α−k) q^k exp((k² − k) / (2σ²))

    For q = 1 (no sampling) this is the Gaussian mechanism's α / (2σ²); for q = 0 it is 0.
    The sum is computed in log space. Returns an array with one value per order.
    """
    sigma = check_non_negative(noise_multiplier, "noise_multiplier", finite=False)
    q = _check_sampling_rate(sampling_rate)
    alphas = _check_orders(orders)
    if q == 0:
        return np.zeros(len(alphas))
    if sigma == 0:
        return np.full(len(alphas), np.inf)
    if q == 1:
        return alphas / (2 * sigma**2)
    k = np.arange(alphas.max() + 1)
    # One row per order; terms with k > α are masked out with -inf.
    alpha = alphas[:, None]
    log_binomial = gammaln(alpha + 1) - gammaln(k + 1) - gammaln(np.maximum(alpha - k, 0) + 1)
    terms = (log_binomial + (alpha - k) * np.log1p(-q) + k * np.log(q)
             + (k * k - k) / (2 * sigma**2))
    terms = np.where(k <= alpha, terms, -np.inf)
    return logsumexp(terms, axis=1) / (alphas - 1)


def dp_sgd_epsilon(
    noise_multiplier: float,
    sampling_rate: float,
    steps: int,
    delta: float,
    orders=DEFAULT_ORDERS,
) -> float:
    """ε of DP-SGD after `steps` steps: an upper bound, from the RDP accountant.

    Rényi DP composes by addition, so T steps have RDP T · RDP(α) (see
    `sampled_gaussian_rdp`), and an (α, ρ)-RDP mechanism is (ρ + log(1/δ)/(α − 1), δ)-DP
    (Mironov 2017, proposition 3). The bound is the best over the integer `orders`:

        ε = min_α  T · RDP(α) + log(1/δ) / (α − 1)

    Every step of the bound is an inequality, so the true ε is at most this; tighter
    conversions exist (and fractional orders help a little), which is why libraries such as
    Opacus report slightly smaller values. Restricted to orders 2..32 it reproduces the
    value ε = 1.258575 that tensorflow_privacy's tests pin for σ = 4, q = 0.01,
    T = 10,000, δ = 10⁻⁵ (Abadi et al. 2016 report ε ≈ 1.26 for this setting with their
    moments accountant).

    Returns np.inf when σ = 0 (no noise, no privacy), 0 when steps = 0.
    """
    steps = check_non_negative(steps, "steps")
    if not steps.is_integer():
        raise ValueError(f"steps must be a whole number of training steps, got {steps!r}.")
    delta = check_delta(delta)
    if steps == 0:
        return 0.0
    alphas = _check_orders(orders)
    rdp = steps * sampled_gaussian_rdp(noise_multiplier, sampling_rate, alphas)
    return float(np.min(rdp + np.log(1 / delta) / (alphas - 1)))


class EpsilonBelowFloorError(ValueError):
    """An ε that no amount of noise certifies with the accountant's orders; `floor` is the
    smallest ε it can certify, log(1/δ) / (α_max − 1)."""

    def __init__(self, floor: float, message: str):
        super().__init__(message)
        self.floor = floor


def noise_multiplier_for_epsilon(
    epsilon: float, sampling_rate: float, steps: int, delta: float, orders=DEFAULT_ORDERS
) -> float:
    """The smallest σ (to 0.1 %) for which `dp_sgd_epsilon` is at most `epsilon`.

    ε falls as σ grows, so a bisection on log σ finds it. ε = np.inf gives σ = 0.

    As σ grows the RDP of every order falls to 0, so no σ certifies an ε at or below
    log(1/δ) / (α_max − 1), with α_max the largest of `orders`: such an ε is refused, with the
    way out (more orders, or a larger δ).
    """
    epsilon = check_epsilon(epsilon)
    if math.isinf(epsilon):
        return 0.0

    def spent(sigma):
        return dp_sgd_epsilon(sigma, sampling_rate, steps, delta, orders)

    if spent(1e7) > epsilon:
        largest_order = int(np.max(_check_orders(orders)))
        floor = math.log(1 / delta) / (largest_order - 1)
        raise EpsilonBelowFloorError(
            floor,
            f"No noise multiplier up to 1e7 reaches epsilon={epsilon}: with orders up to "
            f"{largest_order} and delta={delta}, the accountant cannot certify an ε below about "
            f"{floor:.4g}, however much noise is added. Pass more orders, e.g. "
            "orders=range(2, 2001), or a larger delta."
        )
    low, high = 1e-3, 1.0
    while spent(high) > epsilon:
        low, high = high, high * 2
    while high / low > 1.001:
        middle = math.sqrt(low * high)
        low, high = (middle, high) if spent(middle) > epsilon else (low, middle)
    return high


def check_delta(delta) -> float:
    """δ as a float in (0, 1), or an error that says so."""
    delta = check_positive(delta, "delta")
    if delta >= 1:
        raise ValueError(
            f"delta must be below 1 (usually below 1 / number of users), got {delta!r}."
        )
    return delta


def _gaussian_delta(sigma: float, epsilon: float) -> float:
    """δ(ε) of the Gaussian mechanism with noise multiplier σ (Balle & Wang 2018, theorem 8).

        δ(ε) = Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ)

    The second term is computed as exp(ε + log Φ(·)), which stays finite for large ε.
    """
    return float(norm.cdf(1 / (2 * sigma) - epsilon * sigma)
                 - np.exp(epsilon + norm.logcdf(-1 / (2 * sigma) - epsilon * sigma)))


def gaussian_mechanism_epsilon(noise_multiplier: float, delta: float) -> float:
    """The exact ε of one Gaussian mechanism with noise σ·Δ (no sampling, one release).

    For sensitivity Δ and noise N(0, σ²Δ²), the mechanism is (ε, δ)-DP exactly when
    δ ≥ δ(ε) = Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ) (Balle & Wang 2018, theorem 8), with
    Φ the standard normal distribution function. δ(ε) falls as ε grows, so the smallest ε
    is the root of δ(ε) = δ. It is the reference against which the accountant's bound can
    be checked: `dp_sgd_epsilon(σ, 1, 1, δ)` is never below it.
    """
    sigma = check_positive(noise_multiplier, "noise_multiplier", finite=False)
    delta = check_delta(delta)
    if math.isinf(sigma) or _gaussian_delta(sigma, 0.0) <= delta:
        return 0.0
    high = 1.0
    while _gaussian_delta(sigma, high) > delta:
        high *= 2
    return brentq(lambda epsilon: _gaussian_delta(sigma, epsilon) - delta, 0.0, high,
                  xtol=1e-12)


def gaussian_noise_multiplier(epsilon: float, delta: float) -> float:
    """The smallest σ for which one Gaussian mechanism N(0, σ²Δ²) is (ε, δ)-DP (exact).

    The inverse of `gaussian_mechanism_epsilon` (Balle & Wang's analytic Gaussian
    mechanism): δ(ε) falls as σ grows, so σ is the root of δ(ε) = δ. It is below the
    classical calibration σ = √(2 ln(1.25/δ)) / ε, which is only valid for ε < 1 and
    is loose. ε = np.inf gives 0.
    """
    epsilon = check_epsilon(epsilon)
    delta = check_delta(delta)
    if math.isinf(epsilon):
        return 0.0
    low, high = 1.0, 1.0
    while _gaussian_delta(high, epsilon) > delta:
        high *= 2
    while _gaussian_delta(low, epsilon) <= delta:
        low /= 2
    return brentq(lambda sigma: _gaussian_delta(sigma, epsilon) - delta, low, high, xtol=1e-12)


# ======================================================================= defence B: DP-SGD

def clip_scale(norms: np.ndarray, clip_norm: float) -> np.ndarray:
    """The factors min(1, C / ‖g‖) that shrink each gradient g to norm at most C.

    A gradient already inside the ball is left alone; a longer one keeps its direction and
    gets length exactly C. A zero gradient gets factor 1. C must be a finite number >= 0.
    """
    clip_norm = check_non_negative(clip_norm, "clip_norm", finite=False)
    if math.isinf(clip_norm):
        raise ValueError("clip_norm must be finite: an infinite C clips nothing and bounds "
                         "no user's influence.")
    norms = np.asarray(norms, dtype=np.float64)
    factors = np.ones_like(norms)
    longer = norms > clip_norm
    factors[longer] = clip_norm / norms[longer]
    return factors


def clip_rows(gradients: np.ndarray, clip_norm: float) -> np.ndarray:
    """Each row g of `gradients` shrunk to norm at most C: g · min(1, C / ‖g‖)."""
    gradients = np.asarray(gradients, dtype=np.float64)
    return gradients * clip_scale(np.linalg.norm(gradients, axis=1), clip_norm)[:, None]


def user_gradient_norms(
    ascent: np.ndarray, user_vectors: np.ndarray, item_factors: np.ndarray,
    include_user_factors: bool = True,
) -> np.ndarray:
    """‖G_u‖ for each row u: the norm of one user's gradient over (p_u, Q, b).

    For x̂_ui = b_i + p_u·q_i and the per-cell derivatives g_ui = ∂L_u/∂x̂_ui (`ascent`, one
    row per user, one column per item), the chain rule gives

        ∂L_u/∂p_u = Σ_i g_ui q_i,   ∂L_u/∂q_i = g_ui p_u,   ∂L_u/∂b_i = g_ui

    and so, since every item row shares the one vector p_u,

        ‖G_u‖² = ‖Σ_i g_ui q_i‖² + (‖p_u‖² + 1) Σ_i g_ui²

    With ``include_user_factors=False`` the first term is left out: the norm over Q and b
    only, for when P is not released.
    """
    ascent = np.asarray(ascent, dtype=np.float64)
    user_vectors = np.asarray(user_vectors, dtype=np.float64)
    squared = ((np.einsum("uk,uk->u", user_vectors, user_vectors) + 1.0)
               * np.einsum("ui,ui->u", ascent, ascent))
    if include_user_factors:
        user_gradients = ascent @ item_factors
        squared += np.einsum("uk,uk->u", user_gradients, user_gradients)
    return np.sqrt(squared)


#: How `DPMatrixFactorization` treats the user factors P: trained and released under DP with
#: the rest of the model, or kept by each user and never released (joint DP).
USER_FACTOR_MODES = ("shared", "local")


class DPMatrixFactorization(Recommender):
    """Implicit-feedback matrix factorisation trained by DP-SGD, private for each user.

    The model scores x̂_ui = b_i + p_u·q_i and is fitted like a logistic regression on every
    cell of the users × items matrix: label y_ui = 1 where u interacted with i, 0 elsewhere,
    positives weighted w (`positive_weight`), by gradient ascent on

        Σ_u Σ_i w_ui [y_ui log σ(x̂_ui) + (1 − y_ui) log(1 − σ(x̂_ui))],   w_ui = w or 1

    The gradient with respect to x̂_ui is g_ui = w_ui (y_ui − σ(x̂_ui)). DP-SGD (Abadi et al.
    2016) changes how the gradients of a step are combined:

    1. each user is included independently with probability q (Poisson sampling);
    2. each included user's gradient G_u over the released parameters is computed ...
    3. ... and clipped to norm C:  Ḡ_u = G_u · min(1, C / ‖G_u‖);
    4. Gaussian noise is added to the sum, which is divided by the expected batch size qN:

        ĝ = (Σ_u Ḡ_u + N(0, σ²C² I)) / (qN)

    The noise goes into *every* released parameter, the rows of users that were not sampled
    too: otherwise the rows that moved would tell who was in the batch. The parameters then
    move by Adam along ĝ − λθ (λ: weight decay, which looks at no data); Adam only
    transforms the noisy gradient, which is post-processing and costs no privacy.

    The privacy unit is the user: replacing everything one user contributes (their gradient)
    by zero, the "zero-out" notion of neighbouring data sets, changes the sum of a step by
    at most C, so what is released is (ε, δ)-DP at the user level, with
    ε = `dp_sgd_epsilon(σ, q, T, δ)` after T = ⌈epochs / q⌉ steps. (A rating-level guarantee
    would clip each rating's gradient instead; it is much weaker, since a user with k ratings
    is then protected only with about k·ε.) Zero-out compares u with a null user, not with a
    user who rated nothing: such a user still has a gradient (every label 0), so u's real
    history and an empty one differ by up to 2C in a step, which group privacy covers with
    about (2ε, (1 + e^ε)δ). What is released depends on `user_factors`:

    ``"shared"`` (central DP)
        P is trained with Q and b by DP-SGD, so the whole model, every p_u included, is
        (ε, δ)-DP: an attacker who reads p_u learns almost nothing about user u. The same
        noise stops the model from learning much about u either. The list of users (P has
        one row per training user) is treated as public, like the catalogue: the guarantee
        covers what each user did, not whether they are a user.
    ``"local"`` (joint DP, Kearns et al. 2014)
        Only Q and b get clipped, noised updates. Each p_u is trained from u's own data and
        gradient alone, exactly, as it would be on the user's own device, and is never
        released. Q, b and the recommendations shown to every *other* user are then
        (ε, δ)-DP with respect to u; u's own p_u and list are computed from u's data (that
        is what personalisation means) and are protected only by staying with u.

    A user's gradient has a closed-form norm (see `user_gradient_norms`), so a step is a
    few matrix products over the sampled users' rows, with no per-example loop. The loss
    covers every item, so the sampled users' rows are dense: this is a model for catalogues
    of thousands of items, not millions.

    Parameters
    ----------
    epsilon: the target ε; σ is solved for it with `noise_multiplier_for_epsilon`. np.inf
        trains with clipping and without noise, which shows the cost of clipping alone.
    noise_multiplier: σ, used instead of `epsilon` when given (ε is then computed); pass
        epsilon=None with it.
    delta: δ, the probability the guarantee may fail; keep it below 1 / number of users.
    clip_norm: C, the largest gradient norm one user may have in a step. With Adam its
        value hardly matters when, as here, nearly every gradient is clipped.
    factors: k, the length of p_u and q_i.
    learning_rate: Adam's step size.
    regularization: λ, the weight decay.
    epochs: passes over the users, in expectation.
    batch_size: the expected number of users per step, qN; None uses every user in every
        step (q = 1, no sampling).
    positive_weight: w, how much more an interaction counts than a non-interaction.
    user_factors: "shared" or "local", see above.
    random_state: seed of the initial factors, the sampling and the noise. Anyone who knows
        it can subtract the noise, so a real release passes None (see the module's "Seeds and
        real releases").
    catalogue: the public list of item ids, every one of which gets a factor q_i and a bias
        b_i; None takes the training items, whose presence ε does not cover.

    How the defaults were chosen: on a validation split carved from the training part of
    MovieLens 100K's standard split, ``stratified_split(train, 0.25, seed=1)``, so that the
    standard test split was never looked at. A coordinate search (k in 1–32, w in 1–20,
    η in 0.003–0.1, 10–40 epochs, batches of 64–943 users, C in 0.1–10, λ in 0–0.01) scored
    each setting by its mean validation NDCG@10 at ε = 0.5, 2 and 8 in "shared" mode; the
    finalists were then compared over three seeds in both modes. The smallest model won:
    one factor (mean NDCG@10 0.137, against 0.128 for 4 factors and 0.090 for 16 factors
    with η = 0.03 and w = 5), because the noise reaches every parameter while 943 users give
    little signal. More factors pay off with less noise or local user vectors: in "local"
    mode 16 factors beat one at ε = 8 and lose at ε = 0.5. C hardly matters: every user's
    gradient is clipped, so the sum and the noise scale together and Adam divides the scale
    out (C = 0.1, 1 and 10 gave the same scores). A fit takes one or two seconds of CPU time.
    The search itself looked at private data, which ε does not cover: a real system would
    tune on public or synthetic data, or account for the search (Papernot & Steinke 2022).

    Attributes
    ----------
    user_factors_, item_factors_, item_bias_: P, Q and b.
    noise_multiplier_, sampling_rate_, steps_: σ, q and T as used.
    epsilon_: ε spent according to `dp_sgd_epsilon` (np.inf without noise).
    history_: one row per epoch: the mean loss per cell of the epoch's last batch and the
        share of the users' gradients that were clipped during the epoch. It is computed
        from the raw data for teaching and is *not* covered by the guarantee; a private
        system would not publish it.
    """

    def __init__(
        self,
        epsilon: float | None = 1.0,
        noise_multiplier: float | None = None,
        delta: float = 1e-5,
        clip_norm: float = 1.0,
        factors: int = 1,
        learning_rate: float = 0.01,
        regularization: float = 0.0,
        epochs: int = 20,
        batch_size: int | None = 256,
        positive_weight: float = 10.0,
        user_factors: str = "shared",
        random_state: int | None = 0,
        catalogue=None,
    ):
        self.epsilon = epsilon
        self.noise_multiplier = noise_multiplier
        self.delta = delta
        self.clip_norm = clip_norm
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.epochs = epochs
        self.batch_size = batch_size
        self.positive_weight = positive_weight
        self.user_factors = user_factors
        self.random_state = random_state
        self.catalogue = catalogue

    @classmethod
    def _contract_test_instance(cls, train):
        return cls(epsilon=5.0, factors=4, epochs=5, batch_size=None)

    def _check_parameters(self) -> dict:
        if (self.epsilon is None) == (self.noise_multiplier is None):
            raise ValueError(
                "Give exactly one of epsilon (the noise is then solved for it) and "
                f"noise_multiplier (ε is then computed); got epsilon={self.epsilon!r}, "
                f"noise_multiplier={self.noise_multiplier!r}."
            )
        delta = check_delta(self.delta)
        if self.user_factors not in USER_FACTOR_MODES:
            raise ValueError(
                f"user_factors must be one of {USER_FACTOR_MODES}, got {self.user_factors!r}."
            )
        return {
            "epsilon": None if self.epsilon is None else check_epsilon(self.epsilon),
            "noise_multiplier": None if self.noise_multiplier is None
            else check_non_negative(self.noise_multiplier, "noise_multiplier"),
            "delta": delta,
            "clip_norm": check_positive(self.clip_norm, "clip_norm", finite=False),
            "factors": check_positive_int(self.factors, "factors"),
            "learning_rate": check_positive(self.learning_rate, "learning_rate"),
            "regularization": check_non_negative(self.regularization, "regularization"),
            "epochs": check_positive(self.epochs, "epochs"),
            "batch_size": None if self.batch_size is None
            else check_positive_int(self.batch_size, "batch_size"),
            "positive_weight": check_positive(self.positive_weight, "positive_weight"),
            "user_factors": self.user_factors,
        }

    def _fit(self, ratings: pd.DataFrame) -> None:
        settings = self._check_parameters()
        _use_catalogue(self, ratings)
        if math.isinf(settings["clip_norm"]):
            raise ValueError("clip_norm must be finite: it is the sensitivity of each step.")
        rng = seeded_generator(self.random_state, "random_state", allow_none=True)
        num_users, num_items = self.user_items_.shape
        batch_size = settings["batch_size"] or num_users
        self.sampling_rate_ = min(1.0, batch_size / num_users)
        self.steps_ = math.ceil(settings["epochs"] / self.sampling_rate_)
        self.noise_multiplier_ = settings["noise_multiplier"]
        if settings["epsilon"] is not None:
            try:
                self.noise_multiplier_ = noise_multiplier_for_epsilon(
                    settings["epsilon"], self.sampling_rate_, self.steps_, settings["delta"]
                )
            except EpsilonBelowFloorError as error:
                # The function's advice, more orders, is not a parameter of the model.
                raise ValueError(
                    f"{type(self).__name__} cannot certify epsilon={settings['epsilon']} with "
                    f"delta={settings['delta']}: its accountant's floor is about "
                    f"{error.floor:.4g}, "
                    "however much noise is added. Choose a larger epsilon or delta."
                ) from error
        self.epsilon_ = dp_sgd_epsilon(
            self.noise_multiplier_, self.sampling_rate_, self.steps_, settings["delta"]
        )

        factors = settings["factors"]
        self.user_factors_ = rng.normal(0.0, 0.1, (num_users, factors))
        self.item_factors_ = rng.normal(0.0, 0.1, (num_items, factors))
        self.item_bias_ = np.zeros(num_items)
        optimizer = _Adam(settings["learning_rate"])
        history, clipped, seen = [], 0, 0
        # The matrices of a step are small (a few hundred users × the items): one BLAS thread
        # does them faster than several threads that wait for each other.
        with threadpool_limits(limits=1, user_api="blas"):
            for step in range(self.steps_):
                users = np.flatnonzero(rng.random(num_users) < self.sampling_rate_)
                # An epoch is 1/q steps on average; the last, partial one is reported too.
                ends_epoch = ((step + 1) * self.sampling_rate_ >= len(history) + 1
                              or step + 1 == self.steps_)
                loss, step_clipped = self._step(users, settings, optimizer, rng, ends_epoch)
                clipped, seen = clipped + step_clipped, seen + len(users)
                if ends_epoch:
                    history.append((len(history) + 1, loss, clipped / max(seen, 1)))
                    clipped, seen = 0, 0
        self.history_ = pd.DataFrame(history, columns=["epoch", "loss", "clipped_share"])
        if not np.isfinite(self.user_factors_).all() or not np.isfinite(self.item_factors_).all():
            raise FloatingPointError(
                "DPMatrixFactorization diverged: lower learning_rate or raise regularization."
            )

    def _step(self, users, settings, optimizer, rng, measure_loss=False):
        """One DP-SGD step on the sampled `users`.

        Returns the mean loss per cell of the batch (NaN unless `measure_loss`: the logarithms
        cost as much as the rest of the step) and the number of users whose gradient was
        clipped.
        """
        labels = self.user_items_[users].toarray()
        user_vectors = self.user_factors_[users]
        logits = user_vectors @ self.item_factors_.T + self.item_bias_
        weights = np.where(labels > 0, settings["positive_weight"], 1.0)
        # g_ui = w_ui (y_ui − σ(x̂_ui)), the ascent direction of each cell's log-likelihood.
        ascent = weights * (labels - expit(logits))
        loss = np.nan
        if measure_loss and labels.size:
            # log σ(x̂) for a positive and log(1 − σ(x̂)) = log σ(−x̂) for a negative.
            loss = -float((weights * log_expit(np.where(labels > 0, logits, -logits))).mean())

        user_gradients = ascent @ self.item_factors_
        local = settings["user_factors"] == "local"
        # Clip ‖G_u‖ over the parameters that are released: P, Q and b, or only Q and b.
        norms = user_gradient_norms(ascent, user_vectors, self.item_factors_,
                                    include_user_factors=not local)
        scale = clip_scale(norms, settings["clip_norm"])
        clipped_ascent = scale[:, None] * ascent

        # Σ_u Ḡ_u for the released blocks; a user appears once, so plain indexing adds.
        sums = {"item": clipped_ascent.T @ user_vectors, "bias": clipped_ascent.sum(axis=0)}
        parameters = {"item": self.item_factors_, "bias": self.item_bias_}
        if not local:
            sums["user"] = np.zeros_like(self.user_factors_)
            sums["user"][users] = scale[:, None] * user_gradients
            parameters["user"] = self.user_factors_
        noise_std = self.noise_multiplier_ * settings["clip_norm"]
        expected_batch = self.sampling_rate_ * len(self.user_map_)
        optimizer.next_step()
        for name, parameter in parameters.items():
            noisy_sum = sums[name]
            if noise_std > 0:
                noisy_sum = noisy_sum + rng.normal(0.0, noise_std, parameter.shape)
            gradient = noisy_sum / expected_batch - settings["regularization"] * parameter
            parameter += optimizer.step(name, gradient)
        if local:
            # Each sampled user's own exact gradient: it never leaves the user, needs no noise.
            gradient = -settings["regularization"] * self.user_factors_
            gradient[users] += user_gradients / expected_batch
            self.user_factors_ += optimizer.step("user", gradient)
        return loss, int((scale < 1).sum())

    def _score_users(self, user_indices):
        return self.user_factors_[user_indices] @ self.item_factors_.T + self.item_bias_


class _Adam:
    """Adam's steps η m̂ / (√v̂ + 10⁻⁸) for named parameter blocks (Kingma & Ba 2015).

    m and v are running means of the gradient and of its square (β₁ = 0.9, β₂ = 0.999),
    corrected for starting at 0. Dividing by √v̂ gives a coordinate a step of about η where
    its gradient points one way step after step, and a small, random one where the gradient
    is mostly noise, which is why DP training often uses it.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate
        self.moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.steps = 0

    def next_step(self) -> None:
        self.steps += 1

    def step(self, name: str, gradient: np.ndarray) -> np.ndarray:
        first, second = self.moments.setdefault(
            name, (np.zeros_like(gradient), np.zeros_like(gradient))
        )
        first *= 0.9
        first += 0.1 * gradient
        second *= 0.999
        second += 0.001 * gradient**2
        corrected_first = first / (1 - 0.9**self.steps)
        corrected_second = second / (1 - 0.999**self.steps)
        return self.learning_rate * corrected_first / (np.sqrt(corrected_second) + 1e-8)


# ======================================================================= the trade-off


def privacy_utility_curve(
    make_model,
    train: pd.DataFrame,
    test: pd.DataFrame,
    epsilons=(0.1, 0.5, 1.0, 2.0, 5.0, 10.0, np.inf),
    k: int = 10,
) -> pd.DataFrame:
    """Fit one model per ε and measure NDCG@k, recall@k and fitting time.

    `make_model(epsilon)` returns a new, unfitted model with that privacy budget, e.g.
    ``lambda epsilon: DPPopularity(epsilon=epsilon)``. Every model is evaluated with
    `evaluate_ranking(model, train, test, k)` (full ranking, seen items excluded).
    Returns a DataFrame indexed by epsilon with the columns ndcg@k, recall@k and fit_seconds.
    """
    from recsys_lessons.evaluation import evaluate_ranking

    if not callable(make_model):
        raise TypeError(
            "make_model must be a function of epsilon that returns a new model, e.g. "
            f"lambda epsilon: DPPopularity(epsilon=epsilon); got {make_model!r}."
        )
    rows = []
    for epsilon in epsilons:
        model = make_model(check_epsilon(epsilon))
        started = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - started
        metrics = evaluate_ranking(model, train, test, k=k)
        rows.append({"epsilon": float(epsilon), f"ndcg@{k}": metrics[f"ndcg@{k}"],
                     f"recall@{k}": metrics[f"recall@{k}"], "fit_seconds": fit_seconds})
    return pd.DataFrame(rows).set_index("epsilon")


__all__ = [
    "DEFAULT_ORDERS",
    "AttackResult",
    "DPMatrixFactorization",
    "DPPopularity",
    "EpsilonBelowFloorError",
    "USER_FACTOR_MODES",
    "attribute_inference_auc",
    "attribute_inference_auc_from_features",
    "attribute_labels",
    "check_delta",
    "check_epsilon",
    "clip_interactions_per_user",
    "clip_rows",
    "clip_scale",
    "dp_sgd_epsilon",
    "gaussian_mechanism_epsilon",
    "gaussian_noise_multiplier",
    "gaussian_popularity_noise",
    "laplace_popularity",
    "laplace_scale",
    "noise_multiplier_for_epsilon",
    "privacy_utility_curve",
    "sampled_gaussian_rdp",
    "user_factor_features",
    "user_gradient_norms",
]
