"""Matrix factorisation: users and items as vectors in one space of d dimensions.

Every model here learns a vector p_u for each user (the rows of P) and a vector q_i for each
item (the rows of Q), and scores a pair by their dot product p_u·q_i: users and items that
point the same way match. They differ in what they fit and how:

- `PureSVD` takes the truncated SVD of the binary matrix R (no training loop at all).
- `BiasedMF` ("Funk SVD") fits explicit ratings, r̂_ui = μ + b_u + b_i + p_u·q_i, by SGD.
- `ALS` fits the same ratings by alternating least squares: with Q fixed, every p_u is a
  small ridge regression with a closed form, and vice versa.
- `ImplicitALS` treats every cell of R as data, weighted by a confidence c_ui (Hu, Koren &
  Volinsky 2008), for implicit feedback and top-N lists.
- `BPR` learns to rank a user's positives above items they never touched (Rendle et al.
  2009), by SGD over sampled (user, positive, negative) triples.

The learned factors are ``user_factors_`` (P, users × d) and ``item_factors_`` (Q, items × d).
The iterative models show a progress bar (on stderr) when ``verbose=True``, and give the same
model for the same ``random_state``.
"""

from __future__ import annotations

import math
import sys
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from scipy.sparse.linalg import svds
from scipy.special import expit, log_expit
from tqdm import tqdm

from recsys_lessons.data.sampling import sample_negative_indices
from recsys_lessons.data.validation import check_positive_int, seeded_generator
from recsys_lessons.models.base import SCORE_BLOCK_CELLS, RatingPredictor, Recommender
from recsys_lessons.models.baselines import BiasBaseline, fit_biases

# Ridge systems are built and solved for this many rows at a time, so that the stack of
# d × d matrices stays small (2,048 × 64 × 64 floats is 64 MB).
SOLVE_BLOCK_ROWS = 2048

# ----------------------------------------------------------------------- shared helpers


def check_positive(value, name: str, finite: bool = True) -> float:
    """Return `value` as a float, or raise if it is not a (finite) number > 0.

    An infinite hyper-parameter passes `> 0` but makes the arithmetic produce NaN, so it is
    refused unless the caller handles it (``finite=False``).
    """
    if (isinstance(value, bool) or not isinstance(value, Real) or not value > 0
            or (finite and not math.isfinite(value))):
        raise ValueError(f"{name} must be a {'finite ' if finite else ''}number > 0, "
                         f"got {value!r}.")
    return float(value)


def check_non_negative(value, name: str, finite: bool = True) -> float:
    """Return `value` as a float, or raise if it is not a (finite) number >= 0."""
    if (isinstance(value, bool) or not isinstance(value, Real) or not value >= 0
            or (finite and not math.isfinite(value))):
        raise ValueError(f"{name} must be a {'finite ' if finite else ''}number >= 0, "
                         f"got {value!r}.")
    return float(value)


def progress(steps: int, verbose: bool, description: str):
    """range(steps) with a tqdm progress bar on stderr, shown only when `verbose`."""
    return tqdm(range(steps), desc=description, disable=not verbose, file=sys.stderr)


def scatter_add(target: np.ndarray, indices: np.ndarray, values: np.ndarray) -> None:
    """target[indices] += values, in place, adding up the values of repeated indices.

    ``target[indices] += values`` keeps only one value per repeated index, so a user with two
    ratings in a mini-batch would lose one update. ``np.add.at(target, indices, values)`` is
    correct but slow for rows of factors. Multiplying by a sparse 0/1 matrix S, whose column
    n has its single 1 in row indices[n], does the same sum in one compiled pass: row u of
    S @ values is the sum of the values whose index is u.
    """
    if values.ndim == 1:
        target += np.bincount(indices, values, minlength=len(target))
        return
    count = len(indices)
    summing = sparse.csc_matrix(
        (np.ones(count), indices, np.arange(count + 1)), shape=(len(target), count)
    )
    target += summing @ values


def dots_at_entries(matrix: sparse.csr_matrix, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """left[u]·right[i] for every stored entry (u, i) of `matrix`, in the order of matrix.data.

    Computing the dense block left @ rightᵀ and picking the entries uses fast matrix
    products; gathering the two rows of every entry would be several times slower.
    """
    result = np.empty(matrix.nnz)
    block = max(1, SCORE_BLOCK_CELLS // max(1, matrix.shape[1]))
    for start in range(0, matrix.shape[0], block):
        rows = matrix[start : start + block]
        products = left[start : start + block] @ right.T
        row_of_entry = np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr))
        result[matrix.indptr[start] : matrix.indptr[start] + rows.nnz] = products[
            row_of_entry, rows.indices
        ]
    return result


