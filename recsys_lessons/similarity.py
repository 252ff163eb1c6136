"""Similarity measures for collaborative filtering.

Convention: the rows of a matrix are the things we compare. For user-based
filtering pass the users × items ratings matrix R; for item-based filtering
pass its transpose R.T (items × users). The one exception is
`adjusted_cosine`, which takes R itself and compares its columns (items);
see its docstring.

Every measure can be called in three ways:

* two 1-D vectors x and y            → a Python float;
* one 2-D matrix X                   → S with S[i, j] = sim(row i, row j),
                                       shape (n_rows, n_rows);
* two 2-D matrices X and Y           → S with S[i, j] = sim(X row i, Y row j),
                                       shape (X rows, Y rows).

Matrices may be dense numpy arrays (or anything `np.asarray` turns into one,
such as nested lists or a pandas DataFrame) or scipy.sparse matrices/arrays.
The result is always a dense numpy ndarray, except that `cosine`, `jaccard` and
`adjusted_cosine` return a scipy.sparse.csr_array when the input is sparse and
you pass dense_output=False: their results are zero wherever the two things
compared share no non-zero entry, so on sparse data the result is often sparse
too. Euclidean measures and Pearson correlation are not zero there, so they
always return dense arrays.

All arithmetic is done in float64. Values far from 1 are safe: before anything
is squared, rows are scaled by powers of two (which is exact), so squares of
values such as 1e200 or 1e-200 neither overflow nor vanish. A measure that is
undefined for a pair (a zero vector for cosine, a constant vector for Pearson,
two empty sets for Jaccard) gives 0, never NaN: "no evidence of similarity".
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

# The largest number of similarity values top_k_neighbors holds in memory at once.
_BLOCK_VALUES = 4_000_000


# ---------------------------------------------------------------------------
# The measures
# ---------------------------------------------------------------------------


def cosine(x, y=None, *, dense_output=True):
    """Cosine similarity: the cosine of the angle between two rating vectors.

        sim(u, v) = Σ_i r_ui·r_vi / (‖r_u‖·‖r_v‖)

    The result lies in [−1, 1]; for non-negative data such as ratings or
    clicks it lies in [0, 1]. A zero vector has no direction, so its cosine
    with anything, itself included, is 0.

    Parameters
    ----------
    x, y : two 1-D vectors, or one or two 2-D matrices (dense or sparse) whose
        rows are compared. See the module docstring.
    dense_output : only matters for sparse input. True (the default) returns a
        dense ndarray; False returns a scipy.sparse.csr_array, which saves
        memory when most pairs of rows share no non-zero column.

    Returns
    -------
    float for two vectors, otherwise the (x rows, y rows) similarity matrix.
    """
    first, second, vectors = _prepare_pair(x, y)
    return _finish(_cosine_matrix(first, second), vectors, dense_output)


def euclidean_distance(x, y=None):
    """Euclidean (straight-line) distance between rating vectors.

        d(u, v) = √( Σ_i (r_ui − r_vi)² )

    For matrices it uses the expansion ‖x − y‖² = ‖x‖² + ‖y‖² − 2·x·y, which
    needs only one matrix product and keeps sparse input sparse. Rounding can
    make the expansion slightly negative for nearly equal rows, so it is
    clipped at 0; the distance of a row to itself is set to exactly 0. Expect
    rounding of roughly 1e-8·‖x‖ in the distance between two equal rows, as
    with sklearn.metrics.pairwise.euclidean_distances.

    Returns a float for two vectors, otherwise a dense (x rows, y rows) ndarray.
    """
    first, second, vectors = _prepare_pair(x, y)
    # Both inputs are scaled by one power of two so that no square overflows
    # or vanishes (see _rescale_rows), and the distance is scaled back at the end.
    scale = _power_of_two_scale(
        max(_row_largest_magnitudes(matrix).max(initial=0.0) for matrix in (first, second))
    )
    same = second is first
    first = first * scale
    second = first if same else second * scale
    if vectors:
        # For one pair the direct formula is just as cheap and avoids the
        # rounding error of the expansion.
        return float(np.sqrt(np.sum((first - second) ** 2)) / scale)
    squared = (
        _row_sums_of_squares(first)[:, None]
        + _row_sums_of_squares(second)[None, :]
        - 2.0 * _dense(first @ second.T)
    )
    np.maximum(squared, 0.0, out=squared)
    if second is first:
        np.fill_diagonal(squared, 0.0)
    return np.sqrt(squared) / scale


def euclidean_similarity(x, y=None):
    """Turn Euclidean distance into a similarity in (0, 1].

        sim(u, v) = 1 / (1 + d(u, v))

    Identical vectors score 1; the score falls towards 0 as they move apart.
    Returns a float for two vectors, otherwise a dense ndarray.
    """
    return 1.0 / (1.0 + euclidean_distance(x, y))


def pearson(x, y=None, *, co_rated=False):
    """Pearson correlation between rating vectors.

    Default (co_rated=False): the plain Pearson correlation over all columns,
    as numpy.corrcoef computes it. Every entry is a real value, zeros included:

        sim(u, v) = Σ_i (r_ui − r̄_u)·(r_vi − r̄_v)
                    / ( √(Σ_i (r_ui − r̄_u)²) · √(Σ_i (r_vi − r̄_v)²) )

    co_rated=True: 0 means "not rated" (for sparse input, so does a missing
    entry), and the correlation is taken only over I_uv, the items both u and
    v rated, as in user-based collaborative filtering. The means are taken
    over I_uv too:

        sim(u, v) = Σ_{i∈I_uv} (r_ui − r̄_u)·(r_vi − r̄_v)
                    / ( √(Σ_{i∈I_uv} (r_ui − r̄_u)²) · √(Σ_{i∈I_uv} (r_vi − r̄_v)²) )

    The result lies in [−1, 1]. If either vector is constant (over I_uv when
    co_rated=True) the correlation is undefined and 0 is returned; so is it
    when u and v share fewer than two rated items.

    Plain Pearson on sparse input is computed densely: centring turns every
    zero into a non-zero value, so nothing stays sparse. Co-rated Pearson stays
    sparse until the final (x rows, y rows) result.

    Returns a float for two vectors, otherwise a dense ndarray.
    """
    first, second, vectors = _prepare_pair(x, y)
    if co_rated:
        similarity = _co_rated_pearson_matrix(first, second)
    else:
        first_centred = _centre_rows(_dense(_rescale_rows(first)))
        second_centred = (
            first_centred if second is first else _centre_rows(_dense(_rescale_rows(second)))
        )
        # Pearson correlation is the cosine of the mean-centred vectors.
        similarity = _cosine_matrix(first_centred, second_centred)
    return _finish(similarity, vectors, dense_output=True)


def jaccard(x, y=None, *, dense_output=True):
    """Jaccard similarity of the sets of non-zero columns.

        sim(u, v) = |I_u ∩ I_v| / |I_u ∪ I_v|

    where I_u is the set of columns where row u is non-zero (the items user u
    rated, clicked or bought); the values themselves are ignored. The result
    lies in [0, 1]. Two empty sets have similarity 0.

    dense_output behaves as in `cosine`: it only matters for sparse input.
    Returns a float for two vectors, otherwise the (x rows, y rows) matrix.
    """
    first, second, vectors = _prepare_pair(x, y)
    first_present = (first != 0).astype(np.float64)
    second_present = first_present if second is first else (second != 0).astype(np.float64)
    intersection = first_present @ second_present.T
    first_sizes = np.asarray(first_present.sum(axis=1)).ravel()
    second_sizes = np.asarray(second_present.sum(axis=1)).ravel()
    # |I_u ∪ I_v| = |I_u| + |I_v| − |I_u ∩ I_v|.
    if sp.issparse(intersection):
        # Only pairs with a common column are stored, and for them the union
        # is at least 1, so dividing the stored values is safe.
        intersection = sp.csr_array(intersection)
        rows = np.repeat(np.arange(intersection.shape[0]), np.diff(intersection.indptr))
        columns = intersection.indices
        intersection.data /= first_sizes[rows] + second_sizes[columns] - intersection.data
        similarity = intersection
    else:
        union = first_sizes[:, None] + second_sizes[None, :] - intersection
        similarity = _safe_divide(intersection, union)
    return _finish(similarity, vectors, dense_output)


def adjusted_cosine(ratings, *, co_rated=False, dense_output=True):
    """Adjusted cosine similarity between ITEMS (Sarwar et al., 2001).

    Orientation differs from the other measures: pass the users × items
    ratings matrix R (0, or a missing sparse entry, means "not rated") and get
    back the items × items similarity matrix, shape (n_items, n_items).

    Users rate on different scales (a strict user's 3 can mean a generous user's 5),
    so each user's mean rating r̄_u, taken over the items that user rated, is
    subtracted from that user's ratings before comparing item columns:

        sim(i, j) = Σ_u (r_ui − r̄_u)·(r_uj − r̄_u)
                    / ( √(Σ_u (r_ui − r̄_u)²) · √(Σ_u (r_uj − r̄_u)²) )

    Unrated entries stay 0, so they add nothing to any sum.

    co_rated=False (default): each square root sums over all users who rated
    that item, which is plain cosine of the centred item columns.
    co_rated=True: every sum runs only over the users who rated both i and j,
    exactly as written in Sarwar et al. The numerators are the same; only the
    denominators shrink.

    dense_output behaves as in `cosine`: it only matters for sparse input.
    """
    matrix = _as_float_array(ratings, "ratings")
    if matrix.ndim != 2:
        raise ValueError(
            f"ratings must be a 2-D users × items matrix, got shape {matrix.shape}. "
            "Adjusted cosine needs several users to compute each user's mean rating."
        )
    # Scaling every rating by one power of two changes no similarity and keeps
    # the sums of squares from overflowing or vanishing (see _rescale_rows).
    matrix = matrix * _power_of_two_scale(_row_largest_magnitudes(matrix).max(initial=0.0))
    # Items become rows so that the shared helpers, which compare rows, apply.
    item_values = _transpose(_centre_rated(matrix))
    if not co_rated:
        return _finish(_cosine_matrix(item_values, item_values), False, dense_output)

    item_rated = _transpose((matrix != 0).astype(np.float64))
    squares = item_values * item_values
    numerator = item_values @ item_values.T
    # first_squares[i, j] = Σ (r_ui − r̄_u)² over the users u who rated both i and j.
    first_squares = squares @ item_rated.T
    second_squares = first_squares.T
    if sp.issparse(numerator):
        # A non-zero numerator means both sums of squares are positive, so
        # scaling the stored numerators by 1/√(product) keeps the result sparse.
        scale = sp.csr_array(first_squares.multiply(second_squares))
        scale.data = 1.0 / np.sqrt(scale.data)
        similarity = sp.csr_array(numerator.multiply(scale))
    else:
        similarity = _safe_divide(numerator, np.sqrt(first_squares * second_squares))
    return _finish(_clip(similarity, -1.0, 1.0), False, dense_output)


def top_k_neighbors(similarity, k, *, exclude_self=True):
    """Each row's k most similar columns.

    Parameters
    ----------
    similarity : 2-D similarity matrix, dense or sparse. For sparse input a
        missing entry counts as similarity 0 (and so can be a neighbour).
    k : number of neighbours per row, 1 ≤ k ≤ available columns.
    exclude_self : if True (the default) the matrix must be square and row i
        never lists column i, its own entry; then k ≤ n_columns − 1. Pass False
        for a rectangular matrix such as cosine(X, Y).

    Returns
    -------
    (indices, values): two (n_rows, k) arrays. indices[i] holds the columns in
    order of decreasing similarity, ties broken by the lower column index;
    values[i] holds their similarities.
    """
    matrix = _as_float_array(similarity, "similarity")
    if matrix.ndim != 2:
        raise ValueError(f"similarity must be a 2-D matrix, got shape {matrix.shape}.")
    n_rows, n_columns = matrix.shape
    if exclude_self and n_rows != n_columns:
        raise ValueError(
            f"exclude_self=True needs a square similarity matrix, got shape {matrix.shape}. "
            "Pass exclude_self=False to rank the columns of a rectangular matrix."
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer):
        raise TypeError(f"k must be an integer, got {type(k).__name__}.")
    available = n_columns - 1 if exclude_self else n_columns
    if k <= 0:
        raise ValueError(f"k must be at least 1, got {k}.")
    if k > available:
        reason = " (with exclude_self=True a row is not its own neighbour)" if exclude_self else ""
        raise ValueError(
            f"k={k} is more than the {available} columns available{reason}; "
            f"the maximum k is {available}."
        )

    indices = np.empty((n_rows, k), dtype=np.intp)
    values = np.empty((n_rows, k), dtype=np.float64)
    # Work through the rows in blocks so that a large sparse matrix is never
    # turned into one huge dense array.
    block_rows = max(1, _BLOCK_VALUES // n_columns)
    for start in range(0, n_rows, block_rows):
        stop = min(start + block_rows, n_rows)
        block = np.array(_dense(matrix[start:stop]))
        if exclude_self:
            # −∞ ranks below every real similarity, so a row never picks itself.
            block[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        indices[start:stop], values[start:stop] = _top_k_of_rows(block, k)
    return indices, values


# ---------------------------------------------------------------------------
# Helpers shared by the measures
# ---------------------------------------------------------------------------


def _cosine_matrix(first, second):
    """Cosine between the rows of first and second: normalise rows, then one product."""
    first_unit = _unit_rows(first)
    second_unit = first_unit if second is first else _unit_rows(second)
    # Rounding can push a unit-vector dot product a hair past ±1.
    return _clip(first_unit @ second_unit.T, -1.0, 1.0)


def _co_rated_pearson_matrix(first, second):
    """Pearson correlation over co-rated columns, from masked sums.

    With M_u the 0/1 "rated" mask of row u, every sum over the co-rated items
    of u and v is a product of rows with masks, e.g. Σ_{i∈I_uv} r_ui = r_u·M_v,
    so all pairs come from six matrix products and no Python loop:

        n = M_u·M_v,  Σx = r_u·M_v,  Σy = M_u·r_v,
        Σx² = r_u²·M_v,  Σy² = M_u·r_v²,  Σxy = r_u·r_v
        sim = (n·Σxy − Σx·Σy) / ( √(n·Σx² − (Σx)²) · √(n·Σy² − (Σy)²) )
    """
    first_rated = (first != 0).astype(np.float64)
    # Pearson correlation ignores a constant shift and a positive scale of
    # either row. Centring each row on its own mean keeps the sums small, which
    # makes the subtractions in the formula far less prone to rounding, and
    # rescaling first (see _rescale_rows) keeps them from overflowing.
    first_values = _centre_rated(_rescale_rows(first))
    if second is first:
        second_rated, second_values = first_rated, first_values
    else:
        second_rated = (second != 0).astype(np.float64)
        second_values = _centre_rated(_rescale_rows(second))

    count = _dense(first_rated @ second_rated.T)
    sum_first = _dense(first_values @ second_rated.T)
    sum_second = _dense(first_rated @ second_values.T)
    sum_first_squares = _dense((first_values * first_values) @ second_rated.T)
    sum_second_squares = _dense(first_rated @ (second_values * second_values).T)
    sum_products = _dense(first_values @ second_values.T)

    covariance = count * sum_products - sum_first * sum_second
    first_spread = count * sum_first_squares - sum_first**2
    second_spread = count * sum_second_squares - sum_second**2
    # A spread that is tiny next to the sums it came from is rounding noise:
    # the co-rated values are constant, and the correlation is undefined.
    first_spread[first_spread <= 1e-12 * count * sum_first_squares] = 0.0
    second_spread[second_spread <= 1e-12 * count * sum_second_squares] = 0.0
    similarity = _safe_divide(covariance, np.sqrt(first_spread) * np.sqrt(second_spread))
    return np.clip(similarity, -1.0, 1.0)


def _centre_rows(matrix):
    """Subtract each row's mean from every entry of a dense matrix."""
    # Subtracting the first entry before the mean makes a constant row exactly
    # zero; the mean alone can leave rounding noise that looks like variation.
    shifted = matrix - matrix[:, :1]
    return shifted - shifted.mean(axis=1, keepdims=True)


