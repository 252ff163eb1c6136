import copy
import itertools
import statistics
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from recsys_lessons import exercises
from recsys_lessons.exercises import _core, check


@pytest.mark.parametrize(
    "exercise_id",
    [name for name in exercises.exercise_ids() if exercises._EXERCISES[name].reference],
)
def test_reference_runs_and_passes_the_graders_own_checks(exercise_id):
    """Each reference runs on its generated inputs and passes the grader's own checks.

    The grader compares the reference with itself here, so this shows only that the reference
    runs without error, gives the same result twice, leaves its inputs unchanged and returns
    what the exercise's comparison accepts; it cannot show that the reference is right. The
    test `test_reference_matches_independently_derived_values` below does that.
    """
    result = check(exercise_id, exercises._EXERCISES[exercise_id].reference)
    assert result and "✓" in repr(result)


def test_wrong_function_gets_input_expected_and_got():
    result = check("00.sparsity", lambda ratings: 1 - len(ratings) / 10)
    assert not result
    text = repr(result)
    assert "input:" in text and "expected:" in text and "got:" in text


def test_crashing_function_is_reported_not_raised():
    def unfinished(ratings, n):
        raise NotImplementedError("your code here")

    result = check("00.most_rated", unfinished)
    assert not result and "NotImplementedError" in repr(result)


def test_a_crash_inside_pandas_points_at_the_learners_line():
    def wrong_column(ratings, n):
        return ratings.groupby("item")  # The column is item_id.

    text = repr(check("00.most_rated", wrong_column))
    assert "KeyError" in text and 'ratings.groupby("item")' in text


def test_a_float32_solution_passes_where_the_exact_value_is_zero():
    def user_profile(features, ratings):
        features, ratings = features.astype(np.float32), ratings.astype(np.float32)
        centred = ratings - ratings.mean()
        total = np.abs(centred).sum()
        return features.mean(axis=0) if total == 0 else centred @ features / total

    assert check("02.user_profile", user_profile)
    assert not check("02.user_profile", lambda features, ratings: features.mean(axis=0))


def test_ties_matter_in_most_rated():
    # value_counts does not break ties by item id, so this common first attempt fails.
    result = check("00.most_rated", lambda r, n: r["item_id"].value_counts().index[:n].tolist())
    assert not result


def test_value_exercise(movielens):
    median = float(movielens.ratings.groupby("item_id").size().median())
    assert check("00.median_movie_ratings", median)
    result = check("00.median_movie_ratings", median + 1)
    assert not result and "too high" in repr(result) and str(median) not in repr(result)
    assert "expected a number" in repr(check("00.median_movie_ratings", None))
    # A number given as text is not accepted.
    assert not check("00.median_movie_ratings", str(median))
    assert "rounded" not in repr(result)
    # NaN is named, not called "too low".
    assert "got NaN" in repr(check("00.median_movie_ratings", float("nan")))


def test_only_a_rounded_value_is_told_it_was_rounded(movielens):
    share = exercises._EXERCISES["07.held_out_ties"].expected()
    assert check("07.held_out_ties", share)
    assert "rounded" in repr(check("07.held_out_ties", round(share, 2)))
    # Close but not a rounding of the answer: a wrong value, not a rounded one.
    near_miss = check("07.held_out_ties", share * 1.005)
    assert "too high" in repr(near_miss) and "rounded" not in repr(near_miss)
    # 0 is 0.44 rounded to no decimals, but it keeps none of its digits: just too low.
    zero = check("07.held_out_ties", 0)
    assert "too low" in repr(zero) and "by a little" not in repr(zero)


def test_drop_seen_and_rank_tests_its_tie_rule():
    def ties_in_input_order(candidates, train, k):
        merged = candidates.merge(train[["user_id", "item_id"]], how="left", indicator=True)
        unseen = merged[merged["_merge"] == "left_only"].drop(columns="_merge")
        unseen = unseen.sort_values(["user_id", "score"], ascending=[True, False], kind="stable")
        top = unseen.groupby("user_id").head(k).copy()
        top["rank"] = top.groupby("user_id").cumcount() + 1
        return top[["user_id", "item_id", "score", "rank"]]

    assert not check("11.drop_seen_and_rank", ties_in_input_order)


def test_not_a_function_and_unknown_id():
    assert not check("00.sparsity", 0.5)
    with pytest.raises(KeyError, match="Known exercises"):
        check("99.nothing", 1)


def test_array_exercises_reject_non_arrays_without_crashing():
    result = check("03.shrink", lambda similarity, common, shrinkage: None)
    assert not result and "got:      None" in repr(result)
    assert not check("02.user_profile", lambda features, ratings: [1.0])  # wrong shape


# Each function below is a slip a learner can make. The check must reject it, which needs
# generated inputs that reach the case the slip gets wrong (a tie, a zero row, a cut-off).

def _resamples_each_model_separately(first, second, resamples, seed):
    # One draw of users per model loses the pairing.
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(first), size=(2, resamples, len(first)))
    means = first[rows[0]].mean(axis=1) - second[rows[1]].mean(axis=1)
    return tuple(np.quantile(means, [0.025, 0.975]))


def _divides_by_sum_not_absolute_sum(baseline, similarities, neighbour_ratings,
                                     neighbour_baselines):
    weights = similarities.sum()  # Σ sim instead of Σ |sim|.
    if weights == 0:
        return baseline
    return baseline + similarities @ (neighbour_ratings - neighbour_baselines) / weights


def _guards_only_an_empty_neighbourhood(baseline, similarities, neighbour_ratings,
                                        neighbour_baselines):
    if len(similarities) == 0:
        return float(baseline)
    with np.errstate(invalid="ignore"):  # 0 / 0 when every similarity is 0: the slip.
        return float(baseline + similarities @ (neighbour_ratings - neighbour_baselines)
                     / np.abs(similarities).sum())