def ridge_solve(
    weights: sparse.csr_matrix,
    right_hand_side: np.ndarray,
    fixed: np.ndarray,
    regularization,
    shared_gram: np.ndarray | None = None,
) -> np.ndarray:
    """Solve one d × d ridge system per row u of `weights`, exactly:

        (G + Σ_i w_ui y_i y_iᵀ + λ_u I) x_u = b_u

    where the sum runs over the stored entries (u, i) of `weights`, y_i is row i of `fixed`,
    G is `shared_gram` (a d × d matrix every row shares; 0 when None), λ_u is
    `regularization` (one number, or one per row) and b_u is row u of `right_hand_side`.
    This is the half-step of every ALS model: with one side fixed, each vector of the other
    side is a small weighted ridge regression. Returns the rows x_u stacked (rows × d).
    """
    weights = weights.tocsr()
    num_rows, num_factors = weights.shape[0], fixed.shape[1]
    penalties = np.broadcast_to(np.asarray(regularization, dtype=np.float64), (num_rows,))
    identity = np.eye(num_factors)
    solution = np.empty((num_rows, num_factors))
    for block_start in range(0, num_rows, SOLVE_BLOCK_ROWS):
        rows = range(block_start, min(block_start + SOLVE_BLOCK_ROWS, num_rows))
        systems = np.empty((len(rows), num_factors, num_factors))
        # Each row has its own set of items, so its Gram matrix Σ_i w_ui y_i y_iᵀ is built
        # on its own; the solves then run as one batched call.
        for position, row in enumerate(rows):
            entries = slice(weights.indptr[row], weights.indptr[row + 1])
            vectors = fixed[weights.indices[entries]]
            systems[position] = vectors.T @ (weights.data[entries, None] * vectors)
        systems += penalties[rows.start : rows.stop, None, None] * identity
        if shared_gram is not None:
            systems += shared_gram
        try:
            solution[rows.start : rows.stop] = np.linalg.solve(
                systems, right_hand_side[rows.start : rows.stop, :, None]
            )[..., 0]
        except np.linalg.LinAlgError as error:
            raise FloatingPointError(
                "A ridge system is singular; use a regularization > 0."
            ) from error
    return solution


def ridge_conjugate_gradient(
    weights: sparse.csr_matrix,
    right_hand_side: np.ndarray,
    fixed: np.ndarray,
    regularization: float,
    start: np.ndarray,
    steps: int,
    shared_gram: np.ndarray | None = None,
) -> np.ndarray:
    """Approximately solve the systems of `ridge_solve`, all rows at once, by conjugate gradient.

    A_u x_u = b_u with A_u = G + Σ_i w_ui y_i y_iᵀ + λI is solved by `steps` CG steps from
    `start` (the previous solution, which is already close). CG never forms A_u: it only
    needs products A_u v, and for all users together those are a few matrix products:
    V G + λV + S Y, where S holds w_ui (y_i·v_u) at the stored entries. Each step lowers
    the quadratic ½ xᵀA_u x − b_uᵀx, so an ALS half-step never makes its objective worse;
    after d steps CG has (in exact arithmetic) the exact solution.
    """
    weights = weights.tocsr()

    def multiply(vectors: np.ndarray) -> np.ndarray:
        along = weights.copy()
        along.data = weights.data * dots_at_entries(weights, vectors, fixed)
        product = regularization * vectors + along @ fixed
        if shared_gram is not None:
            product += vectors @ shared_gram
        return product

    # The textbook CG recurrences, each one vectorised over all rows at once: every row has
    # its own step length and direction, computed from row-wise dot products.
    solution = start.copy()
    residual = right_hand_side - multiply(solution)
    direction = residual.copy()
    residual_norm = np.einsum("uk,uk->u", residual, residual)
    for _ in range(steps):
        product = multiply(direction)
        curvature = np.einsum("uk,uk->u", direction, product)
        # A row that has converged has a zero direction; its step is 0, not 0 / 0.
        step = np.divide(residual_norm, curvature, out=np.zeros_like(curvature),
                         where=curvature > 0)
        solution += step[:, None] * direction
        residual -= step[:, None] * product
        new_norm = np.einsum("uk,uk->u", residual, residual)
        ratio = np.divide(new_norm, residual_norm, out=np.zeros_like(new_norm),
                          where=residual_norm > 0)
        direction = residual + ratio[:, None] * direction
        residual_norm = new_norm
    return solution


