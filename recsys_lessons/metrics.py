"""Evaluation metrics for recommender systems.

Notation used in the docstrings:

* u is a user, i an item, k the length of the list that is evaluated.
* r_ui is the true rating of user u for item i, r̂_ui the predicted rating.
* rel_i is 1 when the item at rank i of a user's list is relevant, else 0.
* gain_i is the graded relevance of the item at rank i (for binary relevance gain_i = rel_i).
* R_u is the set of relevant (held-out) items of user u, |R_u| its size.

Ranking metrics share one calling convention::

    metric(recommended, relevant, k=10, per_user=False)

``recommended`` holds one ranked item list per user (best item first; a list may be shorter
than k), ``relevant`` one set of relevant items per user, in the same user order: lists (not
dicts keyed by user), so that the order is explicit. A user's relevant items may be any
collection (set, list, numpy array, pandas Series: its values count); a mapping item → gain
counts the items with a gain above 0 as relevant, so one graded ``relevant`` serves every
metric (``ndcg_at_k`` also uses the gains). Every ranking metric returns the mean over users
as a float; ``per_user=True`` returns a numpy array with one value per user instead.

All ranking metrics are computed from a boolean *hit matrix*: one row per user, one column per
rank 1..k, True where the recommended item at that rank is relevant. Building that matrix is
the only per-user Python work; everything after it is a few numpy operations. The same
matrix-to-metric functions are used by ``recsys_lessons.evaluation.ranking_metrics``, which
builds the hit matrix straight from DataFrames, so both ways of evaluating always agree.
"""

from collections.abc import Callable, Collection, Mapping, Sequence
from numbers import Integral

import numpy as np
from scipy.stats import rankdata

__all__ = [
    "auc",
    "average_precision_at_k",
    "catalog_coverage",
    "f1_at_k",
    "gini",
    "hit_rate_at_k",
    "intra_list_diversity",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]

AP_NORMALIZATIONS = ("min_k", "relevant")


# --------------------------------------------------------------------------------------------
# Input checks and the hit matrix
# --------------------------------------------------------------------------------------------


def _check_k(k) -> None:
    # bool is a subclass of int, but k=True is almost certainly a mistake.
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise ValueError(f"k must be a positive integer, got {k!r}; pass e.g. k=10.")
    if k <= 0:
        raise ValueError(f"k must be a positive integer, got {k}; pass e.g. k=10.")


def _check_one_user(value, what: str, position: int, example: str) -> None:
    """A user's list or relevant items must be a collection of items, not one item."""
    if isinstance(value, str | bytes) or not isinstance(value, Collection):
        # A string is a collection, but of characters: "m1" in "m12" is True.
        raise ValueError(
            f"{what} of the user at position {position} is {value!r}, which is not a "
            f"collection of items; pass e.g. {example}."
        )


def _check_ranking_inputs(recommended, relevant, k) -> None:
    _check_k(k)
    for name, argument in (("recommended", recommended), ("relevant", relevant)):
        if isinstance(argument, Mapping):
            # Zipping two dicts pairs their keys, not users' items: pass lists in one order.
            raise ValueError(
                f"{name} is a mapping (such as user → items); pass a list with one entry per "
                f"user, in the same user order for recommended and relevant, e.g. "
                f"[{name}[user] for user in users]."
            )
    if len(recommended) != len(relevant):
        raise ValueError(
            f"recommended has {len(recommended)} users but relevant has {len(relevant)}; "
            "pass one recommendation list and one relevant set per user, in the same order."
        )
    if len(recommended) == 0:
        raise ValueError("no users to evaluate: recommended and relevant are empty.")
    for position, (items, relevant_items) in enumerate(zip(recommended, relevant, strict=True)):
        _check_one_user(items, "the recommendation list", position, "['m1', 'm2']")
        _check_one_user(relevant_items, "the relevant items", position, "{'m1'} or [12]")
        if len(relevant_items) == 0:
            raise ValueError(
                f"the user at position {position} has no relevant items, so recall, AP and "
                "NDCG are undefined for them; drop users without relevant items before "
                "evaluating."
            )
        if len(set(items)) != len(items):
            raise ValueError(
                f"the recommendation list at position {position} contains the same item more "
                "than once; a ranked list must hold each item at most once."
            )