def _cosine_guarding_only_y(x, y):
    if not y.any():
        return 0.0
    with np.errstate(invalid="ignore"):  # 0 / 0 when x is all zeros: the slip.
        return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))


def _jaccard_dividing_by_an_empty_union(first, second):
    return len(first & second) / len(first | second)


def _sgd_step_without_regularization(rating, global_mean, user_bias, item_bias, p, q,
                                     learning_rate, regularization):
    error = rating - (global_mean + user_bias + item_bias + p @ q)
    return (user_bias + learning_rate * error, item_bias + learning_rate * error,
            p + learning_rate * error * q, q + learning_rate * error * p)


def _sgd_step_joining_the_factors(rating, global_mean, user_bias, item_bias, p, q,
                                  learning_rate, regularization):
    error = rating - (global_mean + user_bias + item_bias + p @ q)
    return (user_bias + learning_rate * (error - regularization * user_bias),
            item_bias + learning_rate * (error - regularization * item_bias),
            np.concatenate([p + learning_rate * (error * q - regularization * p),
                            q + learning_rate * (error * p - regularization * q)]))


def _ndcg_without_the_cut_off(ranks, k):
    return float((ranks <= k).mean()), float((1 / np.log2(ranks + 1)).mean())


def _multitask_loss_over_every_example(interaction, predicted_interaction, rating,
                                       predicted_rating, rating_weight):
    interaction_loss = -np.mean(interaction * np.log(predicted_interaction)
                                + (1 - interaction) * np.log(1 - predicted_interaction))
    # The rating error is averaged over every example, not over the rated ones.
    rating_loss = np.nansum((rating - predicted_rating) ** 2) / len(rating)
    return float(interaction_loss + rating_weight * rating_loss)


def _pareto_needing_strictly_better_on_both(hit_rates, rmses):
    better = (hit_rates[None, :] > hit_rates[:, None]) & (rmses[None, :] < rmses[:, None])
    return ~better.any(axis=1)


def _causal_mask_attending_to_padding(tokens):
    return np.tril(np.ones((len(tokens), len(tokens)), dtype=bool))


def _attention_ignoring_the_mask(queries, keys, values, allowed):
    scores = queries @ keys.T / np.sqrt(queries.shape[-1])
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True) @ values


def _window_keeping_the_earliest_items(sequence, max_length):
    kept = np.asarray(sequence, dtype=np.int64)[:max_length] + 1
    return np.concatenate([np.zeros(max_length - len(kept), dtype=np.int64), kept])


def _auc_counting_ties_as_nothing(labels, scores):
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = (positives[:, None] > negatives[None, :]).sum()
    return float(wins / (len(positives) * len(negatives)))


def _ap_dividing_both_by_the_relevant_count(hits, num_relevant):
    hits = np.asarray(hits, dtype=float)
    summed = float((np.cumsum(hits) / np.arange(1, len(hits) + 1) * hits).sum())
    return summed / num_relevant, summed / num_relevant


def _average_precision_of_the_whole_list(recommended, relevant, k):
    hits = [item in relevant for item in recommended]
    summed = sum(sum(hits[: rank + 1]) / (rank + 1) for rank, hit in enumerate(hits) if hit)
    return float(summed / min(k, len(relevant)))


def _hardest_negative_breaking_ties_towards_the_last(candidates, scores):
    columns = scores.shape[1] - 1 - np.argmax(scores[:, ::-1], axis=1)
    return candidates[np.arange(len(candidates)), columns]


def _running_maximum_not_skipping_failed_trials(values):
    return np.maximum.accumulate(values)


def _running_maximum_as_one_row(values):
    # The right values, but in one row of a 2-D array instead of the 1-D array asked for.
    return np.fmax.accumulate(values)[None, :]


