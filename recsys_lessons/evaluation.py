"""Evaluate recommendations held in DataFrames, and models under the course's protocols.

- ``ranking_metrics(recommendations, test, k)``: every ranking metric for ready-made lists.
- ``evaluate_ranking(model, train, test, k, protocol)``: recommend, then measure. The
  ``"full"`` protocol ranks every item the user has not seen; ``"sampled"`` ranks each held-out
  item among 99 items the user never rated (the protocol of many neural papers, which lesson 08
  shows can reorder models).
- ``evaluate_rating(model, test)``: RMSE and MAE of predicted ratings.
- ``cross_validate_rating(make_model, ratings, folds)``: RMSE and MAE over k folds.
- ``bootstrap_interval`` and ``paired_comparison``: is a difference more than noise?

``ranking_metrics`` computes the ranking metrics of ``recsys_lessons.metrics`` for a whole
test set at once. It never loops over users in Python: ids become integer codes, every
(user, item) pair becomes one int64 key, and hits are found by binary search in the sorted
test keys. The per-user values come from the very same hit-matrix functions that the
list-based metrics use, so both give identical numbers.
"""

import time

import numpy as np
import pandas as pd

from recsys_lessons.data.interactions import id_kind
from recsys_lessons.data.sampling import candidate_sets
from recsys_lessons.data.splits import k_fold_splits
from recsys_lessons.data.validation import check_interactions, check_positive_int, seeded_generator
from recsys_lessons.metrics import (
    _average_precision_from_hits,
    _check_k,
    _f1_from_hits,
    _hit_rate_from_hits,
    _ndcg_from_hits,
    _precision_from_hits,
    _recall_from_hits,
    _reciprocal_rank_from_hits,
    mae,
    rmse,
)

PROTOCOLS = ("full", "sampled")


def _check_columns(frame: pd.DataFrame, name: str, required: list[str]) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing the column(s) {missing}; it has {list(frame.columns)}. "
            f"Rename your columns to {required}."
        )
    for column in ("user_id", "item_id"):
        if frame[column].isna().any():
            raise ValueError(
                f"{name}.{column} contains missing values (NaN/None); drop those rows first."
            )


def _factorize_together(
    first: pd.Series, second: pd.Series
) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Give equal ids in both Series the same integer code 0..n-1; return codes and the ids."""
    codes, uniques = pd.factorize(pd.concat([first, second], ignore_index=True))
    return codes[: len(first)], codes[len(first) :], pd.Index(uniques)


def _has_duplicates(sorted_values: np.ndarray) -> bool:
    return bool(np.any(sorted_values[1:] == sorted_values[:-1]))


def _positions_within_user(user_codes: np.ndarray, ranks: np.ndarray) -> tuple:
    """Sort rows by (user, rank) and return that order and each row's 0-based list position."""
    order = np.lexsort((ranks, user_codes))
    sorted_users = user_codes[order]
    sorted_ranks = ranks[order]
    same_user_as_previous = sorted_users[1:] == sorted_users[:-1]
    if np.any(same_user_as_previous & (sorted_ranks[1:] == sorted_ranks[:-1])):
        raise ValueError(
            "recommendations gives the same rank to two items of one user; give every item "
            "of a user's list its own rank (1 = best)."
        )
    # A user's block starts where the user code changes; position = row index - block start.
    is_block_start = np.ones(len(order), dtype=bool)
    is_block_start[1:] = ~same_user_as_previous
    block_start = np.maximum.accumulate(np.where(is_block_start, np.arange(len(order)), 0))
    return order, np.arange(len(order)) - block_start


