"""Data augmentation for sequences: more training histories from the ones we have.

A sequential model (lesson 07) learns "what comes next?" from each user's history. With few
or short histories it sees every transition only a handful of times and over-fits to the
exact order. Augmentation makes plausible variants of each history and trains on them as
well, as CL4SRec does for its contrastive views (Xie et al. 2022):

- `crop` keeps a random contiguous part, a share `keep` of the items: the model learns to
  predict from the middle of a history, not only from its start;
- `mask` hides a random share of the items. The course's models have no mask token, so the
  hidden items are dropped, which also teaches the model that an item can be skipped (a
  film the user saw but never rated);
- `reorder` shuffles a random contiguous part, a share `share` of the items: the exact order
  of nearby items matters less than which items they are.

`augment_sequences` applies them to a ratings table and returns the augmented histories as
rows of *new users* (ids above every existing one), to be added to the training data:

    augmented = augment_sequences(train, methods=("crop", "reorder"), copies=1, seed=0)
    model.fit(pd.concat([train, augmented]))

The real users keep their own histories, so recommendations and evaluation for them are
unchanged in form. Augmentation belongs to the training data only: never augment a test set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd

from recsys_lessons.data.validation import check_interactions, check_positive_int, seeded_generator

#: Default strength of each augmentation: the share of items cropped to, masked or reordered.
DEFAULT_RATIOS = {"crop": 0.6, "mask": 0.3, "reorder": 0.3}


def _check_ratio(value, name: str) -> float:
    # numbers.Real, so that numpy values such as np.float32(0.5) are accepted too.
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value <= 1:
        raise ValueError(f"{name} must be a number in (0, 1], got {value!r}.")
    return float(value)


def _as_sequence(sequence) -> np.ndarray:
    array = np.asarray(sequence)
    if array.ndim != 1:
        raise ValueError(f"A sequence must be one-dimensional, got shape {array.shape}.")
    return array


def crop(sequence, keep: float, rng: np.random.Generator) -> np.ndarray:
    """A random contiguous part of `sequence` with max(1, round(keep · n)) of its n items.

    >>> crop([1, 2, 3, 4, 5], keep=0.6, rng=np.random.default_rng(0)).tolist()
    [3, 4, 5]
    """
    sequence = _as_sequence(sequence)
    keep = _check_ratio(keep, "keep")
    length = max(1, int(round(keep * len(sequence)))) if len(sequence) else 0
    start = int(rng.integers(len(sequence) - length + 1))
    return sequence[start : start + length].copy()


def mask(sequence, share: float, rng: np.random.Generator) -> np.ndarray:
    """`sequence` without round(share · n) of its items, chosen at random; the order is kept.

    At least one item is always kept.
    """
    sequence = _as_sequence(sequence)
    share = _check_ratio(share, "share")
    hidden = min(int(round(share * len(sequence))), max(0, len(sequence) - 1))
    dropped = rng.choice(len(sequence), size=hidden, replace=False)
    kept = np.ones(len(sequence), dtype=bool)
    kept[dropped] = False
    return sequence[kept].copy()


def reorder(sequence, share: float, rng: np.random.Generator) -> np.ndarray:
    """`sequence` with a random contiguous part of round(share · n) items shuffled.

    The items are the same as before; only the order inside that part changes.
    """
    sequence = _as_sequence(sequence).copy()
    share = _check_ratio(share, "share")
    length = int(round(share * len(sequence)))
    if length < 2:
        return sequence
    start = int(rng.integers(len(sequence) - length + 1))
    sequence[start : start + length] = rng.permutation(sequence[start : start + length])
    return sequence


AUGMENTATIONS = {"crop": crop, "mask": mask, "reorder": reorder}


def augment_sequences(
    ratings: pd.DataFrame,
    methods: Sequence[str] = ("crop", "mask", "reorder"),
    copies: int = 1,
    ratios: Mapping[str, float] | None = None,
    min_length: int = 3,
    seed: int = 0,
    first_user_id: int | None = None,
) -> pd.DataFrame:
    """Augmented copies of every user's history, as rows of new users.

    Each user's history (items by timestamp, ties by item id, as `user_histories` orders
    them) of at least `min_length` items gets `copies` augmented versions, each made by one
    of `methods` chosen at random. A version with fewer than 2 items teaches no transition
    and is left out.

    Parameters
    ----------
    ratings:
        Training rows with user_id, item_id and timestamp (a rating column is carried along
        with its item).
    methods:
        Names among "crop", "mask" and "reorder".
    copies:
        Augmented versions per user.
    ratios:
        The strength of each method (see `DEFAULT_RATIOS`); missing methods keep the default.
    min_length:
        Shorter histories are not augmented.
    seed:
        Seed of every random choice; the same seed gives the same rows.
    first_user_id:
        The id of the first new user; None means one above the largest user id of `ratings`.
        When other data has users that `ratings` lacks (a temporal split's test set can),
        pass one above the largest id of all of it, or augmented rows would join them.

    Returns
    -------
    DataFrame with the columns user_id, item_id, (rating,) timestamp. The new user ids are
    integers from `first_user_id` (by default one above the largest of `ratings`) on,
    numbered in order, in the dtype of `ratings`' user_id; the timestamps are
    the positions 0, 1, 2, ... of each version, so the version is read in its new order.
    With datetime timestamps, convert them to numbers before concatenating these rows with
    `ratings`, e.g. ratings["timestamp"].astype("int64"), since one column cannot sort both.

    Each version is a new user, so a model that draws negatives among a user's non-items may
    draw an item the original user has but the version lost to crop or mask. And "reorder"
    leaves a history unchanged when round(share · n) < 2 (n = 3 or 4 items at the default
    share of 0.3); such a version is an exact copy, and it is kept.
    """
    check_interactions(ratings, columns=("user_id", "item_id", "timestamp"))
    if isinstance(methods, str):
        methods = (methods,)
    methods = tuple(methods)
    unknown = [name for name in methods if name not in AUGMENTATIONS]
    if unknown or not methods:
        raise ValueError(
            f"methods must be a non-empty list of names among {list(AUGMENTATIONS)}, got "
            f"{list(methods)}."
        )
    copies = check_positive_int(copies, "copies")
    min_length = check_positive_int(min_length, "min_length")
    strength = dict(DEFAULT_RATIOS)
    for name, value in dict(ratios or {}).items():
        if name not in AUGMENTATIONS:
            raise ValueError(f"ratios has an unknown method {name!r}; use {list(AUGMENTATIONS)}.")
        strength[name] = _check_ratio(value, f"ratios[{name!r}]")
    user_ids = ratings["user_id"].to_numpy()
    if not np.issubdtype(user_ids.dtype, np.integer):
        raise ValueError(
            "augment_sequences gives the new users integer ids above the existing ones, so "
            f"user_id must hold integers; got dtype {user_ids.dtype}."
        )

    has_rating = "rating" in ratings.columns
    ordered = ratings.sort_values(["user_id", "timestamp", "item_id"], kind="stable")
    # Each row's position in the ordered table; an augmentation permutes positions, so items
    # and ratings travel together.
    users = ordered["user_id"].to_numpy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    ends = np.r_[starts[1:], len(users)]
    rng = seeded_generator(seed)
    next_user = int(user_ids.max()) + 1
    if first_user_id is not None:
        if (isinstance(first_user_id, bool) or not isinstance(first_user_id, Integral)
                or first_user_id < next_user):
            raise ValueError(
                f"first_user_id must be an integer above every user id of ratings (at least "
                f"{next_user}), got {first_user_id!r}."
            )
        next_user = int(first_user_id)
    new_users, positions = [], []
    for start, end in zip(starts, ends, strict=True):
        if end - start < min_length:
            continue
        history = np.arange(start, end)
        for _ in range(copies):
            method = methods[int(rng.integers(len(methods)))]
            version = AUGMENTATIONS[method](history, strength[method], rng)
            if len(version) < 2:
                continue
            new_users.append(np.full(len(version), next_user))
            positions.append(version)
            next_user += 1
    columns = ["user_id", "item_id", "rating", "timestamp"] if has_rating else [
        "user_id", "item_id", "timestamp"]
    if not positions:
        return pd.DataFrame({name: pd.Series(dtype=ordered[name].dtype) for name in columns})
    positions = np.concatenate(positions)
    if next_user - 1 > np.iinfo(user_ids.dtype).max:
        # Cast down, the new ids would wrap around onto existing users.
        fix = ("convert it first, ratings.astype({'user_id': 'int64'})"
               if np.iinfo(user_ids.dtype).max < np.iinfo(np.int64).max
               else "pass a smaller first_user_id")
        raise ValueError(
            f"The new user ids reach {next_user - 1}, more than user_id's dtype "
            f"{user_ids.dtype} holds; {fix}."
        )
    result = {
        "user_id": np.concatenate(new_users).astype(user_ids.dtype),
        "item_id": ordered["item_id"].to_numpy()[positions],
    }
    if has_rating:
        result["rating"] = ordered["rating"].to_numpy()[positions]
    result["timestamp"] = np.concatenate([np.arange(len(part)) for part in new_users])
    return pd.DataFrame(result)[columns]


__all__ = ["AUGMENTATIONS", "DEFAULT_RATIOS", "augment_sequences", "crop", "mask", "reorder"]
