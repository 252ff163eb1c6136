import numpy as np
import pytest
import scipy.sparse as sparse

from recsys_lessons.data.sampling import sample_negative_indices
from recsys_lessons.models import BPR
from recsys_lessons.negatives import NegativeSamplingBPR, hard_negative_indices
from tests.conftest import make_ratings


@pytest.fixture(scope="module")
def ratings():
    return make_ratings(num_users=25, num_items=40, density=0.25, seed=4)


@pytest.fixture(scope="module")
def matrix():
    rng = np.random.default_rng(0)
    return sparse.csr_matrix((rng.random((20, 30)) < 0.3).astype(float))


def by_item_index(users, items):
    return items.astype(float)


def test_hard_negatives_are_the_best_scored_candidates(matrix):
    users = np.arange(20).repeat(3)
    hard = hard_negative_indices(matrix, users, by_item_index, np.random.default_rng(1), 5)
    # The same generator state draws the same candidates; the hard one is their maximum.
    candidates = sample_negative_indices(matrix, users, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(hard, candidates.max(axis=1))
    assert not matrix[users, hard].any()  # never a positive


def test_one_candidate_is_plain_sampling(matrix):
    users = np.arange(20)
    hard = hard_negative_indices(matrix, users, by_item_index, np.random.default_rng(2), 1)
    plain = sample_negative_indices(matrix, users, 1, np.random.default_rng(2))[:, 0]
    np.testing.assert_array_equal(hard, plain)


def test_more_candidates_give_harder_negatives(matrix):
    users = np.arange(20).repeat(50)
    means = [hard_negative_indices(matrix, users, by_item_index, np.random.default_rng(3),
                                   count).mean() for count in (1, 4, 16)]
    assert means[0] < means[1] < means[2]


def test_a_score_of_the_wrong_shape_is_rejected(matrix):
    with pytest.raises(ValueError, match="shape"):
        hard_negative_indices(matrix, np.arange(3), lambda users, items: items[:, 0],
                              np.random.default_rng(0), 4)


def test_uniform_negatives_give_exactly_bpr(ratings):
    settings = dict(factors=8, epochs=3, batch_size=64, random_state=5)
    ours = NegativeSamplingBPR(negatives="uniform", **settings).fit(ratings)
    reference = BPR(**settings).fit(ratings)
    np.testing.assert_array_equal(ours.user_factors_, reference.user_factors_)
    np.testing.assert_array_equal(ours.item_bias_, reference.item_bias_)


@pytest.mark.parametrize("negatives", ["popularity", "hard"])
def test_other_strategies_train_deterministically(ratings, negatives):
    settings = dict(negatives=negatives, factors=8, epochs=3, batch_size=64, random_state=1)
    first = NegativeSamplingBPR(**settings).fit(ratings)
    again = NegativeSamplingBPR(**settings).fit(ratings)
    np.testing.assert_array_equal(first.item_factors_, again.item_factors_)
    uniform = NegativeSamplingBPR(**{**settings, "negatives": "uniform"}).fit(ratings)
    assert not np.array_equal(first.item_factors_, uniform.item_factors_)
    assert len(first.history_) == 3 and np.isfinite(first.history_["train_loss"]).all()
    recommendations = first.recommend(ratings["user_id"].unique()[:3], k=5)
    assert len(recommendations) == 15


def test_hard_negatives_lose_more_than_uniform_ones(ratings):
    # Hard negatives are scored high by the model, so the training loss −ln σ(x̂_ui − x̂_uj)
    # stays larger than with uniform negatives.
    settings = dict(factors=8, epochs=5, batch_size=64, random_state=0)
    uniform = NegativeSamplingBPR(negatives="uniform", **settings).fit(ratings)
    hard = NegativeSamplingBPR(negatives="hard", **settings).fit(ratings)
    assert hard.history_["train_loss"].iloc[-1] > uniform.history_["train_loss"].iloc[-1]


@pytest.mark.parametrize(("parameters", "message"), [
    ({"negatives": "adversarial"}, "negatives must be one of"),
    ({"negatives": "hard", "num_candidates": 0}, "num_candidates"),
])
def test_bad_parameters_raise_clear_errors(ratings, parameters, message):
    with pytest.raises(ValueError, match=message):
        NegativeSamplingBPR(**parameters).fit(ratings)


def test_num_candidates_is_checked_only_where_it_is_used(ratings):
    # The docstring says only the hard negatives use it.
    model = NegativeSamplingBPR(negatives="uniform", num_candidates=0, factors=4, epochs=1)
    users = ratings["user_id"].unique()[:3]
    assert len(model.fit(ratings).recommend(users, k=2)) == 6


def test_unfitted_model_raises_and_parameters_round_trip():
    model = NegativeSamplingBPR(negatives="hard", num_candidates=3, factors=4)
    assert model.clone().get_params() == model.get_params()
    with pytest.raises(ValueError, match="not fitted"):
        model.recommend([1])


def test_hard_negatives_draw_num_candidates_candidates(ratings, monkeypatch):
    widths = set()
    scores = NegativeSamplingBPR._pair_scores

    def recording(self, users, items):
        widths.add(items.shape[1])
        return scores(self, users, items)

    monkeypatch.setattr(NegativeSamplingBPR, "_pair_scores", recording)
    NegativeSamplingBPR(negatives="hard", num_candidates=7, factors=4, epochs=1).fit(ratings)
    assert widths == {7}


def test_tied_candidates_give_the_first_drawn(matrix):
    users = np.arange(20).repeat(3)
    hard = hard_negative_indices(matrix, users, lambda users, items: np.zeros(items.shape),
                                 np.random.default_rng(1), 5)
    candidates = sample_negative_indices(matrix, users, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(hard, candidates[:, 0])


def test_hard_negatives_draw_with_the_probabilities_given():
    # Only item 3 has probability; no user of eye(4) below 3 has rated it, so it is every
    # user's only candidate, even though the score prefers low indices.
    probabilities = np.array([0.0, 0.0, 0.0, 1.0])
    hard = hard_negative_indices(sparse.csr_matrix(np.eye(4)), np.array([0, 1, 2]),
                                 lambda users, items: -items.astype(float),
                                 np.random.default_rng(0), 5, probabilities)
    np.testing.assert_array_equal(hard, [3, 3, 3])


@pytest.mark.parametrize("num_candidates", [0, 2.5])
def test_a_bad_number_of_candidates_is_named(num_candidates):
    with pytest.raises(ValueError, match="num_candidates must be a positive integer"):
        hard_negative_indices(sparse.csr_matrix(np.eye(4)), np.array([0]), by_item_index,
                              np.random.default_rng(0), num_candidates)


def test_hard_negatives_in_training_are_never_the_users_own_items(ratings, monkeypatch):
    # Every BPR step of the hard strategy is recorded: its negatives must be unrated by the
    # very users they are paired with.
    recorded = []
    original_step = BPR._step

    def recording_step(self, users, positives, negatives, learning_rate, regularization):
        recorded.append((np.array(users), np.array(negatives)))
        return original_step(self, users, positives, negatives, learning_rate, regularization)

    monkeypatch.setattr(BPR, "_step", recording_step)
    model = NegativeSamplingBPR(negatives="hard", factors=4, epochs=2, batch_size=64).fit(ratings)
    assert recorded
    for users, negatives in recorded:
        assert not model.user_items_[users, negatives].any()


def test_popularity_negatives_follow_the_count_to_the_three_quarters(ratings):
    model = NegativeSamplingBPR(negatives="popularity", factors=4, epochs=1).fit(ratings)
    weights = model.user_items_.getnnz(axis=0).astype(float) ** 0.75
    np.testing.assert_allclose(model._probabilities, weights / weights.sum())
