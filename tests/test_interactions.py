from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data import IdMap, UnknownIdError, interaction_matrix, load_toy_ratings
from recsys_lessons.data.interactions import id_kind
from recsys_lessons.data.validation import check_interactions
from recsys_lessons.models import BiasBaseline


def test_id_map_round_trip_and_sorted_indices():
    ids = IdMap(["c", "a", "b", "a"], "user_id")
    assert len(ids) == 3
    assert ids.to_index(["a", "b", "c"]).tolist() == [0, 1, 2]
    assert ids.to_ids([2, 0]).tolist() == ["c", "a"]
    assert "b" in ids and "z" not in ids


def test_id_map_unknown_ids_raise_or_mask():
    ids = IdMap([10, 20], "item_id")
    with pytest.raises(UnknownIdError, match="unknown item_id"):
        ids.to_index([10, 99])
    with pytest.raises(KeyError):  # UnknownIdError is also a KeyError, as for a dict.
        ids.to_index([99])
    assert ids.to_index([10, 99], unknown="mask").tolist() == [0, -1]


def test_ids_of_mixed_types_are_refused_with_the_fix():
    # 5 and "5" in one column would silently be two users; Python cannot even sort them.
    ratings = pd.DataFrame({"user_id": [5, "5", 7], "item_id": [1, 2, 3]})
    with pytest.raises(TypeError, match=r"user_id values mix types.*astype\(str\)"):
        interaction_matrix(ratings)
    converted = ratings.assign(user_id=ratings["user_id"].astype(str))
    matrix, users, _ = interaction_matrix(converted)
    assert users.ids.tolist() == ["5", "7"] and matrix.sum() == 3


def test_a_known_id_written_as_another_type_is_an_error_not_an_unknown_id():
    # "10" for 10 would otherwise be masked as a cold-start id, silently.
    for unknown in ("raise", "mask"):
        with pytest.raises(TypeError, match="given include text.*'10' is the known id 10 written"):
            IdMap([10, 20], "item_id").to_index(["10"], unknown=unknown)
        with pytest.raises(TypeError, match="given include numbers.*1 is the known id '1' written"):
            IdMap(["1", "b"], "user_id").to_index([1], unknown=unknown)
    # Genuinely unknown ids stay unknown, whatever their type: a cold-start "new user" too.
    assert IdMap([10, 20]).to_index([20.0, 30], unknown="mask").tolist() == [1, -1]
    assert IdMap([10, 20]).to_index(["30", "new user"], unknown="mask").tolist() == [-1, -1]
    with pytest.raises(UnknownIdError):
        IdMap([10, 20]).to_index(["new user"])
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 6], "rating": [4.0, 2, 5]})
    model = BiasBaseline().fit(ratings)
    with pytest.raises(TypeError, match="item_id values given include text"):
        model.predict([1], ["5"])
    with pytest.raises(TypeError, match="user_id values given include text"):
        model.score(["1"], [5])


def test_toy_matrix_matches_the_lesson():
    matrix, users, items = interaction_matrix(load_toy_ratings())
    assert users.ids.tolist() == ["A", "B", "C"]
    assert items.ids.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(matrix.toarray(), [[1, 0, 0], [0, 1, 0], [1, 0, 1]])


def test_rating_matrix_and_reused_maps():
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 6], "rating": [4.0, 2, 5]})
    matrix, users, items = interaction_matrix(ratings, values="rating")
    np.testing.assert_array_equal(matrix.toarray(), [[4, 2], [0, 5]])
    other = pd.DataFrame({"user_id": [2], "item_id": [5]})
    reused, _, _ = interaction_matrix(other, users, items)
    np.testing.assert_array_equal(reused.toarray(), [[0, 0], [1, 0]])
    with pytest.raises(UnknownIdError):
        interaction_matrix(pd.DataFrame({"user_id": [3], "item_id": [5]}), users, items)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user": [1], "item_id": [1]}), "missing the column"),
        (pd.DataFrame({"user_id": [1.0, np.nan], "item_id": [1, 2]}), "NaN"),
        (pd.DataFrame({"user_id": [1, 1], "item_id": [2, 2]}), "repeated"),
        (pd.DataFrame({"user_id": [], "item_id": []}), "empty"),
    ],
)
def test_bad_input_is_named(frame, message):
    with pytest.raises(ValueError, match=message):
        interaction_matrix(frame)


