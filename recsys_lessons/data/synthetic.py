"""Synthetic interactions with the shape of real ones, at any size.

MovieLens 100K is one size. To see how a model's cost grows with the data (lesson 10) we need
the same kind of data at ten or a hundred times that size, and real data sets come with
licences and downloads. `synthetic_interactions` draws data with the two features that shape
the cost and the difficulty of recommendation:

- a long tail of item popularity: the item of popularity rank r is chosen with probability
  proportional to r^(−s) (Zipf's law with exponent s), so a few hits get most interactions;
- varied user activity: user u has n_u interactions with log n_u normally distributed (a
  lognormal), so most users have a few and some have very many.

It has no taste structure beyond popularity, so it is for measuring cost, not accuracy.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import pandas as pd

from recsys_lessons.data.validation import check_positive_int, seeded_generator

#: Rounds of redrawing repeated items before a user keeps fewer items than planned.
MAX_REDRAW_ROUNDS = 50
#: The timestamps span these seconds: September 1997 to April 1998, like MovieLens 100K.
TIMESTAMP_RANGE = (874_724_710, 893_286_638)


def _check_number(value, name: str, low: float, strictly_above: bool) -> float:
    relation = ">" if strictly_above else ">="
    is_number = not isinstance(value, bool) and isinstance(value, Real) and np.isfinite(value)
    if not is_number or not (value > low if strictly_above else value >= low):
        raise ValueError(f"{name} must be a finite number {relation} {low}, got {value!r}.")
    return float(value)


def synthetic_interactions(
    num_users: int,
    num_items: int,
    interactions_per_user: float = 20.0,
    popularity_exponent: float = 1.0,
    activity_spread: float = 1.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Draw a seeded data set of (user, item, rating, timestamp) rows with a long tail.

    1. Item popularity: items get popularity ranks r = 1..n_items in a random order, and
       weights w_i = r_i^(−s) with s = `popularity_exponent` (0 gives uniform items).
    2. User activity: n_u = round(exp(z_u)), z_u ~ N(μ, τ²) with τ = `activity_spread`
       and μ = log(m) − τ²/2, so that the mean of exp(z_u) is m = `interactions_per_user`;
       n_u is then rounded and clipped to [1, n_items], which moves the mean of n_u away
       from m when many users fall outside that range (a large spread, or m near 1 or near
       n_items).
    3. Each user's n_u distinct items are drawn with probability ∝ w_i, without
       replacement: one item at a time, a repeat is drawn again (vectorised over all users:
       each round draws more than every user misses and keeps, in order, the draws that are
       new). A user who still misses items after `MAX_REDRAW_ROUNDS` rounds (only possible
       when n_u is close to n_items and the tail is very steep) keeps fewer; every user
       keeps at least one.
    4. Ratings are 1–5 stars: round(3.5 + a_u + c_i + e_ui) clipped to [1, 5], with user and
       item offsets a_u, c_i ~ N(0, 0.5²) and noise e_ui ~ N(0, 0.8²). Timestamps are
       uniform in `TIMESTAMP_RANGE`.

    Returns a DataFrame with columns user_id (1..num_users), item_id (1..num_items; an item
    nobody drew does not appear), rating (float) and timestamp (int), sorted by user and
    timestamp, with no repeated (user_id, item_id) pair. It takes about a second for 10⁶ rows.
    """
    num_users = check_positive_int(num_users, "num_users")
    num_items = check_positive_int(num_items, "num_items")
    mean_activity = _check_number(interactions_per_user, "interactions_per_user", 0, True)
    if mean_activity > num_items:
        raise ValueError(
            f"interactions_per_user={interactions_per_user!r} is more than num_items="
            f"{num_items}: a user cannot interact with more distinct items than there are."
        )
    exponent = _check_number(popularity_exponent, "popularity_exponent", 0, False)
    spread = _check_number(activity_spread, "activity_spread", 0, False)
    rng = seeded_generator(seed)

    # 1. Zipf weights, assigned to items in a random order so that id and popularity differ.
    ranks = rng.permutation(num_items) + 1
    cumulative = np.cumsum(ranks.astype(np.float64) ** -exponent)
    cumulative /= cumulative[-1]

    # 2. Lognormal activity with the requested mean.
    location = np.log(mean_activity) - spread**2 / 2
    activity = np.clip(np.rint(np.exp(rng.normal(location, spread, num_users))), 1, num_items)
    activity = activity.astype(np.int64)

    # 3. Draw items for every user at once, more than they miss. Going through the draws in
    # order, a user keeps each draw that is new to them until they have enough: exactly
    # what drawing one item at a time, and redrawing repeats, would give.
    kept_keys = np.zeros(0, dtype=np.int64)  # u·n_items + i for every kept pair, sorted.
    missing = activity.copy()
    for _ in range(MAX_REDRAW_ROUNDS):
        if not missing.any():
            break
        users = np.repeat(np.arange(num_users), np.where(missing > 0, 2 * missing + 10, 0))
        # Inverse-CDF sampling: a uniform number falls in item i's slice of [0, 1).
        items = np.minimum(np.searchsorted(cumulative, rng.random(len(users)), side="right"),
                           num_items - 1)
        keys = users * num_items + items
        if len(kept_keys):
            found = np.minimum(np.searchsorted(kept_keys, keys), len(kept_keys) - 1)
            is_new = kept_keys[found] != keys
            users, keys = users[is_new], keys[is_new]
        # Of a pair drawn twice in this round, the earlier draw counts: a stable sort keeps
        # equal keys in draw order, so the first of each run is the earliest.
        order = np.argsort(keys, kind="stable")
        first = np.ones(len(order), dtype=bool)
        first[1:] = keys[order][1:] != keys[order][:-1]
        earliest = np.sort(order[first])
        users, keys = users[earliest], keys[earliest]
        # The draws are grouped by user; each user takes their first `missing` new ones.
        rank = np.arange(len(users)) - np.searchsorted(users, users, side="left")
        take = rank < missing[users]
        kept_keys = np.sort(np.concatenate([kept_keys, keys[take]]))
        missing -= np.bincount(users[take], minlength=num_users)
    users, items = np.divmod(kept_keys, num_items)

    # 4. Ratings and timestamps.
    user_offset = rng.normal(0.0, 0.5, num_users)
    item_offset = rng.normal(0.0, 0.5, num_items)
    noise = rng.normal(0.0, 0.8, len(users))
    ratings = np.clip(np.rint(3.5 + user_offset[users] + item_offset[items] + noise), 1, 5)
    timestamps = rng.integers(*TIMESTAMP_RANGE, size=len(users))
    order = np.lexsort((timestamps, users))
    return pd.DataFrame({
        "user_id": users[order] + 1,
        "item_id": items[order] + 1,
        "rating": ratings[order],
        "timestamp": timestamps[order],
    })


__all__ = ["synthetic_interactions"]
