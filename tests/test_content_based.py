"""ContentBased: item features, user profiles, cosine scores, explanations and errors."""

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from recsys_lessons.data import UnknownIdError, stratified_split
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models.baselines import RandomRecommender
from recsys_lessons.models.content_based import ContentBased, synthetic_items
from tests.conftest import make_ratings

# Six films. Only "star" (3 titles) and "love" (2 titles) are in two or more titles; "the" is
# a stop word. Item 6 is in the table but nobody rates it: a new item.
ITEMS = pd.DataFrame({
    "item_id": [1, 2, 3, 4, 5, 6],
    "title": ["Star Wars", "Star Trek", "Alien", "Love Actually", "The Love Bug", "Star Dust"],
    "year": pd.array([1977, 1979, 1979, 2003, None, 2007], dtype="Int64"),
    "genres": [
        ["Action", "Sci-Fi"], ["Sci-Fi"], ["Horror", "Sci-Fi"], ["Comedy", "Romance"],
        ["Comedy"], ["Fantasy", "Romance"],
    ],
})

# User 10 has likes and dislikes, user 11 rated everything 3 (no deviation from the mean),
# user 12 has likes and dislikes again.
RATINGS = pd.DataFrame({
    "user_id": [10, 10, 10, 11, 11, 12, 12, 12],
    "item_id": [1, 2, 4, 1, 5, 2, 3, 5],
    "rating": [5.0, 4.0, 1.0, 3.0, 3.0, 4.0, 2.0, 5.0],
})


def fitted(ratings=RATINGS, **parameters):
    parameters = {"items": ITEMS, "min_title_df": 2, **parameters}
    return ContentBased(**parameters).fit(ratings)


def feature_vector(model, item_id):
    """x_i of one item as a dense vector."""
    row = model.all_item_map_.to_index([item_id])[0]
    return model.all_item_features_[row].toarray().ravel()


def profile_vector(model, user_id):
    return model.user_profiles_[model.user_map_.to_index([user_id])[0]]


def cosine(first, second):
    return first @ second / (np.linalg.norm(first) * np.linalg.norm(second))


# --------------------------------------------------------------------------- features


def test_feature_columns_are_named_and_rows_have_unit_length():
    model = fitted()
    assert model.feature_names_.tolist() == [
        "genre: Action", "genre: Comedy", "genre: Fantasy", "genre: Horror", "genre: Romance",
        "genre: Sci-Fi", "decade: 1970s", "decade: 2000s", "title: love", "title: star",
    ]
    assert model.all_item_features_.shape == (6, 10)
    norms = np.sqrt(model.all_item_features_.multiply(model.all_item_features_).sum(axis=1))
    np.testing.assert_allclose(np.asarray(norms).ravel(), 1.0)
    # Training items only, in the order of item_map_: item 6 was never rated.
    assert model.item_map_.ids.tolist() == [1, 2, 3, 4, 5]
    assert model.item_features_.shape == (5, 10)


def test_blocks_are_normalised_then_weighted():
    model = fitted(genre_weight=1.0, year_weight=0.5, title_weight=2.0)
    # Star Wars: genres Action and Sci-Fi (1/√2 each), the 1970s (0.5), title word "star"
    # ("wars" is in one title only, so it is no feature) with weight 2; then normalised.
    expected = dict(zip(model.feature_names_, np.zeros(10), strict=True))
    expected.update({
        "genre: Action": 2**-0.5, "genre: Sci-Fi": 2**-0.5, "decade: 1970s": 0.5,
        "title: star": 2.0,
    })
    expected = np.array(list(expected.values())) / np.sqrt(1 + 0.25 + 4)
    np.testing.assert_allclose(feature_vector(model, 1), expected)
    # The Love Bug has no year, so it has no decade feature.
    the_love_bug = dict(zip(model.feature_names_, feature_vector(model, 5), strict=True))
    assert the_love_bug["decade: 1970s"] == the_love_bug["decade: 2000s"] == 0


