from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data import IdMap, UnknownIdError, interaction_matrix, load_toy_ratings
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
        with pytest.raises(TypeError, match="given are text.*'10' is the known id 10 written"):
            IdMap([10, 20], "item_id").to_index(["10"], unknown=unknown)
        with pytest.raises(TypeError, match="given are numbers.*1 is the known id '1' written"):
            IdMap(["1", "b"], "user_id").to_index([1], unknown=unknown)
    # Genuinely unknown ids stay unknown, whatever their type: a cold-start "new user" too.
    assert IdMap([10, 20]).to_index([20.0, 30], unknown="mask").tolist() == [1, -1]
    assert IdMap([10, 20]).to_index(["30", "new user"], unknown="mask").tolist() == [-1, -1]
    with pytest.raises(UnknownIdError):
        IdMap([10, 20]).to_index(["new user"])
    ratings = pd.DataFrame({"user_id": [1, 1, 2], "item_id": [5, 6, 6], "rating": [4.0, 2, 5]})
    model = BiasBaseline().fit(ratings)
    with pytest.raises(TypeError, match="item_id values given are text"):
        model.predict([1], ["5"])
    with pytest.raises(TypeError, match="user_id values given are text"):
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