def _hits_and_relevant_counts(
    recommended: Sequence[Sequence], relevant: Sequence, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Validate the inputs and turn them into (hits, num_relevant).

    hits is a boolean (num_users × k) matrix: hits[u, i] is True when the item at rank i + 1
    of user u's list is relevant. Lists shorter than k leave their remaining columns False.
    num_relevant holds |R_u| for every user.
    """
    _check_ranking_inputs(recommended, relevant, k)
    hits = np.zeros((len(recommended), k), dtype=bool)
    num_relevant = np.zeros(len(recommended), dtype=int)
    for row, (items, relevant_items) in enumerate(zip(recommended, relevant, strict=True)):
        relevant_set = _relevant_set(relevant_items, row)
        top_items = list(items)[:k]
        hits[row, : len(top_items)] = [item in relevant_set for item in top_items]
        num_relevant[row] = len(relevant_set)
    return hits, num_relevant


def _relevant_set(relevant_items, row: int) -> set:
    """R_u as a set: repeats count once, a Series by its values, a mapping by gain > 0."""
    if isinstance(relevant_items, Mapping):
        gains = _checked_gains(relevant_items, row)
        return {item for item, gain in zip(relevant_items, gains, strict=True) if gain > 0}
    return set(relevant_items)


def _checked_gains(relevant_items: Mapping, row: int) -> np.ndarray:
    """The gains of one user's mapping item → gain, or a ValueError saying what is wrong."""
    user_gains = np.array(list(relevant_items.values()), dtype=float)
    if np.any(user_gains < 0) or not np.all(np.isfinite(user_gains)):
        raise ValueError(
            f"the user at position {row} has a negative or non-finite gain; gains must "
            "be finite numbers >= 0."
        )
    if not np.any(user_gains > 0):
        raise ValueError(
            f"the user at position {row} has no item with a positive gain, so the metrics "
            "are undefined for them; drop such users before evaluating."
        )
    return user_gains


def _mean_or_per_user(values: np.ndarray, per_user: bool):
    return values if per_user else float(values.mean())


# --------------------------------------------------------------------------------------------
# Per-user metric values from a hit matrix. Shared with recsys_lessons.evaluation.
# --------------------------------------------------------------------------------------------


def _precision_from_hits(hits: np.ndarray) -> np.ndarray:
    # Dividing by k (the number of columns), not by the list length, means that a short list
    # is not rewarded for recommending less.
    return hits.sum(axis=1) / hits.shape[1]


def _recall_from_hits(hits: np.ndarray, num_relevant: np.ndarray) -> np.ndarray:
    return hits.sum(axis=1) / num_relevant


def _f1_from_hits(hits: np.ndarray, num_relevant: np.ndarray) -> np.ndarray:
    precision = _precision_from_hits(hits)
    recall = _recall_from_hits(hits, num_relevant)
    total = precision + recall
    # The harmonic mean is 0/0 when a user has no hit at all; define it as 0 there.
    safe_total = np.where(total > 0, total, 1.0)
    return np.where(total > 0, 2 * precision * recall / safe_total, 0.0)


def _average_precision_from_hits(
    hits: np.ndarray, num_relevant: np.ndarray, normalization: str = "min_k"
) -> np.ndarray:
    if normalization not in AP_NORMALIZATIONS:
        raise ValueError(
            f"normalization must be one of {AP_NORMALIZATIONS}, got {normalization!r}."
        )
    k = hits.shape[1]
    ranks = np.arange(1, k + 1)
    # P@i for every rank i at once: hits among the first i items divided by i.
    precision_at_each_rank = np.cumsum(hits, axis=1) / ranks
    summed_precision = (precision_at_each_rank * hits).sum(axis=1)
    if normalization == "min_k":
        return summed_precision / np.minimum(k, num_relevant)
    return summed_precision / num_relevant


def _dcg(gains: np.ndarray) -> np.ndarray:
    k = gains.shape[1]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))  # 1 / log2(i + 1) for ranks i = 1..k
    return gains @ discounts