def test_title_features_are_sklearn_tfidf():
    titles = ["Star Wars", "Return of the Star", "Wars of Love", "Love Story", "Story"]
    items = pd.DataFrame({
        "item_id": [1, 2, 3, 4, 5], "title": titles, "year": [1990] * 5, "genres": [[]] * 5,
    })
    ratings = pd.DataFrame({"user_id": [1, 1], "item_id": [1, 2], "rating": [4.0, 2.0]})
    model = ContentBased(
        items=items, genre_weight=0, year_weight=0, title_weight=1, min_title_df=2
    ).fit(ratings)
    vectorizer = TfidfVectorizer(min_df=2, stop_words="english")
    expected = vectorizer.fit_transform(titles)
    np.testing.assert_allclose(model.all_item_features_.toarray(), expected.toarray())
    words = vectorizer.get_feature_names_out().tolist()
    assert words == ["love", "star", "story", "wars"]
    assert model.feature_names_.tolist() == [f"title: {word}" for word in words]


def test_titles_without_a_shared_word_add_no_feature():
    items = ITEMS.assign(title=["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"])
    model = fitted(items=items)
    assert not any(name.startswith("title:") for name in model.feature_names_)
    assert model.title_vectorizer_ is None


def test_row_order_of_the_items_table_does_not_matter():
    shuffled = ITEMS.iloc[[4, 2, 5, 0, 3, 1]].set_index(pd.Index([9, 8, 7, 6, 5, 4]))
    expected, model = fitted(), fitted(items=shuffled)
    np.testing.assert_allclose(
        model.all_item_features_.toarray(), expected.all_item_features_.toarray()
    )
    np.testing.assert_allclose(model.user_profiles_, expected.user_profiles_)


def test_zero_weight_leaves_a_block_out():
    model = fitted(year_weight=0)
    assert not any(name.startswith("decade:") for name in model.feature_names_)


# --------------------------------------------------------------------------- profiles


def brute_force_profile(model, ratings, user_id):
    """p_u = Σ (r_ui − r̄_u) x_i / Σ |r_ui − r̄_u|, or the plain average when all r_ui equal."""
    rows = ratings[ratings["user_id"] == user_id]
    mean = rows["rating"].mean()
    if (rows["rating"] == mean).all():
        return np.mean([feature_vector(model, item) for item in rows["item_id"]], axis=0)
    numerator = sum(
        (rating - mean) * feature_vector(model, item)
        for item, rating in zip(rows["item_id"], rows["rating"], strict=True)
    )
    return numerator / sum(abs(rating - mean) for rating in rows["rating"])


@pytest.mark.parametrize("user_id", [10, 11, 12])
def test_profile_is_the_mean_centred_weighted_average(user_id):
    model = fitted()
    np.testing.assert_allclose(
        profile_vector(model, user_id), brute_force_profile(model, RATINGS, user_id)
    )


def test_profile_of_a_user_whose_ratings_are_all_equal_is_the_plain_average():
    model = fitted()
    # User 11 rated items 1 and 5 both 3: every r_ui − r̄_u is 0.
    plain_average = (feature_vector(model, 1) + feature_vector(model, 5)) / 2
    np.testing.assert_allclose(profile_vector(model, 11), plain_average)


def test_profile_of_a_user_with_likes_and_dislikes_by_hand():
    model = fitted()
    # User 10: ratings 5, 4, 1, mean 10/3, deviations 5/3, 2/3, −7/3, absolute sum 14/3.
    expected = (
        5 * feature_vector(model, 1) + 2 * feature_vector(model, 2) - 7 * feature_vector(model, 4)
    ) / 14
    np.testing.assert_allclose(profile_vector(model, 10), expected)


def test_implicit_data_gives_the_plain_average():
    model = fitted(RATINGS.drop(columns="rating"))
    for user_id, items in [(10, [1, 2, 4]), (11, [1, 5]), (12, [2, 3, 5])]:
        expected = np.mean([feature_vector(model, item) for item in items], axis=0)
        np.testing.assert_allclose(profile_vector(model, user_id), expected)


# --------------------------------------------------------------------------- scores