def _clipping_that_turns_a_zero_row_into_nan(gradients, clip_norm):
    norms = np.linalg.norm(gradients, axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return gradients / norms * np.minimum(norms, clip_norm)


@pytest.mark.parametrize(("exercise_id", "slip"), [
    ("01.cosine", _cosine_guarding_only_y),
    ("01.jaccard", _jaccard_dividing_by_an_empty_union),
    ("03.baseline_adjusted", _divides_by_sum_not_absolute_sum),
    ("03.baseline_adjusted", _guards_only_an_empty_neighbourhood),
    ("04.sgd_step", _sgd_step_without_regularization),
    ("04.sgd_step", _sgd_step_joining_the_factors),
    ("05.sampled_metrics", _ndcg_without_the_cut_off),
    ("06.multitask_loss", _multitask_loss_over_every_example),
    ("06.pareto_front", _pareto_needing_strictly_better_on_both),
    ("07.causal_mask", _causal_mask_attending_to_padding),
    ("07.scaled_dot_product_attention", _attention_ignoring_the_mask),
    ("07.left_padded_window", _window_keeping_the_earliest_items),
    ("08.auc", _auc_counting_ties_as_nothing),
    ("08.ap_two_ways", _ap_dividing_both_by_the_relevant_count),
    ("08.average_precision", _average_precision_of_the_whole_list),
    ("08.paired_bootstrap_interval", _resamples_each_model_separately),
    ("09.hardest_negatives", _hardest_negative_breaking_ties_towards_the_last),
    ("09.best_so_far", _running_maximum_not_skipping_failed_trials),
    ("09.best_so_far", _running_maximum_as_one_row),
    ("10.clip_rows", _clipping_that_turns_a_zero_row_into_nan),
], ids=lambda value: value.__name__.strip("_") if callable(value) else value)
def test_a_common_slip_is_rejected(exercise_id, slip):
    assert not check(exercise_id, slip)


def test_an_array_where_one_value_is_expected_is_feedback_not_a_crash():
    result = check("11.items_to_request",
                   lambda train, k: k + train.groupby("user_id").size())  # forgot .max()
    assert not result and "not yet" in repr(result)


def test_rows_python_cannot_order_are_feedback_not_a_crash():
    def none_for_low_ratings(ratings, threshold):
        kept = ratings[["user_id", "item_id"]].astype(object)
        kept.loc[ratings["rating"] < threshold, "user_id"] = None  # instead of dropping them
        return kept

    result = check("00.to_implicit", none_for_low_ratings)
    assert not result and "not yet" in repr(result)


def test_a_dict_is_not_the_list_that_was_asked_for():
    def counts(ratings, n):
        sizes = ratings.groupby("item_id").size()
        return sizes.sort_values(ascending=False, kind="stable").head(n).to_dict()

    assert not check("00.most_rated", counts)


def test_changing_the_input_in_place_fails_even_with_the_right_result():
    def overwrites_the_ratings(ratings, threshold):
        liked = ratings.loc[ratings["rating"] >= threshold, ["user_id", "item_id"]]
        ratings["rating"] = 1.0  # Changes the caller's frame too.
        return liked

    result = check("00.to_implicit", overwrites_the_ratings)
    assert not result and "changed its input (argument 1) in place" in repr(result)
    # An argument that was NaN and still is did not change, though NaN != NaN.
    for nan in (float("nan"), np.float64("nan"), np.array([1.0, np.nan])):
        assert _core._unchanged(nan, copy.deepcopy(nan))
    assert not _core._unchanged(np.array([1.0, 2.0]), np.array([1.0, 3.0]))


def test_errors_point_at_the_learners_line_or_at_no_line():
    # Too few parameters: no line of theirs ran, so no grader line is shown either.
    text = repr(check("01.cosine", lambda x: x))
    assert "TypeError" in text and "raised at" not in text

    # An error inside the package points at the learner's call, not into recsys_lessons.
    def most_similar(matrix, row, k):
        from recsys_lessons.similarity import cosine
        return cosine(matrix[row])  # One vector: the package raises.

    text = repr(check("01.most_similar", most_similar))
    assert "raised at line" in text and "cosine(matrix[row])" in text


def test_a_float32_linear_solve_passes():
    def als_user_solve(item_factors, ratings, regularization):
        factors = item_factors.astype(np.float32)
        left = factors.T @ factors + np.float32(regularization * len(ratings)) * np.eye(
            factors.shape[1], dtype=np.float32)
        return np.linalg.solve(left, factors.T @ ratings.astype(np.float32))

    assert check("11.als_user_solve", als_user_solve)


# --------------------------------------------------------------------------- known values
# Inputs whose correct output was derived by hand from the exercise's statement in its lesson
# notebook (or by a plainly different computation), so that a wrong reference fails here even
# though it passes the grader's comparison with itself.


def _ratings(rows):
    """A ratings frame like the grader's generated ones, from (user_id, item_id, rating) rows."""
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating"])
    return frame.astype({"rating": float})


def _paired_bootstrap_by_loop(first, second, resamples, seed):
    """The paired bootstrap interval by a plain Python loop and `statistics.quantiles`.

    The draw of users is the one the statement prescribes; the means and the quantiles are
    computed without numpy. The "inclusive" method interpolates as np.quantile does by default.
    """
    size = len(first)
    draws = np.random.default_rng(seed).integers(0, size, size=(resamples, size)).tolist()
    means = [sum(first[user] - second[user] for user in users) / size for users in draws]
    cut_points = statistics.quantiles(means, n=40, method="inclusive")
    return cut_points[0], cut_points[-1]  # The cut points at 1/40 = 2.5% and 39/40 = 97.5%.


_LN_3 = float(np.log(3.0))

#: For every function exercise, pairs (arguments, the correct result) derived independently.
KNOWN_VALUES = {
    "00.sparsity": [
        # 2 users, 2 items, 3 ratings: 1 − 3/(2·2) = 0.25.
        ((_ratings([(1, 10, 4), (1, 11, 2), (2, 10, 5)]),), 0.25),
        # 3 users, 4 items, 5 ratings: 1 − 5/(3·4) = 7/12.
        ((_ratings([(1, 10, 1), (1, 11, 2), (2, 12, 3), (2, 13, 4), (3, 10, 5)]),),
         0.583333333333),
    ],
    "00.most_rated": [
        # Counts: item 12 has 3 ratings, items 10 and 11 have 2 each, item 13 has 1. Item 11
        # comes first in the frame, yet the tie goes to the smaller id, 10.
        ((_ratings([(1, 11, 3), (1, 12, 4), (2, 10, 5), (2, 11, 1), (2, 12, 2), (3, 10, 3),
                    (3, 12, 4), (4, 13, 5)]), 3), [12, 10, 11]),
        # Fewer than n = 6 items: all four of them, in the same order.
        ((_ratings([(1, 11, 3), (1, 12, 4), (2, 10, 5), (2, 11, 1), (2, 12, 2), (3, 10, 3),
                    (3, 12, 4), (4, 13, 5)]), 6), [12, 10, 11, 13]),
    ],
    "00.to_implicit": [
        # Ratings 4 and 5 are at least 4; a rating equal to the threshold counts.
        ((_ratings([(1, 10, 4), (1, 11, 2), (2, 10, 5), (2, 12, 3)]), 4.0),
         pd.DataFrame({"user_id": [1, 2], "item_id": [10, 10]})),
        # Threshold 3 keeps the ratings 4, 5 and 3.
        ((_ratings([(1, 10, 4), (1, 11, 2), (2, 10, 5), (2, 12, 3)]), 3.0),
         pd.DataFrame({"user_id": [1, 2, 2], "item_id": [10, 10, 12]})),
    ],
    "01.cosine": [
        # x·y = 12 + 0 + 12 = 24, ‖x‖ = ‖y‖ = 5: 24/25.
        ((np.array([3.0, 0.0, 4.0]), np.array([4.0, 0.0, 3.0])), 0.96),
        # Either vector all zeros gives 0 by the statement.
        ((np.array([0.0, 0.0, 0.0]), np.array([1.0, 2.0, 3.0])), 0.0),
        ((np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 0.0])), 0.0),
    ],
    "01.jaccard": [
        # {2, 3} shared out of {1, 2, 3, 4, 5}: 2/5.
        (({1, 2, 3}, {2, 3, 4, 5}), 0.4),
        # Both empty gives 0 by the statement.
        ((set(), set()), 0.0),
    ],
    "01.pearson_co_rated": [
        # Co-rated positions 0, 2 and 4 hold x = (1, 2, 3) and y = (1, 3, 2); centred,
        # (−1, 0, 1) and (−1, 1, 0): a dot product of 1 over norms √2 · √2, so 1/2. The other
        # positions (x = 5, y = 4) must not count.
        ((np.array([1.0, 0.0, 2.0, 5.0, 3.0]), np.array([1.0, 4.0, 3.0, 0.0, 2.0])), 0.5),
        # Only position 2 is co-rated: fewer than two, so 0.
        ((np.array([1.0, 0.0, 3.0]), np.array([0.0, 2.0, 3.0])), 0.0),
        # Co-rated positions 0 and 1, where x is constant (2, 2): 0.
        ((np.array([2.0, 2.0, 5.0]), np.array([1.0, 3.0, 0.0])), 0.0),
    ],
    "01.most_similar": [
        # Cosines with row 0 = (1, 1, 0, 0): row 1 is 1, rows 2 and 3 are 1/√2 (a tie, to the
        # lower index), row 4 is 0.
        ((np.array([[1.0, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]),
          0, 3), [1, 2, 3]),
        # Row 4 has cosine 0 with every other row: the four-way tie goes to 0 and 1, never 4.
        ((np.array([[1.0, 1, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]),
          4, 2), [0, 1]),
    ],
    "02.decade": [
        # Integer division by 10, times 10, then "s"; a missing year gives None.
        ((pd.Series([1975, None, 1990, 1909], dtype="Int64"),), ["1970s", None, "1990s", "1900s"]),
    ],
    "02.user_profile": [
        # Mean rating 3, deviations (2, −1, −1), Σ|dev| = 4:
        # (2·(1, 0) − (0, 1) − (1, 1)) / 4 = (1, −2)/4 = (0.25, −0.5).
        ((np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([5.0, 2.0, 2.0])),
         np.array([0.25, -0.5])),
        # All ratings equal: the plain mean of the rows, (2/3, 2/3).
        ((np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([4.0, 4.0, 4.0])),
         np.array([0.666666666667, 0.666666666667])),
    ],
    "02.rank_by_profile": [
        # Cosines with (1, 0): rows 2 and 3 are 1 (a tie, to the lower index), row 1 is 1/√2.
        ((np.array([1.0, 0.0]), np.array([[0.0, 1], [1, 1], [2, 0], [3, 0], [0, 0]]), 2), [2, 3]),
        # Cosines with (1, −1): 1/√2 for rows 2 and 3, 0 for rows 1 and 4 (the zero row),
        # −1/√2 for row 0, which comes last.
        ((np.array([1.0, -1.0]), np.array([[0.0, 1], [1, 1], [2, 0], [3, 0], [0, 0]]), 5),
         [2, 3, 1, 4, 0]),
    ],
    "03.user_based_scores": [
        # User 0 = (1, 1, 0, 0): cos with user 1 = (1, 1, 1, 0) is 2/(√2·√3) = √(2/3),
        # with user 2 = (0, 1, 0, 1) is 1/2, with user 3 is 0. The two neighbours give
        # √(2/3)·(1, 1, 1, 0) + 0.5·(0, 1, 0, 1).
        ((np.array([[1.0, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1]]), 0, 2),
         np.array([0.816496580928, 1.316496580928, 0.816496580928, 0.5])),
        # User 3 = (0, 0, 1, 1): cos with user 2 is 1/2, with user 1 is 1/√6, with user 0 is 0,
        # so 0.5·(0, 1, 0, 1) + (1/√6)·(1, 1, 1, 0).
        ((np.array([[1.0, 1, 0, 0], [1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 1]]), 3, 2),
         np.array([0.408248290464, 0.908248290464, 0.408248290464, 0.5])),
    ],
    "03.shrink": [
        # 0.5·10/(10 + 10) = 0.25 and −0.8·5/(5 + 10) = −4/15.
        ((np.array([0.5, -0.8]), np.array([10.0, 5.0]), 10.0), np.array([0.25, -0.266666666667])),
        # β = 0 leaves the similarities as they are.
        ((np.array([0.5, -0.8]), np.array([10.0, 5.0]), 0.0), np.array([0.5, -0.8])),
    ],
    "03.baseline_adjusted": [
        # Residuals r − b = (0.5, −1); Σ sim·(r − b) = 0.25 + 0.25 = 0.5; Σ|sim| = 0.75:
        # 3 + 0.5/0.75 = 11/3.
        ((3.0, np.array([0.5, -0.25]), np.array([4.0, 2.0]), np.array([3.5, 3.0])),
         3.666666666667),
        # No neighbours, and neighbours whose similarities are all 0: the baseline alone.
        ((3.2, np.array([]), np.array([]), np.array([])), 3.2),
        ((3.2, np.array([0.0, 0.0]), np.array([5.0, 1.0]), np.array([3.0, 3.0])), 3.2),
    ],
    "04.predict": [
        # μ + b_u + b_i + p_u·q_i for the pairs (0, 0), (1, 1), (1, 2):
        # 3.5 + 0.1 + 0.3 + 0.2 = 4.1; 3.5 − 0.2 + 0 + 1 = 4.3; 3.5 − 0.2 − 0.1 − 0.5 = 2.7.
        ((3.5, np.array([0.1, -0.2]), np.array([0.3, 0.0, -0.1]),
          np.array([[1.0, 0.0], [0.5, 0.5]]), np.array([[0.2, 0.4], [1.0, 1.0], [0.0, -1.0]]),
          np.array([0, 1, 1]), np.array([0, 1, 2])), np.array([4.1, 4.3, 2.7])),
    ],
    "04.sgd_step": [
        # Prediction 3.5 + 0.1 + 0.2 + 0.1 = 3.9, error e = 0.1, lr = 0.1, reg = 0.5:
        # b_u: 0.1 + 0.1·(0.1 − 0.05) = 0.105; b_i: 0.2 + 0.1·(0.1 − 0.1) = 0.2;
        # p: (0.5, 0) + 0.1·(0.1·(0.2, 1) − 0.5·(0.5, 0)) = (0.477, 0.01);
        # q: (0.2, 1) + 0.1·(0.1·(0.5, 0) − 0.5·(0.2, 1)) = (0.195, 0.95), from the old p.
        ((4.0, 3.5, 0.1, 0.2, np.array([0.5, 0.0]), np.array([0.2, 1.0]), 0.1, 0.5),
         (0.105, 0.2, np.array([0.477, 0.01]), np.array([0.195, 0.95]))),
    ],
    "04.bpr_loss": [
        # Differences 0 and −ln 3: −ln σ(0) = ln 2, −ln σ(−ln 3) = ln(1 + 3) = 2 ln 2;
        # the mean is 1.5 ln 2.
        ((np.array([0.0, 0.0]), np.array([0.0, _LN_3])), 1.03972077084),
    ],
    "04.ease": [
        # XᵀX + I = [[3, 1], [1, 2]], whose inverse is [[2, −1], [−1, 3]]/5:
        # B_01 = −P_01/P_11 = 1/3, B_10 = −P_10/P_00 = 1/2. The same as the ridge regression
        # of one column on the other, x·y/(x·x + λ): 1/(2 + 1) and 1/(1 + 1).
        ((np.array([[1.0, 1.0], [1.0, 0.0]]), 1.0), np.array([[0.0, 1 / 3], [1 / 2, 0.0]])),
    ],
    "05.gmf_score": [
        # p ⊙ q = (0.5, −2), h·(p ⊙ q) = 1 − 2 = −1, plus 0.5: σ(−0.5) = 1/(1 + e^0.5).
        ((np.array([1.0, 2.0]), np.array([0.5, -1.0]), np.array([2.0, 1.0]), 0.5),
         0.377540668798),
    ],
    "05.binary_cross_entropy": [
        # −(ln 0.8 + ln(1 − 0.4))/2 = −ln(0.48)/2.
        ((np.array([1.0, 0.0]), np.array([0.8, 0.4])), 0.36698458754),
    ],
    "05.sampled_metrics": [
        # Ranks 1, 3 and 7 are within 10: HR = 3/4; NDCG = (1 + 1/2 + 1/3 + 0)/4 = 11/24.
        ((np.array([1, 3, 12, 7]), 10), (0.75, 0.458333333333)),
        # Within 3 only ranks 1 and 3 (rank = k counts): HR = 2/4; NDCG = (1 + 1/2)/4.
        ((np.array([1, 3, 12, 7]), 3), (0.5, 0.375)),
    ],
    "06.gate_mixture": [
        # softmax(0, ln 3) = (1/4, 3/4): (1, 2)/4 + 3·(5, −2)/4 = (4, −1).
        ((np.array([0.0, _LN_3]), np.array([[1.0, 2.0], [5.0, -2.0]])), np.array([4.0, -1.0])),
        # Equal logits weigh the experts equally: (3 + 0 − 6)/3 = −1.
        ((np.array([2.0, 2.0, 2.0]), np.array([[3.0], [0.0], [-6.0]])), np.array([-1.0])),
    ],
    "06.multitask_loss": [
        # Cross-entropy over all three: −(ln 0.8 + ln 0.6 + ln 0.5)/3 = −ln(0.24)/3; squared
        # error over the two rated: ((4 − 3.5)² + (2 − 3)²)/2 = 0.625, times 0.5 is 0.3125.
        ((np.array([1.0, 0.0, 1.0]), np.array([0.8, 0.4, 0.5]), np.array([4.0, np.nan, 2.0]),
          np.array([3.5, 1.0, 3.0]), 0.5), 0.78820545188),
    ],
    "06.pareto_front": [
        # Points 1 and 2 are equal, so neither dominates the other; point 4 (0.5, 1.1) is
        # dominated by point 0 (0.5, 1.0) through RMSE alone, point 5 (0.45, 1.0) through
        # HR@10 alone; point 3 has the lowest RMSE and point 0 no better rival.
        ((np.array([0.5, 0.6, 0.6, 0.4, 0.5, 0.45]), np.array([1.0, 1.05, 1.05, 0.95, 1.1, 1.0])),
         np.array([True, True, True, True, False, False])),
    ],
    "07.scaled_dot_product_attention": [
        # d = 4, so √d = 2. Query 0 scores (2 ln 3/2, 0, 10 ln 3/2) = (ln 3, 0, 5 ln 3) and may
        # not see key 2: softmax(ln 3, 0) = (3/4, 1/4), giving 3/4·(4, 0) + 1/4·(0, 4) = (3, 1).
        # Query 1 is zero, so keys 1 and 2 weigh 1/2 each: ((0, 4) + (100, 100))/2 = (50, 52).
        ((np.array([[_LN_3, _LN_3, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]),
          np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 0.0, 0.0]]),
          np.array([[4.0, 0.0], [0.0, 4.0], [100.0, 100.0]]),
          np.array([[True, True, False], [False, True, True]])),
         np.array([[3.0, 1.0], [50.0, 52.0]])),
    ],
    "07.causal_mask": [
        # Positions 0 and 1 are padding: no one attends to them, and they attend to nothing.
        # Position 2 sees itself, position 3 sees 2 and 3.
        ((np.array([0, 0, 5, 7]),),
         np.array([[False, False, False, False], [False, False, False, False],
                   [False, False, True, False], [False, False, True, True]])),
        # No padding: the lower triangle, diagonal included.
        ((np.array([3, 1, 2]),),
         np.array([[True, False, False], [True, True, False], [True, True, True]])),
    ],
    "07.left_padded_window": [
        # Indices (4, 0, 7) become tokens (5, 1, 8), with two 0s on the left.
        ((np.array([4, 0, 7]), 5), [0, 0, 5, 1, 8]),
        # Only the latest three of six: indices (4, 5, 6) become tokens (5, 6, 7).
        ((np.array([1, 2, 3, 4, 5, 6]), 3), [5, 6, 7]),
        # An empty history is all padding.
        ((np.array([], dtype=np.int64), 2), [0, 0]),
    ],
    "08.average_precision": [
        # Hits at ranks 2 and 4: precision@2 = 1/2 and precision@4 = 2/4, summed 1,
        # over min(4, 3) = 3.
        (([3, 1, 7, 5], {1, 5, 9}, 4), 0.333333333333),
        # Within k = 2 only the hit at rank 2: (1/2)/min(2, 3) = 1/4.
        (([3, 1, 7, 5], {1, 5, 9}, 2), 0.25),
        # A list shorter than k: (1/1)/min(5, 2) = 1/2.
        (([1], {1, 2}, 5), 0.5),
    ],
    "08.ap_two_ways": [
        # Hits at ranks 1 and 3: S = 1/1 + 2/3 = 5/3; S/min(4, 6) = 5/12 and S/6 = 5/18.
        ((np.array([1, 0, 1, 0]), 6), (0.416666666667, 0.277777777778)),
        # Both hits: S = 2; S/min(2, 3) = 1 and S/3 = 2/3.
        ((np.array([1, 1]), 3), (1.0, 0.666666666667)),
    ],
    "08.paired_bootstrap_interval": [
        # Every per-user difference is 0.25, so every resampled mean and both quantiles are.
        ((np.array([0.5, 0.75, 1.0]), np.array([0.25, 0.5, 0.75]), 50, 0), (0.25, 0.25)),
        # A loop over the prescribed draw, with Python's quantiles (see the helper above).
        ((np.array([0.9, 0.4, 0.7, 0.2, 0.6]), np.array([0.5, 0.5, 0.1, 0.3, 0.6]), 40, 3),
         _paired_bootstrap_by_loop([0.9, 0.4, 0.7, 0.2, 0.6], [0.5, 0.5, 0.1, 0.3, 0.6], 40, 3)),
    ],
    "08.auc": [
        # Positives score 0.9 and 0.3, negatives 0.3, 0.8, 0.1. 0.9 beats all three; 0.3 ties
        # one (1/2), loses one and beats one: (3 + 1.5)/6 = 0.75.
        ((np.array([1, 0, 1, 0, 0]), np.array([0.9, 0.3, 0.3, 0.8, 0.1])), 0.75),
        # The one positive scores below the one negative.
        ((np.array([0, 1]), np.array([2.0, 1.0])), 0.0),
    ],
    "09.log_uniform": [
        # 0.01·(100/0.01)^0.5 = 0.01·100 = 1, and 0.01·(10⁴)^0.25 = 0.1.
        ((0.01, 100.0, 0.5), 1.0),
        ((0.01, 100.0, 0.25), 0.1),
    ],
    "09.best_so_far": [
        # NaN before the first finished trial; the failed trial 2 carries 0.2 on.
        ((np.array([np.nan, 0.2, np.nan, 0.1, 0.3]),), np.array([np.nan, 0.2, 0.2, 0.2, 0.3])),
    ],
    "09.hardest_negatives": [
        # Row 0: scores 0.5 tie for candidates 8 and 2, the first wins; row 1: 0.9 is candidate 7.
        ((np.array([[5, 8, 2], [7, 1, 9]]), np.array([[0.1, 0.5, 0.5], [0.9, 0.2, 0.3]])),
         np.array([8, 7])),
    ],
    "10.laplace_scale": [
        # Δ/ε = 2/0.5 and 1/0.1.
        ((2, 0.5), 4.0),
        ((1, 0.1), 10.0),
    ],
    "10.clip_rows": [
        # (3, 4) has norm 5, so it becomes (3, 4)/5 under C = 1; (0.3, 0.4) has norm 0.5 and
        # stays; the zero row stays zero.
        ((np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]]), 1.0),
         np.array([[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])),
    ],
    "10.log_log_slope": [
        # ln(100/1)/ln(1000/100) = 2 and ln(4/0.5)/ln(800/200) = ln 8/ln 4 = 1.5.
        ((100, 1.0, 1000, 100.0), 2.0),
        ((200, 0.5, 800, 4.0), 1.5),
    ],
    "11.items_to_request": [
        # User 1 has 3 training rows, user 2 has 1: 5 + 3.
        ((_ratings([(1, 10, 4), (1, 11, 2), (1, 12, 5), (2, 10, 3)]), 5), 8),
    ],
    "11.drop_seen_and_rank": [
        # User 1: item 11 is seen, leaving 12 (0.75) then 10 (0.5). User 2: item 10 is seen,
        # leaving 14 and 11 tied at 0.5; the smaller id, 11, ranks first though it comes later.
        ((pd.DataFrame({"user_id": [1, 1, 1, 1, 2, 2, 2],
                        "item_id": [12, 11, 10, 13, 10, 14, 11],
                        "score": [0.75, 0.75, 0.5, 0.25, 1.0, 0.5, 0.5]}),
          _ratings([(1, 11, 4), (2, 10, 3), (3, 12, 5)]), 2),
         pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [12, 10, 11, 14],
                       "score": [0.75, 0.5, 0.5, 0.5], "rank": [1, 2, 1, 2]})),
    ],
    "11.als_user_solve": [
        # QᵀQ + λ·n·I = I + 0.5·2·I = 2I, so p = Qᵀr/2 = (1, 2).
        ((np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([2.0, 4.0]), 0.5), np.array([1.0, 2.0])),
        # QᵀQ + 0.1·3·I = [[2.3, 1], [1, 2.3]] (determinant 4.29), Qᵀr = (4, 5):
        # p = (2.3·4 − 5, 2.3·5 − 4)/4.29 = (4.2, 7.5)/4.29.
        ((np.array([[1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), np.array([3.0, 1.0, 2.0]), 0.1),
         np.array([0.979020979021, 1.748251748252])),
    ],
}


def _held_out_ties_by_counting(movielens):
    """Leave-one-out holds out a row at the user's latest timestamp, so its timestamp equals
    the latest one left in training exactly when the user has two or more rows at it."""
    ratings = movielens.ratings
    latest = ratings.groupby("user_id")["timestamp"].transform("max")
    rows_at_latest = (ratings["timestamp"] == latest).groupby(ratings["user_id"]).sum()
    tested = ratings.groupby("user_id").size() >= 2  # A single-row user is not tested.
    return float((rows_at_latest[tested] >= 2).mean())


#: For every value exercise, the same number computed another way from MovieLens 100K.
INDEPENDENT_VALUES = {
    # The median of the per-movie counts, counted with the standard library.
    "00.median_movie_ratings": lambda movielens: float(
        statistics.median(Counter(movielens.ratings["item_id"].tolist()).values())),
    # The items' one-hot genre columns, rather than their lists of genres; the four genres
    # are those the exercise names, written out here rather than read from the package.
    "06.action_share": lambda movielens: float(movielens.ratings["item_id"].isin(
        movielens.items.loc[
            movielens.items[["Action", "Adventure", "Sci-Fi", "Thriller"]].any(axis=1),
            "item_id"]).mean()),
    "07.held_out_ties": _held_out_ties_by_counting,
}


def _assert_matches(expected, got, where):
    if isinstance(expected, pd.DataFrame):
        # As the grader does, compare the columns and the rows in any order.
        assert isinstance(got, pd.DataFrame), where
        assert list(got.columns) == list(expected.columns), where
        assert sorted(got.itertuples(index=False, name=None)) == sorted(
            expected.itertuples(index=False, name=None)), where
    elif isinstance(got, pd.Series):
        assert [None if pd.isna(value) else value for value in got] == expected, where
    elif isinstance(expected, list):
        assert list(np.asarray(got).tolist()) == expected, where
    elif isinstance(expected, np.ndarray) and expected.dtype == bool:
        np.testing.assert_array_equal(got, expected, err_msg=where)
    elif isinstance(expected, tuple):
        assert len(got) == len(expected), where
        for expected_part, got_part in zip(expected, got, strict=True):
            np.testing.assert_allclose(got_part, expected_part, rtol=1e-9, atol=1e-12,
                                       err_msg=where)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=where)