def _centre_rated(matrix):
    """Subtract each row's mean over its rated (non-zero) entries from those entries.

    Unrated entries stay 0. For sparse input the result keeps the same stored
    positions, even where a rating equals the mean and becomes 0.
    """
    if sp.issparse(matrix):
        counts = np.diff(matrix.indptr)
        means = _safe_divide(np.asarray(matrix.sum(axis=1)).ravel(), counts)
        centred = matrix.copy()
        centred.data -= np.repeat(means, counts)
        return centred
    rated = matrix != 0
    means = _safe_divide(matrix.sum(axis=1), rated.sum(axis=1))
    return np.where(rated, matrix - means[:, None], 0.0)


def _top_k_of_rows(block, k):
    """The k largest entries of each row of a dense block, as in top_k_neighbors."""
    n_columns = block.shape[1]
    # np.partition finds each row's k-th largest value in linear time, without
    # sorting the whole row (it is np.argpartition's values-only twin).
    threshold = np.partition(block, n_columns - k, axis=1)[:, n_columns - k, None]
    above = block > threshold
    tied = block == threshold
    # Of the columns tied at the threshold, keep the lowest-numbered ones, so
    # the answer does not depend on the order the partition happened to leave.
    still_needed = k - above.sum(axis=1, keepdims=True)
    chosen = above | (tied & (np.cumsum(tied, axis=1) <= still_needed))
    # Exactly k columns per row are chosen; np.nonzero lists them in increasing order.
    columns = np.nonzero(chosen)[1].reshape(-1, k)
    chosen_values = np.take_along_axis(block, columns, axis=1)
    # A stable sort by decreasing value keeps tied columns in increasing order.
    order = np.argsort(-chosen_values, axis=1, kind="stable")
    sorted_columns = np.take_along_axis(columns, order, axis=1)
    return sorted_columns, np.take_along_axis(chosen_values, order, axis=1)


