"""Neighbourhood models: recommend what similar users liked, or what resembles what you liked.

`UserKNN` scores an item for user u by asking the users most similar to u; `ItemKNN` scores
item i by looking at the items most similar to i among those u already has. Each does one of
two jobs, chosen by the flag `implicit`:

Top-N from interactions (``implicit=True``, the default)
    Only *whether* u interacted with i counts (r_ui = 1 or 0). Similarities between items
    (or users) are computed from these 0/1 vectors, each row is pruned to its k most similar
    neighbours, and

        ItemKNN:  score(u, i) = Σ_{j ∈ N_k(i) ∩ I_u} sim(i, j)
        UserKNN:  score(u, i) = Σ_{v ∈ N_k(u)} sim(u, v) · r_vi

    where N_k(i) are the k items most similar to i, I_u the items u interacted with, and
    N_k(u) the k users most similar to u. Both are one sparse matrix product.

Rating prediction (``implicit=False``)
    The neighbourhood estimators of the Surprise library. With b_ui = μ + b_u + b_i the
    baseline (see `fit_biases`) and, for ItemKNN, N_u^k(i) the k items most similar to i
    among those u rated (lesson 03's notation: the neighbours of i, restricted by u):

        estimator="baseline":  r̂_ui = b_ui + Σ_{j ∈ N_u^k(i)} sim(i, j) · (r_uj − b_uj)
                                             / Σ_{j ∈ N_u^k(i)} sim(i, j)
        estimator="means":     r̂_ui = r̄_i + Σ_{j ∈ N_u^k(i)} sim(i, j) · (r_uj − r̄_j)
                                           / Σ_{j ∈ N_u^k(i)} sim(i, j)

    UserKNN swaps the roles: N_i^k(u) are the k users most similar to u among those who
    rated i, and r̂_ui = b_ui + Σ_v sim(u, v) · (r_vi − b_vi) / Σ_v sim(u, v), or with the
    means r̄_u and r̄_v. Only positively similar neighbours are used, so Σ sim = Σ |sim|. A
    pair with no such neighbour gets the baseline b_ui.

The two classes share all their code: a user-based model on R is an item-based model on the
transposed matrix Rᵀ, so the shared base class only needs to know which side it compares.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.validation import check_positive_int, is_real_number
from recsys_lessons.models.base import SCORE_BLOCK_CELLS, RatingPredictor, Recommender
from recsys_lessons.models.baselines import BiasBaseline, fit_biases
from recsys_lessons.similarity import cosine, jaccard, pearson, top_k_neighbors

#: Similarities for top-N from interactions (``implicit=True``).
IMPLICIT_SIMILARITIES = ("cosine", "jaccard", "asymmetric", "tfidf", "bm25")
#: Similarities for rating prediction (``implicit=False``).
RATING_SIMILARITIES = ("pearson_baseline", "pearson", "cosine")
#: Rating estimators: deviations from the baseline b_ui, or from mean ratings.
ESTIMATORS = ("baseline", "means")
#: β used when shrinkage is None. A Pearson correlation from a handful of common raters is
#: very noisy and needs shrinking; a cosine over all raters is already small for such pairs.
DEFAULT_SHRINKAGE = {"pearson_baseline": 100.0, "pearson": 100.0, "cosine": 0.0}

# The baseline b_ui = μ + b_u + b_i is BiasBaseline's, with its default regularisation.
_BASELINE = BiasBaseline()


class _NeighbourhoodModel(Recommender):
    """What UserKNN and ItemKNN share. Subclasses set `compares_users` and `defaults`.

    Inside, the "compared" things are users (UserKNN) or items (ItemKNN), and every matrix is
    oriented so that its rows are the compared things: R for UserKNN, Rᵀ for ItemKNN.
    """

    #: True when the neighbours are users (UserKNN), False when they are items (ItemKNN).
    compares_users: bool
    #: Values for the parameters left at None, tuned separately for each job.
    defaults: dict

    def __init__(
        self,
        k: int | None = None,
        similarity: str | None = None,
        implicit: bool = True,
        estimator: str = "baseline",
        min_support: int = 1,
        shrinkage: float | None = None,
        alpha: float = 0.5,
        bm25_k1: float = 3.0,
        bm25_b: float | None = None,
    ):
        self.k = k
        self.similarity = similarity
        self.implicit = implicit
        self.estimator = estimator
        self.min_support = min_support
        self.shrinkage = shrinkage
        self.alpha = alpha
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    @property
    def needs_ratings(self) -> bool:
        # Top-N works from interactions alone; rating prediction needs the ratings.
        return not self.implicit

    @property
    def predicts_ratings(self) -> bool:
        # Only the rating mode has estimators of r̂_ui; top-N scores are not ratings. A fitted
        # model answers for the mode it was fitted in, whatever set_params changed since.
        if hasattr(self, "user_map_"):
            return not self.parameters_["implicit"]
        return not self.implicit

    # ----------------------------------------------------------------- parameters

    def _resolved_parameters(self) -> dict:
        """Check the hyper-parameters; return them with the defaults filled in for None."""
        if not isinstance(self.implicit, bool | np.bool_):
            raise ValueError(f"implicit must be True or False, got {self.implicit!r}.")
        job, allowed, other = "top_n", IMPLICIT_SIMILARITIES, RATING_SIMILARITIES
        if not self.implicit:
            job, allowed, other = "ratings", RATING_SIMILARITIES, IMPLICIT_SIMILARITIES
        defaults = self.defaults[job]
        k = defaults["k"] if self.k is None else check_positive_int(self.k, "k")
        similarity = defaults["similarity"] if self.similarity is None else self.similarity
        if similarity not in allowed:
            hint = ""
            if similarity in other:
                hint = f" {similarity!r} is for implicit={not self.implicit}."
            raise ValueError(
                f"Unknown similarity {similarity!r} for implicit={self.implicit}; choose one of "
                f"{allowed}, or None for the default {defaults['similarity']!r}.{hint}"
            )
        if self.estimator not in ESTIMATORS:
            raise ValueError(
                f"Unknown estimator {self.estimator!r}; choose 'baseline' (deviations from "
                "b_ui = μ + b_u + b_i) or 'means' (deviations from mean ratings)."
            )
        shrinkage = self.shrinkage
        if shrinkage is None:
            shrinkage = DEFAULT_SHRINKAGE.get(similarity, 0.0)
        elif not _is_number(shrinkage) or shrinkage < 0:
            raise ValueError(
                f"shrinkage must be a number >= 0 (or None for the default), got "
                f"{shrinkage!r}. It is β in sim · n / (n + β); 0 means no shrinkage."
            )
        if (
            isinstance(self.min_support, bool)
            or not isinstance(self.min_support, numbers.Integral)
            or self.min_support < 0
        ):
            raise ValueError(f"min_support must be an integer >= 0, got {self.min_support!r}.")
        if not _is_number(self.alpha) or not 0 <= self.alpha <= 1:
            raise ValueError(f"alpha must be a number between 0 and 1, got {self.alpha!r}.")
        if not _is_number(self.bm25_k1) or self.bm25_k1 < 0:
            raise ValueError(f"bm25_k1 must be a number >= 0, got {self.bm25_k1!r}.")
        bm25_b = self.defaults["top_n"]["bm25_b"] if self.bm25_b is None else self.bm25_b
        if not _is_number(bm25_b) or not 0 <= bm25_b <= 1:
            raise ValueError(f"bm25_b must be a number between 0 and 1, got {bm25_b!r}.")
        # The mode and the estimator are kept with the fitted values: scoring reads them from
        # here, so a set_params without a refit cannot mix one fit's state with another mode.
        return {"k": k, "similarity": similarity, "shrinkage": float(shrinkage),
                "bm25_b": float(bm25_b), "implicit": bool(self.implicit),
                "estimator": self.estimator}

    # ----------------------------------------------------------------- orientation

    def _compared_rows(self, users_by_items: sparse.csr_matrix) -> sparse.csr_matrix:
        """The matrix with one row per compared thing: R itself, or Rᵀ for items."""
        if self.compares_users:
            return users_by_items.tocsr()
        return users_by_items.T.tocsr()

    def _owners_and_targets(self, user_indices, item_indices):
        """Split (u, i) pairs into the owner whose row holds the neighbours, and the target.

        ItemKNN looks for neighbours of item i among the items of user u; UserKNN looks for
        neighbours of user u among the users of item i.
        """
        if self.compares_users:
            return item_indices, user_indices
        return user_indices, item_indices

    # ----------------------------------------------------------------- fitting

    def _fit(self, ratings: pd.DataFrame) -> None:
        self.parameters_ = self._resolved_parameters()
        if self.parameters_["implicit"]:
            self._fit_interactions()
        else:
            self._fit_ratings(ratings)

    def _fit_interactions(self) -> None:
        self.similarity_ = _interaction_similarity(
            self._compared_rows(self.user_items_),
            self.parameters_["similarity"],
            alpha=self.alpha,
            bm25_k1=self.bm25_k1,
            bm25_b=self.parameters_["bm25_b"],
        )
        self.neighbours_ = _prune_to_top_k(self.similarity_, self.parameters_["k"])

    def _fit_ratings(self, ratings: pd.DataFrame) -> None:
        zeros = int((ratings["rating"] == 0).sum())
        if zeros:
            # The similarities read "rated" from non-zero entries, as lesson 01 does.
            raise ValueError(
                f"{type(self).__name__}(implicit=False) found {zeros} rating(s) of 0, which its "
                "similarities cannot tell apart from 'not rated'. Shift the scale so that no "
                "rating is 0, for example ratings.assign(rating=ratings['rating'] + 1)."
            )
        rating_matrix = self._rating_matrix(ratings)
        self.rating_range_ = (float(ratings["rating"].min()), float(ratings["rating"].max()))
        self.global_mean_, self.user_bias_, self.item_bias_ = fit_biases(
            rating_matrix, _BASELINE.reg_user, _BASELINE.reg_item, _BASELINE.iterations
        )
        compared = self._compared_rows(rating_matrix)
        baseline_residuals = self._compared_rows(_baseline_residuals(
            rating_matrix, self.global_mean_, self.user_bias_, self.item_bias_
        ))
        self.similarity_ = _rating_similarity(
            compared,
            baseline_residuals,
            self.parameters_["similarity"],
            min_support=self.min_support,
            shrinkage=self.parameters_["shrinkage"],
        )
        # What each neighbour contributes: r − b (estimator "baseline") or r minus the
        # neighbour's mean rating (estimator "means"), stored by owner for a fast lookup.
        if self.parameters_["estimator"] == "baseline":
            deviations = baseline_residuals
        else:
            self.mean_ratings_ = _row_means(compared)
            deviations = _subtract_row_values(compared, self.mean_ratings_)
        self.owner_deviations_ = deviations.T.tocsr()

    # ----------------------------------------------------------------- scoring

    def _score_users(self, user_indices: np.ndarray) -> np.ndarray:
        if self.parameters_["implicit"]:
            return self._interaction_scores(user_indices)
        # Rating mode ranks by predicted rating: predict every (user, item) cell.
        num_items = len(self.item_map_)
        users = np.repeat(user_indices, num_items)
        items = np.tile(np.arange(num_items), len(user_indices))
        return self._score_pairs(users, items).reshape(len(user_indices), num_items)

    def _interaction_scores(self, user_indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score_pairs(self, user_indices, item_indices):
        if self.parameters_["implicit"]:
            return super()._score_pairs(user_indices, item_indices)
        return np.clip(self._predict_known(user_indices, item_indices), *self.rating_range_)

    def _predict_known(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        """r̂_ui for known users and items: a base value plus the neighbours' weighted offset."""
        owners, targets = self._owners_and_targets(user_indices, item_indices)
        offsets, has_neighbours = _neighbourhood_offsets(
            self.similarity_, self.owner_deviations_, owners, targets, self.parameters_["k"]
        )
        baseline = (
            self.global_mean_ + self.user_bias_[user_indices] + self.item_bias_[item_indices]
        )
        if self.parameters_["estimator"] == "baseline":
            return baseline + offsets
        # KNNWithMeans starts from the target's mean rating; without neighbours, from b_ui.
        return np.where(has_neighbours, self.mean_ratings_[targets] + offsets, baseline)

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings r̂_ui for paired ids (rating mode, ``implicit=False``, only).

        Users or items absent from training get the baseline μ + b_u + b_i with the biases
        that are known, and predictions are clipped to the training range, exactly as for
        every `RatingPredictor`.
        """
        self._check_fitted()
        if self.parameters_["implicit"]:
            raise TypeError(
                f"{type(self).__name__}(implicit=True) ranks items from interactions and does "
                f"not predict ratings. Fit {type(self).__name__}(implicit=False) on ratings to "
                "predict them."
            )
        # The fallback for unknown ids is the one every rating model shares.
        return RatingPredictor.predict(self, user_ids, item_ids)


class ItemKNN(_NeighbourhoodModel):
    """Item-based k-nearest neighbours: items similar to those the user already has.

    Top-N (``implicit=True``): score(u, i) = Σ_{j ∈ N_k(i) ∩ I_u} sim(i, j), the summed
    similarity of i to those of its k nearest neighbours that u interacted with.
    Ratings (``implicit=False``): r̂_ui = b_ui + Σ_{j ∈ N_u^k(i)} sim(i, j)·(r_uj − b_uj)
    / Σ sim(i, j), with N_u^k(i) the k items most similar to i among those u rated (see the
    module docstring for the "means" estimator).

    Parameters
    ----------
    k:
        Number of neighbours. None means the tuned default of the job (see below).
    similarity:
        How sim(i, j) is computed; None means the tuned default of the job. Top-N: "cosine",
        "jaccard", "asymmetric", "tfidf", "bm25" (formulas in `_interaction_similarity`).
        Ratings: "pearson_baseline", "pearson", "cosine" (in `_rating_similarity`).
    implicit:
        True for top-N from interactions, False for rating prediction.
    estimator:
        Ratings only: "baseline" (Surprise's KNNBaseline) or "means" (KNNWithMeans).
    min_support:
        Ratings only: a similarity resting on fewer than this many common raters n_ij
        counts as 0.
    shrinkage:
        Ratings only: β in sim(i, j) · n_ij / (n_ij + β), which pulls similarities resting
        on few common raters towards 0. None means 100 for the Pearson similarities and 0
        for "cosine".
    alpha:
        Top-N "asymmetric" only: α in |U_i ∩ U_j| / (|U_i|^α · |U_j|^(1−α)).
    bm25_k1, bm25_b:
        Top-N "bm25" only: Okapi BM25's K1 (how fast the length scaling saturates) and B
        (how much a long row is scaled down). bm25_b=None means the tuned default.

    The defaults (`ItemKNN.defaults`) were tuned on validation splits carved from the
    training part of MovieLens 100K: for top-N, k=200 with "tfidf" by NDCG@10 (with "bm25",
    bm25_b=0.25 does best); for ratings, k=25 with "cosine" by RMSE.

    Attributes set by `fit`
    -----------------------
    parameters_ : dict
        k, similarity, shrinkage and bm25_b as used, defaults filled in.
    similarity_ : ndarray
        sim(i, j) for every pair of training items, before pruning.
    neighbours_ : scipy.sparse.csr_matrix
        Top-N only: row i holds sim(i, j) for its k nearest neighbours j ∈ N_k(i).
    global_mean_, user_bias_, item_bias_ :
        Ratings only: μ, b_u and b_i of the baseline.
    """

    compares_users = False
    defaults = {
        "top_n": {"k": 200, "similarity": "tfidf", "bm25_b": 0.25},
        "ratings": {"k": 25, "similarity": "cosine"},
    }

    def _interaction_scores(self, user_indices):
        # score(u, i) = Σ_j r_uj · sim(i, j) over the j in N_k(i): the user's 0/1 row times
        # the transposed pruned similarity matrix.
        return (self.user_items_[user_indices] @ self.neighbours_.T).toarray()


class UserKNN(_NeighbourhoodModel):
    """User-based k-nearest neighbours: what the most similar users interacted with.

    Top-N (``implicit=True``): score(u, i) = Σ_{v ∈ N_k(u)} sim(u, v) · r_vi, with N_k(u)
    the k users most similar to u and r_vi = 1 when v interacted with i.
    Ratings (``implicit=False``): r̂_ui = b_ui + Σ_{v ∈ N_i^k(u)} sim(u, v)·(r_vi − b_vi)
    / Σ sim(u, v), with N_i^k(u) the k users most similar to u among those who rated i (see
    the module docstring for the "means" estimator).

    Parameters are those of `ItemKNN`, with users and items swapped. The defaults
    (`UserKNN.defaults`) were tuned the same way: for top-N, k=100 with "bm25" and
    bm25_b=1.0 by NDCG@10; for ratings, k=40 with "pearson_baseline" (shrinkage 100) by RMSE.

    Attributes set by `fit`
    -----------------------
    parameters_ : dict
        k, similarity, shrinkage and bm25_b as used, defaults filled in.
    similarity_ : ndarray
        sim(u, v) for every pair of training users, before pruning.
    neighbours_ : scipy.sparse.csr_matrix
        Top-N only: row u holds sim(u, v) for its k nearest neighbours v ∈ N_k(u).
    global_mean_, user_bias_, item_bias_ :
        Ratings only: μ, b_u and b_i of the baseline.
    """

    compares_users = True
    defaults = {
        "top_n": {"k": 100, "similarity": "bm25", "bm25_b": 1.0},
        "ratings": {"k": 40, "similarity": "pearson_baseline"},
    }

    def _interaction_scores(self, user_indices):
        # score(u, i) = Σ_v sim(u, v) · r_vi over the v in N_k(u): the user's row of the
        # pruned similarity matrix times the 0/1 interaction matrix.
        return (self.neighbours_[user_indices] @ self.user_items_).toarray()


# ---------------------------------------------------------------------------
# Similarities
# ---------------------------------------------------------------------------


def _interaction_similarity(
    interactions: sparse.csr_matrix, name: str, alpha: float, bm25_k1: float, bm25_b: float
) -> np.ndarray:
    """sim between the rows of a 0/1 matrix (items × users for ItemKNN, users × items for UserKNN).

    Written for items i, j with U_i the set of users of i (swap the roles for users):

    - "cosine":     |U_i ∩ U_j| / √(|U_i| · |U_j|)
    - "jaccard":    |U_i ∩ U_j| / |U_i ∪ U_j|
    - "asymmetric": |U_i ∩ U_j| / (|U_i|^α · |U_j|^(1−α)); α = 0.5 is the cosine, a smaller α
      penalises popular neighbours j more.
    - "tfidf":      cosine after weighting each user u by idf_u = log(n_items / |I_u|), as a
      word is weighted in a text: a user who watched everything says little about which
      movies go together.
    - "bm25":       the dot product of rows weighted with Okapi BM25, where row i is a
      "document" of length |U_i| and each user a "term" of frequency 1:

          w_iu = idf_u · (K1 + 1) / (K1 · (1 − B + B · |U_i| / avg|U|) + 1)

      B in [0, 1] says how much a long row (a popular item) is scaled down, K1 ≥ 0 how
      quickly that scaling saturates (K1 = 0 switches it off). There is no cosine after it:
      with 0/1 data a cosine would divide the BM25 row factor away again and leave "tfidf".
    """
    if name == "cosine":
        return cosine(interactions)
    if name == "jaccard":
        return jaccard(interactions)
    row_sizes = np.asarray(interactions.sum(axis=1)).ravel()
    if name == "asymmetric":
        common = (interactions @ interactions.T).toarray()
        # Every row of the training matrix has at least one interaction, so no size is 0.
        return common / (row_sizes[:, None] ** alpha * row_sizes[None, :] ** (1 - alpha))
    column_sizes = np.asarray(interactions.sum(axis=0)).ravel()
    inverse_frequency = np.log(interactions.shape[0] / np.maximum(column_sizes, 1))
    weighted = interactions @ sparse.diags(inverse_frequency)
    if name == "tfidf":
        return cosine(weighted)
    length_norm = 1 - bm25_b + bm25_b * row_sizes / row_sizes.mean()
    row_weights = (bm25_k1 + 1) / (bm25_k1 * length_norm + 1)
    weighted = sparse.diags(row_weights) @ weighted
    return (weighted @ weighted.T).toarray()


def _rating_similarity(
    ratings: sparse.csr_matrix,
    baseline_residuals: sparse.csr_matrix,
    name: str,
    min_support: int,
    shrinkage: float,
) -> np.ndarray:
    """sim between the rows of a rating matrix, shrunk towards 0 when it rests on few ratings.

    Written for items i, j with U_ij the users who rated both (swap the roles for users):

    - "pearson_baseline": the correlation of baseline residuals over U_ij,
          sim(i, j) = Σ_{u∈U_ij} (r_ui − b_ui)·(r_uj − b_uj)
                      / √( Σ_{u∈U_ij} (r_ui − b_ui)² · Σ_{u∈U_ij} (r_uj − b_uj)² )
      Subtracting b_ui, rather than a mean, removes both the user's and the item's bias.
    - "pearson": Pearson correlation over U_ij (`similarity.pearson` with co_rated=True).
    - "cosine":  cosine of the rating vectors (`similarity.cosine`), unrated entries as 0.

    Then, with n_ij = |U_ij| and β = shrinkage,

        sim(i, j) ← sim(i, j) · n_ij / (n_ij + β),   and 0 when n_ij < min_support.
    """
    rated = (ratings != 0).astype(np.float64)
    if name == "pearson_baseline":
        similarity = _co_rated_cosine(baseline_residuals, rated)
    elif name == "pearson":
        similarity = pearson(ratings, co_rated=True)
    else:
        similarity = cosine(ratings)
    common = (rated @ rated.T).toarray()
    if shrinkage > 0:
        similarity = similarity * common / (common + shrinkage)
    similarity[common < min_support] = 0.0
    return similarity


def _co_rated_cosine(values: sparse.csr_matrix, rated: sparse.csr_matrix) -> np.ndarray:
    """Cosine of the rows of `values` where both sums of squares run over co-rated columns."""
    products = (values @ values.T).toarray()
    # squares[i, j] = Σ over the columns rated by both i and j of values[i, column]².
    squares = (values.multiply(values) @ rated.T).toarray()
    denominator = np.sqrt(squares * squares.T)
    similarity = np.zeros_like(products)
    np.divide(products, denominator, out=similarity, where=denominator > 0)
    return np.clip(similarity, -1.0, 1.0)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _prune_to_top_k(similarity: np.ndarray, k: int) -> sparse.csr_matrix:
    """Keep, in each row, the k largest similarities to other rows (N_k); the rest become 0."""
    size = similarity.shape[0]
    # With fewer than k + 1 things, everything else is a neighbour.
    k = min(k, size - 1)
    if k == 0:
        return sparse.csr_matrix((size, size))
    columns, values = top_k_neighbors(similarity, k)
    rows = np.repeat(np.arange(size), k)
    neighbours = sparse.csr_matrix((values.ravel(), (rows, columns.ravel())), shape=(size, size))
    neighbours.eliminate_zeros()
    return neighbours


def _baseline_residuals(ratings: sparse.csr_matrix, global_mean, user_bias, item_bias):
    """r_ui − b_ui at every rated (u, i) of the users × items matrix `ratings`."""
    users = _row_of_each_entry(ratings)
    baseline = global_mean + user_bias[users] + item_bias[ratings.indices]
    return _with_data(ratings, ratings.data - baseline)


def _row_means(ratings: sparse.csr_matrix) -> np.ndarray:
    """Mean rating of each row over its rated entries."""
    return np.asarray(ratings.sum(axis=1)).ravel() / np.maximum(np.diff(ratings.indptr), 1)


def _subtract_row_values(ratings: sparse.csr_matrix, row_values: np.ndarray):
    """r − row_values[row] at every rated entry."""
    return _with_data(ratings, ratings.data - row_values[_row_of_each_entry(ratings)])


def _row_of_each_entry(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def _with_data(matrix: sparse.csr_matrix, data: np.ndarray) -> sparse.csr_matrix:
    """A copy of `matrix` with new stored values at the same positions.

    A new value can be exactly 0 (a rating equal to the mean); it stays stored, because the
    stored positions, not the values, say what was rated.
    """
    result = matrix.copy()
    result.data = data
    return result


def _neighbourhood_offsets(similarity, owner_rows, owners, targets, k):
    """The weighted mean offset of each target's k nearest neighbours within its owner's row.

    For each pair p: the candidates are the columns c ≠ targets[p] stored in row owners[p] of
    `owner_rows` (the items u rated, for ItemKNN); N is the k candidates with the largest
    similarity[targets[p], c], and with only positive similarities counted,

        offset_p = Σ_{c∈N} sim · owner_rows[owner, c] / Σ_{c∈N} sim.

    Returns the offsets and whether each pair had a neighbour (otherwise its offset is 0).
    The pairs are handled in blocks of padded candidate lists, sorted by length so that
    the padding stays small; no Python loop runs over single pairs.
    """
    lengths = np.diff(owner_rows.indptr)
    offsets = np.zeros(len(owners))
    has_neighbours = np.zeros(len(owners), dtype=bool)
    order = np.argsort(lengths[owners], kind="stable")
    block = max(1, SCORE_BLOCK_CELLS // max(1, int(lengths.max(initial=0))))
    for start in range(0, len(order), block):
        pairs = order[start : start + block]
        owner, target = owners[pairs], targets[pairs]
        width = int(lengths[owner].max())
        if width == 0:
            continue
        # Row p lists the stored entries of owner p's row, padded to the longest in the block.
        slot = np.arange(width)
        is_candidate = slot < lengths[owner][:, None]
        positions = np.where(is_candidate, owner_rows.indptr[owner][:, None] + slot, 0)
        columns = owner_rows.indices[positions]
        values = owner_rows.data[positions]
        similarities = similarity[target[:, None], columns]
        # Padding is no neighbour, and nothing is its own neighbour.
        similarities[~is_candidate | (columns == target[:, None])] = -np.inf
        if width > k:
            # A stable sort, not argpartition: among tied candidates the lower column index
            # wins, whatever else is in the block, so a pair has the same neighbours alone or
            # batched. (Its score can still differ in the last bit: the padded width changes
            # the order in which numpy adds the terms.)
            nearest = np.argsort(-similarities, axis=1, kind="stable")[:, :k]
            similarities = np.take_along_axis(similarities, nearest, axis=1)
            values = np.take_along_axis(values, nearest, axis=1)
        weights = np.where(similarities > 0, similarities, 0.0)
        total = weights.sum(axis=1)
        found = total > 0
        offsets[pairs[found]] = (weights[found] * values[found]).sum(axis=1) / total[found]
        has_neighbours[pairs] = found
    return offsets, has_neighbours


def _is_number(value) -> bool:
    return is_real_number(value) and np.isfinite(value)