def test_nan_rating_and_bad_values_argument():
    frame = pd.DataFrame({"user_id": [1], "item_id": [1], "rating": [np.nan]})
    with pytest.raises(ValueError, match="NaN value"):
        interaction_matrix(frame, values="rating")
    with pytest.raises(ValueError, match="values must be"):
        interaction_matrix(frame, values="counts")
    with pytest.raises(TypeError, match="pandas DataFrame"):
        interaction_matrix([[1, 1]])


def test_an_infinite_rating_is_named_instead_of_failing_later():
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "rating": [4.0, np.inf]})
    with pytest.raises(ValueError, match="1 infinite value"):
        interaction_matrix(frame, values="rating")
    # The same number in a column of Python objects, as JSON or mixed input gives.
    frame["rating"] = frame["rating"].astype(object)
    with pytest.raises(ValueError, match="1 infinite value"):
        interaction_matrix(frame, values="rating")
    # Text ids that read like numbers are names, not infinities.
    named = pd.DataFrame({"user_id": ["inf", "-Infinity", "u3"], "item_id": [1, 1, 1],
                          "rating": [4.0, 3.0, 5.0]})
    assert interaction_matrix(named, values="rating")[0].shape == (3, 1)


def test_a_plain_list_keeps_each_ids_type():
    # np.asarray would have made [5, "5", 7] into the texts "5", "5", "7": one id instead of
    # a mix to refuse.
    with pytest.raises(TypeError, match="mix types"):
        IdMap([5, "5", 7])
    with pytest.raises(ValueError, match="include NaN"):
        IdMap([1, np.nan, 2])
    assert IdMap([3, 1, 2]).ids.tolist() == [1, 2, 3]
    # The same holds for a list looked up: the known 10 is found, and only "40" is unknown.
    assert IdMap([10, 20]).to_index([10, "40"], unknown="mask").tolist() == [0, -1]
    with pytest.raises(UnknownIdError, match=r"1 unknown id\(s\), e.g. \['40'\]"):
        IdMap([10, 20]).to_index([10, "40"])
    assert IdMap([10, 20]).to_index((20,)).tolist() == [1]
    assert IdMap(item for item in ["b", "a"]).ids.tolist() == ["a", "b"]
    assert IdMap(pd.array([3, 1], dtype="Int64")).ids.tolist() == [1, 3]
    # A column name, or a table from double brackets, is not a list of ids.
    frame = pd.DataFrame({"user_id": [1, 2]})
    for wrong in ("user_id", frame[["user_id"]], {"user_id": [1, 2]}):
        with pytest.raises(TypeError, match=r"pass e.g. frame\['user_id'\]"):
            IdMap(wrong, "user_id")
    with pytest.raises(TypeError, match="one-dimensional"):
        IdMap(np.array([[1, 2], [3, 4]]), "user_id")


def test_unknown_modes_and_indices_out_of_range_are_refused():
    users = IdMap([10, 20, 30])
    with pytest.raises(ValueError, match="unknown must be 'raise' or 'mask', got 'skip'"):
        users.to_index([99], unknown="skip")
    # -1 marks an unknown id; it must not come back as the last id.
    masked = users.to_index([99, 20], unknown="mask")
    with pytest.raises(IndexError, match=r"from 0 to 2, got \[-1\]"):
        users.to_ids(masked)
    with pytest.raises(IndexError, match=r"got \[3\]"):
        users.to_ids([3])
    assert users.to_ids(masked[masked >= 0]).tolist() == [20]
    # A boolean mask selects ids, as numpy indexing does, whatever the number of ids.
    assert IdMap([10]).to_ids(np.array([True])).tolist() == [10]


