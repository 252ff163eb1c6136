import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sparse

from recsys_lessons.data import (
    candidate_sets,
    interaction_matrix,
    leave_one_out,
    sample_negative_indices,
    sample_negatives,
)
from recsys_lessons.data.sampling import item_probabilities


def _pairs(frame):
    return set(zip(frame["user_id"], frame["item_id"], strict=True))


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_negatives_are_never_positives(strategy, small_ratings):
    negatives = sample_negatives(small_ratings, num_negatives=4, strategy=strategy, seed=1)
    assert len(negatives) == 4 * len(small_ratings)
    assert not _pairs(negatives) & _pairs(small_ratings)
    assert set(negatives["item_id"]) <= set(small_ratings["item_id"])
    pd.testing.assert_frame_equal(
        negatives, sample_negatives(small_ratings, 4, strategy=strategy, seed=1)
    )


def test_popularity_sampling_prefers_popular_items():
    # Item 0 is liked by 40 of 50 users, item 1 by 1; the other items by nobody but user 0.
    rows = [(user, 0) for user in range(40)] + [(49, 1)]
    rows += [(0, item) for item in range(2, 30)]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id"])
    matrix, _, _ = interaction_matrix(frame)
    rng = np.random.default_rng(0)
    from recsys_lessons.data.sampling import item_probabilities, sample_negative_indices

    probabilities = item_probabilities(matrix, "popularity")
    # User 49 (index 40) only has item 1, so draws of item 1 are rejected and redrawn.
    draws = sample_negative_indices(matrix, np.full(10, 40), 2000, rng, probabilities)
    share_of_item_0 = (draws == 0).mean()
    assert share_of_item_0 == pytest.approx(probabilities[0] / (1 - probabilities[1]), abs=0.02)
    assert not (draws == 1).any()
    assert probabilities[0] > 10 * probabilities[1]


def test_user_with_every_item_is_an_error():
    frame = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1]})
    with pytest.raises(ValueError, match="every item"):
        sample_negatives(frame)


def test_asking_for_no_negatives_needs_no_free_item():
    # A rating-only multi-task model asks for 0 negatives per rated pair.
    full = sparse.csr_matrix(np.ones((2, 3)))
    rng = np.random.default_rng(0)
    drawn = sample_negative_indices(full, np.array([0, 1, 1]), 0, rng)
    assert drawn.shape == (3, 0)
    assert rng.random() == np.random.default_rng(0).random()  # No draw was used up.


def test_candidate_sets_protocol(movielens):
    train, test = leave_one_out(movielens.ratings)
    candidates = candidate_sets(train, test, num_negatives=99, seed=0)
    assert len(candidates) == 100 * len(test)
    by_case = candidates.groupby("case")
    assert (by_case["is_positive"].sum() == 1).all()
    assert (by_case["item_id"].nunique() == 100).all()
    first = candidates[candidates["is_positive"]]
    assert _pairs(first) == _pairs(test)
    negatives = candidates[~candidates["is_positive"]]
    assert not _pairs(negatives) & _pairs(movielens.ratings)
    pd.testing.assert_frame_equal(candidates, candidate_sets(train, test, 99, seed=0))


def test_candidate_sets_too_many_negatives():
    train = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2]})
    test = pd.DataFrame({"user_id": [1], "item_id": [3]})
    with pytest.raises(ValueError, match="lower num_negatives"):
        candidate_sets(train, test, num_negatives=5)


def test_bad_arguments(small_ratings):
    with pytest.raises(ValueError, match="strategy"):
        sample_negatives(small_ratings, strategy="hard")
    with pytest.raises(ValueError, match="num_negatives"):
        sample_negatives(small_ratings, num_negatives=0)


def test_popularity_sampling_without_a_drawable_item_is_an_error_not_a_hang():
    # Item 2 has no interactions, so popularity sampling gives it probability 0, and user 0
    # has every other item.
    matrix = sparse.csr_matrix(np.array([[1, 1, 0], [1, 0, 0]]))
    probabilities = item_probabilities(matrix, "popularity")
    with pytest.raises(ValueError, match="probability above 0"):
        sample_negative_indices(matrix, [0], 3, np.random.default_rng(0), probabilities)
    assert (sample_negative_indices(matrix, [1], 3, np.random.default_rng(0), probabilities)
            == 1).all()