def _unit_rows(matrix):
    """Each row divided by its Euclidean norm; zero rows stay zero."""
    matrix = _rescale_rows(matrix)
    return _scale_rows(matrix, _safe_inverse(np.sqrt(_row_sums_of_squares(matrix))))


def _rescale_rows(matrix):
    """Each row times the power of two that brings its largest magnitude into [0.5, 1).

    Squares of values beyond about 1e154 overflow to infinity and squares of
    values below about 1e-154 vanish to 0, which would make a norm infinite or
    zero and a similarity silently 0. Cosine and Pearson correlation ignore a
    positive scale of either row, so rows are rescaled before anything is
    squared. Multiplying by a power of two is exact in floating point, so for
    ordinary data every result stays the same to the last bit.
    """
    factors = _power_of_two_scale(_row_largest_magnitudes(matrix))
    if sp.issparse(matrix):
        # Scaling the stored values in place keeps their order, so the sums
        # that follow add up in the same order as they would without it.
        scaled = sp.csr_array(matrix, copy=True)
        scaled.data *= np.repeat(factors, np.diff(scaled.indptr))
        return scaled
    return factors[:, None] * matrix


def _row_largest_magnitudes(matrix):
    return _dense(abs(matrix).max(axis=1)).ravel()


def _power_of_two_scale(largest):
    """The powers of two 2^-e that bring magnitudes `largest` into [0.5, 1)."""
    _, exponents = np.frexp(largest)  # largest = m·2^e with m in [0.5, 1); frexp(0) gives e = 0.
    # 2^±1000 is representable, and the clip still brings the smallest
    # (subnormal, 2^-1074) and largest (2^1024) float64 values into range.
    return np.ldexp(1.0, -np.clip(exponents, -1000, 1000))


