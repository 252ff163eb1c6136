"""Negative sampling: items a user never interacted with, drawn at random.

Implicit feedback has only positives, so models learn by contrasting each positive with
sampled negatives, and the sampled evaluation protocol ranks a held-out item among such
negatives. A "negative" here is an item the user has no row for: not necessarily disliked,
only unobserved. Every function is seeded and never returns a known positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.interactions import interaction_matrix
from recsys_lessons.data.validation import check_interactions, check_positive_int, seeded_generator

STRATEGIES = ("uniform", "popularity")

#: Below this free mass (the chance that one draw misses all of a user's positives), a user's
#: negatives are drawn from their free items directly rather than by redrawing, which needs
#: about 1 / free mass rounds per draw: at a free mass of 4e-4 among 1,682 items, 199
#: popularity draws took 0.76 s by redrawing and 3 ms directly. No MovieLens 100K user comes
#: near it (their least free mass under popularity sampling is about 0.35).
_SCARCE_FREE_MASS = 0.1


def item_probabilities(matrix: sparse.csr_matrix, strategy: str, exponent: float = 0.75):
    """Sampling probability of each item: None (uniform) or proportional to count^exponent.

    The exponent 0.75 (from word2vec) flattens the popularity curve so the tail still gets
    sampled; 1 samples in proportion to popularity, 0 is uniform.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}.")
    if strategy == "uniform":
        return None
    counts = np.asarray(matrix.getnnz(axis=0), dtype=np.float64) ** exponent
    return counts / counts.sum()


def sample_negative_indices(
    matrix: sparse.csr_matrix,
    user_indices: np.ndarray,
    num_negatives: int,
    rng: np.random.Generator,
    probabilities: np.ndarray | None = None,
) -> np.ndarray:
    """Draw `num_negatives` item indices per entry of `user_indices`, none of them positives.

    `matrix` is the users × items interaction matrix; a stored entry (u, i) means i is a
    positive of u. Returns an array of shape (len(user_indices), num_negatives). Draws are
    independent, so one user may get the same negative twice; that is the usual convention
    and keeps sampling vectorised (reject the positives, redraw only those). A user whose
    positives hold more than 90 % of the sampling probability gets draws from their free
    items, renormalised, instead: the same distribution, without thousands of redraws.
    """
    matrix = matrix.tocsr()  # Rows are read below; any sparse format is accepted.
    num_users, num_items = matrix.shape
    user_indices = np.asarray(user_indices)
    if user_indices.size and (not np.issubdtype(user_indices.dtype, np.integer)
                              or user_indices.min() < 0 or user_indices.max() >= num_users):
        # A float would be truncated and a negative index would read a row from the end,
        # and its positives would then go unrecognised: refused rather than half-checked.
        raise ValueError(
            f"user_indices must be integer row indices of the matrix, from 0 to "
            f"{num_users - 1}; got {user_indices.dtype} values from {user_indices.min()} to "
            f"{user_indices.max()}."
        )
    user_indices = user_indices.astype(np.int64)
    if num_negatives == 0:
        # Nothing to draw, so even a user who interacted with every item is fine.
        return np.empty((len(user_indices), 0), dtype=np.int64)
    if user_indices.size and (np.diff(matrix.indptr)[user_indices] >= num_items).any():
        raise ValueError(
            "A user has interacted with every item, so no negative can be drawn for them. "
            "Remove such users before sampling."
        )
    # Only the rows of the users asked for are read, with u their rank among those users: a
    # mini-batch then costs its own rows, not the whole matrix.
    asked, user_ranks = np.unique(user_indices, return_inverse=True)
    rows = matrix[asked].tocoo()
    # The free mass of a user: the probability that one draw is not one of their positives.
    if probabilities is None:
        free_mass = 1.0 - np.bincount(rows.row, minlength=len(asked)) / num_items
    else:
        probabilities = np.asarray(probabilities, dtype=np.float64)
        free_mass = 1.0 - np.bincount(rows.row, weights=probabilities[rows.col],
                                      minlength=len(asked))
        # Redrawing would never end for a user whose every remaining item has probability 0
        # (an item nobody interacted with gets 0 under popularity sampling).
        if (free_mass <= 1e-12).any():
            raise ValueError(
                "A user has interacted with every item that has a sampling probability above 0, "
                "so no negative can be drawn for them. Sample uniformly, or remove such users."
            )
    # Sorted keys u·n_items + i of the positives allow a fast membership test.
    positive_keys = np.sort(rows.row.astype(np.int64) * num_items + rows.col)
    users = np.repeat(user_ranks.astype(np.int64), num_negatives)
    negatives = rng.choice(num_items, size=users.size, p=probabilities)

    def is_positive(user_indices_, item_indices_):
        keys = user_indices_ * num_items + item_indices_
        found = np.minimum(np.searchsorted(positive_keys, keys), len(positive_keys) - 1)
        return positive_keys[found] == keys

    # Redraw the draws that hit a positive, checking only the redrawn ones each round. A
    # user with little free mass would need many rounds (about 1 / free mass per draw), so
    # their draws are made exactly instead, below.
    scarce = free_mass < _SCARCE_FREE_MASS
    redraw = (np.flatnonzero(is_positive(users, negatives) & ~scarce[users])
              if len(positive_keys) else [])
    while len(redraw):
        negatives[redraw] = rng.choice(num_items, size=len(redraw), p=probabilities)
        redraw = redraw[is_positive(users[redraw], negatives[redraw])]
    for rank in np.flatnonzero(scarce):
        # The same distribution as redrawing until a draw is free: the probabilities of the
        # user's free items, renormalised.
        free_items = np.setdiff1d(np.arange(num_items), rows.col[rows.row == rank])
        free_probabilities = None
        if probabilities is not None:
            free_probabilities = probabilities[free_items] / probabilities[free_items].sum()
        slots = np.flatnonzero(users == rank)
        negatives[slots] = rng.choice(free_items, size=len(slots), p=free_probabilities)
    return negatives.reshape(len(user_indices), num_negatives)