class FactorRatingPredictor(RatingPredictor):
    """Shared scoring of the rating models r̂_ui = μ + b_u + b_i + p_u·q_i.

    Subclasses set ``global_mean_`` (μ), ``user_bias_`` (b_u), ``item_bias_`` (b_i),
    ``user_factors_`` (P) and ``item_factors_`` (Q) in `_fit`.
    """

    def _predict_known(self, user_indices, item_indices):
        interaction = np.einsum(
            "nk,nk->n", self.user_factors_[user_indices], self.item_factors_[item_indices]
        )
        return (self.global_mean_ + self.user_bias_[user_indices]
                + self.item_bias_[item_indices] + interaction)

    def _score_users(self, user_indices):
        scores = self.user_factors_[user_indices] @ self.item_factors_.T
        scores += self.global_mean_ + self.user_bias_[user_indices, None] + self.item_bias_
        return np.clip(scores, *self.rating_range_)


def rating_triples(model: Recommender, ratings: pd.DataFrame):
    """User indices, item indices and ratings of `ratings`, as numpy arrays."""
    users = model.user_map_.to_index(ratings["user_id"].to_numpy())
    items = model.item_map_.to_index(ratings["item_id"].to_numpy())
    return users, items, ratings["rating"].to_numpy(dtype=np.float64)


# ----------------------------------------------------------------------- PureSVD


class PureSVD(Recommender):
    """Top-N by the truncated SVD of the binary user × item matrix R (Cremonesi et al. 2010).

    R ≈ U Σ Vᵀ keeps the d largest singular values. Each user's row r_u is projected onto
    the d item factors (the columns of V) and mapped back:

        scores of user u = r_u V Vᵀ

    so an item scores high when it lies along the directions the user's history points to.
    Missing entries are treated as 0, which is exactly what top-N ranking needs and what
    rating prediction does not (it is not a rating model).

    Parameters
    ----------
    factors:
        d, the number of singular vectors kept. At most min(users, items) exist; a larger d
        keeps them all. The default 10 was the best of 5 to 150 on a validation split of
        MovieLens 100K: a few directions generalise, more of them start to copy the noise.

    Attributes
    ----------
    item_factors_ : ndarray, items × d
        V, the right singular vectors, largest singular value first.
    singular_values_ : ndarray, d
        The diagonal of Σ, in decreasing order.
    """

    def __init__(self, factors: int = 10):
        self.factors = factors

    def _fit(self, ratings: pd.DataFrame) -> None:
        factors = check_positive_int(self.factors, "factors")
        matrix = self.user_items_.astype(np.float64)
        smallest_side = min(matrix.shape)
        if factors < smallest_side:
            # ARPACK starts from a vector v0; a fixed one makes the result reproducible.
            start = np.random.default_rng(0).uniform(-1, 1, smallest_side)
            _, singular_values, right_vectors = svds(matrix, k=factors, v0=start)
        else:
            # svds needs k < min(shape); asking for every factor is a full SVD anyway.
            _, singular_values, right_vectors = np.linalg.svd(
                matrix.toarray(), full_matrices=False
            )
        order = np.argsort(-singular_values, kind="stable")
        self.singular_values_ = singular_values[order]
        self.item_factors_ = right_vectors[order].T

    def _score_users(self, user_indices):
        history = self.user_items_[user_indices]
        return (history @ self.item_factors_) @ self.item_factors_.T


# ----------------------------------------------------------------------- BiasedMF


