"""Self-checking exercises: `check(exercise_id, answer)` grades a learner's answer.

An answer is either a value (a number the learner computed) or a function the learner wrote.
A function is graded by running it next to the course's reference implementation on many
small generated inputs; the first input where the two differ is shown with the expected value
and the value received, so the learner sees exactly what to fix.

    >>> result = check("00.sparsity", lambda ratings: 0.0)
    >>> bool(result)
    False

Exercises are registered by lesson with `register`; ids read "LESSON.name".
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

NUM_GENERATED_INPUTS = 25


@dataclass
class Exercise:
    """One exercise. Give `reference` and `make_inputs` for a function, `expected` for a value."""

    exercise_id: str
    description: str
    reference: Callable | None = None
    make_inputs: Callable[[np.random.Generator], tuple] | None = None
    expected: Callable[[], object] | None = None
    compare: Callable[[object, object], bool] = field(default=None)


@dataclass
class CheckResult:
    """The verdict of `check`: true when the answer is right; shows as its message."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


_EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.exercise_id in _EXERCISES:
        raise ValueError(f"Exercise {exercise.exercise_id!r} is registered twice.")
    _EXERCISES[exercise.exercise_id] = exercise
    return exercise


def exercise_ids() -> list[str]:
    return sorted(_EXERCISES)


# --------------------------------------------------------------------------- comparing


def _same(expected, got) -> bool:
    """Equality that treats floats with a tolerance and DataFrames as sets of rows."""
    if isinstance(expected, pd.DataFrame):
        if not isinstance(got, pd.DataFrame) or list(got.columns) != list(expected.columns):
            return False
        return sorted(map(tuple, expected.to_numpy().tolist())) == sorted(
            map(tuple, got.to_numpy().tolist())
        )
    if isinstance(expected, float | np.floating):
        try:
            return math.isclose(float(got), float(expected), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list | tuple | np.ndarray):
        try:
            return list(np.asarray(got).tolist()) == list(np.asarray(expected).tolist())
        except (TypeError, ValueError):
            return False
    return bool(got == expected)