@pytest.mark.parametrize("exercise_id", sorted(
    set(exercises.exercise_ids()) | set(KNOWN_VALUES) | set(INDEPENDENT_VALUES)))
def test_reference_matches_independently_derived_values(exercise_id, request):
    """Each reference gives the result derived by hand for small inputs (or, for a value
    exercise, the number computed another way), so a wrong reference cannot pass unseen."""
    assert exercise_id in exercises._EXERCISES, f"{exercise_id} is no longer registered."
    exercise = exercises._EXERCISES[exercise_id]
    if exercise.reference is None:
        assert exercise_id in INDEPENDENT_VALUES, f"No independent value for {exercise_id}."
        movielens = request.getfixturevalue("movielens")
        np.testing.assert_allclose(
            exercise.expected(), INDEPENDENT_VALUES[exercise_id](movielens), rtol=1e-12,
            err_msg=f"{exercise_id}, computed another way")
        return
    assert exercise_id in KNOWN_VALUES, f"No independently derived values for {exercise_id}."
    for case, (arguments, expected) in enumerate(KNOWN_VALUES[exercise_id]):
        got = exercise.reference(*copy.deepcopy(arguments))
        _assert_matches(expected, got, f"{exercise_id}, known case {case}")


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


@pytest.fixture
def value_exercise(monkeypatch):
    """A value exercise whose answer is 0.5, registered only for the test."""
    monkeypatch.setitem(_core._EXERCISES, "zz.value",
                        _core.Exercise("zz.value", "A half.", expected=lambda: 0.5))
    return "zz.value"