def rating_gradient_steps(model, users, items, ratings, regularization):
    """Prediction errors and the descent steps of one mini-batch of ratings.

    The batch loss is  L = ½ Σ (r_ui − r̂_ui)² + ½ λ Σ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²),
    both sums over the batch's ratings, with e_ui = r_ui − r̂_ui. Its negative gradient, one
    row per rating (to be summed per user and per item), is

        b_u: e_ui − λ b_u          p_u: e_ui q_i − λ p_u
        b_i: e_ui − λ b_i          q_i: e_ui p_u − λ q_i

    Returns errors and the steps (user bias, item bias, user factors, item factors).
    """
    user_vectors = model.user_factors_[users]
    item_vectors = model.item_factors_[items]
    user_bias = model.user_bias_[users]
    item_bias = model.item_bias_[items]
    predictions = (model.global_mean_ + user_bias + item_bias
                   + np.einsum("nk,nk->n", user_vectors, item_vectors))
    errors = ratings - predictions
    return errors, (
        errors - regularization * user_bias,
        errors - regularization * item_bias,
        errors[:, None] * item_vectors - regularization * user_vectors,
        errors[:, None] * user_vectors - regularization * item_vectors,
    )


class BiasedMF(FactorRatingPredictor):
    """The "Funk SVD" rating model, fitted by mini-batch SGD (Koren, Bell & Volinsky 2009).

        r̂_ui = μ + b_u + b_i + p_u·q_i

    μ is the mean training rating, b_u and b_i are how much user u rates above the mean and
    how much item i is rated above it, and p_u·q_i is the interaction of taste and item. The
    model minimises Σ (r_ui − r̂_ui)² + λ (b_u² + b_i² + ‖p_u‖² + ‖q_i‖²) over training ratings.
    Each epoch shuffles the ratings and takes one step per mini-batch of `batch_size`
    ratings (see `rating_gradient_steps`): every rating adds its own SGD step, computed from
    the parameters before the batch; the steps of one user or item are summed.

    Parameters
    ----------
    factors: d, the length of p_u and q_i.
    learning_rate: the SGD step size η.
    regularization: λ, the pull of every parameter towards 0.
    epochs: passes over the training ratings.
    batch_size: ratings per SGD step; larger is faster (fewer numpy calls) and 1 is plain SGD.
    random_state: seed of the initial factors (normal, standard deviation 0.1) and shuffles.
    validation_fraction: share of the training ratings held out (seeded) to report a
        validation RMSE after each epoch; the model is then fitted on the rest only. A user
        or item whose ratings were all held out keeps zero factors and biases, so it is
        predicted from the biases that are known.
    verbose: show a progress bar on stderr.

    The defaults were chosen on a validation split of MovieLens 100K (d in 20–100, η in
    0.005–0.03, λ in 0.02–0.3, validation RMSE per epoch); they fit 80,000 ratings in under
    a second.

    Attributes
    ----------
    global_mean_, user_bias_, item_bias_: μ, b_u and b_i.
    user_factors_, item_factors_: P (users × d) and Q (items × d).
    history_: DataFrame with one row per epoch: epoch, train_rmse (the RMSE of the errors
        met during the epoch, each measured just before its batch's step) and
        validation_rmse (NaN without validation).
    """

    def __init__(
        self,
        factors: int = 100,
        learning_rate: float = 0.02,
        regularization: float = 0.1,
        epochs: int = 20,
        batch_size: int = 1024,
        random_state: int | None = 0,
        validation_fraction: float = 0.0,
        verbose: bool = False,
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.validation_fraction = validation_fraction
        self.verbose = verbose

    def _fit(self, ratings: pd.DataFrame) -> None:
        factors = check_positive_int(self.factors, "factors")
        learning_rate = check_positive(self.learning_rate, "learning_rate")
        regularization = check_non_negative(self.regularization, "regularization")
        epochs = check_positive_int(self.epochs, "epochs")
        batch_size = check_positive_int(self.batch_size, "batch_size")
        fraction = check_non_negative(self.validation_fraction, "validation_fraction")
        if fraction >= 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}.")
        rng = seeded_generator(self.random_state, "random_state", allow_none=True)

        users, items, values = rating_triples(self, ratings)
        is_validation = np.zeros(len(values), dtype=bool)
        is_validation[rng.permutation(len(values))[: int(round(fraction * len(values)))]] = True
        if is_validation.all():
            raise ValueError("validation_fraction leaves no training ratings; lower it.")
        validation_users, validation_items = users[is_validation], items[is_validation]
        validation_ratings = values[is_validation]
        users, items, values = users[~is_validation], items[~is_validation], values[~is_validation]

        self.global_mean_ = float(values.mean())
        self.user_bias_ = np.zeros(len(self.user_map_))
        self.item_bias_ = np.zeros(len(self.item_map_))
        self.user_factors_ = rng.normal(0.0, 0.1, (len(self.user_map_), factors))
        self.item_factors_ = rng.normal(0.0, 0.1, (len(self.item_map_), factors))
        # A user or item whose every rating was held out for validation gets no gradient, so
        # it would keep its random start; zero factors give it the bias-only prediction.
        self.user_factors_[np.bincount(users, minlength=len(self.user_map_)) == 0] = 0.0
        self.item_factors_[np.bincount(items, minlength=len(self.item_map_)) == 0] = 0.0

        low, high = ratings["rating"].min(), ratings["rating"].max()
        history = []
        bar = progress(epochs, self.verbose, "BiasedMF epochs")
        for epoch in bar:
            order = rng.permutation(len(values))
            squared_errors = 0.0
            for start in range(0, len(order), batch_size):
                batch = order[start : start + batch_size]
                squared_errors += self._step(
                    users[batch], items[batch], values[batch], learning_rate, regularization
                )
            train_rmse = float(np.sqrt(squared_errors / len(values)))
            validation_rmse = np.nan
            if len(validation_ratings):
                # Clipped like `predict` (rating_range_ itself is only set after _fit).
                predictions = self._predict_known(validation_users, validation_items)
                errors = validation_ratings - np.clip(predictions, low, high)
                validation_rmse = float(np.sqrt(np.mean(errors ** 2)))
            history.append((epoch + 1, train_rmse, validation_rmse))
            bar.set_postfix(train_rmse=train_rmse, validation_rmse=validation_rmse)
        self.history_ = pd.DataFrame(history, columns=["epoch", "train_rmse", "validation_rmse"])
        if not np.isfinite(self.user_factors_).all():
            raise FloatingPointError(
                "BiasedMF diverged (factors became inf or NaN): lower learning_rate or "
                "batch_size, or raise regularization."
            )

    def _step(self, users, items, values, learning_rate, regularization) -> float:
        """One SGD step on a mini-batch of ratings; returns the batch's sum of squared errors."""
        errors, (user_bias_steps, item_bias_steps, user_steps, item_steps) = (
            rating_gradient_steps(self, users, items, values, regularization)
        )
        scatter_add(self.user_bias_, users, learning_rate * user_bias_steps)
        scatter_add(self.item_bias_, items, learning_rate * item_bias_steps)
        scatter_add(self.user_factors_, users, learning_rate * user_steps)
        scatter_add(self.item_factors_, items, learning_rate * item_steps)
        return float(errors @ errors)