@pytest.mark.parametrize("user_indices", [[0, -1], [0, 3], [0.0, 1.9], [True, False]])
def test_user_indices_outside_the_matrix_rows_are_refused(user_indices):
    # Index -1 would read the last row's positives under another key and draw them as
    # negatives; 1.9 would be read as user 1.
    matrix = sparse.csr_matrix(np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 0, 0]]))
    with pytest.raises(ValueError, match=r"user_indices must be integer row indices of the "
                                         r"matrix, from 0 to 2"):
        sample_negative_indices(matrix, np.array(user_indices), 2, np.random.default_rng(0))


def test_users_asked_for_out_of_order_and_twice_never_get_their_positives():
    # Users 2 and 0, asked for out of order and twice: no draw is ever one of their positives.
    matrix = sparse.csr_matrix(np.array([[1, 0, 0, 1, 0], [0, 1, 1, 1, 1], [1, 1, 0, 0, 0]]))
    users = np.array([2, 0, 2])
    negatives = sample_negative_indices(matrix, users, 200, np.random.default_rng(0))
    assert not matrix[users[:, None], negatives].toarray().any()
    assert set(negatives[1]) == {1, 2, 4} and set(negatives[0]) == {2, 3, 4}


def test_any_sparse_format_is_accepted():
    matrix = sparse.csr_matrix(np.array([[1, 0, 0, 1], [0, 1, 0, 0], [1, 1, 0, 0]]))
    users = np.array([0, 2, 1])
    expected = sample_negative_indices(matrix, users, 3, np.random.default_rng(0))
    for form in (matrix.tocoo(), matrix.tocsc(), sparse.coo_array(matrix)):
        np.testing.assert_array_equal(
            sample_negative_indices(form, users, 3, np.random.default_rng(0)), expected)


class _CountingGenerator:
    """A numpy Generator that counts its `choice` calls (one per redrawing round)."""

    def __init__(self, seed):
        self.generator = np.random.default_rng(seed)
        self.choice_calls = 0

    def choice(self, *args, **kwargs):
        self.choice_calls += 1
        return self.generator.choice(*args, **kwargs)


@pytest.mark.parametrize("strategy", ["uniform", "popularity"])
def test_a_user_with_almost_no_free_mass_is_drawn_directly_with_the_same_distribution(strategy):
    # 300 items; user 0 has every item but 297, 298 and 299, the least popular ones, whose
    # probabilities differ (counts 1, 2 and 3). Redrawing would take thousands of rounds.
    num_items = 300
    rows = [0] * (num_items - 3)
    columns = list(range(num_items - 3))
    for item, count in zip(range(num_items), [50] * 297 + [1, 2, 3], strict=True):
        rows += list(range(1, count + 1))
        columns += [item] * count
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(51, num_items))
    probabilities = item_probabilities(matrix, strategy)
    free = np.array([297, 298, 299])
    expected = (np.full(3, 1 / 3) if probabilities is None
                else probabilities[free] / probabilities[free].sum())
    assert (1 - expected.sum() if probabilities is None
            else 1 - probabilities[:297].sum()) < 0.05  # far below the redrawing threshold
    rng = _CountingGenerator(0)
    draws = sample_negative_indices(matrix, np.array([0, 3, 0]), 6000, rng, probabilities)
    # The first draw and the redrawing rounds of user 3 (free mass about 0.98), then one
    # direct draw for user 0: a handful of calls, not thousands.
    assert rng.choice_calls < 10
    assert set(np.unique(draws[[0, 2]])) == set(free)
    shares = np.array([(draws[[0, 2]] == item).mean() for item in free])
    np.testing.assert_allclose(shares, expected, atol=0.015)
    assert not matrix[3, draws[1]].toarray().any()