def _row_sums_of_squares(matrix):
    return np.asarray((matrix * matrix).sum(axis=1)).ravel()


def _scale_rows(matrix, factors):
    """Multiply row i by factors[i], keeping sparse input sparse."""
    if sp.issparse(matrix):
        return sp.diags_array(factors) @ matrix
    return factors[:, None] * matrix


def _safe_inverse(values):
    """1 / values, with 0 where values is 0, so zero rows stay zero."""
    return _safe_divide(np.ones_like(values), values)


def _safe_divide(numerator, denominator):
    """numerator / denominator, with 0 where the denominator is not positive."""
    numerator = np.asarray(numerator, dtype=np.float64)
    result = np.zeros(np.broadcast_shapes(numerator.shape, np.shape(denominator)))
    np.divide(numerator, denominator, out=result, where=np.asarray(denominator) > 0)
    return result


def _clip(matrix, low, high):
    if sp.issparse(matrix):
        np.clip(matrix.data, low, high, out=matrix.data)
        return matrix
    return np.clip(matrix, low, high)


def _dense(matrix):
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def _transpose(matrix):
    # Row-based helpers want CSR; the transpose of a CSR matrix is CSC.
    return sp.csr_array(matrix.T) if sp.issparse(matrix) else matrix.T


def _finish(similarity, vectors, dense_output):
    """Return a float for a pair of vectors, else the matrix in the requested form."""
    if vectors:
        return float(_dense(similarity)[0, 0])
    if dense_output and sp.issparse(similarity):
        return similarity.toarray()
    return similarity