def test_a_frame_exercise_rejects_a_non_frame_without_crashing():
    # None has no columns: the grader must say "wrong", not raise AttributeError itself.
    expected = pd.DataFrame({"user_id": [1], "item_id": [11]})
    assert not _core._same(expected, None)
    assert not _core._same(expected, [[1, 11]])


def test_frames_compare_as_sets_of_rows_in_their_column_order():
    expected = pd.DataFrame({"user_id": [1, 2], "item_id": [11, 12]})
    # The same rows in another order are the same answer.
    assert _core._same(expected, expected.iloc[::-1].reset_index(drop=True))
    # Swapped columns are another table: the column names must come in the asked order.
    symmetric = pd.DataFrame({"a": [1], "b": [1]})
    assert not _core._same(symmetric, symmetric[["b", "a"]])
    # A duplicated row is a wrong answer: two rows were expected, four were given.
    assert not _core._same(expected, pd.concat([expected, expected]))


def test_rows_that_cannot_be_ordered_are_a_wrong_answer():
    # Sorting (None,) next to (2,) raises TypeError; that must count as wrong, not right.
    expected = pd.DataFrame({"a": [1, 2]})
    got = pd.DataFrame({"a": [None, 2]}, dtype=object)
    assert not _core._same(expected, got)


def test_a_float32_value_passes_a_value_exercise():
    # float32(0.1) = 0.100000001490116..., a relative error of about 1.5e-8: within rounding.
    assert _core._same(0.1, float(np.float32(0.1)))