def test_scores_are_cosines_between_profile_and_item():
    model = fitted()
    users = np.repeat([10, 11, 12], 5)
    items = np.tile([1, 2, 3, 4, 5], 3)
    expected = [
        cosine(profile_vector(model, user), feature_vector(model, item))
        for user, item in zip(users, items, strict=True)
    ]
    np.testing.assert_allclose(model.score(users, items), expected)
    # recommend() ranks with _score_users, which must give the same numbers.
    everything = model.recommend([10, 11, 12], k=5, exclude_seen=False)
    np.testing.assert_allclose(
        everything["score"], model.score(everything["user_id"], everything["item_id"])
    )


def test_new_items_are_scored_from_their_features_only_by_score_new_items():
    model = fitted()
    # Item 6 has metadata but no rating: outside the catalogue of score and recommend.
    assert model.score([12], [6])[0] == model.unknown_item_score
    assert 6 not in model.recommend([12], k=10, exclude_seen=False)["item_id"].tolist()
    expected = cosine(profile_vector(model, 12), feature_vector(model, 6))
    np.testing.assert_allclose(model.score_new_items([12], [6]), [expected])
    # For training items both methods agree.
    np.testing.assert_allclose(
        model.score_new_items([10, 10], [1, 3]), model.score([10, 10], [1, 3])
    )
    with pytest.raises(UnknownIdError):
        model.score_new_items([10], [99])


# --------------------------------------------------------------------------- explanations


def sci_fi_fan():
    # User 20 loved two Sci-Fi films and disliked a romantic comedy; Alien is the third
    # Sci-Fi film, rated by someone else so that it is in the catalogue.
    ratings = pd.DataFrame({
        "user_id": [20, 20, 20, 21],
        "item_id": [1, 2, 4, 3],
        "rating": [5.0, 5.0, 1.0, 4.0],
    })
    return fitted(ratings)


def test_explain_contributions_sum_to_the_score():
    model = fitted()
    for user_id, item_id in [(10, 3), (12, 1), (11, 4)]:
        explanation = model.explain(user_id, item_id, top=None)
        assert list(explanation.columns) == ["feature", "contribution"]
        assert explanation["contribution"].is_monotonic_decreasing
        np.testing.assert_allclose(
            explanation["contribution"].sum(), model.score([user_id], [item_id])[0]
        )


def test_explain_names_the_genre_a_sci_fi_fan_loves():
    model = sci_fi_fan()
    explanation = model.explain(20, 3, top=2)
    assert len(explanation) == 2
    assert explanation["feature"].iloc[0] == "genre: Sci-Fi"
    assert explanation["contribution"].iloc[0] > 0
    # Alien's other genre, Horror, is new to the user and contributes nothing.
    assert "genre: Horror" not in model.explain(20, 3, top=None)["feature"].tolist()


def test_because_you_liked_lists_liked_items_most_similar_first():
    model = sci_fi_fan()
    reasons = model.because_you_liked(20, 3)
    assert list(reasons.columns) == ["item_id", "title", "rating", "similarity"]
    # Only the liked items (rated at or above the user's mean), never the disliked item 4.
    assert sorted(reasons["item_id"]) == [1, 2]
    assert reasons["similarity"].is_monotonic_decreasing
    for row in reasons.itertuples():
        assert row.title == ITEMS.set_index("item_id").loc[row.item_id, "title"]
        assert row.rating == 5.0
        np.testing.assert_allclose(
            row.similarity, cosine(feature_vector(model, row.item_id), feature_vector(model, 3))
        )
    assert len(model.because_you_liked(20, 3, top=1)) == 1


# --------------------------------------------------------------------------- errors


def test_items_table_missing_a_column():
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['genres'\]"):
        fitted(items=ITEMS.drop(columns="genres"))


def test_genres_must_be_lists():
    with pytest.raises(ValueError, match="str.split"):
        fitted(items=ITEMS.assign(genres=ITEMS["genres"].map("|".join)))


def test_items_table_with_a_row_without_an_item_id():
    nameless = ITEMS.iloc[:1].assign(item_id=np.nan)
    with pytest.raises(ValueError, match=r"items has 1 row\(s\) without an item_id"):
        fitted(items=pd.concat([ITEMS, nameless]))