def _ndcg_from_hits(hits: np.ndarray, num_relevant: np.ndarray) -> np.ndarray:
    k = hits.shape[1]
    # The ideal list puts min(k, |R_u|) relevant items first.
    ideal_hits = np.arange(k) < np.minimum(k, num_relevant)[:, None]
    return _dcg(hits.astype(float)) / _dcg(ideal_hits.astype(float))


def _hit_rate_from_hits(hits: np.ndarray) -> np.ndarray:
    return hits.any(axis=1).astype(float)


def _reciprocal_rank_from_hits(hits: np.ndarray) -> np.ndarray:
    # argmax finds the first True in each row; rows without any hit score 0.
    first_hit_rank = hits.argmax(axis=1) + 1
    return np.where(hits.any(axis=1), 1.0 / first_hit_rank, 0.0)


# --------------------------------------------------------------------------------------------
# Ranking metrics on lists
# --------------------------------------------------------------------------------------------


def precision_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """Precision@k: the share of the top k recommendations that are relevant.

        precision@k(u) = (Σ_{i≤k} rel_i) / k

    The denominator is always k, even for lists shorter than k: recommending fewer items
    does not make a recommender more precise. Returns the mean over users, or one value per
    user with ``per_user=True``.

    Raises ValueError for mismatched lengths, k that is not a positive integer, a user
    without relevant items, or an item repeated inside one list.
    """
    hits, _ = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_precision_from_hits(hits), per_user)


def recall_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """Recall@k: the share of a user's relevant items that appear in the top k.

        recall@k(u) = (Σ_{i≤k} rel_i) / |R_u|

    When |R_u| > k even a perfect list cannot reach 1. Returns the mean over users, or one
    value per user with ``per_user=True``.
    """
    hits, num_relevant = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_recall_from_hits(hits, num_relevant), per_user)


def f1_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """F1@k: the harmonic mean of precision@k and recall@k, per user.

        F1@k(u) = 2 · precision@k(u) · recall@k(u) / (precision@k(u) + recall@k(u))

    and F1@k(u) = 0 when both are 0. The mean over users is the mean of the per-user F1
    values (not the F1 of the mean precision and mean recall).
    """
    hits, num_relevant = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_f1_from_hits(hits, num_relevant), per_user)


def average_precision_at_k(
    recommended,
    relevant,
    k: int = 10,
    per_user: bool = False,
    normalization: str = "min_k",
):
    """Average precision AP@k: precision at every rank that holds a hit, averaged.

        AP@k(u) = Σ_{i≤k} precision@i(u) · rel_i / min(k, |R_u|)      (normalization="min_k")
        AP@k(u) = Σ_{i≤k} precision@i(u) · rel_i / |R_u|              (normalization="relevant")

    With the default "min_k" a perfect list (all relevant items first) scores exactly 1, also
    for users with more than k relevant items. Some widely used libraries divide by |R_u|
    instead ("relevant"); their AP@k of a perfect list is only k / |R_u| when |R_u| > k,
    which is why their "perfect" MAP@k stays below 1 on such data. Say which convention you
    use when you report numbers.

    Returns the mean over users (that is MAP@k, see ``map_at_k``), or one AP value per user
    with ``per_user=True``.
    """
    hits, num_relevant = _hits_and_relevant_counts(recommended, relevant, k)
    values = _average_precision_from_hits(hits, num_relevant, normalization)
    return _mean_or_per_user(values, per_user)