def test_list_answers_keep_their_order_and_ragged_lists_are_wrong():
    # A ranking is a list: [2, 1] is not the ranking [1, 2].
    assert not _core._same([1, 2], [2, 1])
    # A ragged list cannot become an array (ValueError); that is a wrong answer.
    assert not _core._same([1, 2], [[1], [1, 2]])


def test_allclose_rejects_text_broadcasts_and_near_misses():
    # Text cannot become floats: a wrong answer, not a pass.
    assert not _core._allclose(np.array([1.0]), "abc")
    # One number where two were asked for must not pass by broadcasting.
    assert not _core._allclose(np.array([2.0, 2.0]), 2.0)
    # 1e-4 where 0 is expected is a wrong formula; the tolerance is 1e-6 (+1e-5 * 0).
    assert not _core._allclose(np.array([0.0]), np.array([1e-4]))
    # Largest entry 100: tolerance 1e-6 + 1e-5 * 100 ≈ 1e-3, so 0.5 where 0 is expected fails.
    assert not _core._allclose(np.array([100.0, 0.0]), np.array([100.0, 0.5]))
    # 0.0005 off is within that same tolerance.
    assert _core._allclose(np.array([100.0, 0.0]), np.array([100.0, 0.0005]))


def test_arguments_that_cannot_be_compared_count_as_unchanged():
    # [array] == [array] raises "truth value ... ambiguous": the grader cannot tell, so it
    # must not blame the learner for changing the input.
    assert _core._unchanged([np.array([1.0, 2.0])], [np.array([1.0, 2.0])])