def ranking_metrics(
    recommendations: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    relevance_threshold: float | None = None,
    per_user: bool = False,
) -> pd.Series | pd.DataFrame:
    """All ranking metrics of ``recsys_lessons.metrics`` for recommendations in a DataFrame.

    ``recommendations`` has the columns user_id, item_id and rank (1 = best; extra columns
    such as score are ignored). Only the order of the ranks matters: a user's items are sorted
    by rank and the first k are evaluated, so gaps in the ranks are fine.
    ``test`` has the columns user_id and item_id and, optionally, rating. Every test row is a
    relevant item, or, with ``relevance_threshold``, every test row with
    rating >= relevance_threshold.

    Users evaluated are exactly the users with at least one relevant test item. A user who has
    relevant test items but no recommendations counts with zero hits (every metric 0 for that
    user); recommendations for users without relevant test items are ignored.

    Returns a float Series named "metrics" with the means over evaluated users of
    precision@k, recall@k, f1@k, map@k, ndcg@k, hit_rate@k and mrr@k (labelled with the actual
    k, e.g. "ndcg@10"), and "users", the number of users evaluated. With ``per_user=True`` it
    returns a DataFrame instead, one row per evaluated user (indexed by user_id) and one
    column per metric: the input of confidence intervals and paired tests. MAP uses the default
    min(k, |R_u|) normalisation; see ``recsys_lessons.metrics.average_precision_at_k``.

    Raises ValueError for missing columns, missing ids, a (user, item) pair that appears twice
    in either frame, two items with the same rank for one user, a non-positive or
    non-integer k, and when no user has a relevant test item.
    """
    _check_k(k)
    _check_columns(recommendations, "recommendations", ["user_id", "item_id", "rank"])
    _check_columns(test, "test", ["user_id", "item_id"])
    if relevance_threshold is not None and "rating" not in test.columns:
        raise ValueError(
            "relevance_threshold needs a rating column in test; add it or leave "
            "relevance_threshold=None to count every test row as relevant."
        )
    ranks = recommendations["rank"].to_numpy(dtype=float)
    if np.isnan(ranks).any():
        raise ValueError("recommendations.rank contains missing values; give every row a rank.")

    # Integer codes shared by both frames, then one int64 key per (user, item) pair.
    test_users, recommended_users, user_ids = _factorize_together(
        test["user_id"], recommendations["user_id"]
    )
    test_items, recommended_items, item_ids = _factorize_together(
        test["item_id"], recommendations["item_id"]
    )
    num_users, num_items = len(user_ids), len(item_ids)
    # Lists for none of the test users (or of none of the test items) score 0 everywhere;
    # when the kinds of ids differ too, the cause is almost surely ids such as '1' against 1,
    # so say so instead of returning zeros.
    for column, recommended_codes, test_codes in (
        ("user_id", recommended_users, test_users), ("item_id", recommended_items, test_items)
    ):
        recommended_kind = id_kind(recommendations[column])
        test_kind = id_kind(test[column])
        if (len(recommended_codes) and recommended_kind != test_kind
                and not np.isin(recommended_codes, test_codes).any()):
            raise ValueError(
                f"no {column} of recommendations appears in test's {column} column, so every "
                "metric would be 0. Check that both use the same ids of the same type (e.g. 1 "
                f"and not '1'); recommendations has {recommended_kind} ids, test {test_kind}."
            )
    test_keys = test_users.astype(np.int64) * num_items + test_items
    recommended_keys = recommended_users.astype(np.int64) * num_items + recommended_items
    if _has_duplicates(np.sort(test_keys)):
        raise ValueError(
            "test contains the same (user_id, item_id) pair more than once; drop duplicates "
            "first, e.g. test.drop_duplicates(['user_id', 'item_id'])."
        )
    if _has_duplicates(np.sort(recommended_keys)):
        raise ValueError(
            "recommendations contains the same (user_id, item_id) pair more than once; a "
            "ranked list must hold each item at most once."
        )

    # Keep only the relevant test rows and count them per user: |R_u|.
    if relevance_threshold is not None:
        is_relevant = (test["rating"] >= relevance_threshold).to_numpy(dtype=bool, na_value=False)
        test_users, test_keys = test_users[is_relevant], test_keys[is_relevant]
    num_relevant = np.bincount(test_users, minlength=num_users)
    if not np.any(num_relevant > 0):
        raise ValueError(
            "no user has a relevant test item, so there is nothing to evaluate; check test "
            "and relevance_threshold."
        )

    # A recommendation is a hit when its key is among the relevant test keys (binary search).
    relevant_keys = np.sort(test_keys)
    positions = np.searchsorted(relevant_keys, recommended_keys)
    found = relevant_keys[np.minimum(positions, len(relevant_keys) - 1)] == recommended_keys

    # Scatter the hits of each user's top k into a (num_users × k) matrix.
    order, list_positions = _positions_within_user(recommended_users, ranks)
    in_top_k = list_positions < k
    hits = np.zeros((num_users, k), dtype=bool)
    hits[recommended_users[order][in_top_k], list_positions[in_top_k]] = found[order][in_top_k]

    evaluated = num_relevant > 0
    hits, num_relevant = hits[evaluated], num_relevant[evaluated]
    values = {
        f"precision@{k}": _precision_from_hits(hits),
        f"recall@{k}": _recall_from_hits(hits, num_relevant),
        f"f1@{k}": _f1_from_hits(hits, num_relevant),
        f"map@{k}": _average_precision_from_hits(hits, num_relevant),
        f"ndcg@{k}": _ndcg_from_hits(hits, num_relevant),
        f"hit_rate@{k}": _hit_rate_from_hits(hits),
        f"mrr@{k}": _reciprocal_rank_from_hits(hits),
    }
    if per_user:
        return pd.DataFrame(values, index=user_ids[evaluated].rename("user_id"))
    summary = {label: float(user_values.mean()) for label, user_values in values.items()}
    summary["users"] = float(len(hits))
    return pd.Series(summary, name="metrics")