def _allclose(expected, got) -> bool:
    """Numeric arrays equal up to rounding; anything that is not such an array is wrong."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    return got.shape == np.shape(expected) and bool(np.allclose(got, expected))


def _describe(value) -> str:
    """A short, readable rendering of an input or a result for feedback messages."""
    if isinstance(value, pd.DataFrame):
        rows = [tuple(row) for row in value.itertuples(index=False)]
        text = f"DataFrame{tuple(value.columns)} with rows {rows[:8]}"
        return text + (f" … ({len(rows)} rows)" if len(rows) > 8 else "")
    if isinstance(value, pd.Series):
        return f"Series {[None if pd.isna(item) else item for item in value.tolist()]!r}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating):
            value = np.round(value, 6)
        return repr(value.tolist())
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(part) for part in value) + ")"
    return repr(value)


# --------------------------------------------------------------------------- checking


def check(exercise_id: str, answer) -> CheckResult:
    """Grade `answer` for the exercise `exercise_id` and say what, if anything, differed."""
    if exercise_id not in _EXERCISES:
        raise KeyError(
            f"No exercise {exercise_id!r}. Known exercises: {', '.join(exercise_ids())}."
        )
    exercise = _EXERCISES[exercise_id]
    compare = exercise.compare or _same
    if exercise.expected is not None:
        expected = exercise.expected()
        if compare(expected, answer):
            return CheckResult(True, f"✓ {exercise_id}: correct ({_describe(answer)}).")
        # A value exercise must not give the answer away; say which way to look instead.
        if isinstance(answer, int | float | np.number) and not isinstance(answer, bool):
            direction = "too high" if answer > expected else "too low"
            verdict = f"{_describe(answer)} is {direction}"
        else:
            verdict = f"got {_describe(answer)}, expected a number"
        return CheckResult(False, f"✗ {exercise_id}: not yet: {verdict}.")
    if not callable(answer):
        return CheckResult(
            False, f"✗ {exercise_id}: expected a function, got {type(answer).__name__}."
        )
    rng = np.random.default_rng(0)
    failures = []
    for _ in range(NUM_GENERATED_INPUTS):
        arguments = exercise.make_inputs(rng)
        expected = exercise.reference(*arguments)
        shown_input = ", ".join(_describe(argument) for argument in arguments)
        try:
            got = answer(*arguments)
        except Exception as error:  # noqa: BLE001 - any learner error becomes feedback.
            where = traceback.extract_tb(error.__traceback__)[-1]
            line = f"\n  (raised at line {where.lineno}: {where.line})" if where.line else ""
            failures.append((shown_input, (
                f"✗ {exercise_id}: your function raised {type(error).__name__}: {error}\n"
                f"  input:    {shown_input}\n  expected: {_describe(expected)}{line}"
            )))
            continue
        if not compare(expected, got):
            failures.append((shown_input, (
                f"✗ {exercise_id}: not yet.\n  input:    {shown_input}\n"
                f"  expected: {_describe(expected)}\n  got:      {_describe(got)}"
            )))
    if failures:
        # The smallest failing input is the easiest one to work through by hand.
        return CheckResult(False, min(failures, key=lambda failure: len(failure[0]))[1])
    return CheckResult(
        True, f"✓ {exercise_id}: correct on {NUM_GENERATED_INPUTS} generated inputs."
    )


# --------------------------------------------------------------------------- generators


def random_ratings(rng: np.random.Generator, max_users: int = 5, max_items: int = 6):
    """A small random ratings DataFrame: user_id, item_id, rating (1–5), no duplicate pairs."""
    num_users = int(rng.integers(1, max_users + 1))
    num_items = int(rng.integers(1, max_items + 1))
    cells = [(user, item) for user in range(1, num_users + 1) for item in range(1, num_items + 1)]
    chosen = rng.choice(len(cells), size=int(rng.integers(1, len(cells) + 1)), replace=False)
    rows = sorted(cells[index] for index in chosen)
    return pd.DataFrame({
        "user_id": [user for user, _ in rows],
        "item_id": [10 + item for _, item in rows],
        "rating": rng.integers(1, 6, size=len(rows)).astype(float),
    })


# --------------------------------------------------------------------------- lesson 00


def _sparsity(ratings: pd.DataFrame) -> float:
    num_users = ratings["user_id"].nunique()
    num_items = ratings["item_id"].nunique()
    return float(1 - len(ratings) / (num_users * num_items))


def _most_rated(ratings: pd.DataFrame, n: int) -> list:
    counts = ratings.groupby("item_id").size().reset_index(name="count")
    counts = counts.sort_values(["count", "item_id"], ascending=[False, True])
    return counts["item_id"].head(n).tolist()


def _to_implicit(ratings: pd.DataFrame, threshold: float) -> pd.DataFrame:
    liked = ratings[ratings["rating"] >= threshold]
    return liked[["user_id", "item_id"]].reset_index(drop=True)


def _median_ratings_per_user() -> float:
    from recsys_lessons.data import load_movielens

    return float(load_movielens("100k").ratings.groupby("user_id").size().median())


register(Exercise(
    "00.sparsity",
    "sparsity(ratings): the share of (user, item) cells with no rating, "
    "1 − |ratings| / (|users| · |items|), over the users and items in the frame.",
    reference=_sparsity,
    make_inputs=lambda rng: (random_ratings(rng),),
))
register(Exercise(
    "00.most_rated",
    "most_rated(ratings, n): the ids of the n items with the most ratings, most first; "
    "ties go to the smaller item id.",
    reference=_most_rated,
    make_inputs=lambda rng: (random_ratings(rng), int(rng.integers(1, 4))),
))
register(Exercise(
    "00.to_implicit",
    "to_implicit(ratings, threshold): the user_id, item_id rows whose rating is at least "
    "threshold (explicit ratings turned into implicit 'liked' feedback).",
    reference=_to_implicit,
    make_inputs=lambda rng: (random_ratings(rng), float(rng.integers(1, 6))),
))
register(Exercise(
    "00.median_activity",
    "The median number of ratings per user in MovieLens 100K (a number).",
    expected=_median_ratings_per_user,
))


# --------------------------------------------------------------------------- lesson 01


def _random_vector_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two rating vectors of equal length (0 = not rated); sometimes one is all zeros."""
    length = int(rng.integers(1, 7))
    first = rng.integers(0, 6, length).astype(float)
    second = rng.integers(0, 6, length).astype(float)
    if rng.random() < 0.15:
        second[:] = 0.0
    return first, second


def _random_set_pair(rng: np.random.Generator) -> tuple[set, set]:
    items = np.arange(1, 9)
    first = set(rng.choice(items, int(rng.integers(0, 6)), replace=False).tolist())
    second = set(rng.choice(items, int(rng.integers(0, 6)), replace=False).tolist())
    return first, second