def test_years_read_as_text_give_the_same_model():
    # A CSV read as text writes the unknown year (item 5) as "" and may write 1977 as "1977.0".
    as_text = ITEMS.assign(year=["1977.0", "1979", "1979", " 2003", "", "2007"])
    expected = fitted()
    got = fitted(items=as_text)
    assert got.feature_names_.tolist() == expected.feature_names_.tolist()
    np.testing.assert_array_equal(got.all_item_features_.toarray(),
                                  expected.all_item_features_.toarray())


@pytest.mark.parametrize("year", [1979.5, "n/a", np.inf, 1e20])
def test_a_year_that_is_not_a_whole_number_is_named(year):
    with pytest.raises(ValueError, match=r"items\['year'\] has 1 value\(s\) that are not whole "
                                         f"years, e.g. {re.escape(repr(year))}"):
        fitted(items=ITEMS.assign(year=ITEMS["year"].astype(object).where(
            ITEMS["item_id"] != 2, year)))


@pytest.mark.parametrize("years", [
    pd.to_datetime(["1977-05-25"] * 6),  # dates would be read as microseconds since 1970
    [True, False, True, True, False, True],
])
def test_years_that_are_dates_or_booleans_are_refused(years):
    with pytest.raises(ValueError, match=r"items\['year'\] is of type .*dates.dt.year"):
        fitted(items=ITEMS.assign(year=years))
    # Without the year block the years are not read at all.
    assert fitted(items=ITEMS.assign(year=years), year_weight=0.0).feature_names_.size


def test_items_table_with_a_repeated_item():
    with pytest.raises(ValueError, match="more than once"):
        fitted(items=pd.concat([ITEMS, ITEMS.iloc[:1]]))


def test_rated_items_absent_from_the_items_table():
    with pytest.raises(ValueError, match=r"1 rated item_id\(s\) are not in items, e\.g\. \[5\]"):
        fitted(items=ITEMS[ITEMS["item_id"] != 5])


@pytest.mark.parametrize(
    "parameters",
    [{"genre_weight": -1.0}, {"year_weight": float("nan")}, {"title_weight": "high"}],
)
def test_bad_weight(parameters):
    name = next(iter(parameters))
    with pytest.raises(ValueError, match=f"{name} must be a finite number >= 0"):
        fitted(**parameters)


def test_all_weights_zero():
    with pytest.raises(ValueError, match="all 0"):
        fitted(genre_weight=0, year_weight=0.0, title_weight=0)


def test_a_whole_float_min_title_df_works_like_the_int():
    # scikit-learn would read 2.0 as a share of the titles; the model passes the count on.
    as_int, as_float = fitted(min_title_df=2), fitted(min_title_df=2.0)
    assert any(name.startswith("title: ") for name in as_int.feature_names_)
    assert as_float.feature_names_.tolist() == as_int.feature_names_.tolist()


def test_a_min_title_df_above_the_number_of_titles_leaves_titles_out():
    # No word can be in more titles than there are: the titles add no feature, as when no
    # word reaches min_title_df, instead of scikit-learn refusing min_df.
    model = fitted(min_title_df=len(ITEMS) + 1)
    assert not any(name.startswith("title: ") for name in model.feature_names_)
    assert model.title_vectorizer_ is None
    assert len(model.recommend([10], k=2)) == 2


def test_bad_min_title_df():
    with pytest.raises(ValueError, match="min_title_df must be a positive integer"):
        fitted(min_title_df=0)


def test_items_must_be_a_dataframe():
    with pytest.raises(ValueError, match="items must be a pandas DataFrame"):
        fitted(items=ITEMS.to_dict())


# --------------------------------------------------------------------------- the model API


def test_repr_summarises_the_items_table():
    assert repr(ContentBased(items=ITEMS)).startswith(
        "ContentBased(items=<DataFrame of 6 items>, genre_weight=1.0"
    )
    assert repr(ContentBased()).startswith("ContentBased(items=None,")


