"""From tidy (user_id, item_id, rating) rows to the matrices models compute with.

Learners and data live in pandas with MovieLens ids as they are; models compute on integer
indices 0..n-1 and scipy.sparse CSR matrices. `IdMap` translates between the two and says
clearly when an id is unknown; `interaction_matrix` builds the CSR matrix R with r_ui in row
u, column i.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.validation import check_interactions


class UnknownIdError(KeyError, ValueError):
    """An id that was not seen when the map was built (for example a user absent from train)."""

    def __str__(self) -> str:  # KeyError would otherwise show the message in quotes.
        return str(self.args[0])


class IdMap:
    """A two-way map between external ids (any hashable) and indices 0..n-1.

    Ids are sorted, so the same set of ids always gets the same indices.

    >>> users = IdMap(["b", "a", "b"])
    >>> users.to_index(["a", "b"]).tolist()
    [0, 1]
    >>> users.to_ids([1]).tolist()
    ['b']
    """

    def __init__(self, ids, name: str = "id"):
        self.name = name
        unique = pd.Index(pd.unique(np.asarray(ids)))
        try:
            self.index_ = unique.sort_values()
        except TypeError as error:
            # Python cannot order, say, 5 and "5"; and in one column they are two different
            # ids, which is almost never what the data means.
            examples = {type(value).__name__: value for value in unique}
            raise TypeError(
                f"The {name} values mix types, e.g. "
                f"{', '.join(f'{value!r} ({kind})' for kind, value in examples.items())}, so "
                f"they cannot be sorted, and 5 and '5' would be two different ids. Convert "
                f"them to one type first, for example "
                f"frame[{name!r}] = frame[{name!r}].astype(str)."
            ) from error

    def __len__(self) -> int:
        return len(self.index_)

    def __contains__(self, external_id) -> bool:
        return external_id in self.index_

    @property
    def ids(self) -> np.ndarray:
        return self.index_.to_numpy()

    def to_index(self, ids, unknown: str = "raise") -> np.ndarray:
        """Indices of `ids`. With ``unknown="mask"`` unknown ids give -1 instead of an error."""
        positions = self.index_.get_indexer(np.atleast_1d(np.asarray(ids)))
        if unknown == "raise" and (positions < 0).any():
            missing = np.atleast_1d(np.asarray(ids))[positions < 0]
            raise UnknownIdError(
                f"{len(missing)} unknown {self.name}(s), e.g. {missing[:5].tolist()}: they were "
                "not in the data the model was fitted on. Drop them, or use a model with a "
                "cold-start fallback (Popularity)."
            )
        return positions

    def to_ids(self, indices) -> np.ndarray:
        return self.index_.to_numpy()[np.asarray(indices)]

    def __repr__(self) -> str:
        return f"IdMap({len(self)} {self.name}s)"


def interaction_matrix(
    ratings: pd.DataFrame,
    user_map: IdMap | None = None,
    item_map: IdMap | None = None,
    values: str = "binary",
) -> tuple[sparse.csr_matrix, IdMap, IdMap]:
    """Build the users × items CSR matrix R of `ratings`.

    Parameters
    ----------
    ratings:
        Rows of user_id, item_id and, for ``values="rating"``, rating.
    user_map, item_map:
        Existing maps to reuse (for example those of a training set); built from `ratings`
        when omitted. Rows whose ids the maps do not know raise `UnknownIdError`.
    values:
        ``"binary"`` puts a 1 for every observed pair (implicit feedback), ``"rating"`` puts
        r_ui.

    Returns
    -------
    (matrix, user_map, item_map)
    """
    if values not in ("binary", "rating"):
        raise ValueError(f"values must be 'binary' or 'rating', got {values!r}.")
    columns = ("user_id", "item_id", "rating") if values == "rating" else ("user_id", "item_id")
    check_interactions(ratings, columns=columns)
    user_map = user_map if user_map is not None else IdMap(ratings["user_id"], "user_id")
    item_map = item_map if item_map is not None else IdMap(ratings["item_id"], "item_id")
    rows = user_map.to_index(ratings["user_id"].to_numpy())
    columns_ = item_map.to_index(ratings["item_id"].to_numpy())
    if values == "rating":
        data = ratings["rating"].to_numpy(dtype=np.float64)
    else:
        data = np.ones(len(ratings), dtype=np.float64)
    matrix = sparse.csr_matrix((data, (rows, columns_)), shape=(len(user_map), len(item_map)))
    matrix.sort_indices()
    return matrix, user_map, item_map