def _relevant_rows(test: pd.DataFrame, relevance_threshold: float | None) -> pd.DataFrame:
    if relevance_threshold is None:
        return test
    if "rating" not in test.columns:
        raise ValueError(
            "relevance_threshold needs a rating column in test; add it or leave "
            "relevance_threshold=None to count every test row as relevant."
        )
    return test[test["rating"] >= relevance_threshold]


def _check_disjoint(train: pd.DataFrame, test: pd.DataFrame) -> None:
    """Raise if a (user_id, item_id) pair is in both train and test: that is a leak."""
    users, _ = pd.factorize(pd.concat([train["user_id"], test["user_id"]], ignore_index=True))
    items, item_ids = pd.factorize(
        pd.concat([train["item_id"], test["item_id"]], ignore_index=True)
    )
    keys = users.astype(np.int64) * len(item_ids) + items
    in_train = np.isin(keys[len(train):], keys[: len(train)])
    if in_train.any():
        example = test.loc[in_train, ["user_id", "item_id"]].iloc[0].tolist()
        raise ValueError(
            f"{int(in_train.sum())} (user_id, item_id) pair(s) of test are also in train, e.g. "
            f"{example}: the model has seen the answers. Split the data so that each row is in "
            "exactly one part (recsys_lessons.data.stratified_split, for example)."
        )


