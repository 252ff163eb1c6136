"""Tests for recsys_lessons.similarity."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.metrics.pairwise import cosine_similarity, euclidean_distances

from recsys_lessons import similarity as similarity_module
from recsys_lessons.similarity import (
    adjusted_cosine,
    cosine,
    euclidean_distance,
    euclidean_similarity,
    jaccard,
    pearson,
    top_k_neighbors,
)

# The course's toy matrix: users A, B, C (rows) over movies 1-3 (columns).
A = np.array([1.0, 0.0, 0.0])
B = np.array([0.0, 1.0, 0.0])
C = np.array([1.0, 0.0, 1.0])
TOY = np.vstack([A, B, C])

# sklearn's pairwise functions and ours should agree to this precision.
TOLERANCE = {"rtol": 1e-9, "atol": 1e-7}

PAIRWISE_MEASURES = [cosine, euclidean_distance, euclidean_similarity, pearson, jaccard]


def random_ratings(rng, n_rows, n_columns, rated_fraction=0.5):
    """Integer ratings 1-5 with about (1 - rated_fraction) of the entries unrated (0)."""
    ratings = rng.integers(1, 6, size=(n_rows, n_columns)).astype(float)
    return ratings * (rng.random((n_rows, n_columns)) < rated_fraction)


def random_sparse(rng, n_rows, n_columns, density=0.3):
    return sp.random_array((n_rows, n_columns), density=density, format="csr", rng=rng)


# ---------------------------------------------------------------------------
# Hand-computed values on the toy matrix
# ---------------------------------------------------------------------------


def test_cosine_toy_values():
    assert cosine(A, B) == 0.0
    assert cosine(A, C) == pytest.approx(1 / math.sqrt(2))
    assert cosine(B, C) == 0.0
    assert cosine(C, C) == pytest.approx(1.0)
    expected = np.array(
        [
            [1.0, 0.0, 1 / math.sqrt(2)],
            [0.0, 1.0, 0.0],
            [1 / math.sqrt(2), 0.0, 1.0],
        ]
    )
    np.testing.assert_allclose(cosine(TOY), expected, atol=1e-15)


def test_euclidean_toy_values():
    assert euclidean_distance(A, B) == pytest.approx(math.sqrt(2))
    assert euclidean_distance(A, C) == pytest.approx(1.0)
    assert euclidean_distance(B, C) == pytest.approx(math.sqrt(3))
    assert euclidean_distance(A, A) == 0.0
    expected = np.array(
        [
            [0.0, math.sqrt(2), 1.0],
            [math.sqrt(2), 0.0, math.sqrt(3)],
            [1.0, math.sqrt(3), 0.0],
        ]
    )
    np.testing.assert_allclose(euclidean_distance(TOY), expected, atol=1e-15)


def test_euclidean_similarity_toy_values():
    assert euclidean_similarity(A, B) == pytest.approx(1 / (1 + math.sqrt(2)))
    assert euclidean_similarity(A, C) == pytest.approx(0.5)
    assert euclidean_similarity(B, C) == pytest.approx(1 / (1 + math.sqrt(3)))
    assert euclidean_similarity(C, C) == 1.0
    np.testing.assert_allclose(np.diag(euclidean_similarity(TOY)), 1.0)


def test_jaccard_toy_values():
    assert jaccard(A, B) == 0.0
    assert jaccard(A, C) == 0.5
    assert jaccard(B, C) == 0.0
    assert jaccard(C, C) == 1.0
    expected = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.0], [0.5, 0.0, 1.0]])
    np.testing.assert_array_equal(jaccard(TOY), expected)


def test_plain_pearson_toy_values():
    # A centred is (2, −1, −1)/3, B centred (−1, 2, −1)/3, C centred (1, −2, 1)/3.
    assert pearson(A, B) == pytest.approx(-0.5)
    assert pearson(A, C) == pytest.approx(0.5)
    assert pearson(B, C) == pytest.approx(-1.0)
    expected = np.array([[1.0, -0.5, 0.5], [-0.5, 1.0, -1.0], [0.5, -1.0, 1.0]])
    np.testing.assert_allclose(pearson(TOY), expected, atol=1e-15)


def test_co_rated_pearson_toy_values_are_zero():
    # A and C share only movie 1 and B shares nothing, so there are never two
    # co-rated items to correlate over.
    assert pearson(A, C, co_rated=True) == 0.0
    assert pearson(A, B, co_rated=True) == 0.0
    np.testing.assert_array_equal(pearson(TOY, co_rated=True), np.zeros((3, 3)))


def test_adjusted_cosine_toy_values_are_zero():
    # Every toy user's ratings all equal that user's mean (1), so after
    # subtracting the means nothing is left to compare.
    np.testing.assert_array_equal(adjusted_cosine(TOY), np.zeros((3, 3)))


def test_adjusted_cosine_hand_example():
    ratings = np.array([[4.0, 2.0, 0.0], [5.0, 0.0, 3.0], [0.0, 1.0, 3.0]])
    # User means are 3, 4 and 2, so the centred item columns are
    # item 1 = (1, 1, 0), item 2 = (−1, 0, −1), item 3 = (0, −1, 1).
    all_raters = np.array([[1.0, -0.5, -0.5], [-0.5, 1.0, -0.5], [-0.5, -0.5, 1.0]])
    np.testing.assert_allclose(adjusted_cosine(ratings), all_raters, atol=1e-15)
    # Each pair of items has a single common rater, whose deviations have opposite signs.
    co_rated = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]])
    np.testing.assert_allclose(adjusted_cosine(ratings, co_rated=True), co_rated, atol=1e-15)


def test_zero_vector_gives_zero_not_nan():
    zero = np.zeros(3)
    assert cosine(zero, A) == 0.0
    assert cosine(zero, zero) == 0.0
    assert jaccard(zero, zero) == 0.0
    assert pearson(np.full(3, 4.0), A) == 0.0
    assert pearson(np.full(3, 0.1), np.array([0.3, 0.1, 0.2])) == 0.0
    matrix = np.vstack([A, np.zeros(3)])
    for measure in (cosine, jaccard, pearson):
        assert not np.isnan(measure(matrix)).any()
        assert not np.isnan(measure(sp.csr_array(matrix))).any()


def test_vector_calls_return_python_floats():
    for measure in PAIRWISE_MEASURES:
        assert type(measure(A, C)) is float


# ---------------------------------------------------------------------------
# Agreement with reference implementations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("make_sparse", [False, True])
def test_cosine_matches_sklearn(make_sparse):
    rng = np.random.default_rng(0)
    first = random_sparse(rng, 30, 20) if make_sparse else rng.normal(size=(30, 20))
    second = random_sparse(rng, 12, 20) if make_sparse else rng.normal(size=(12, 20))
    np.testing.assert_allclose(cosine(first), cosine_similarity(first), **TOLERANCE)
    np.testing.assert_allclose(cosine(first, second), cosine_similarity(first, second), **TOLERANCE)


@pytest.mark.parametrize("make_sparse", [False, True])
def test_euclidean_distance_matches_sklearn(make_sparse):
    rng = np.random.default_rng(1)
    first = random_sparse(rng, 30, 20) if make_sparse else rng.normal(size=(30, 20))
    second = random_sparse(rng, 12, 20) if make_sparse else rng.normal(size=(12, 20))
    np.testing.assert_allclose(euclidean_distance(first), euclidean_distances(first), **TOLERANCE)
    np.testing.assert_allclose(
        euclidean_distance(first, second), euclidean_distances(first, second), **TOLERANCE
    )
    np.testing.assert_allclose(
        euclidean_similarity(first, second),
        1 / (1 + euclidean_distances(first, second)),
        **TOLERANCE,
    )


def test_euclidean_distance_of_duplicate_rows_is_zero():
    rng = np.random.default_rng(2)
    row = rng.normal(size=50) * 1e3
    matrix = sp.csr_array(np.vstack([row, row, row + 1]))
    distances = euclidean_distance(matrix)
    assert distances[0, 1] == pytest.approx(0.0, abs=1e-6)
    assert distances[0, 2] == pytest.approx(math.sqrt(50))
    np.testing.assert_array_equal(np.diag(distances), 0.0)
    # Rounding in ‖x‖² + ‖y‖² − 2x·y leaves about 4e-8 on this diagonal; a row is at
    # distance 0 from itself exactly.
    np.testing.assert_array_equal(
        np.diag(euclidean_distance(np.array([[-2.3, -0.2, -1.2], [-0.7, -0.5, -0.3]]))), 0.0
    )


@pytest.mark.parametrize("make_sparse", [False, True])
def test_plain_pearson_matches_numpy_corrcoef(make_sparse):
    rng = np.random.default_rng(3)
    first = random_sparse(rng, 15, 25, 0.5) if make_sparse else rng.normal(size=(15, 25))
    second = random_sparse(rng, 6, 25, 0.5) if make_sparse else rng.normal(size=(6, 25))
    first_dense = first.toarray() if make_sparse else first
    second_dense = second.toarray() if make_sparse else second
    np.testing.assert_allclose(pearson(first), np.corrcoef(first_dense), **TOLERANCE)
    both = np.corrcoef(np.vstack([first_dense, second_dense]))
    np.testing.assert_allclose(pearson(first, second), both[:15, 15:], **TOLERANCE)
    assert pearson(first_dense[0], second_dense[1]) == pytest.approx(both[0, 16])


def brute_force_co_rated_pearson(first, second):
    result = np.zeros((len(first), len(second)))
    for u, row_u in enumerate(first):
        for v, row_v in enumerate(second):
            both = (row_u != 0) & (row_v != 0)
            x, y = row_u[both], row_v[both]
            if both.sum() >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0:
                result[u, v] = np.corrcoef(x, y)[0, 1]
    return result


@pytest.mark.parametrize("make_sparse", [False, True])
def test_co_rated_pearson_matches_brute_force(make_sparse):
    rng = np.random.default_rng(4)
    first = random_ratings(rng, 25, 12)
    second = random_ratings(rng, 8, 12)
    convert = sp.csr_array if make_sparse else np.asarray
    np.testing.assert_allclose(
        pearson(convert(first), co_rated=True),
        brute_force_co_rated_pearson(first, first),
        atol=1e-12,
    )
    np.testing.assert_allclose(
        pearson(convert(first), convert(second), co_rated=True),
        brute_force_co_rated_pearson(first, second),
        atol=1e-12,
    )
    assert pearson(first[0], second[0], co_rated=True) == pytest.approx(
        brute_force_co_rated_pearson(first[:1], second[:1])[0, 0], abs=1e-12
    )


def test_co_rated_pearson_treats_stored_sparse_zeros_as_unrated():
    dense = np.array([[5.0, 3.0, 0.0, 1.0], [4.0, 0.0, 2.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    with_stored_zeros = sp.csr_array(dense)
    with_stored_zeros.data[with_stored_zeros.data == 3.0] = 0.0  # stored, but zero
    expected = pearson(np.where(dense == 3.0, 0.0, dense), co_rated=True)
    np.testing.assert_allclose(pearson(with_stored_zeros, co_rated=True), expected)


def brute_force_adjusted_cosine(ratings, co_rated):
    rated = ratings != 0
    means = np.array(
        [row[mask].mean() if mask.any() else 0.0 for row, mask in zip(ratings, rated, strict=True)]
    )
    centred = np.where(rated, ratings - means[:, None], 0.0)
    n_items = ratings.shape[1]
    result = np.zeros((n_items, n_items))
    for i in range(n_items):
        for j in range(n_items):
            users = rated[:, i] & rated[:, j] if co_rated else np.ones(len(ratings), bool)
            numerator = np.sum(centred[users, i] * centred[users, j])
            denominator = np.sqrt(np.sum(centred[users, i] ** 2) * np.sum(centred[users, j] ** 2))
            result[i, j] = numerator / denominator if denominator > 0 else 0.0
    return result


@pytest.mark.parametrize("co_rated", [False, True])
def test_adjusted_cosine_matches_brute_force(co_rated):
    rng = np.random.default_rng(5)
    ratings = random_ratings(rng, 30, 10)
    expected = brute_force_adjusted_cosine(ratings, co_rated)
    np.testing.assert_allclose(adjusted_cosine(ratings, co_rated=co_rated), expected, atol=1e-12)
    sparse_ratings = sp.csr_matrix(ratings)
    np.testing.assert_allclose(
        adjusted_cosine(sparse_ratings, co_rated=co_rated), expected, atol=1e-12
    )
    sparse_result = adjusted_cosine(sparse_ratings, co_rated=co_rated, dense_output=False)
    assert isinstance(sparse_result, sp.csr_array)
    np.testing.assert_allclose(sparse_result.toarray(), expected, atol=1e-12)


def test_jaccard_matches_brute_force_sets():
    rng = np.random.default_rng(6)
    first = rng.random((15, 10)) < 0.3
    second = rng.random((7, 10)) < 0.3
    expected = np.zeros((15, 7))
    for u in range(15):
        for v in range(7):
            items_u, items_v = set(np.flatnonzero(first[u])), set(np.flatnonzero(second[v]))
            union = items_u | items_v
            expected[u, v] = len(items_u & items_v) / len(union) if union else 0.0
    np.testing.assert_allclose(jaccard(first, second), expected)
    # Only presence matters, not the stored values.
    np.testing.assert_allclose(jaccard(first * 3.5, second * -2.0), expected)
    np.testing.assert_allclose(jaccard(sp.csr_array(first), sp.csr_array(second)), expected)


# ---------------------------------------------------------------------------
# Input forms and return types
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("measure", PAIRWISE_MEASURES)
def test_pairwise_entries_match_vector_calls(measure):
    rng = np.random.default_rng(7)
    first, second = random_ratings(rng, 5, 8), random_ratings(rng, 4, 8)
    matrix = measure(first, second)
    assert matrix.shape == (5, 4)
    for u in range(5):
        for v in range(4):
            assert matrix[u, v] == pytest.approx(measure(first[u], second[v]), abs=1e-12)


@pytest.mark.parametrize("measure", PAIRWISE_MEASURES)
@pytest.mark.parametrize("sparse_format", [sp.csr_array, sp.csr_matrix, sp.csc_array, sp.coo_array])
def test_sparse_input_matches_dense_input(measure, sparse_format):
    rng = np.random.default_rng(8)
    ratings = random_ratings(rng, 9, 6)
    expected = measure(ratings)
    result = measure(sparse_format(ratings))
    assert isinstance(result, np.ndarray)
    np.testing.assert_allclose(result, expected, atol=1e-12)
    # Mixing a sparse and a dense argument works too.
    np.testing.assert_allclose(measure(sparse_format(ratings), ratings), expected, atol=1e-12)


@pytest.mark.parametrize("measure", [cosine, jaccard])
def test_sparse_output_on_request(measure):
    rng = np.random.default_rng(9)
    matrix = random_sparse(rng, 20, 30, 0.05)
    result = measure(matrix, dense_output=False)
    assert isinstance(result, sp.csr_array)
    np.testing.assert_allclose(result.toarray(), measure(matrix), atol=1e-15)
    # dense_output only affects sparse input.
    assert isinstance(measure(matrix.toarray(), dense_output=False), np.ndarray)


def test_lists_and_integer_arrays_are_accepted():
    assert cosine([1, 0, 0], [1, 0, 1]) == pytest.approx(1 / math.sqrt(2))
    np.testing.assert_allclose(jaccard(TOY.astype(int)), jaccard(TOY))
    np.testing.assert_allclose(cosine(TOY.astype(bool)), cosine(TOY))


def test_inputs_are_not_modified():
    rng = np.random.default_rng(10)
    dense = random_ratings(rng, 6, 5)
    sparse = sp.csr_array(dense)
    dense_copy, sparse_copy = dense.copy(), sparse.copy()
    for measure in PAIRWISE_MEASURES:
        measure(dense)
        measure(sparse)
    pearson(sparse, co_rated=True)
    adjusted_cosine(sparse, co_rated=True)
    top_k_neighbors(cosine(dense), 2)
    np.testing.assert_array_equal(dense, dense_copy)
    np.testing.assert_array_equal(sparse.toarray(), sparse_copy.toarray())


@pytest.mark.parametrize("exponent", [-1000, -600, 600, 1000])
@pytest.mark.parametrize("make_sparse", [False, True])
def test_extreme_magnitudes_give_the_same_similarities(exponent, make_sparse):
    # Squares of 2^±600 and beyond overflow to infinity or vanish to 0 in
    # float64; computed naively, every norm below is infinite or 0 and every
    # similarity comes out 0. Cosine, Pearson and adjusted cosine ignore a
    # positive scale, and scaling by a power of two is exact, so the results
    # must match the unscaled ones to the last bit; distances scale with it.
    scale = 2.0**exponent
    ratings = random_ratings(np.random.default_rng(0), 6, 9)
    as_input = sp.csr_array if make_sparse else np.asarray
    original, scaled = as_input(ratings), as_input(scale * ratings)
    for measure in (cosine, pearson, adjusted_cosine):
        for options in ({}, {"co_rated": True}) if measure is not cosine else ({},):
            np.testing.assert_array_equal(
                measure(scaled, **options), measure(original, **options)
            )
    np.testing.assert_array_equal(euclidean_distance(scaled), scale * euclidean_distance(original))
    # Two vectors, by hand: [1, 0, 1] and [1, 0, 0] have cosine 1/√2 and distance 1.
    assert cosine(scale * C, scale * A) == pytest.approx(1 / math.sqrt(2))
    assert euclidean_distance(scale * C, scale * A) == scale


def test_rows_of_very_different_magnitudes():
    # Cosine and Pearson compare directions, so rows of 2^900 and 2^-900
    # compare as their unscaled versions do: [1, 0, 1]·[1, 0, 0] / √2 = 1/√2,
    # and [1, 2, 4] against [3, 5, 6] (deviations [−4, −1, 5] and
    # [−5, 1, 4] times 1/3) gives (20 − 1 + 20) / √(42 · 42) = 39/42.
    large, small = 2.0**900, 2.0**-900
    assert cosine(large * C, small * A) == pytest.approx(1 / math.sqrt(2))
    rows = np.array([[large, 2 * large, 4 * large], [3 * small, 5 * small, 6 * small]])
    assert pearson(rows)[0, 1] == pytest.approx(39 / 42)
    assert pearson(rows, co_rated=True)[0, 1] == pytest.approx(39 / 42)


# ---------------------------------------------------------------------------
# Properties
# ---------------------------------------------------------------------------

# Zero, or a magnitude from 0.001 to 100: wide enough to be interesting.
# Extreme magnitudes have their own tests above.
element = st.one_of(st.just(0.0), st.floats(1e-3, 100.0), st.floats(-100.0, -1e-3))
rating = st.integers(0, 5).map(float)


def vector_pairs(elements=element):
    return st.integers(1, 8).flatmap(
        lambda length: st.tuples(
            hnp.arrays(np.float64, length, elements=elements),
            hnp.arrays(np.float64, length, elements=elements),
        )
    )


matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=6), elements=element
)
property_settings = settings(max_examples=50, deadline=None)


@property_settings
@given(vector_pairs())
def test_measures_are_symmetric(pair):
    x, y = pair
    for measure in PAIRWISE_MEASURES:
        assert measure(x, y) == pytest.approx(measure(y, x), abs=1e-12)


@property_settings
@given(vector_pairs(rating))
def test_co_rated_pearson_is_symmetric_and_bounded(pair):
    x, y = pair
    value = pearson(x, y, co_rated=True)
    assert value == pytest.approx(pearson(y, x, co_rated=True), abs=1e-12)
    assert -1.0 <= value <= 1.0


@property_settings
@given(matrices)
def test_pairwise_matrices_are_symmetric_and_match_sparse(matrix):
    # The ‖x‖² + ‖y‖² − 2·x·y expansion behind the Euclidean measures leaves
    # rounding of about 1e-8·‖x‖ in the distance between two equal rows.
    largest_norm = np.sqrt((matrix**2).sum(axis=1).max())
    for measure in PAIRWISE_MEASURES:
        euclidean = measure in (euclidean_distance, euclidean_similarity)
        atol = 1e-7 * (1 + largest_norm) if euclidean else 1e-12
        result = measure(matrix)
        np.testing.assert_allclose(result, result.T, atol=atol)
        np.testing.assert_allclose(measure(sp.csr_array(matrix)), result, atol=atol)


@property_settings
@given(vector_pairs())
def test_measures_stay_in_bounds(pair):
    x, y = pair
    assert -1.0 <= cosine(x, y) <= 1.0
    assert -1.0 <= pearson(x, y) <= 1.0
    assert 0.0 <= jaccard(x, y) <= 1.0
    assert 0.0 < euclidean_similarity(x, y) <= 1.0
    assert euclidean_distance(x, y) >= 0.0


@property_settings
@given(vector_pairs())
def test_self_similarity_is_one(pair):
    x, _ = pair
    assert euclidean_distance(x, x) == 0.0
    assert euclidean_similarity(x, x) == 1.0
    if np.any(x != 0):
        assert cosine(x, x) == pytest.approx(1.0)
        assert jaccard(x, x) == 1.0
    if np.ptp(x) > 0:
        assert pearson(x, x) == pytest.approx(1.0)


@property_settings
@given(vector_pairs(), st.floats(1e-3, 1e3))
def test_cosine_ignores_positive_scaling(pair, scale):
    x, y = pair
    assert cosine(scale * x, y) == pytest.approx(cosine(x, y), abs=1e-9)


@property_settings
@given(vector_pairs(), st.floats(1e-2, 1e2), st.floats(-100.0, 100.0))
def test_pearson_ignores_positive_scaling_and_shift(pair, scale, shift):
    x, y = pair
    # A shift far larger than the spread of x would round the spread away.
    assume(np.ptp(x) == 0 or np.ptp(x) >= 0.1)
    assert pearson(scale * x + shift, y) == pytest.approx(pearson(x, y), abs=1e-9)


# ---------------------------------------------------------------------------
# top_k_neighbors
# ---------------------------------------------------------------------------


def brute_force_top_k(matrix, k, exclude_self):
    indices, values = [], []
    for row_index, row in enumerate(matrix):
        columns = [j for j in range(len(row)) if not (exclude_self and j == row_index)]
        columns.sort(key=lambda j: (-row[j], j))
        indices.append(columns[:k])
        values.append(row[columns[:k]])
    return np.array(indices), np.array(values)


@pytest.mark.parametrize("exclude_self", [True, False])
@pytest.mark.parametrize("k", [1, 3, 11])
def test_top_k_matches_brute_force_with_ties(k, exclude_self):
    rng = np.random.default_rng(11)
    # Few distinct values, so many rows have ties at the cut-off.
    matrix = rng.integers(0, 4, size=(12, 12)).astype(float)
    expected_indices, expected_values = brute_force_top_k(matrix, k, exclude_self)
    indices, values = top_k_neighbors(matrix, k, exclude_self=exclude_self)
    assert indices.shape == values.shape == (12, k)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)
    indices, values = top_k_neighbors(sp.csr_array(matrix), k, exclude_self=exclude_self)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


def test_top_k_all_ties_prefers_lower_columns():
    indices, values = top_k_neighbors(np.ones((4, 4)), 2)
    np.testing.assert_array_equal(indices, [[1, 2], [0, 2], [0, 1], [0, 1]])
    np.testing.assert_array_equal(values, np.ones((4, 2)))


def test_top_k_exclude_self_on_toy_cosine():
    indices, values = top_k_neighbors(cosine(TOY), 1)
    # A's nearest neighbour is C and vice versa; B ties at 0 with A and C and takes A.
    np.testing.assert_array_equal(indices[:, 0], [2, 0, 0])
    np.testing.assert_allclose(values[:, 0], [1 / math.sqrt(2), 0.0, 1 / math.sqrt(2)])
    with_self, _ = top_k_neighbors(cosine(TOY), 1, exclude_self=False)
    np.testing.assert_array_equal(with_self[:, 0], [0, 1, 2])


def test_top_k_rectangular_without_exclude_self():
    rng = np.random.default_rng(12)
    matrix = rng.random((5, 9))
    indices, values = top_k_neighbors(matrix, 4, exclude_self=False)
    expected_indices, expected_values = brute_force_top_k(matrix, 4, exclude_self=False)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


def test_top_k_across_row_blocks(monkeypatch):
    # Force tiny blocks so that the block boundaries and the diagonal offsets are exercised.
    monkeypatch.setattr(similarity_module, "_BLOCK_VALUES", 25)
    rng = np.random.default_rng(13)
    matrix = rng.integers(0, 5, size=(23, 23)).astype(float)
    indices, values = top_k_neighbors(sp.csr_array(matrix), 5)
    expected_indices, expected_values = brute_force_top_k(matrix, 5, exclude_self=True)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values, expected_values)


def test_top_k_errors():
    square = np.eye(4)
    with pytest.raises(ValueError, match="at least 1"):
        top_k_neighbors(square, 0)
    with pytest.raises(ValueError, match="at least 1"):
        top_k_neighbors(square, -2)
    with pytest.raises(ValueError, match="maximum k is 3"):
        top_k_neighbors(square, 4)
    with pytest.raises(ValueError, match="maximum k is 4"):
        top_k_neighbors(square, 5, exclude_self=False)
    with pytest.raises(TypeError, match="integer"):
        top_k_neighbors(square, 2.0)
    with pytest.raises(TypeError, match="integer"):
        top_k_neighbors(square, True)
    with pytest.raises(ValueError, match="square"):
        top_k_neighbors(np.ones((3, 4)), 2)
    with pytest.raises(ValueError, match="2-D"):
        top_k_neighbors(np.ones(4), 2)
    with pytest.raises(ValueError, match="NaN"):
        top_k_neighbors(np.array([[1.0, np.nan], [0.0, 1.0]]), 1)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("measure", PAIRWISE_MEASURES)
def test_bad_input_errors(measure):
    with pytest.raises(ValueError, match="length 3 but y has length 2"):
        measure(A, [1.0, 2.0])
    with pytest.raises(ValueError, match="columns: 3 but y has columns: 4"):
        measure(TOY, np.ones((2, 4)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure(A, np.array([1.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure(np.array([[1.0, np.inf], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        measure(sp.csr_array(np.array([[1.0, np.nan], [0.0, 1.0]])))
    with pytest.raises(ValueError, match="3-D"):
        measure(np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="single 1-D vector"):
        measure(A)
    with pytest.raises(ValueError, match="reshape"):
        measure(A, TOY)
    with pytest.raises(ValueError, match="no columns"):
        measure(np.array([]), np.array([]))
    with pytest.raises(ValueError, match="same length"):
        measure([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match="got str"):
        measure("abc", "abd")
    with pytest.raises(TypeError, match="got NoneType"):
        measure(None)
    with pytest.raises(TypeError, match="dtype"):
        measure(np.array(["a", "b"]), np.array(["a", "c"]))
    with pytest.raises(TypeError, match="dtype"):
        measure(np.array([1 + 2j, 0]), np.array([1.0, 0.0]))


def test_adjusted_cosine_needs_a_matrix():
    with pytest.raises(ValueError, match="2-D users × items"):
        adjusted_cosine(A)
    with pytest.raises(ValueError, match="NaN or infinite"):
        adjusted_cosine(np.array([[1.0, np.nan], [2.0, 3.0]]))


def test_co_rated_pearson_counts_a_negative_rating_as_rated():
    # 0 means "not rated", so −2 is a rating. Co-rated films of x and y: the first three.
    # x' = [−2, 1, 3], y' = [1, 2, 4]; their deviations (times 3): [−8, 1, 7] and [−4, −1, 5].
    # r = (32 − 1 + 35) / √((64 + 1 + 49)(16 + 1 + 25)) = 66 / √(114 · 42).
    x = np.array([-2.0, 1.0, 3.0, 0.0])
    y = np.array([1.0, 2.0, 4.0, 5.0])
    expected = 66 / math.sqrt(114 * 42)
    assert pearson(x, y, co_rated=True) == pytest.approx(expected)
    assert pearson(np.vstack([x, y]), co_rated=True)[0, 1] == pytest.approx(expected)