def sample_negatives(
    interactions: pd.DataFrame,
    num_negatives: int = 1,
    strategy: str = "uniform",
    seed: int = 0,
) -> pd.DataFrame:
    """For every positive row, draw `num_negatives` items the user never interacted with.

    Parameters
    ----------
    interactions:
        Positive (user_id, item_id) rows; the catalogue is every item that appears in them.
    strategy:
        ``"uniform"`` over the catalogue, or ``"popularity"`` (probability ∝ count^0.75).

    Returns
    -------
    DataFrame with columns user_id, item_id: len(interactions) · num_negatives rows, in the
    order of `interactions`.
    """
    num_negatives = check_positive_int(num_negatives, "num_negatives")
    matrix, user_map, item_map = interaction_matrix(interactions)
    probabilities = item_probabilities(matrix, strategy)
    user_indices = user_map.to_index(interactions["user_id"].to_numpy())
    negatives = sample_negative_indices(
        matrix, user_indices, num_negatives, seeded_generator(seed), probabilities
    )
    return pd.DataFrame({
        "user_id": np.repeat(interactions["user_id"].to_numpy(), num_negatives),
        "item_id": item_map.to_ids(negatives.ravel()),
    })


def candidate_sets(
    train: pd.DataFrame, test: pd.DataFrame, num_negatives: int = 99, seed: int = 0
) -> pd.DataFrame:
    """Candidate lists for the sampled protocol: each test item plus `num_negatives` others.

    The negatives are distinct items the user rated neither in train nor in test, drawn
    uniformly from the items of train and test together.

    Returns
    -------
    DataFrame with columns case (the position of the test row), user_id, item_id and
    is_positive; for each case, the held-out item comes first, then its negatives.
    """
    num_negatives = check_positive_int(num_negatives, "num_negatives")
    check_interactions(train, name="train")
    check_interactions(test, name="test")
    both = pd.concat([train[["user_id", "item_id"]], test[["user_id", "item_id"]]])
    matrix, user_map, item_map = interaction_matrix(both.drop_duplicates())
    rng = seeded_generator(seed)
    user_indices = user_map.to_index(test["user_id"].to_numpy())
    free_items = len(item_map) - matrix.getnnz(axis=1)[user_indices]
    if (free_items < num_negatives).any():
        raise ValueError(
            f"Some users have fewer than num_negatives={num_negatives} unrated items; "
            "lower num_negatives."
        )
    # Draw a few spare negatives, then keep the first `num_negatives` distinct ones per case;
    # repeat for the rare case that still lacks enough distinct items.
    negatives = np.full((len(test), num_negatives), -1, dtype=np.int64)
    missing = np.arange(len(test))
    while missing.size:
        draws = sample_negative_indices(matrix, user_indices[missing], 2 * num_negatives, rng)
        draws = np.concatenate([negatives[missing], draws], axis=1)
        for row, case in enumerate(missing):
            unique = pd.unique(draws[row][draws[row] >= 0])[:num_negatives]
            negatives[case, : len(unique)] = unique
        missing = missing[(negatives[missing] < 0).any(axis=1)]
    items = np.concatenate(
        [item_map.to_index(test["item_id"].to_numpy())[:, None], negatives], axis=1
    )
    size = num_negatives + 1
    return pd.DataFrame({
        "case": np.repeat(np.arange(len(test)), size),
        "user_id": np.repeat(test["user_id"].to_numpy(), size),
        "item_id": item_map.to_ids(items.ravel()),
        "is_positive": np.tile(np.arange(size) == 0, len(test)),
    })