# ----------------------------------------------------------------------- ALS


class ALS(FactorRatingPredictor):
    """Alternating least squares for explicit ratings, r̂_ui = μ + b_u + b_i + p_u·q_i.

    First the biases μ, b_u, b_i are fitted as in `BiasBaseline` (with its defaults); the
    factors then model what the biases leave, the residual r̃_ui = r_ui − μ − b_u − b_i, by
    minimising

        Σ_(u,i) observed (r̃_ui − p_u·q_i)² + λ (Σ_u n_u ‖p_u‖² + Σ_i n_i ‖q_i‖²)

    where n_u and n_i count the ratings of u and of i ("weighted-λ" regularisation, Zhou et
    al. 2008: a user with many ratings can afford a longer vector). With Q fixed this is a
    ridge regression for every user, with a closed form,

        p_u = (Q_uᵀ Q_u + λ n_u I)⁻¹ Q_uᵀ r̃_u

    (Q_u: the rows of Q for the items u rated), and the same for q_i with P fixed. Each
    half-step solves its problem exactly, so the objective never goes up.

    Parameters
    ----------
    factors: d, the length of p_u and q_i.
    regularization: λ.
    iterations: rounds of (all users, then all items).
    random_state: seed of the initial Q (normal, standard deviation 0.1).
    verbose: show a progress bar on stderr.

    The defaults were chosen on a validation split of MovieLens 100K (d in 5–50, λ in
    0.03–0.3, 5–20 iterations).
    """

    def __init__(
        self,
        factors: int = 20,
        regularization: float = 0.15,
        iterations: int = 10,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.factors = factors
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, ratings: pd.DataFrame) -> None:
        factors = check_positive_int(self.factors, "factors")
        regularization = check_positive(self.regularization, "regularization")
        iterations = check_positive_int(self.iterations, "iterations")
        rng = seeded_generator(self.random_state, "random_state", allow_none=True)
        matrix = self._rating_matrix(ratings)
        # The biases are BiasBaseline's, with its default pull towards 0.
        baseline = BiasBaseline()
        self.global_mean_, self.user_bias_, self.item_bias_ = fit_biases(
            matrix, baseline.reg_user, baseline.reg_item, baseline.iterations
        )

        residuals = matrix.tocoo()
        residuals.data = (residuals.data - self.global_mean_ - self.user_bias_[residuals.row]
                          - self.item_bias_[residuals.col])
        by_user = residuals.tocsr()
        by_item = residuals.T.tocsr()
        self.user_factors_ = np.zeros((len(self.user_map_), factors))
        self.item_factors_ = rng.normal(0.0, 0.1, (len(self.item_map_), factors))
        for _ in progress(iterations, self.verbose, "ALS iterations"):
            self.user_factors_ = self._half_step(by_user, self.item_factors_, regularization)
            self.item_factors_ = self._half_step(by_item, self.user_factors_, regularization)

    @staticmethod
    def _half_step(residuals: sparse.csr_matrix, fixed: np.ndarray, regularization: float):
        """Best vector of every row of `residuals` with the other side `fixed`."""
        observed = residuals.copy()
        observed.data = np.ones_like(observed.data)
        return ridge_solve(
            observed, residuals @ fixed, fixed, regularization * observed.getnnz(axis=1)
        )