def evaluate_ranking(
    model,
    train: pd.DataFrame,
    test: pd.DataFrame,
    k: int = 10,
    protocol: str = "full",
    relevance_threshold: float | None = None,
    num_negatives: int = 99,
    seed: int = 0,
    per_user: bool = False,
) -> pd.Series | pd.DataFrame:
    """Measure a fitted model's top-k lists on held-out data.

    Parameters
    ----------
    model:
        A fitted model with the course's contract.
    train, test:
        The split the model was fitted on (train) and the held-out rows (test).
    protocol:
        ``"full"``: each test user gets k recommendations from every item they did not
        interact with in train, scored with `ranking_metrics`. Test users the model does not
        know (absent from train) are left out, unless the model has a fallback for them.
        ``"sampled"``: each relevant test row is one case: the held-out item is ranked among
        `num_negatives` items the user never rated (in train or test), drawn with `seed`.
        Reports HR@k, NDCG@k and MRR@k over cases. A negative scored equal to the held-out
        item counts as ranked above it, so a model cannot gain from ties. Every test user
        must be known to the model, unless it has a fallback for unknown users; otherwise
        `UnknownIdError` says which users are not.
    relevance_threshold:
        When given, only test rows with rating >= relevance_threshold are relevant.
    per_user:
        Return one row per user ("full") or per case ("sampled") instead of the means.

    Returns
    -------
    pandas Series of metric values (and the number of users or cases evaluated), or with
    ``per_user=True`` a DataFrame of the values behind those means.

    Raises
    ------
    ValueError
        If a (user_id, item_id) pair is in both train and test, or if the model scores a
        candidate pair as NaN (a NaN would otherwise rank first, since no comparison with
        it is true).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")
    _check_k(k)
    if hasattr(model, "_check_fitted"):
        model._check_fitted()  # A model never fitted, or whose last fit failed.
    check_interactions(train, name="train")
    check_interactions(test, name="test")
    _check_disjoint(train, test)
    relevant = _relevant_rows(test, relevance_threshold)
    if relevant.empty:
        raise ValueError(
            f"no test row has a rating >= relevance_threshold ({relevance_threshold}), so "
            "there is nothing to evaluate; lower the threshold or check test's ratings."
        )
    users = pd.unique(relevant["user_id"])
    if protocol == "full":
        if not model.supports_unknown_users:
            users = users[model.user_map_.to_index(users, unknown="mask") >= 0]
        if len(users) == 0:
            raise ValueError(
                f"none of the {relevant['user_id'].nunique()} test users is known to "
                f"{type(model).__name__} (none has a row in the data it was fitted on), so "
                "there is nothing to evaluate; fit it on the train part of the same split."
            )
        recommendations = model.recommend(users, k=k, exclude_seen=True)
        return ranking_metrics(
            recommendations, relevant[relevant["user_id"].isin(users)], k, per_user=per_user
        )

    if not model.supports_unknown_users:
        # Checked once per user here, so the error names users, not their 100 candidate rows.
        model.user_map_.to_index(users)
    # Test rows below the relevance threshold are not cases, but the user did rate those
    # items, so they must not be drawn as negatives either: they join the excluded rows.
    rated = train
    if relevance_threshold is not None:
        rated = pd.concat([train, test[~(test["rating"] >= relevance_threshold)]])
    candidates = candidate_sets(rated, relevant, num_negatives=num_negatives, seed=seed)
    scores = np.asarray(model.score(candidates["user_id"], candidates["item_id"]), dtype=float)
    if np.isnan(scores).any():
        raise ValueError(
            f"{type(model).__name__} scored {int(np.isnan(scores).sum())} candidate pair(s) as "
            "NaN; a NaN cannot be ranked. Check the model's training (a diverged loss?) and "
            "its score method."
        )
    scores = scores.reshape(len(relevant), num_negatives + 1)
    positive, negatives = scores[:, :1], scores[:, 1:]
    rank = 1 + (negatives >= positive).sum(axis=1)
    in_top_k = rank <= k
    cases = pd.DataFrame({
        f"hit_rate@{k}": in_top_k.astype(float),
        f"ndcg@{k}": np.where(in_top_k, 1 / np.log2(rank + 1), 0.0),
        f"mrr@{k}": np.where(in_top_k, 1 / rank, 0.0),
    }, index=pd.Index(relevant["user_id"].to_numpy(), name="user_id"))
    if per_user:
        return cases
    summary = cases.mean()
    summary["cases"] = float(len(cases))
    return summary.rename("metrics")


def evaluate_rating(model, test: pd.DataFrame) -> pd.Series:
    """RMSE and MAE of `model.predict` on the test ratings.

    RMSE = √(mean (r_ui − r̂_ui)²) punishes large errors more than MAE = mean |r_ui − r̂_ui|.
    """
    check_interactions(test, name="test", columns=("user_id", "item_id", "rating"))
    if not hasattr(model, "predict"):
        raise TypeError(
            f"{type(model).__name__} ranks items but does not predict ratings; use "
            "evaluate_ranking for it."
        )
    predictions = model.predict(test["user_id"].to_numpy(), test["item_id"].to_numpy())
    actual = test["rating"].to_numpy(dtype=float)
    return pd.Series(
        {"rmse": rmse(actual, predictions), "mae": mae(actual, predictions),
         "ratings": float(len(actual))},
        name="metrics",
    )


def cross_validate_rating(
    make_model, ratings: pd.DataFrame, folds: int = 5, seed: int = 0
) -> pd.DataFrame:
    """k-fold cross-validation of a rating model: RMSE, MAE and fitting time per fold.

    Parameters
    ----------
    make_model:
        A function without arguments that returns a new, unfitted model, e.g. the class
        ``BiasBaseline`` or ``lambda: ItemKNN(implicit=False)``. Every fold fits a fresh
        model, so nothing learned on one fold leaks into the next.
    ratings:
        All rows, with user_id, item_id and rating; split by `k_fold_splits(ratings, folds,
        seed)`.

    Returns
    -------
    DataFrame with one row per fold (index "fold", 1 to `folds`) and the columns rmse, mae
    and fit_seconds. ``result.mean()`` gives the cross-validated estimate and ``result.std()``
    how much it varies from fold to fold.
    """
    if not callable(make_model):
        raise TypeError(
            "make_model must be a function that returns a new model, such as the class itself "
            f"or lambda: Model(...), got {make_model!r}. Every fold needs a fresh model."
        )
    check_interactions(ratings, columns=("user_id", "item_id", "rating"))
    rows = []
    for train, test in k_fold_splits(ratings, folds=folds, seed=seed):
        model = make_model()
        if not (hasattr(model, "fit") and hasattr(model, "predict")):
            raise TypeError(
                f"make_model() returned {model!r}, which has no fit and predict methods; it "
                "must return a new, unfitted rating model."
            )
        started = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - started
        metrics = evaluate_rating(model, test)
        rows.append({"rmse": metrics["rmse"], "mae": metrics["mae"], "fit_seconds": fit_seconds})
    return pd.DataFrame(rows, index=pd.RangeIndex(1, folds + 1, name="fold"))


def bootstrap_interval(
    values, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of per-user values.

    Draw `resamples` samples of the users with replacement, take the mean of each, and
    return the (1 − confidence)/2 and (1 + confidence)/2 quantiles of those means. It says how
    much the mean would move with another sample of users of the same kind.
    """
    _check_one_value_per_user(values, "values")
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or len(values) < 2 or not np.isfinite(values).all():
        raise ValueError("values must be a 1-D array of at least two finite per-user values.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}.")
    resamples = check_positive_int(resamples, "resamples")
    rng = seeded_generator(seed)
    samples = rng.integers(0, len(values), size=(resamples, len(values)))
    means = values[samples].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)


