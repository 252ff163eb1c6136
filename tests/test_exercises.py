import copy

import numpy as np
import pytest

from recsys_lessons import exercises
from recsys_lessons.exercises import _core, check


@pytest.mark.parametrize(
    "exercise_id",
    [name for name in exercises.exercise_ids() if exercises._EXERCISES[name].reference],
)
def test_reference_passes_its_own_check(exercise_id):
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


def test_paired_bootstrap_rejects_resampling_each_model_separately():
    def unpaired(first, second, resamples, seed):
        # The common slip: one draw of users per model, which loses the pairing.
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, len(first), size=(2, resamples, len(first)))
        means = first[rows[0]].mean(axis=1) - second[rows[1]].mean(axis=1)
        return tuple(np.quantile(means, [0.025, 0.975]))

    assert not check("08.paired_bootstrap_interval", unpaired)


def test_wrong_answers_the_generators_used_to_miss():
    def sum_not_absolute(baseline, similarities, neighbour_ratings, neighbour_baselines):
        weights = similarities.sum()  # Σ sim instead of Σ |sim|.
        if weights == 0:
            return baseline
        return baseline + similarities @ (neighbour_ratings - neighbour_baselines) / weights

    def guards_only_y(x, y):
        if not y.any():
            return 0.0
        with np.errstate(invalid="ignore"):  # 0 / 0 when x is all zeros: the bug.
            return float(x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

    assert not check("03.baseline_adjusted", sum_not_absolute)
    assert not check("01.cosine", guards_only_y)


def test_an_array_where_one_value_is_expected_is_feedback_not_a_crash():
    result = check("11.items_to_request",
                   lambda train, k: k + train.groupby("user_id").size())  # forgot .max()
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