def test_contract_test_instance_fits_synthetic_ratings():
    train = make_ratings(num_users=10, num_items=15, seed=1)
    model = ContentBased._contract_test_instance(train).fit(train)
    assert model.items["item_id"].tolist() == sorted(train["item_id"].unique())
    pd.testing.assert_frame_equal(model.items, synthetic_items(train["item_id"]))
    assert np.isfinite(model.score(train["user_id"], train["item_id"])).all()


# --------------------------------------------------------------------------- MovieLens


def test_default_items_must_match_movielens_ids(movielens):
    # items=None means MovieLens 100K's items, whose ids run from 1 to 1682.
    ratings = make_ratings().assign(item_id=lambda frame: frame["item_id"] + 5000)
    with pytest.raises(ValueError, match=r"pass your items table as ContentBased\(items=...\)"):
        ContentBased().fit(ratings)


def test_beats_random_on_movielens(movielens):
    train, test = stratified_split(movielens.ratings, test_size=0.25, seed=0)
    # With items=None the model loads MovieLens's items table itself.
    content = evaluate_ranking(ContentBased().fit(train), train, test, k=10)
    random = evaluate_ranking(RandomRecommender().fit(train), train, test, k=10)
    assert content["ndcg@10"] > 3 * random["ndcg@10"]
    assert content["precision@10"] > 2.5 * random["precision@10"]


def test_because_you_liked_counts_ratings_at_the_mean_as_liked():
    # Without ratings every item counts as liked; user 11 rated both items 3, their mean.
    implicit = fitted(ratings=RATINGS.drop(columns="rating"))
    assert set(implicit.because_you_liked(10, 3)["item_id"]) == {1, 2, 4}
    assert sorted(fitted().because_you_liked(11, 3)["item_id"]) == [1, 5]


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


def titles_only(titles, ratings=None):
    """A model whose features are the title words alone (every word kept: min_title_df=1)."""
    items = pd.DataFrame({
        "item_id": list(range(1, len(titles) + 1)), "title": titles,
        "year": [1990] * len(titles), "genres": [["Drama"]] * len(titles),
    })
    if ratings is None:
        ratings = pd.DataFrame({"user_id": [1] * len(titles),
                                "item_id": list(range(1, len(titles) + 1)),
                                "rating": np.arange(len(titles), 0, -1, dtype=float)})
    return ContentBased(items=items, genre_weight=0, year_weight=0, title_weight=1,
                        min_title_df=1).fit(ratings)


def features(model, item_id):
    """x_i of one item as a dict from feature name to value."""
    return dict(zip(model.feature_names_, feature_vector(model, item_id), strict=True))


def test_genre_weight_scales_the_genre_block():
    # Star Wars with w_genre = 2, w_year = 1, no title block:
    # genres Action, Sci-Fi at 2/√2 = √2 each, 1970s at 1; ‖·‖² = 2 + 2 + 1 = 5, so
    # x = (√2, √2, 1) / √5. With the weight ignored it would be (1/√2, 1/√2, 1) / √2.
    model = fitted(genre_weight=2.0, year_weight=1.0, title_weight=0)
    star_wars = features(model, 1)
    assert star_wars["genre: Action"] == pytest.approx(np.sqrt(2 / 5))
    assert star_wars["genre: Sci-Fi"] == pytest.approx(np.sqrt(2 / 5))
    assert star_wars["decade: 1970s"] == pytest.approx(np.sqrt(1 / 5))


def test_zero_title_weight_leaves_the_titles_out():
    # The docstring: "A block with weight 0 is left out", and title_vectorizer_ is "None
    # when title_weight is 0".
    model = fitted(title_weight=0)
    assert not any(name.startswith("title:") for name in model.feature_names_)
    assert model.title_vectorizer_ is None
    assert model.all_item_features_.shape[1] == len(model.feature_names_) == 8


def test_a_bool_weight_is_refused():
    # True is not a weight.
    with pytest.raises(ValueError, match="genre_weight must be a finite number >= 0"):
        fitted(genre_weight=True)


def test_documented_defaults():
    # The class docstring states the defaults 1, 0.5, 1
    # and 3.
    params = ContentBased().get_params()
    assert (params["genre_weight"], params["year_weight"], params["title_weight"],
            params["min_title_df"]) == (1.0, 0.5, 1.0, 3)