def test_a_correct_value_is_shown_back(value_exercise):
    assert "correct (0.5)" in repr(check(value_exercise, 0.5))


def test_true_is_not_a_number_for_a_value_exercise(value_exercise):
    # True == 1 to Python, but it is not a number the learner computed.
    result = check(value_exercise, True)
    assert not result and "got True, expected a number" in repr(result)


def test_a_value_where_a_function_is_expected_is_named():
    result = check("00.sparsity", 0.5)
    assert not result and "expected a function, got float" in repr(result)


def test_the_generated_inputs_are_the_same_every_time():
    # The same wrong function gets the same feedback each time it is checked.
    wrong = lambda ratings: 0.123  # noqa: E731
    assert repr(check("00.sparsity", wrong)) == repr(check("00.sparsity", wrong))


def test_the_smallest_failing_input_is_shown(monkeypatch):
    # Inputs cycle through [1, 2, 3], [1], [1, 2]; every answer is wrong, so the shortest
    # shown input, "[1]", is the one to report (the first and the last are [1, 2, 3]).
    lists = itertools.cycle([[1, 2, 3], [1], [1, 2]])
    monkeypatch.setitem(_core._EXERCISES, "zz.sum", _core.Exercise(
        "zz.sum", "A sum.", reference=sum, make_inputs=lambda rng: (next(lists),)))
    text = repr(check("zz.sum", lambda values: -1))
    assert "input:    [1]\n" in text


def _helper_that_fails(values):
    return values["missing"]


def test_an_error_points_at_the_innermost_line_of_the_learner():
    def answer(ratings):
        return _helper_that_fails({})

    text = repr(check("00.sparsity", answer))
    assert 'raised at line' in text and 'values["missing"]' in text


def test_descriptions_are_short_and_readable():
    assert _core._describe(np.array([-0.0, 1.0])) == "[0.0, 1.0]"
    assert _core._describe(pd.Series([1.0, np.nan])) == "Series [1.0, None]"
    ten = pd.DataFrame({"a": range(10)})
    assert _core._describe(ten).endswith(" … (10 rows)")


def test_an_exercise_cannot_be_registered_twice(monkeypatch):
    monkeypatch.setattr(_core, "_EXERCISES", {})
    _core.register(_core.Exercise("zz.once", "Once.", expected=lambda: 1.0))
    with pytest.raises(ValueError, match="registered twice"):
        _core.register(_core.Exercise("zz.once", "Again.", expected=lambda: 1.0))