def paired_comparison(
    first, second, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> pd.Series:
    """Is the difference between two models on the same users more than noise?

    `first` and `second` hold per-user values of one metric for the same users in the same
    order (for example two columns of `evaluate_ranking(..., per_user=True)` results aligned
    on user_id). Returns the mean difference d̄ = mean(first − second), a bootstrap confidence
    interval of d̄ and the two-sided p-value of the paired t-test (scipy's `ttest_rel`). Pairing
    matters: both models are scored on the same users, so the differences vary much less
    than the values themselves. When every difference is 0 the two models cannot be told
    apart and the p-value is 1 (the t statistic itself would be 0 / 0).
    """
    from scipy.stats import ttest_rel

    _check_one_value_per_user(first, "first")
    _check_one_value_per_user(second, "second")
    if (isinstance(first, pd.Series) and isinstance(second, pd.Series)
            and not first.index.equals(second.index)):
        # np.asarray below pairs values by position, so two Series in different user orders
        # would compare one user's value with another's.
        raise ValueError(
            "first and second are Series indexed by different users, or by the same users in "
            "a different order, so their values would be paired by position with the wrong "
            "users. Align them first, e.g. second = second.reindex(first.index)."
        )
    first = np.asarray(first, dtype=float)
    second = np.asarray(second, dtype=float)
    if first.shape != second.shape:
        raise ValueError(
            f"first and second must hold values for the same users; got shapes {first.shape} "
            f"and {second.shape}. Align them on user_id first."
        )
    differences = first - second
    low, high = bootstrap_interval(differences, confidence, resamples, seed)
    return pd.Series({
        "mean_difference": float(differences.mean()),
        "ci_low": low,
        "ci_high": high,
        "p_value": 1.0 if not differences.any() else float(ttest_rel(first, second).pvalue),
    }, name="paired comparison")


def _check_one_value_per_user(values, name: str) -> None:
    """Refuse a Series that repeats a user: its rows are not independent draws of users."""
    if isinstance(values, pd.Series) and values.index.has_duplicates:
        repeated = values.index[values.index.duplicated()][0]
        raise ValueError(
            f"{name} holds several values for the same user (e.g. {repeated!r}), such as the "
            "per-case rows of evaluate_ranking(..., protocol='sampled', per_user=True) on a "
            "split that holds out several items per user. A user's cases are not independent, "
            "so resampling them as if they were would give too narrow an interval. Average "
            f"them per user first: {name}.groupby(level=0).mean()."
        )
