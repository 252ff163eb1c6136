"""Checks shared by every function that takes a ratings DataFrame.

Each check fails with a message that names the problem and says how to fix it, because a
learner's first bug is usually a wrong column name or a stray NaN, not a wrong formula.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal
from numbers import Integral, Real

import numpy as np
import pandas as pd


def check_interactions(
    frame: pd.DataFrame,
    name: str = "ratings",
    columns: Iterable[str] = ("user_id", "item_id"),
    allow_empty: bool = False,
    allow_duplicates: bool = False,
) -> pd.DataFrame:
    """Validate a DataFrame of (user, item, ...) rows and return it unchanged.

    Raises
    ------
    TypeError
        If `frame` is not a pandas DataFrame.
    ValueError
        If a required column is missing, the frame is empty, an id or a rating is NaN or
        infinite (in a float column, or a number in an object column), a rating column holds
        neither real numbers nor text or categories that read as them (dates, durations,
        complex numbers), or a (user_id, item_id) pair appears twice.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame with columns {list(columns)}, "
            f"got {type(frame).__name__}."
        )
    columns = tuple(columns)  # Read twice below; a generator would be empty the second time.
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing the column(s) {missing}; it has {list(frame.columns)}. "
            "Rename your columns, for example frame.rename(columns={'userId': 'user_id'})."
        )
    if len(frame) == 0 and not allow_empty:
        raise ValueError(f"{name} is empty; pass at least one row.")
    for column in columns:
        missing_values = int(frame[column].isna().sum())
        if missing_values:
            raise ValueError(
                f"{name} has {missing_values} NaN value(s) in column {column!r}. Drop or fill "
                f"them first, for example frame.dropna(subset=[{column!r}])."
            )
        values = frame[column]
        if column == "rating":
            values = _checked_rating_column(values, name)
        if column == "rating" and not pd.api.types.is_numeric_dtype(values):
            # Text ratings would be parsed later, and "nan", "inf" or "four" would become NaN,
            # infinity or a bare conversion error deep inside a model. (Numbers among them
            # are checked below, with every column's object values.)
            texts = values[values.map(lambda value: isinstance(value, str))]
            numbers = pd.to_numeric(texts, errors="coerce").astype(float)
            unusable = numbers.isna() | np.isinf(numbers)
            if unusable.any():
                raise ValueError(
                    f"{name} has {int(unusable.sum())} rating(s) that are not finite numbers, "
                    f"e.g. {texts[unusable].iloc[0]!r}. Convert the column to numbers and drop "
                    "or correct those rows, for example "
                    "frame['rating'] = pd.to_numeric(frame['rating'], errors='coerce') and then "
                    "frame.dropna(subset=['rating'])."
                )
        if values.dtype == object:
            # Numbers in a column of Python objects (read from JSON, or mixed with text)
            # become floats later, so an infinity among them would slip through unseen.
            # Only real numbers count: a text id such as "inf" is a name, not a number.
            infinite = sum(isinstance(value, Real | Decimal) and not isinstance(value, bool)
                           and math.isinf(value) for value in values)
        elif pd.api.types.is_float_dtype(values):
            infinite = int(np.isinf(values.to_numpy()).sum())
        else:
            infinite = 0
        if infinite:
            raise ValueError(
                f"{name} has {infinite} infinite value(s) in column {column!r}; every "
                "value must be a finite number. Drop or correct those rows first."
            )
    if not allow_duplicates:
        duplicated = frame.duplicated(["user_id", "item_id"], keep=False)
        if duplicated.any():
            example = frame.loc[duplicated, ["user_id", "item_id"]].iloc[0].tolist()
            raise ValueError(
                f"{name} has {int(duplicated.sum())} rows with a repeated (user_id, item_id) "
                f"pair, e.g. {example}. Keep one row per pair, for example "
                "frame.drop_duplicates(['user_id', 'item_id'], keep='last')."
            )
    return frame


def is_real_number(value) -> bool:
    """True for a Python or numpy real number (np.float32 included), False for a boolean."""
    return isinstance(value, Real) and not isinstance(value, bool)


def stored_dtype(values: pd.Series):
    """The dtype of what a column holds: for a categorical column, that of its categories."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.categories.dtype
    return values.dtype


def _checked_rating_column(values: pd.Series, name: str) -> pd.Series:
    """The rating column as the checks below read it: categories as the values they stand for.

    Ratings must be real numbers, or text or categories that read as real numbers. Dates,
    durations and complex numbers would otherwise be converted to floats without a word
    (nanoseconds since 1970, or the real part), and an infinite category would slip past the
    check for infinities.
    """
    # Categories are judged by what they hold: dates as categories are still dates.
    categorical = isinstance(values.dtype, pd.CategoricalDtype)
    dtype = stored_dtype(values)
    real_numbers = (pd.api.types.is_numeric_dtype(dtype)
                    and not pd.api.types.is_complex_dtype(dtype))
    if not (real_numbers or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)):
        raise ValueError(
            f"{name} has a 'rating' column of type {dtype}, but ratings must be real "
            "numbers such as 4 or 3.5, or text or categories that read as one. Check that the "
            "column named 'rating' holds the ratings (not, say, the timestamps), and convert it "
            "to numbers."
        )
    return values.astype(object) if categorical else values


def check_share(value, name: str) -> float:
    """Return `value` as a float, or raise unless it is a fraction strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value < 1:
        raise ValueError(f"{name} must be a fraction strictly between 0 and 1, got {value!r}.")
    return float(value)


def check_whole_count(value, name: str) -> int:
    """Return `value` as an int, or raise unless it is an integer ≥ 1 of an integer type.

    Stricter than `check_positive_int`: the Keras models pass their sizes straight to Keras
    layers, which refuse a float such as 4.0 with a less helpful message.
    """
    if isinstance(value, bool) or not isinstance(value, Integral) or value <= 0:
        hint = " (a float: write it without the decimal point)" if isinstance(value, float) else ""
        raise ValueError(f"{name} must be a positive integer such as 32, got {value!r}{hint}.")
    return int(value)


def check_seed(seed, name: str = "seed", allow_none: bool = False) -> int | None:
    """Return `seed` as an int, or raise unless it is a whole number ≥ 0 (or an allowed None).

    numpy's own errors for a bad seed ("expected non-negative integer") name neither the
    argument nor a fix. None, which draws fresh, unrepeatable numbers, is accepted only where
    `allow_none` says so: for the models' `random_state` and the privacy releases' seeds.
    """
    if seed is None and allow_none:
        return None
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0:
        accepted = "a whole number >= 0, such as 0 or 42"
        if allow_none:
            accepted += ", or None for fresh, unrepeatable draws"
        raise ValueError(
            f"{name} must be {accepted}; got {seed!r}. The same {name} gives the same numbers."
        )
    return int(seed)


def seeded_generator(seed, name: str = "seed", allow_none: bool = False) -> np.random.Generator:
    """``np.random.default_rng(seed)`` once `check_seed` has accepted `seed`."""
    return np.random.default_rng(check_seed(seed, name, allow_none))


def check_positive_int(value, name: str) -> int:
    """Return `value` as an int, or raise if it is not a positive integer."""
    if (isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value)
            or int(value) != value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer (at least 1), got {value!r}.")
    return int(value)