# ----------------------------------------------------------------------- ImplicitALS


class ImplicitALS(Recommender):
    """Confidence-weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008).

    Every cell of the users × items matrix is data: the preference p_ui is 1 if u interacted
    with i and 0 otherwise, trusted with confidence

        c_ui = 1 + α r_ui

    where r_ui is the strength of the interaction: the rating when the data has a rating
    column (a 5 is stronger evidence than a 1), else 1; and 0 for no interaction, so a
    missing cell has confidence 1. The model minimises

        Σ_u Σ_i c_ui (p_ui − x_u·y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²)

    over all cells; x_u are the rows of P, y_i the rows of Q (written Y below). With Y
    fixed, user u's best x_u solves

        (YᵀY + Yᵀ(C_u − I)Y + λI) x_u = YᵀC_u p(u)

    with C_u = diag(c_u1, c_u2, ...). YᵀY is the same for every user and is computed once;
    Yᵀ(C_u − I)Y and YᵀC_u p(u) = Σ_i c_ui p_ui y_i only involve the items u interacted with,
    because c_ui − 1 = 0 and p_ui = 0 everywhere else. Each half-step runs a few
    conjugate-gradient steps for all users at once, started from the previous solution (see
    `ridge_conjugate_gradient`), as the `implicit` library does; then the same for the items
    with the users fixed. Scores are x_u·y_i.

    Parameters
    ----------
    factors: d.
    regularization: λ.
    alpha: α, how much more an interaction is trusted than a missing one.
    iterations: rounds of (all users, then all items).
    random_state: seed of the initial factors (normal, standard deviation 0.01).
    verbose: show a progress bar on stderr.

    α and λ were chosen on a validation split of MovieLens 100K (α in 1–100, λ in 0.1–300,
    with 64 factors); ratings as r_ui did slightly better than 0/1. The number of iterations
    was then chosen on validation splits carved from the training part of five standard
    splits (seeds 0–4): 10 iterations scored a mean validation NDCG@10 of 0.2773, against
    0.2767 for 15, 0.2771 for 12 and 0.2763 for 20 (10 beat 15 on 4 of the 5 splits), and
    fit a third faster. Changing one other parameter at a time (48 or 96 factors, α of 1.5
    or 3, λ of 30 or 80) scored at most 0.2770, and λ far from 50 much less. With these
    defaults the standard protocol gives NDCG@10 of 0.485, 0.489, 0.488, 0.483 and 0.491 for
    split seeds 0–4 (lesson 09).
    """

    #: Conjugate-gradient steps per half-step; 3 is what the `implicit` library uses.
    conjugate_gradient_steps = 3

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 50.0,
        alpha: float = 2.0,
        iterations: int = 10,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, ratings: pd.DataFrame) -> None:
        factors = check_positive_int(self.factors, "factors")
        regularization = check_positive(self.regularization, "regularization")
        alpha = check_non_negative(self.alpha, "alpha")
        iterations = check_positive_int(self.iterations, "iterations")
        rng = seeded_generator(self.random_state, "random_state", allow_none=True)
        if "rating" in ratings.columns:
            values = ratings["rating"].to_numpy(dtype=np.float64)
            # c_ui = 1 + α r_ui must stay positive, or the objective has no minimum and the
            # factors grow without bound.
            if not (np.isfinite(values) & (values >= 0)).all():
                raise ValueError(
                    "ImplicitALS uses the rating column as the strength r_ui of an interaction, "
                    "so every rating must be a finite number >= 0. Shift or rescale the "
                    "ratings, or drop the column to treat every interaction alike."
                )
            strength = self._rating_matrix(ratings)
        else:
            strength = self.user_items_.astype(np.float64)
        # The stored entries of these matrices are c_ui − 1 = α r_ui, by user and by item.
        extra_by_user = (alpha * strength).tocsr()
        extra_by_item = extra_by_user.T.tocsr()
        self.user_factors_ = rng.normal(0.0, 0.01, (len(self.user_map_), factors))
        self.item_factors_ = rng.normal(0.0, 0.01, (len(self.item_map_), factors))
        for _ in progress(iterations, self.verbose, "ImplicitALS iterations"):
            self.user_factors_ = self._half_step(
                extra_by_user, self.item_factors_, self.user_factors_, regularization
            )
            self.item_factors_ = self._half_step(
                extra_by_item, self.user_factors_, self.item_factors_, regularization
            )

    def _half_step(self, extra_confidence, fixed, current, regularization):
        """New vectors for the rows of `extra_confidence` (c_ui − 1), the other side fixed."""
        confidence = extra_confidence.copy()
        confidence.data += 1.0
        return ridge_conjugate_gradient(
            extra_confidence, confidence @ fixed, fixed, regularization, current,
            self.conjugate_gradient_steps, shared_gram=fixed.T @ fixed,
        )

    def _score_users(self, user_indices):
        return self.user_factors_[user_indices] @ self.item_factors_.T


