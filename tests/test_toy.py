import pytest

from recsys_lessons.data import load_toy_ratings


def test_implicit_toy_is_the_abc_example():
    toy = load_toy_ratings()
    assert sorted(map(tuple, toy[["user_id", "item_id"]].to_numpy().tolist())) == [
        ("A", 1), ("B", 2), ("C", 1), ("C", 3)
    ]
    assert (toy["rating"] == 1).all()


def test_explicit_toy_has_five_users_six_items_and_star_ratings():
    toy = load_toy_ratings("explicit")
    assert toy["user_id"].nunique() == 5 and toy["item_id"].nunique() == 6
    assert toy["rating"].between(1, 5).all()
    assert not toy.duplicated(["user_id", "item_id"]).any()


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        load_toy_ratings("graded")