def map_at_k(
    recommended,
    relevant,
    k: int = 10,
    per_user: bool = False,
    normalization: str = "min_k",
):
    """MAP@k: the mean over users of AP@k (see ``average_precision_at_k``).

        MAP@k = (1 / |U|) Σ_u AP@k(u)

    ``normalization`` is "min_k" (default, divide by min(k, |R_u|)) or "relevant" (divide by
    |R_u|, as some libraries do). ``per_user=True`` returns the per-user AP@k values.
    """
    return average_precision_at_k(recommended, relevant, k, per_user, normalization)


def _gain_matrices(recommended, relevant, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Graded version of the hit matrix: (gains, ideal_gains), both (num_users × k).

    gains[u, i] is the gain of the item at rank i + 1 in user u's list (0 when the item is not
    in the mapping); ideal_gains[u] holds the user's min(k, |R_u|) largest gains, best first.
    A plain set of relevant items counts every item with gain 1.
    """
    _check_ranking_inputs(recommended, relevant, k)
    gains = np.zeros((len(recommended), k))
    ideal_gains = np.zeros((len(recommended), k))
    for row, (items, relevant_items) in enumerate(zip(recommended, relevant, strict=True)):
        if not isinstance(relevant_items, Mapping):
            relevant_items = dict.fromkeys(relevant_items, 1.0)
        user_gains = _checked_gains(relevant_items, row)
        top_items = list(items)[:k]
        gains[row, : len(top_items)] = [relevant_items.get(item, 0.0) for item in top_items]
        best_gains = np.sort(user_gains)[::-1][:k]
        ideal_gains[row, : len(best_gains)] = best_gains
    return gains, ideal_gains


def ndcg_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """Normalised discounted cumulative gain NDCG@k.

        DCG@k(u)  = Σ_{i≤k} gain_i / log2(i + 1)
        NDCG@k(u) = DCG@k(u) / IDCG@k(u)

    where IDCG@k(u) is the DCG of the ideal list: the user's min(k, |R_u|) largest gains,
    best first. NDCG is 1 exactly when the list is ideal.

    Binary relevance: pass sets of relevant items; then gain_i = rel_i (1 or 0).
    Graded relevance: pass, per user, a mapping item → gain (for example the rating). The gain
    is used as is ("linear gain", as in ``sklearn.metrics.ndcg_score``), not 2^gain − 1;
    transform the gains yourself if you want the exponential form. Gains must be >= 0 and at
    least one per user must be positive. Items missing from the mapping have gain 0.
    """
    if any(isinstance(relevant_items, Mapping) for relevant_items in relevant):
        gains, ideal_gains = _gain_matrices(recommended, relevant, k)
        return _mean_or_per_user(_dcg(gains) / _dcg(ideal_gains), per_user)
    hits, num_relevant = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_ndcg_from_hits(hits, num_relevant), per_user)


def hit_rate_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """Hit rate HR@k: 1 when at least one of the top k items is relevant, else 0.

        HR@k(u) = 1 if Σ_{i≤k} rel_i > 0 else 0

    The mean over users is the share of users who got at least one hit.
    """
    hits, _ = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_hit_rate_from_hits(hits), per_user)


def mrr_at_k(recommended, relevant, k: int = 10, per_user: bool = False):
    """Mean reciprocal rank MRR@k: one over the rank of the first relevant item.

        RR@k(u) = 1 / min{i ≤ k : rel_i = 1}, or 0 when there is no hit in the top k
        MRR@k   = (1 / |U|) Σ_u RR@k(u)

    ``per_user=True`` returns the RR@k value of every user.
    """
    hits, _ = _hits_and_relevant_counts(recommended, relevant, k)
    return _mean_or_per_user(_reciprocal_rank_from_hits(hits), per_user)


# --------------------------------------------------------------------------------------------
# Classification and rating-prediction metrics
# --------------------------------------------------------------------------------------------


def _as_paired_arrays(first, second, first_name: str, second_name: str):
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    if first.ndim != 1 or second.ndim != 1:
        raise ValueError(f"{first_name} and {second_name} must be one-dimensional.")
    if len(first) != len(second):
        raise ValueError(
            f"{first_name} has {len(first)} values but {second_name} has {len(second)}; "
            "pass one value of each per example."
        )
    if len(first) == 0:
        raise ValueError(f"{first_name} and {second_name} are empty.")
    if np.isnan(first).any() or np.isnan(second).any():
        raise ValueError(f"{first_name} or {second_name} contains NaN; drop or fill it first.")
    return first, second


def _as_paired_ratings(y_true, y_pred):
    """The two rating arrays of RMSE and MAE, which an infinite rating would make infinite."""
    true_ratings, predicted_ratings = _as_paired_arrays(y_true, y_pred, "y_true", "y_pred")
    if not (np.isfinite(true_ratings).all() and np.isfinite(predicted_ratings).all()):
        raise ValueError(
            "y_true or y_pred contains an infinite value, which makes the error infinite; "
            "check the model's predictions (a diverged fit?) and the test ratings."
        )
    return true_ratings, predicted_ratings


def auc(y_true, y_score) -> float:
    """Area under the ROC curve for binary labels, computed as a Mann–Whitney U statistic.

        AUC = P(score of a random positive > score of a random negative)
            = (Σ_{p∈P} Σ_{n∈N} [s_p > s_n] + ½ [s_p = s_n]) / (|P| · |N|)

    Tied scores count as one half. The double sum is computed from ranks in O(n log n):
    AUC = (Σ_{p∈P} rank_p − |P|(|P| + 1)/2) / (|P| · |N|) with average ranks for ties.
    ``y_true`` holds 1 (or True) for positives and 0 (or False) for negatives.
    """
    labels, scores = _as_paired_arrays(y_true, y_score, "y_true", "y_score")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("y_true must contain only the binary labels 0 and 1.")
    is_positive = labels == 1
    num_positive = int(is_positive.sum())
    num_negative = len(labels) - num_positive
    if num_positive == 0 or num_negative == 0:
        raise ValueError("AUC needs at least one positive and one negative example.")
    # Average ranks give a tied pair half a win, exactly the Mann–Whitney convention.
    ranks = rankdata(scores)
    wins = ranks[is_positive].sum() - num_positive * (num_positive + 1) / 2
    return float(wins / (num_positive * num_negative))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error of rating predictions.

        RMSE = sqrt( (1 / |T|) Σ_{(u,i)∈T} (r_ui − r̂_ui)² )

    where T is the set of test (user, item) pairs. Large errors weigh more than in MAE.
    """
    true_ratings, predicted_ratings = _as_paired_ratings(y_true, y_pred)
    return float(np.sqrt(np.mean((true_ratings - predicted_ratings) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error of rating predictions.

        MAE = (1 / |T|) Σ_{(u,i)∈T} |r_ui − r̂_ui|

    where T is the set of test (user, item) pairs.
    """
    true_ratings, predicted_ratings = _as_paired_ratings(y_true, y_pred)
    return float(np.mean(np.abs(true_ratings - predicted_ratings)))


# --------------------------------------------------------------------------------------------
# Beyond-accuracy metrics
# --------------------------------------------------------------------------------------------


def _recommendation_counts(recommended) -> dict:
    """How many lists each item appears in."""
    counts: dict = {}
    for items in recommended:
        for item in items:
            counts[item] = counts.get(item, 0) + 1
    return counts


def catalog_coverage(recommended, catalog_size: int) -> float:
    """Catalogue coverage: the share of catalogue items that appear in at least one list.

        coverage = |∪_u L_u| / |I|

    where L_u is user u's recommendation list and |I| = ``catalog_size``.
    """
    _check_catalog_size(catalog_size)
    num_recommended_items = len(_recommendation_counts(recommended))
    if num_recommended_items > catalog_size:
        raise ValueError(
            f"the lists hold {num_recommended_items} distinct items but catalog_size is "
            f"{catalog_size}; pass the size of the whole catalogue."
        )
    return num_recommended_items / catalog_size


def _check_catalog_size(catalog_size) -> None:
    if isinstance(catalog_size, bool) or not isinstance(catalog_size, Integral):
        raise ValueError(f"catalog_size must be a positive integer, got {catalog_size!r}.")
    if catalog_size <= 0:
        raise ValueError(f"catalog_size must be a positive integer, got {catalog_size}.")


def _checked_indices(items, size: int, what: str) -> list:
    """`items` as positions into an array of `size` rows; a negative or too large one raises.

    numpy would read a negative index from the end of the array, a silently wrong answer.
    """
    items = list(items)
    invalid = [item for item in items if not (isinstance(item, Integral) and 0 <= item < size)]
    if invalid:
        raise ValueError(
            f"{what} is indexed by item position 0..{size - 1}, but a list holds {invalid[:3]}; "
            "pass a mapping item → value instead, or map the items to positions first."
        )
    return items


def _similarity_lookup(item_vectors, similarity) -> Callable:
    """Return a function that maps a list of items to their (n × n) similarity matrix."""
    if (item_vectors is None) == (similarity is None):
        raise ValueError("pass exactly one of item_vectors or similarity.")
    if item_vectors is not None:

        def cosine_matrix(items):
            if isinstance(item_vectors, Mapping):
                vectors = np.array([item_vectors[item] for item in items], dtype=float)
            else:
                array = np.asarray(item_vectors, dtype=float)
                vectors = array[_checked_indices(items, len(array), "item_vectors")]
            norms = np.linalg.norm(vectors, axis=1)
            if np.any(norms == 0):
                raise ValueError("an item vector is all zeros; its cosine similarity is undefined.")
            unit_vectors = vectors / norms[:, None]
            return unit_vectors @ unit_vectors.T

        return cosine_matrix
    if callable(similarity):

        def callable_matrix(items):
            return np.array([[similarity(first, second) for second in items] for first in items])

        return callable_matrix
    similarity_matrix = np.asarray(similarity, dtype=float)
    if similarity_matrix.ndim != 2 or similarity_matrix.shape[0] != similarity_matrix.shape[1]:
        raise ValueError(
            "similarity must be a callable or a square 2-D (item × item) matrix, got shape "
            f"{similarity_matrix.shape}."
        )

    def matrix_rows(items):
        items = _checked_indices(items, len(similarity_matrix), "similarity")
        return similarity_matrix[np.ix_(items, items)]

    return matrix_rows


def intra_list_diversity(recommended, item_vectors=None, similarity=None, per_user: bool = False):
    """Intra-list diversity: how dissimilar the items inside each list are to each other.

        ILD(u) = (2 / (n(n − 1))) Σ_{i<j ∈ L_u} (1 − sim(i, j)),   n = |L_u|
        ILD    = mean over users of ILD(u)

    Pass exactly one way of measuring similarity:

    * ``item_vectors``: a mapping item → vector, or a 2-D array whose row ``i`` is the vector
      of item index ``i`` (items must then be integer indices). sim is the cosine similarity.
    * ``similarity``: a callable ``similarity(item_a, item_b) -> float``, or a 2-D
      (item × item) similarity matrix indexed by integer item index.

    Lists with fewer than two items have no pairs: their per-user value is NaN and they are
    left out of the mean. With cosine similarity of non-negative vectors ILD lies in [0, 1].
    """
    similarity_of = _similarity_lookup(item_vectors, similarity)
    values = np.full(len(recommended), np.nan)
    for row, items in enumerate(recommended):
        items = list(items)
        if len(items) < 2:
            continue
        pair_similarities = similarity_of(items)[np.triu_indices(len(items), k=1)]
        values[row] = np.mean(1.0 - pair_similarities)
    if per_user:
        return values
    if np.all(np.isnan(values)):
        raise ValueError("no list has two or more items, so intra-list diversity is undefined.")
    return float(np.nanmean(values))


def novelty(recommended, item_popularity, num_users: int, per_user: bool = False):
    """Novelty: the mean self-information of the recommended items.

        s_i        = (number of users who interacted with i) / num_users
        novelty(u) = (1 / |L_u|) Σ_{i∈L_u} −log2(s_i)
        novelty    = mean over users of novelty(u)

    ``item_popularity`` maps every recommended item to the number of (training) users who
    interacted with it: a mapping item → count, or an array indexed by integer item index.
    Recommending popular items gives low novelty; long-tail items give high novelty. Items
    with popularity 0 would have infinite self-information and raise a ValueError. Empty
    lists have a NaN per-user value and are left out of the mean.
    """
    if isinstance(num_users, bool) or not isinstance(num_users, Integral) or num_users <= 0:
        raise ValueError(f"num_users must be a positive integer, got {num_users!r}.")
    values = np.full(len(recommended), np.nan)
    for row, items in enumerate(recommended):
        items = list(items)
        if not items:
            continue
        if isinstance(item_popularity, Mapping):
            counts = np.array([item_popularity.get(item, 0) for item in items], dtype=float)
        else:
            popularity = np.asarray(item_popularity, dtype=float)
            counts = popularity[_checked_indices(items, len(popularity), "item_popularity")]
        if np.any(counts <= 0) or np.any(counts > num_users):
            raise ValueError(
                f"the list at position {row} has an item whose popularity is not between 1 and "
                f"num_users={num_users}; count the users who interacted with each item in the "
                "training data."
            )
        values[row] = np.mean(-np.log2(counts / num_users))
    if per_user:
        return values
    if np.all(np.isnan(values)):
        raise ValueError("every recommendation list is empty, so novelty is undefined.")
    return float(np.nanmean(values))


def gini(recommended, catalog) -> float:
    """Gini index of how often each catalogue item is recommended.

    Let x_1 ≤ x_2 ≤ … ≤ x_n be the number of lists each of the n catalogue items appears in
    (items that are never recommended count with 0). Then

        Gini = Σ_{j=1..n} (2j − n − 1) · x_j / (n · Σ_j x_j)

    0 means every item is recommended equally often; the value approaches 1 (it reaches
    (n − 1)/n) when all recommendations go to a single item. ``catalog`` is either the
    catalogue size (an int) or the collection of all catalogue items.
    """
    counts_by_item = _recommendation_counts(recommended)
    if isinstance(catalog, Integral) and not isinstance(catalog, bool):
        _check_catalog_size(catalog)
        catalog_size = int(catalog)
        if len(counts_by_item) > catalog_size:
            raise ValueError(
                f"the lists hold {len(counts_by_item)} distinct items but the catalogue has "
                f"only {catalog_size}; pass the size of the whole catalogue."
            )
    else:
        catalog_items = set(catalog)
        unknown_items = set(counts_by_item) - catalog_items
        if unknown_items:
            raise ValueError(
                f"{len(unknown_items)} recommended items are not in the catalogue, for example "
                f"{next(iter(unknown_items))!r}; pass the full catalogue."
            )
        catalog_size = len(catalog_items)
    counts = np.zeros(catalog_size)
    counts[: len(counts_by_item)] = list(counts_by_item.values())
    if counts.sum() == 0:
        raise ValueError("no item is recommended, so the Gini index is undefined.")
    sorted_counts = np.sort(counts)
    weights = 2 * np.arange(1, catalog_size + 1) - catalog_size - 1
    return float((weights * sorted_counts).sum() / (catalog_size * sorted_counts.sum()))