# ---------------------------------------------------------------------------
# Input checking
# ---------------------------------------------------------------------------


def _prepare_pair(x, y):
    """Check x and y and return (first, second, vectors).

    first and second are 2-D float64 matrices whose rows are compared; second
    is first itself when y is None. vectors is True when two 1-D vectors were
    given, which are returned as 1-row matrices.
    """
    first = _as_float_array(x, "x")
    if y is None:
        if first.ndim == 1:
            raise ValueError(
                "Got a single 1-D vector. Pass two vectors, e.g. cosine(x, y), or a "
                "2-D matrix whose rows are compared pairwise."
            )
        return first, first, False

    second = _as_float_array(y, "y")
    if first.ndim != second.ndim:
        raise ValueError(
            f"x is {first.ndim}-D but y is {second.ndim}-D; pass two vectors or two "
            "matrices. To compare one vector with every row of a matrix, pass "
            "vector.reshape(1, -1)."
        )
    if first.shape[-1] != second.shape[-1]:
        what = "length" if first.ndim == 1 else "columns:"
        raise ValueError(
            f"x has {what} {first.shape[-1]} but y has {what} {second.shape[-1]}; both "
            "must have one entry per item, in the same order."
        )
    if first.ndim == 1:
        return first.reshape(1, -1), second.reshape(1, -1), True
    # Sparse times dense products are awkward to mix, so if either input is
    # sparse both are treated as sparse.
    if sp.issparse(first) != sp.issparse(second):
        first, second = sp.csr_array(first), sp.csr_array(second)
    return first, second, False


