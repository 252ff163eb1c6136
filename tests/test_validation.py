"""The shared input checks of recsys_lessons.data.validation: counts and wording of their errors.

Most checks are exercised through the functions that use them (test_interactions,
test_splits, test_seeds); these tests pin what a mutation audit found unpinned there.
"""

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data.validation import (
    check_interactions,
    check_positive_int,
    check_share,
    check_whole_count,
    is_real_number,
)


def test_a_missing_column_message_lists_the_columns_there_are():
    # So a learner sees at once that the column is spelled userId.
    frame = pd.DataFrame({"userId": [1], "item_id": [1]})
    with pytest.raises(ValueError, match=r"it has \['userId', 'item_id'\]"):
        check_interactions(frame)


def test_nan_ids_are_counted():
    frame = pd.DataFrame({"user_id": [1.0, np.nan, np.nan], "item_id": [1, 2, 3]})
    with pytest.raises(ValueError, match=r"has 2 NaN value\(s\) in column 'user_id'"):
        check_interactions(frame)


def test_unusable_text_ratings_are_counted():
    # Of the texts "4", "x", "5" and "inf", two ("x" and "inf") are not finite numbers.
    frame = pd.DataFrame({"user_id": [1, 2, 3, 4], "item_id": [1, 1, 1, 1],
                          "rating": ["4", "x", "5", "inf"]})
    with pytest.raises(ValueError, match=r"has 2 rating\(s\) that are not finite numbers"):
        check_interactions(frame, columns=("user_id", "item_id", "rating"))


def test_infinite_values_are_counted():
    frame = pd.DataFrame({"user_id": [1, 2, 3], "item_id": [1, 1, 1],
                          "rating": [4.0, np.inf, -np.inf]})
    with pytest.raises(ValueError, match=r"has 2 infinite value\(s\) in column 'rating'"):
        check_interactions(frame, columns=("user_id", "item_id", "rating"))


def test_text_ids_that_read_as_infinity_are_names():
    # In a column of Python objects only real numbers can be infinite; the texts "inf" and
    # "-Infinity" are user names. (pandas 3 would make such a column str, so force object.)
    frame = pd.DataFrame({"user_id": pd.Series(["inf", "-Infinity", "u3"], dtype=object),
                          "item_id": [1, 1, 1]})
    assert check_interactions(frame) is frame
    frame.loc[2, "user_id"] = float("inf")
    with pytest.raises(ValueError, match="1 infinite value"):
        check_interactions(frame)


def test_a_pair_repeated_with_different_ratings_is_a_duplicate():
    # The usual case: a user who rated the same item twice. Only (user_id, item_id) counts.
    frame = pd.DataFrame({"user_id": [1, 1], "item_id": [5, 5], "rating": [3.0, 4.0],
                          "timestamp": [10, 20]})
    with pytest.raises(ValueError, match=r"has 2 rows with a repeated \(user_id, item_id\) pair"):
        check_interactions(frame)


def test_is_real_number_refuses_booleans():
    # True is an int to Python, but not a number here.
    assert is_real_number(2.5) and is_real_number(np.float32(1)) and is_real_number(3)
    assert not is_real_number(True) and not is_real_number(False)


def test_check_share_refuses_nan_and_returns_a_float():
    # NaN fails every comparison, so it must be refused explicitly.
    with pytest.raises(ValueError, match=r"test_size must be a fraction strictly between 0 and "
                                         r"1, got nan"):
        check_share(float("nan"), "test_size")
    for value in (Fraction(1, 4), np.float32(0.25)):
        share = check_share(value, "test_size")
        assert type(share) is float and share == 0.25


def test_check_whole_count_gives_the_decimal_point_hint_only_for_floats():
    with pytest.raises(ValueError, match="decimal point"):
        check_whole_count(4.0, "embedding_dim")
    for value in (0, -2):
        with pytest.raises(ValueError) as error:
            check_whole_count(value, "embedding_dim")
        assert "decimal point" not in str(error.value)


def test_check_positive_int_refuses_infinity_and_nan_with_its_message():
    # int(inf) would raise OverflowError, which does not name the argument.
    for value in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValueError, match="k must be a positive integer, got"):
            check_positive_int(value, "k")