def test_title_words_are_weighted_by_idf():
    # Titles "Star Wars", "Star", "Star Trek": n = 3, df(star) = 3,
    # df(wars) = 1. scikit-learn's smoothed idf = ln((1 + n) / (1 + df)) + 1 gives
    # idf(star) = ln(4/4) + 1 = 1 and idf(wars) = ln(4/2) + 1 = 1 + ln 2. Star Wars is then
    # (1, 1 + ln 2) / √(1 + (1 + ln 2)²) ≈ (0.5085, 0.8610); without idf it is (0.7071, 0.7071).
    model = titles_only(["Star Wars", "Star", "Star Trek"])
    star_wars = features(model, 1)
    norm = np.sqrt(1 + (1 + np.log(2)) ** 2)
    assert star_wars["title: star"] == pytest.approx(1 / norm)
    assert star_wars["title: wars"] == pytest.approx((1 + np.log(2)) / norm)


def test_a_repeated_title_word_counts_twice():
    # "Run Lola Run": tf(run) = 2, tf(lola) = 1; over the titles
    # "Run Lola Run", "Run", "Lola" both words have df = 2, hence the same idf, so the row
    # is (2, 1) / √5 = (0.894, 0.447). With binary counts it would be (1, 1) / √2.
    model = titles_only(["Run Lola Run", "Run", "Lola"])
    run_lola_run = features(model, 1)
    assert run_lola_run["title: run"] == pytest.approx(2 / np.sqrt(5))
    assert run_lola_run["title: lola"] == pytest.approx(1 / np.sqrt(5))


def test_a_word_in_every_title_is_kept_when_min_title_df_equals_the_number_of_titles():
    # Six titles that all contain "star" and
    # min_title_df = 6: "star" is in 6 ≥ 6 titles, so it is a feature.
    items = ITEMS.assign(title=[f"Star {word}" for word in
                                ["Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Zeta"]])
    model = fitted(items=items, min_title_df=len(items))
    assert [name for name in model.feature_names_ if name.startswith("title:")] == ["title: star"]
    assert model.title_vectorizer_ is not None


def test_missing_titles_add_no_word():
    # Two missing titles must not become the word "nan".
    items = ITEMS.assign(title=ITEMS["title"].astype(object).where(
        ~ITEMS["item_id"].isin([3, 4]), None))
    model = fitted(items=items)
    assert "title: nan" not in model.feature_names_.tolist()
    assert features(model, 3).get("title: star", 0) == 0


def test_a_five_digit_year_is_refused():
    # The docstring of _checked_years: years of more than
    # four digits are refused.
    years = ITEMS["year"].astype(object).where(ITEMS["item_id"] != 2, 19790)
    with pytest.raises(ValueError, match=r"1 value\(s\) that are not whole years, e\.g\. 19790"):
        fitted(items=ITEMS.assign(year=years))


def test_a_year_of_blank_text_is_unknown():
    # "   " is blank text like "": an unknown year, no decade.
    years = ["1977", "1979", "1979", "2003", "   ", "2007"]
    model = fitted(items=ITEMS.assign(year=years))
    the_love_bug = features(model, 5)
    assert the_love_bug["decade: 1970s"] == the_love_bug["decade: 2000s"] == 0


def test_score_new_items_needs_paired_arrays():
    # One user and two items would otherwise broadcast.
    model = fitted()
    with pytest.raises(ValueError, match="same length"):
        model.score_new_items([10], [1, 6])


@pytest.mark.parametrize("top", [0, -1])
def test_explain_refuses_a_top_that_is_not_positive(top):
    # head(0) and head(-1) would answer quietly.
    with pytest.raises(ValueError, match="top must be a positive integer"):
        fitted().explain(10, 3, top=top)


@pytest.mark.parametrize("top", [0, -1])
def test_because_you_liked_refuses_a_top_that_is_not_positive(top):
    with pytest.raises(ValueError, match="top must be a positive integer"):
        fitted().because_you_liked(10, 3, top=top)