def _as_float_array(data, name):
    """Return data as a float64 ndarray (1-D or 2-D) or 2-D CSR array, after checking it."""
    if sp.issparse(data):
        if data.ndim == 1:
            # A 1-D sparse vector is small; treat it like a dense one.
            return _as_float_array(data.toarray(), name)
        if data.ndim != 2:
            raise ValueError(f"{name} must be 1-D or 2-D, got a {data.ndim}-D sparse array.")
        if data.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold numbers, got sparse dtype {data.dtype}.")
        # Copy, because tidying below changes the matrix in place. Summing
        # duplicate entries and dropping stored zeros makes the stored
        # positions exactly the non-zero ("rated") entries.
        matrix = sp.csr_array(data, dtype=np.float64, copy=True)
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        values = matrix.data
    else:
        if data is None or isinstance(data, str | bytes | dict | set):
            raise TypeError(
                f"{name} must be a numeric numpy array, a list of numbers or a "
                f"scipy.sparse matrix, got {type(data).__name__}."
            )
        try:
            matrix = np.asarray(data)
        except ValueError as error:
            raise ValueError(
                f"{name} could not be read as a numeric array ({error}). Rows must all "
                "have the same length."
            ) from error
        if matrix.dtype.kind not in "biuf":
            raise TypeError(
                f"{name} must hold numbers (bool, int or float), got dtype {matrix.dtype}. "
                "Convert it first, e.g. np.asarray(data, dtype=float)."
            )
        if matrix.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be a 1-D vector or a 2-D matrix with one row per user or "
                f"item, got {matrix.ndim}-D input of shape {matrix.shape}. Reshape it or "
                "pick a single slice."
            )
        matrix = matrix.astype(np.float64, copy=False)
        values = matrix
    if matrix.shape[-1] == 0:
        raise ValueError(
            f"{name} has no columns (shape {matrix.shape}); there is nothing to compare."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            f"{name} contains NaN or infinite values, for which similarity is undefined. "
            "Mark unrated entries with 0 (or leave them out of a sparse matrix) instead of NaN."
        )
    return matrix
