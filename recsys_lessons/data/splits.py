"""Train/test splits. Every split is seeded, complete (each row lands in exactly one part) and
returns two DataFrames with the original columns and index.

Which split to use is part of the experiment: a random split lets the future leak into
training, a temporal split does not, and leave-one-out is the protocol of next-item papers.
Lesson 08 measures the difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys_lessons.data.validation import check_interactions, check_share, seeded_generator


def _split_by_mask(
    ratings: pd.DataFrame, is_test: np.ndarray, advice: str = "pass more rows"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows outside and inside `is_test`; an empty part is an error, not a silent result."""
    for part, rows in (("train", int((~is_test).sum())), ("test", int(is_test.sum()))):
        if rows == 0:
            raise ValueError(
                f"the split leaves {part} empty ({len(ratings)} rows in all); {advice}."
            )
    return ratings.loc[~is_test].copy(), ratings.loc[is_test].copy()


def random_split(
    ratings: pd.DataFrame, test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a uniformly random share `test_size` of all rows.

    Some users may end up with no training row, or no test row: use `stratified_split` when
    every user must be in both parts.
    """
    check_interactions(ratings)
    test_size = check_share(test_size, "test_size")
    rng = seeded_generator(seed)
    num_test = int(round(test_size * len(ratings)))
    is_test = np.zeros(len(ratings), dtype=bool)
    is_test[rng.permutation(len(ratings))[:num_test]] = True
    return _split_by_mask(ratings, is_test, "pass more rows or another test_size")


def stratified_split(
    ratings: pd.DataFrame, test_size: float = 0.25, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out a random share `test_size` of each user's rows.

    A user with n >= 2 rows gets round(test_size · n) test rows, clipped to [1, n − 1], so they
    keep at least one row in each part. A user with a single row keeps it in train.
    This is the course's standard protocol (75/25, seed 0).
    """
    check_interactions(ratings)
    test_size = check_share(test_size, "test_size")
    rng = seeded_generator(seed)
    user_codes, _ = pd.factorize(ratings["user_id"])
    # Give every row a random key, then rank rows within their user by that key: the rows
    # ranked first go to test. Sorting once is much faster than a loop over users.
    random_keys = rng.random(len(ratings))
    order = np.lexsort((random_keys, user_codes))
    counts = np.bincount(user_codes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    position_in_user = np.empty(len(ratings), dtype=np.int64)
    position_in_user[order] = np.arange(len(ratings)) - np.repeat(starts, counts)
    num_test = np.clip(np.round(test_size * counts), 1, counts - 1)
    num_test[counts < 2] = 0
    is_test = position_in_user < num_test[user_codes]
    return _split_by_mask(
        ratings, is_test, "only users with at least two rows get a test row, so pass more rows"
    )


def temporal_split(
    ratings: pd.DataFrame, test_size: float = 0.2, cutoff: float | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split at one global moment: rows at or after the cutoff timestamp are the test set.

    The cutoff is `cutoff` when given, else the (1 − test_size) quantile of the timestamps
    (``np.quantile``, which interpolates between neighbouring timestamps). When that quantile
    is itself an observed timestamp, the row at it goes to test, and so do all rows tied with
    it: the test share can be a row larger than `test_size` even without ties, and larger
    still with many equal timestamps. Nothing from the future is in train, as in a
    deployed system. Users whose rows are all after the cutoff appear only in test (cold-start
    users).
    """
    check_interactions(ratings, columns=("user_id", "item_id", "timestamp"))
    if cutoff is None:
        test_size = check_share(test_size, "test_size")
        if not pd.api.types.is_numeric_dtype(ratings["timestamp"]):
            raise ValueError(
                f"timestamp must be numeric (seconds since 1970, as in MovieLens), got "
                f"{ratings['timestamp'].dtype}; convert it first, for example "
                "frame['timestamp'] = frame['timestamp'].astype('int64') // 10**9 for datetimes."
            )
        cutoff = float(np.quantile(ratings["timestamp"].to_numpy(), 1 - test_size))
    is_test = (ratings["timestamp"] >= cutoff).to_numpy()
    return _split_by_mask(
        ratings, is_test,
        "choose a cutoff between the first and the last timestamp (equal timestamps all fall "
        "on the same side)",
    )


def leave_one_out(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out each user's latest interaction.

    Ties in timestamp are broken by item id: of the rows with the latest timestamp, the one
    with the largest item_id is held out. Users with a single row keep it in train, since
    they could not be evaluated without any history.
    """
    check_interactions(ratings, columns=("user_id", "item_id", "timestamp"))
    user_codes, _ = pd.factorize(ratings["user_id"], sort=True)
    item_codes, _ = pd.factorize(ratings["item_id"], sort=True)
    # Sort by user, then time, then item; the last row of each user's block is held out.
    order = np.lexsort((item_codes, ratings["timestamp"].to_numpy(), user_codes))
    sorted_users = user_codes[order]
    is_last_of_user = np.append(sorted_users[1:] != sorted_users[:-1], True)
    is_test = np.zeros(len(ratings), dtype=bool)
    is_test[order[is_last_of_user]] = True
    is_test &= np.bincount(user_codes)[user_codes] >= 2
    return _split_by_mask(ratings, is_test)


def validation_counts(items_per_user, fraction: float) -> np.ndarray:
    """How many items each user holds out for a Keras model's `validation_fraction`.

    round(fraction · n) of a user's n items, but never all of them, so that every user keeps
    at least one item to train on. `split_validation` draws the items; a search uses the
    counts to tell whether a share holds out anything at all.
    """
    items_per_user = np.asarray(items_per_user)
    return np.minimum(np.round(fraction * items_per_user), items_per_user - 1)


def k_fold_splits(ratings: pd.DataFrame, folds: int = 5, seed: int = 0):
    """Split the rows into `folds` parts at random and use each part once as the test set.

    Yields `folds` pairs (train, test). The rows are shuffled with `seed` and cut into parts
    whose sizes differ by at most one; every row is in exactly one test set and in the train
    set of every other fold. This is k-fold cross-validation: averaging a metric over the
    folds uses every rating for testing once, so the average varies less than the result of
    a single split. Like `random_split`, a fold may test users or items absent from its train.

    The arguments are checked when the function is called, before the first fold is made.
    """
    check_interactions(ratings)
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ValueError(f"folds must be an integer of at least 2, got {folds!r}.")
    if folds > len(ratings):
        raise ValueError(
            f"folds={folds} is more than the {len(ratings)} rows; each fold needs at least one "
            "test row."
        )
    fold_of_row = np.empty(len(ratings), dtype=np.int64)
    shuffled = seeded_generator(seed).permutation(len(ratings))
    for fold, rows in enumerate(np.array_split(shuffled, folds)):
        fold_of_row[rows] = fold
    return (_split_by_mask(ratings, fold_of_row == fold) for fold in range(folds))