@pytest.mark.parametrize("text", ["nan", "inf", "four"])
def test_a_text_rating_that_is_not_a_finite_number_is_named(text):
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 2], "rating": ["4", text]})
    with pytest.raises(ValueError, match=f"not finite numbers, e.g. '{text}'"):
        interaction_matrix(frame, values="rating")
    # Infinity as a Decimal, as some database drivers return it, is named too.
    frame["rating"] = pd.Series([Decimal("4"), Decimal("Infinity")], dtype=object)
    with pytest.raises(ValueError, match="1 infinite value"):
        interaction_matrix(frame, values="rating")
    # Text that does read as numbers is fine, as before.
    frame["rating"] = ["4", "5"]
    assert interaction_matrix(frame, values="rating")[0].toarray().tolist() == [[4, 0], [0, 5]]


def test_check_interactions_reads_columns_given_as_a_generator():
    # The columns are read twice (present? then NaN?); a generator would be empty the second
    # time, and the NaN id would pass.
    frame = pd.DataFrame({"user_id": [1.0, np.nan], "item_id": [1, 2]})
    with pytest.raises(ValueError, match="1 NaN value.*'user_id'"):
        check_interactions(frame, columns=(column for column in ("user_id", "item_id")))


def test_ratings_stored_as_categories_are_checked_as_the_numbers_they_stand_for():
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "rating": [4.0, 5.0]})
    as_numbers = interaction_matrix(frame, values="rating")[0].toarray()
    for categories in (pd.Categorical([4.0, 5.0]), pd.Categorical(["4", "5"])):
        got = interaction_matrix(frame.assign(rating=categories), values="rating")[0]
        np.testing.assert_array_equal(got.toarray(), as_numbers)
    # An infinite category used to pass, and GlobalMean then learned μ = inf.
    with pytest.raises(ValueError, match="1 infinite value"):
        interaction_matrix(frame.assign(rating=pd.Categorical([4.0, np.inf])), values="rating")
    with pytest.raises(ValueError, match="not finite numbers, e.g. 'x'"):
        interaction_matrix(frame.assign(rating=pd.Categorical(["4", "x"])), values="rating")


@pytest.mark.parametrize("ratings", [
    pd.to_datetime(["2020-01-01", "2020-01-02"]),  # would become nanoseconds since 1970
    pd.to_timedelta([1, 2], unit="s"),
    np.array([4 + 1j, 5 + 0j]),  # would lose its imaginary part with only a warning
    pd.period_range("2020", periods=2, freq="D"),
    # As categories they are still dates, durations and complex numbers.
    pd.Categorical(pd.to_datetime(["2020-01-01", "2020-01-02"])),
    pd.Categorical(pd.to_timedelta([1, 2], unit="s")),
    pd.Categorical([4 + 1j, 5 + 0j]),
])
def test_ratings_that_are_not_real_numbers_are_refused(ratings):
    frame = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "rating": ratings})
    with pytest.raises(ValueError, match=r"'rating' column of type .*must be real numbers"):
        interaction_matrix(frame, values="rating")
    with pytest.raises(ValueError, match="must be real numbers"):
        BiasBaseline().fit(frame)


def test_missing_ids_are_refused_when_looked_up_not_masked():
    users = IdMap([10, 20], "user_id")
    for missing in ([10, np.nan], [10, None], pd.array([10, pd.NA], dtype="Int64"),
                    np.array(["a", None], dtype=object)):
        with pytest.raises(ValueError, match=r"1 of the 2 user_id values are missing"):
            users.to_index(missing, unknown="mask")
    assert users.to_index([10, 30], unknown="mask").tolist() == [0, -1]


def test_float_ids_are_still_numbers_for_the_type_check():
    # Ids read from a column that once held a NaN are floats; "1" is still the wrong type.
    with pytest.raises(TypeError, match="written as another type"):
        IdMap([1.0, 2.0]).to_index(["1"], unknown="mask")


def test_binary_and_rating_values():
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [1, 2, 1], "rating": [3.5, 1.0, 5.0]})
    assert (interaction_matrix(ratings, values="binary")[0].data == 1).all()
    np.testing.assert_array_equal(interaction_matrix(ratings, values="rating")[0].toarray(),
                                  [[3.5, 1.0], [5.0, 0.0]])