def _jaccard_of_sets(first: set, second: set) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def _most_similar_rows(matrix: np.ndarray, row: int, k: int) -> list[int]:
    from recsys_lessons.similarity import cosine

    similarities = cosine(matrix)[row]
    similarities[row] = -np.inf  # A row is not its own neighbour.
    # A stable sort on the negated values puts ties in order of the lower row index.
    return np.argsort(-similarities, kind="stable")[:k].tolist()


def _random_matrix_row_k(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    rows = int(rng.integers(3, 7))
    matrix = rng.integers(0, 2, (rows, int(rng.integers(2, 6)))).astype(float)
    return matrix, int(rng.integers(0, rows)), int(rng.integers(1, rows))


def _lesson01_reference(name: str) -> Callable:
    from recsys_lessons import similarity

    return getattr(similarity, name)


register(Exercise(
    "01.cosine",
    "cosine(x, y): the cosine similarity of two 1-D numpy arrays; 0 when either is all zeros.",
    reference=lambda x, y: _lesson01_reference("cosine")(x, y),
    make_inputs=_random_vector_pair,
))
register(Exercise(
    "01.jaccard",
    "jaccard(a, b): |a ∩ b| / |a ∪ b| for two Python sets; 0 when both are empty.",
    reference=_jaccard_of_sets,
    make_inputs=_random_set_pair,
))
register(Exercise(
    "01.pearson_co_rated",
    "pearson_co_rated(x, y): Pearson correlation over the positions both vectors rated "
    "(non-zero), with means over those positions; 0 when fewer than two are co-rated or "
    "either side is constant there.",
    reference=lambda x, y: _lesson01_reference("pearson")(x, y, co_rated=True),
    make_inputs=_random_vector_pair,
))
register(Exercise(
    "01.most_similar",
    "most_similar(matrix, row, k): the indices of the k rows most cosine-similar to `row`, "
    "most similar first, never `row` itself; ties go to the lower index.",
    reference=_most_similar_rows,
    make_inputs=_random_matrix_row_k,
))


# --------------------------------------------------------------------------- lesson 02


def _decade_labels(years: pd.Series) -> pd.Series:
    def label(year):
        return None if pd.isna(year) else f"{int(year) // 10 * 10}s"

    return pd.Series([label(year) for year in years], index=years.index, dtype=object)


def _same_labels(expected: pd.Series, got) -> bool:
    if not isinstance(got, pd.Series) or len(got) != len(expected):
        return False
    return [None if pd.isna(value) else value for value in got.tolist()] == expected.tolist()


def _user_profile(item_features: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    deviations = ratings - ratings.mean()
    if np.abs(deviations).sum() == 0:
        return item_features.mean(axis=0)
    return deviations @ item_features / np.abs(deviations).sum()


def _rank_by_profile(profile: np.ndarray, item_features: np.ndarray, k: int) -> list[int]:
    from recsys_lessons.similarity import cosine

    scores = cosine(profile[None, :], item_features)[0]
    return np.argsort(-scores, kind="stable")[:k].tolist()


def _random_years(rng: np.random.Generator) -> tuple[pd.Series]:
    years = rng.integers(1920, 2000, int(rng.integers(1, 8)))
    series = pd.Series(years, dtype="Int64")
    series[rng.random(len(series)) < 0.2] = pd.NA
    return (series,)


def _random_features_and_ratings(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    num_items = int(rng.integers(1, 6))
    features = rng.integers(0, 2, (num_items, int(rng.integers(2, 6)))).astype(float)
    ratings = rng.integers(1, 6, num_items).astype(float)
    if rng.random() < 0.2:
        ratings[:] = ratings[0]
    return features, ratings


def _random_profile_features_k(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    num_items = int(rng.integers(2, 8))
    num_features = int(rng.integers(2, 5))
    features = rng.integers(0, 3, (num_items, num_features)).astype(float)
    profile = rng.normal(size=num_features).round(2)
    return profile, features, int(rng.integers(1, num_items + 1))


register(Exercise(
    "02.decade",
    "decade(years): for a pandas Series of release years (may hold missing values), a "
    "Series of labels such as '1970s', with None where the year is missing.",
    reference=_decade_labels,
    make_inputs=_random_years,
    compare=_same_labels,
))
register(Exercise(
    "02.user_profile",
    "user_profile(item_features, ratings): p_u = Σ_i (r_ui − r̄_u) · x_i / Σ_i |r_ui − r̄_u| "
    "over the rows x_i of item_features; the plain mean of the rows when all ratings are equal.",
    reference=_user_profile,
    make_inputs=_random_features_and_ratings,
    compare=_allclose,
))
register(Exercise(
    "02.rank_by_profile",
    "rank_by_profile(profile, item_features, k): the row indices of the k items whose feature "
    "vectors have the highest cosine with the profile, best first; ties to the lower index.",
    reference=_rank_by_profile,
    make_inputs=_random_profile_features_k,
))


# --------------------------------------------------------------------------- lesson 03


def _user_based_scores(matrix: np.ndarray, user: int, k: int) -> np.ndarray:
    from recsys_lessons.similarity import cosine

    similarities = cosine(matrix)[user]
    similarities[user] = -np.inf  # A user is not their own neighbour.
    neighbours = np.argsort(-similarities, kind="stable")[:k]
    return similarities[neighbours] @ matrix[neighbours]


def _random_user_item_k(rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    num_users = int(rng.integers(2, 7))
    matrix = rng.integers(0, 2, (num_users, int(rng.integers(2, 6)))).astype(float)
    return matrix, int(rng.integers(0, num_users)), int(rng.integers(1, num_users))


def _shrink(similarity: np.ndarray, common: np.ndarray, shrinkage: float) -> np.ndarray:
    return similarity * common / (common + shrinkage)


def _random_similarity_common_shrinkage(rng: np.random.Generator):
    size = int(rng.integers(1, 6))
    similarity = rng.uniform(-1, 1, size).round(3)
    common = rng.integers(1, 50, size).astype(float)
    return similarity, common, float(rng.choice([0.0, 1.0, 10.0, 100.0]))


def _baseline_adjusted(baseline, similarities, neighbour_ratings, neighbour_baselines) -> float:
    weights = np.abs(similarities).sum()
    if weights == 0:
        return float(baseline)
    residuals = neighbour_ratings - neighbour_baselines
    return float(baseline + similarities @ residuals / weights)


def _random_neighbourhood(rng: np.random.Generator):
    size = int(rng.integers(0, 5))
    return (
        round(float(rng.uniform(2, 4.5)), 2),
        rng.uniform(0, 1, size).round(2) * (rng.random() > 0.1),
        rng.integers(1, 6, size).astype(float),
        rng.uniform(2, 4.5, size).round(2),
    )


register(Exercise(
    "03.user_based_scores",
    "user_based_scores(matrix, user, k): for a dense users × items 0/1 array, the score of "
    "every item for `user`: Σ over the k users most cosine-similar to `user` (never the user "
    "itself; ties to the lower index) of sim(user, v) · r_vi.",
    reference=_user_based_scores,
    make_inputs=_random_user_item_k,
    compare=_allclose,
))
register(Exercise(
    "03.shrink",
    "shrink(similarity, common, shrinkage): sim · n / (n + λ) elementwise, for arrays of "
    "similarities and numbers of common raters n, and λ = shrinkage.",
    reference=_shrink,
    make_inputs=_random_similarity_common_shrinkage,
    compare=_allclose,
))
register(Exercise(
    "03.baseline_adjusted",
    "baseline_adjusted(baseline, similarities, neighbour_ratings, neighbour_baselines): "
    "r̂_ui = b_ui + Σ sim · (r − b) / Σ |sim| over the neighbours; b_ui alone when there are "
    "no neighbours or all similarities are 0.",
    reference=_baseline_adjusted,
    make_inputs=_random_neighbourhood,
))


# --------------------------------------------------------------------------- lesson 04


def _predict_biased(global_mean, user_bias, item_bias, user_factors, item_factors, users, items):
    return (global_mean + user_bias[users] + item_bias[items]
            + np.sum(user_factors[users] * item_factors[items], axis=1))


def _random_factor_model(rng: np.random.Generator):
    num_users, num_items, factors = (int(value) for value in rng.integers(1, 5, 3))
    pairs = int(rng.integers(1, 6))
    return (
        round(float(rng.uniform(3, 4)), 2),
        rng.normal(0, 0.3, num_users).round(2),
        rng.normal(0, 0.3, num_items).round(2),
        rng.normal(0, 0.5, (num_users, factors)).round(2),
        rng.normal(0, 0.5, (num_items, factors)).round(2),
        rng.integers(0, num_users, pairs),
        rng.integers(0, num_items, pairs),
    )


def _sgd_step(rating, global_mean, user_bias, item_bias, p, q, learning_rate, regularization):
    error = rating - (global_mean + user_bias + item_bias + p @ q)
    return (
        user_bias + learning_rate * (error - regularization * user_bias),
        item_bias + learning_rate * (error - regularization * item_bias),
        p + learning_rate * (error * q - regularization * p),
        q + learning_rate * (error * p - regularization * q),
    )


def _random_sgd_state(rng: np.random.Generator):
    factors = int(rng.integers(1, 4))
    return (
        float(rng.integers(1, 6)), 3.5, round(float(rng.normal(0, 0.3)), 2),
        round(float(rng.normal(0, 0.3)), 2), rng.normal(0, 0.5, factors).round(2),
        rng.normal(0, 0.5, factors).round(2), float(rng.choice([0.01, 0.05, 0.1])),
        float(rng.choice([0.0, 0.02, 0.1])),
    )


def _same_sgd_state(expected, got) -> bool:
    try:
        parts = [np.atleast_1d(np.asarray(part, dtype=float)) for part in got]
    except (TypeError, ValueError):
        return False
    return len(parts) == 4 and _allclose(
        np.concatenate([np.atleast_1d(part) for part in expected]), np.concatenate(parts)
    )


def _bpr_loss(positive_scores: np.ndarray, negative_scores: np.ndarray) -> float:
    difference = positive_scores - negative_scores
    return float(np.mean(np.log1p(np.exp(-difference))))  # −ln σ(x) = ln(1 + e⁻ˣ)


def _random_score_pairs(rng: np.random.Generator):
    size = int(rng.integers(1, 8))
    return rng.normal(0, 2, size).round(2), rng.normal(0, 2, size).round(2)


def _ease_weights(interactions: np.ndarray, regularization: float) -> np.ndarray:
    gram = interactions.T @ interactions + regularization * np.eye(interactions.shape[1])
    inverse = np.linalg.inv(gram)
    weights = -inverse / np.diag(inverse)
    np.fill_diagonal(weights, 0.0)
    return weights


def _random_interactions_and_lambda(rng: np.random.Generator):
    matrix = rng.integers(0, 2, (int(rng.integers(2, 7)), int(rng.integers(2, 6)))).astype(float)
    return matrix, float(rng.choice([0.5, 1.0, 10.0]))


register(Exercise(
    "04.predict",
    "predict_rating(global_mean, user_bias, item_bias, user_factors, item_factors, users, "
    "items): r̂_ui = μ + b_u + b_i + p_u·q_i for paired index arrays users and items.",
    reference=_predict_biased,
    make_inputs=_random_factor_model,
    compare=_allclose,
))
register(Exercise(
    "04.sgd_step",
    "sgd_step(rating, global_mean, user_bias, item_bias, p, q, learning_rate, regularization): "
    "one Funk SVD step on one rating; returns the new (user_bias, item_bias, p, q), every "
    "update computed from the old values.",
    reference=_sgd_step,
    make_inputs=_random_sgd_state,
    compare=_same_sgd_state,
))
register(Exercise(
    "04.bpr_loss",
    "bpr_loss(positive_scores, negative_scores): the mean of −ln σ(x̂_ui − x̂_uj) over paired "
    "scores of positives and sampled negatives.",
    reference=_bpr_loss,
    make_inputs=_random_score_pairs,
))
register(Exercise(
    "04.ease",
    "ease_weights(X, regularization): EASE's B for a dense 0/1 users × items array X: "
    "P = (XᵀX + λI)⁻¹, B_ij = −P_ij / P_jj, diag(B) = 0.",
    reference=_ease_weights,
    make_inputs=_random_interactions_and_lambda,
    compare=_allclose,
))


# --------------------------------------------------------------------------- lesson 05


def _gmf_score(p_u: np.ndarray, q_i: np.ndarray, h: np.ndarray, bias: float) -> float:
    return float(1 / (1 + np.exp(-(h @ (p_u * q_i) + bias))))


def _random_gmf(rng: np.random.Generator):
    size = int(rng.integers(1, 6))
    vectors = rng.normal(0, 1, (3, size)).round(2)
    return vectors[0], vectors[1], vectors[2], round(float(rng.normal()), 2)


def _binary_cross_entropy(labels: np.ndarray, predictions: np.ndarray) -> float:
    return float(-np.mean(labels * np.log(predictions) + (1 - labels) * np.log(1 - predictions)))


def _random_labels_predictions(rng: np.random.Generator):
    size = int(rng.integers(1, 8))
    return rng.integers(0, 2, size).astype(float), rng.uniform(0.02, 0.98, size).round(3)


def _sampled_metrics(ranks: np.ndarray, k: int) -> tuple[float, float]:
    hit = ranks <= k
    return float(hit.mean()), float(np.where(hit, 1 / np.log2(ranks + 1), 0.0).mean())


def _random_ranks(rng: np.random.Generator):
    return rng.integers(1, 101, int(rng.integers(1, 9))), int(rng.integers(1, 21))


register(Exercise(
    "05.gmf_score",
    "gmf_score(p_u, q_i, h, bias): GMF's prediction σ(hᵀ(p_u ⊙ q_i) + b) for one pair.",
    reference=_gmf_score,
    make_inputs=_random_gmf,
))
register(Exercise(
    "05.binary_cross_entropy",
    "binary_cross_entropy(labels, predictions): −mean(y ln ŷ + (1 − y) ln(1 − ŷ)).",
    reference=_binary_cross_entropy,
    make_inputs=_random_labels_predictions,
))
register(Exercise(
    "05.sampled_metrics",
    "sampled_metrics(ranks, k): (HR@k, NDCG@k) of the held-out items, given the rank (1 = "
    "best) of each held-out item among its candidates; NDCG of one relevant item is "
    "1 / log2(rank + 1) when rank ≤ k, else 0.",
    reference=_sampled_metrics,
    make_inputs=_random_ranks,
    compare=lambda expected, got: _allclose(np.array(expected), got),
))


# --------------------------------------------------------------------------- lesson 11


def _items_to_request(train: pd.DataFrame, k: int) -> int:
    return int(k + train.groupby("user_id").size().max())


def _random_train_and_k(rng: np.random.Generator):
    return random_ratings(rng), int(rng.integers(1, 11))


def _drop_seen_and_rank(candidates: pd.DataFrame, train: pd.DataFrame, k: int) -> pd.DataFrame:
    seen = candidates.merge(train[["user_id", "item_id"]], how="left", indicator=True)
    unseen = seen[seen["_merge"] == "left_only"].drop(columns="_merge")
    unseen = unseen.sort_values(["user_id", "score", "item_id"], ascending=[True, False, True])
    top = unseen.groupby("user_id").head(k).copy()
    top["rank"] = top.groupby("user_id").cumcount() + 1
    return top[["user_id", "item_id", "score", "rank"]].reset_index(drop=True)


def _random_candidates_train_k(rng: np.random.Generator):
    train = random_ratings(rng)
    users = train["user_id"].unique()
    candidates = pd.DataFrame(
        [(user, 10 + item, round(float(rng.random()), 3)) for user in users for item in
         rng.choice(np.arange(1, 7), int(rng.integers(1, 7)), replace=False)],
        columns=["user_id", "item_id", "score"],
    )
    return candidates, train, int(rng.integers(1, 4))


def _als_user_solve(item_factors: np.ndarray, ratings: np.ndarray, regularization: float):
    factors = item_factors.shape[1]
    gram = item_factors.T @ item_factors + regularization * len(ratings) * np.eye(factors)
    return np.linalg.solve(gram, item_factors.T @ ratings)


def _random_als_problem(rng: np.random.Generator):
    num_items, factors = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    return (rng.normal(0, 1, (num_items, factors)).round(2),
            rng.integers(1, 6, num_items).astype(float), float(rng.choice([0.05, 0.1, 1.0])))


register(Exercise(
    "11.items_to_request",
    "items_to_request(train, k): how many items to ask MLlib for per user so that, after "
    "removing each user's training items, everyone still has k: k + the largest number of "
    "training rows of any user.",
    reference=_items_to_request,
    make_inputs=_random_train_and_k,
))
register(Exercise(
    "11.drop_seen_and_rank",
    "drop_seen_and_rank(candidates, train, k): from candidates (user_id, item_id, score), "
    "drop pairs present in train, keep each user's k best by score (ties: smaller item id) "
    "and return user_id, item_id, score, rank (1 = best).",
    reference=_drop_seen_and_rank,
    make_inputs=_random_candidates_train_k,
))
register(Exercise(
    "11.als_user_solve",
    "als_user_solve(item_factors, ratings, regularization): one ALS step for one user, "
    "p_u = (Q_uᵀQ_u + λ n_u I)⁻¹ Q_uᵀ r_u, with Q_u the rows of the items the user rated "
    "and n_u their number (MLlib scales λ by n_u).",
    reference=_als_user_solve,
    make_inputs=_random_als_problem,
    compare=_allclose,
))