# ----------------------------------------------------------------------- BPR


class BPR(Recommender):
    """Bayesian personalised ranking (Rendle et al. 2009), trained by mini-batch SGD.

    The score is x̂_ui = b_i + p_u·q_i. BPR only asks that a user's positive item i score
    above an item j they never interacted with, and maximises over sampled triples (u, i, j)

        Σ ln σ(x̂_ui − x̂_uj) − (λ/2) (‖p_u‖² + ‖q_i‖² + ‖q_j‖² + b_i² + b_j²)

    where σ(x) = 1 / (1 + e⁻ˣ) is the probability that u prefers i to j. With
    x̂_uij = x̂_ui − x̂_uj and g = σ(−x̂_uij) (large while the pair is ranked wrongly), the
    ascent steps are

        p_u += η (g (q_i − q_j) − λ p_u)
        q_i += η (g p_u − λ q_i),     b_i += η (g − λ b_i)
        q_j += η (−g p_u − λ q_j),    b_j += η (−g − λ b_j)

    Each epoch visits every training interaction once in random order, with one negative
    drawn uniformly among the user's non-interactions (`sample_negative_indices`), in
    mini-batches whose steps are summed per user and per item. The item bias b_i learns
    popularity, which leaves the factors free to learn taste. A user who interacted with every
    item has no triple and is left out of training (nothing is left to recommend them).

    Parameters
    ----------
    factors: d.
    learning_rate: η.
    regularization: λ.
    epochs: passes over the training interactions.
    batch_size: triples per step.
    random_state: seed of the initial factors (normal, standard deviation 0.1), the
        shuffles and the negatives.
    verbose: show a progress bar on stderr.

    The defaults were chosen on a validation split of MovieLens 100K (d in 32–256, η in
    0.005–0.2, λ in 0.001–0.1). More epochs still help a little, at a proportional cost.

    Attributes
    ----------
    user_factors_, item_factors_, item_bias_: P, Q and b_i.
    history_: DataFrame with one row per epoch: epoch and train_loss, the mean of
        −ln σ(x̂_uij) over the epoch's triples, each measured before its batch's step.
    """

    def __init__(
        self,
        factors: int = 128,
        learning_rate: float = 0.03,
        regularization: float = 0.02,
        epochs: int = 50,
        batch_size: int = 1024,
        random_state: int | None = 0,
        verbose: bool = False,
    ):
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, ratings: pd.DataFrame) -> None:
        factors = check_positive_int(self.factors, "factors")
        learning_rate = check_positive(self.learning_rate, "learning_rate")
        regularization = check_non_negative(self.regularization, "regularization")
        epochs = check_positive_int(self.epochs, "epochs")
        batch_size = check_positive_int(self.batch_size, "batch_size")
        rng = seeded_generator(self.random_state, "random_state", allow_none=True)
        interactions = self.user_items_.tocoo()
        # A user who interacted with every item has no item j to rank below i, so the
        # objective has no triple for them; their factors keep their initial values, which
        # never matter, since every item is already seen.
        complete = self.user_items_.getnnz(axis=1) >= len(self.item_map_)
        if complete.all():
            raise ValueError(
                "Every user interacted with every item, so BPR has no item a user did not "
                "choose to rank below the chosen ones. Add items, or use a rating model."
            )
        if complete.any():
            keep = ~complete[interactions.row]
            interactions = sparse.coo_matrix(
                (interactions.data[keep], (interactions.row[keep], interactions.col[keep])),
                shape=interactions.shape,
            )
        self.user_factors_ = rng.normal(0.0, 0.1, (len(self.user_map_), factors))
        self.item_factors_ = rng.normal(0.0, 0.1, (len(self.item_map_), factors))
        self.item_bias_ = np.zeros(len(self.item_map_))

        history = []
        bar = progress(epochs, self.verbose, "BPR epochs")
        for epoch in bar:
            order = rng.permutation(interactions.nnz)
            users, positives = interactions.row[order], interactions.col[order]
            negatives_of = self._negative_sampler(users, rng)
            total_loss = 0.0
            for start in range(0, len(users), batch_size):
                batch = slice(start, start + batch_size)
                total_loss += self._step(
                    users[batch], positives[batch], negatives_of(batch), learning_rate,
                    regularization,
                )
            history.append((epoch + 1, total_loss / len(users)))
            bar.set_postfix(train_loss=total_loss / len(users))
        self.history_ = pd.DataFrame(history, columns=["epoch", "train_loss"])
        if not np.isfinite(self.user_factors_).all():
            raise FloatingPointError(
                "BPR diverged (factors became inf or NaN): lower learning_rate or raise "
                "regularization."
            )

    def _negative_sampler(self, users: np.ndarray, rng: np.random.Generator):
        """The negatives j of one epoch: a function from a batch (a slice of `users`) to j.

        BPR draws one uniform never-rated item per triple, all at the start of the epoch.
        `negatives.NegativeSamplingBPR` overrides this to try other strategies.
        """
        negatives = sample_negative_indices(self.user_items_, users, 1, rng)[:, 0]
        return lambda batch: negatives[batch]

    def _step(self, users, positives, negatives, learning_rate, regularization) -> float:
        """One SGD step on a mini-batch of triples; returns the batch's summed −ln σ."""
        user_vectors = self.user_factors_[users]
        positive_vectors = self.item_factors_[positives]
        negative_vectors = self.item_factors_[negatives]
        item_difference = positive_vectors - negative_vectors
        difference = (self.item_bias_[positives] - self.item_bias_[negatives]
                      + np.einsum("nk,nk->n", user_vectors, item_difference))
        # g = σ(−x̂_uij) is near 1 while the pair is ranked wrongly and near 0 once it is not.
        wrongness = expit(-difference)
        pull = wrongness[:, None] * user_vectors
        user_steps = wrongness[:, None] * item_difference - regularization * user_vectors
        # The positive and the negative item of each triple are updated in one scatter.
        items = np.concatenate([positives, negatives])
        item_steps = np.concatenate([pull, -pull]) - regularization * self.item_factors_[items]
        bias_steps = (np.concatenate([wrongness, -wrongness])
                      - regularization * self.item_bias_[items])
        scatter_add(self.user_factors_, users, learning_rate * user_steps)
        scatter_add(self.item_factors_, items, learning_rate * item_steps)
        scatter_add(self.item_bias_, items, learning_rate * bias_steps)
        # −ln σ(x̂_uij), the loss of each triple, computed without overflow.
        return float(-log_expit(difference).sum())

    def _score_users(self, user_indices):
        return self.user_factors_[user_indices] @ self.item_factors_.T + self.item_bias_


__all__ = [
    "ALS",
    "BPR",
    "BiasedMF",
    "ImplicitALS",
    "PureSVD",
    "ridge_conjugate_gradient",
    "ridge_solve",
]