def test_check_interactions_counts_every_repeated_row_and_may_allow_an_empty_frame():
    with pytest.raises(ValueError, match="has 3 rows with a repeated"):
        check_interactions(pd.DataFrame({"user_id": [1, 1, 1], "item_id": [2, 2, 2]}))
    empty = pd.DataFrame({"user_id": [], "item_id": []})
    assert check_interactions(empty, allow_empty=True) is empty
    with pytest.raises(ValueError):
        check_interactions(empty)


def test_check_whole_count_takes_integers_only():
    from recsys_lessons.data.validation import check_whole_count

    assert check_whole_count(np.int64(4), "embedding_dim") == 4
    for value in (4.0, True, 0, -2, "4"):
        with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
            check_whole_count(value, "embedding_dim")
    with pytest.raises(ValueError, match="without the decimal point"):
        check_whole_count(4.0, "embedding_dim")


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


def test_unknown_id_error_prints_its_message_without_quotes():
    # KeyError's own str() would wrap the message in quotes.
    with pytest.raises(UnknownIdError) as error:
        IdMap([10, 20], "item_id").to_index([99])
    assert str(error.value).startswith("1 unknown item_id(s), e.g. [99]:")


def test_unknown_id_error_shows_up_to_five_examples():
    ids = IdMap([1, 2], "user_id")
    examples = r"7 unknown user_id\(s\), e\.g\. \[10, 11, 12, 13, 14\]:"
    with pytest.raises(UnknownIdError, match=examples):
        ids.to_index([10, 11, 12, 13, 14, 15, 16])


@pytest.mark.parametrize("known", [
    [Decimal("10"), Decimal("20")],  # pandas calls these "decimal"
    np.array([10, 20.5], dtype=object),  # and these "mixed-integer-float"
])
def test_numeric_ids_of_every_numeric_kind_catch_text_lookups(known):
    # Both are numbers, so "10" is the known id 10 written as text, not an unknown id.
    with pytest.raises(TypeError, match="written as another type"):
        IdMap(known, "item_id").to_index(["10"], unknown="mask")


def test_id_kind_ignores_missing_values():
    # id_kind also reads raw columns in evaluation; a None among texts leaves them text.
    assert id_kind(pd.Series(["a", None, "b"], dtype=object)) == "text"
    assert id_kind(pd.Series([1.0, np.nan])) == "number"


def test_the_example_in_the_type_error_is_the_mistyped_id():
    # Of the unknown ids "x" and "10", only "10" is a known id (10) written as text.
    with pytest.raises(TypeError, match=r"'10' is the known id 10 written as another type"):
        IdMap([10, 20], "item_id").to_index(["x", "10"], unknown="mask")


def test_a_lookup_that_mixes_numbers_and_text_is_checked_id_by_id():
    # pandas calls [5, "x"] "mixed-integer", not "number"; the 5 in it is still the known "5"
    # written as a number, which masking would silently treat as a new item.
    with pytest.raises(TypeError, match="5 is the known id '5' written as another type"):
        IdMap(["5", "b"], "item_id").to_index([5, "x"], unknown="mask")
    with pytest.raises(TypeError, match="'7' is the known id 7 written as another type"):
        IdMap([5, 7], "item_id").to_index(["x", 9, "7"], unknown="mask")
    with pytest.raises(TypeError, match="Decimal\\('10'\\) is the known id '10' written"):
        IdMap(["10", "b"], "item_id").to_index([Decimal("10")], unknown="mask")
    # Ids unknown in every spelling stay unknown.
    assert IdMap(["5", "b"], "item_id").to_index([7, "x"], unknown="mask").tolist() == [-1, -1]


def test_id_map_repr_gives_size_and_name():
    assert repr(IdMap(["b", "a", "b"], "user_id")) == "IdMap(2 user_ids)"


def test_matrix_values_are_float64_and_exact():
    # 3.3 is stored exactly as the float64 3.3 (float32 would store 3.2999999523...), and the
    # binary 1s are floats, not integers.
    ratings = pd.DataFrame({"user_id": [1, 2], "item_id": [1, 1], "rating": [3.3, 4.0]})
    rated = interaction_matrix(ratings, values="rating")[0]
    assert rated.dtype == np.float64
    assert rated[0, 0] == 3.3
    assert interaction_matrix(ratings, values="binary")[0].dtype == np.float64
