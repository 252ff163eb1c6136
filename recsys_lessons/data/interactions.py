"""From tidy (user_id, item_id, rating) rows to the matrices models compute with.

Learners and data live in pandas with MovieLens ids as they are; models compute on integer
indices 0..n-1 and scipy.sparse CSR matrices. `IdMap` translates between the two and says
clearly when an id is unknown; `interaction_matrix` builds the CSR matrix R with r_ui in row
u, column i.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import numpy as np
import pandas as pd
import scipy.sparse as sparse

from recsys_lessons.data.validation import check_interactions, is_real_number


class UnknownIdError(KeyError, ValueError):
    """An id that was not seen when the map was built (for example a user absent from train)."""

    def __str__(self) -> str:  # KeyError would otherwise show the message in quotes.
        return str(self.args[0])


def id_kind(ids) -> str:
    """What ids are: "number" (1 and 1.0 alike), "text", or pandas' word for anything else."""
    kind = pd.api.types.infer_dtype(ids, skipna=True)
    if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
        return "number"
    return "text" if kind == "string" else kind


def _keeping_types(ids) -> pd.Series:
    """Plain Python ids as a Series that keeps each value's own type.

    np.asarray would turn [5, "5"] into the texts "5" and "5", one id, and [10, "40"] into
    texts that blame the known 10 for the unknown "40".
    """
    values = list(ids)
    return pd.Series(values, dtype=None if values else object)


def _is_number_id(value) -> bool:
    """True for an id that id_kind counts as a number: int, float or Decimal, not bool."""
    return is_real_number(value) or isinstance(value, Decimal)


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
        if isinstance(ids, str | bytes | pd.DataFrame | dict):
            # A column name, or a table with double brackets, would give one id per character
            # or per column name.
            raise TypeError(f"The {name} values must be a list, array or Series of ids, got a "
                            f"{type(ids).__name__}; pass e.g. frame[{name!r}].")
        if not isinstance(ids, np.ndarray | pd.Index | pd.Series
                          | pd.api.extensions.ExtensionArray):
            ids = _keeping_types(ids)
        if np.ndim(ids) != 1:
            raise TypeError(f"The {name} values must be one-dimensional, got shape "
                            f"{np.shape(ids)}; pass e.g. frame[{name!r}].")
        unique = pd.Index(pd.unique(np.asarray(ids)))
        if unique.isna().any():
            raise ValueError(f"The {name} values include NaN, which is not an id; drop those "
                             f"rows first, for example frame.dropna(subset=[{name!r}]).")
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

    @functools.cached_property
    def _kind(self) -> str:
        return id_kind(self.index_)

    def __len__(self) -> int:
        return len(self.index_)

    def __contains__(self, external_id) -> bool:
        return external_id in self.index_

    @property
    def ids(self) -> np.ndarray:
        return self.index_.to_numpy()

    def to_index(self, ids, unknown: str = "raise") -> np.ndarray:
        """Indices of `ids`. With ``unknown="mask"`` unknown ids give -1 instead of an error.

        An id that is a known id written as another type ("5" for 5, or 5 for "5") raises
        TypeError in both modes: it is a mistake, not an unknown id. So does a missing id (NaN,
        None, pd.NA), with ValueError: masked as unknown, it would be scored as a new user or
        item, and a left merge that lost some ids would go unnoticed.
        """
        if unknown not in ("raise", "mask"):
            raise ValueError(f"unknown must be 'raise' or 'mask', got {unknown!r}.")
        if isinstance(ids, list | tuple):
            ids = _keeping_types(ids).to_numpy()
        ids = np.atleast_1d(np.asarray(ids))
        missing_ids = pd.isna(ids)
        if missing_ids.any():
            raise ValueError(
                f"{int(missing_ids.sum())} of the {len(ids)} {self.name} values are missing "
                "(NaN, None or NA), which is not an id; drop those rows first, for example "
                f"frame.dropna(subset=[{self.name!r}])."
            )
        positions = self.index_.get_indexer(ids)
        if (positions < 0).any():
            self._check_same_kind(ids[positions < 0])
        if unknown == "raise" and (positions < 0).any():
            missing = ids[positions < 0]
            raise UnknownIdError(
                f"{len(missing)} unknown {self.name}(s), e.g. {missing[:5].tolist()}: they were "
                "not in the data the model was fitted on. Drop them, or use a model with a "
                "cold-start fallback (Popularity)."
            )
        return positions

    def _check_same_kind(self, unknown_ids: np.ndarray) -> None:
        """Raise TypeError when an unknown id is a known id of the other kind (text vs number)."""
        if self._kind not in ("number", "text"):
            return
        # Each id is judged by its own type, so a list that mixes numbers and text, such as
        # [5, "x"] against the text ids "5" and "b", is checked as well.
        candidates = pd.Series(unknown_ids, dtype=object)
        if self._kind == "number":
            given_kind = "text"
            other_kind = candidates[candidates.map(lambda value: isinstance(value, str))]
            converted = pd.to_numeric(other_kind, errors="coerce").dropna()
        else:
            given_kind = "number"
            other_kind = candidates[candidates.map(_is_number_id)]
            converted = other_kind.astype(str)
        matches = converted[converted.isin(self.index_)]
        if len(matches):
            words = {"number": "numbers", "text": "text"}
            # .tolist() gives plain Python values, which print as 5 and '5', not np.int64(5).
            example = unknown_ids[matches.index[:1]].tolist()[0]
            known = self.index_[self.index_.get_indexer(matches.iloc[:1])].tolist()[0]
            raise TypeError(
                f"The {self.name} values given include {words[given_kind]}, but the ids seen "
                f"in fitting are {words[self._kind]}: {example!r} is the known id {known!r} "
                f"written as another type. Convert the ids to the type used in fitting, e.g. "
                f"frame[{self.name!r}].astype(int) or .astype(str)."
            )

    def to_ids(self, indices) -> np.ndarray:
        """The ids at `indices`, each from 0 to len(self) − 1.

        A negative index is refused rather than read from the end: -1 is how
        ``to_index(..., unknown="mask")`` marks an unknown id, not the last id.
        """
        indices = np.asarray(indices)
        if (np.issubdtype(indices.dtype, np.integer) and indices.size
                and (indices.min() < 0 or indices.max() >= len(self))):
            raise IndexError(
                f"{self.name} indices must be from 0 to {len(self) - 1}, got "
                f"{indices[(indices < 0) | (indices >= len(self))][:5].tolist()}; -1 marks an "
                "unknown id from to_index(..., unknown='mask'): drop those first."
            )
        return self.index_.to_numpy()[indices]

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
