"""Content-based filtering: recommend items whose description resembles what a user liked.

Every item i is described by a feature vector x_i built from its metadata alone:

- genres, one 0/1 column per genre ("genre: Sci-Fi");
- release year, one 0/1 column per decade present in the items table ("decade: 1970s");
- title words, weighted by TF-IDF with scikit-learn's `TfidfVectorizer` ("title: wars").

A user u is described by a profile p_u in the same space, the weighted average of the
features of the items they rated, and an item's score is the cosine between p_u and x_i.
Because x_i needs no ratings, a brand-new item can be scored as soon as its metadata is
known; see `ContentBased.score_new_items`.
"""

from __future__ import annotations

import numbers
import re

import numpy as np
import pandas as pd
import scipy.sparse as sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import MultiLabelBinarizer, normalize

from recsys_lessons.data.interactions import IdMap
from recsys_lessons.data.validation import check_positive_int, stored_dtype
from recsys_lessons.models.base import Recommender

#: Columns the items table must have; `genres` holds a list of genre names per item.
ITEM_COLUMNS = ("item_id", "title", "year", "genres")


def _checked_years(years: pd.Series, source: str) -> pd.Series:
    """The items' years as whole numbers (Int64), NA where unknown.

    Missing values and blank text (a CSV read as text writes an unknown year as "") are
    unknown years; text that reads as a whole number, such as "1995" or "1995.0", is that year.
    Anything else is refused: a year such as 1995.5 or "n/a" has no decade to go in, and
    dates, durations and booleans would be read as numbers that are no years.
    """
    kind = stored_dtype(years)
    if pd.api.types.is_bool_dtype(kind) or kind.kind in "mM":
        raise ValueError(
            f"{source}['year'] is of type {kind}; give each item its year as a whole number "
            "such as 1995 (for dates, items['year'] = dates.dt.year)."
        )
    blank = years.map(lambda value: isinstance(value, str) and not value.strip()).to_numpy(bool)
    numbers = pd.to_numeric(years.mask(blank), errors="coerce")
    numbers = pd.Series(numbers).to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(numbers)
    # Years of more than four digits are refused too: they are not years, and would not fit.
    whole = np.isfinite(numbers) & (np.abs(np.nan_to_num(numbers)) < 10_000)
    whole[whole] = numbers[whole] % 1 == 0
    unusable = (~known & years.notna().to_numpy() & ~blank) | (known & ~whole)
    if unusable.any():
        example = years[unusable].iloc[0]
        raise ValueError(
            f"{source}['year'] has {int(unusable.sum())} value(s) that are not whole years, "
            f"e.g. {example!r}. Give each item its year as a whole number such as 1995, or "
            "leave it missing (NaN or None) when the year is unknown."
        )
    return pd.Series(numbers, index=years.index).astype("Int64")


class ContentBased(Recommender):
    """Rank items by the cosine between a user's profile and each item's features.

    Item features
    -------------
    Three blocks, each L2-normalised row by row, multiplied by its weight and placed side by
    side; then each row x_i is L2-normalised again:

        x_i = normalise([w_genre · genres_i / ‖genres_i‖,
                         w_year · decade_i,
                         w_title · tfidf_i / ‖tfidf_i‖])

    So when an item has all three blocks, w² / (w_genre² + w_year² + w_title²) is the share
    of ‖x_i‖² that a block holds: the weights say how much each kind of metadata matters.
    A block with weight 0 is left out. An item without a year, or whose title has no word
    kept by the vectoriser, simply has that block empty. Title words are lower-cased words of
    two or more characters, except English stop words ("the", "of"), found in at least
    `min_title_df` titles. The vectoriser is fitted on every title of the items table
    (metadata only, no ratings), so new items share the vocabulary.

    User profile
    ------------
    With r̄_u the mean of u's ratings and I_u the items u rated in training:

        p_u = Σ_i∈I_u (r_ui − r̄_u) · x_i / Σ_i∈I_u |r_ui − r̄_u|

    Items rated above the user's mean pull the profile towards their features, items rated
    below push it away. When all of u's ratings are equal (every r_ui − r̄_u = 0) there is
    no like or dislike to learn from, so the profile is the plain average of the items'
    features, p_u = Σ_i∈I_u x_i / |I_u|. Without a rating column (implicit feedback) every
    interaction counts as r_ui = 1 and the plain average is used for every user.

    Score
    -----
        score(u, i) = cos(p_u, x_i) = p̂_u · x̂_i,   with v̂ = v / ‖v‖

    between −1 and 1; a zero profile scores 0 everywhere.

    Parameters
    ----------
    items:
        The items table: a DataFrame with the columns item_id, title, year (a whole number,
        or text that reads as one; NA or blank text when unknown) and genres (a list of
        genre names per item), such as `load_movielens("100k").items`.
        Every item in the training ratings must be in it; it may hold more items (see
        `score_new_items`). When None, `fit` loads MovieLens 100K's items table itself, so
        `ContentBased()` works out of the box on MovieLens ratings.
    genre_weight, year_weight, title_weight:
        w_genre, w_year, w_title: non-negative weights of the three blocks, not all 0.
        Only their ratios matter.
    min_title_df:
        A title word becomes a feature only if at least this many titles contain it. Rare
        words (most names) would otherwise add many features that match almost nothing.

    The defaults (1, 0.5, 1 and 3) were chosen by NDCG@10 on a validation split carved from
    the training part of MovieLens 100K's standard split; any year weight near 0.5 with a
    title weight of 1 to 1.5 and min_title_df of 3 to 5 does about as well.

    Attributes set by `fit`
    -----------------------
    feature_names_ : ndarray of str
        Names of the feature columns, e.g. "genre: Sci-Fi", "decade: 1970s", "title: wars".
    item_features_ : scipy.sparse.csr_matrix
        x_i of the training items, one unit-length row per item (aligned with `item_map_`).
    user_profiles_ : ndarray
        p_u of every training user, one row per user (aligned with `user_map_`).
    all_item_features_, all_item_map_ :
        x_i of every item in the items table, and the map of their ids to rows.
    title_vectorizer_ : TfidfVectorizer or None
        The fitted vectoriser of title words (None when title_weight is 0).

    Scores of items absent from training are `unknown_item_score` in `score` and
    `recommend`, as for every model of the course; `score_new_items` scores them from their
    features.
    """

    def __init__(
        self,
        items: pd.DataFrame | None = None,
        genre_weight: float = 1.0,
        year_weight: float = 0.5,
        title_weight: float = 1.0,
        min_title_df: int = 3,
    ):
        self.items = items
        self.genre_weight = genre_weight
        self.year_weight = year_weight
        self.title_weight = title_weight
        self.min_title_df = min_title_df

    # ----------------------------------------------------------------- item features

    def _check_weights(self) -> dict[str, float]:
        weights = {
            "genre_weight": self.genre_weight,
            "year_weight": self.year_weight,
            "title_weight": self.title_weight,
        }
        for name, value in weights.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not np.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"{name} must be a finite number >= 0, got {value!r}. A weight says how "
                    "much a block of features counts; use 0 to leave the block out."
                )
        if not any(value > 0 for value in weights.values()):
            raise ValueError(
                "genre_weight, year_weight and title_weight are all 0, so items would have no "
                "features at all. Give at least one of them a positive weight."
            )
        return weights

    def _items_table(self, rated_item_ids: np.ndarray) -> pd.DataFrame:
        """The items table to use, checked: the right columns, unique ids, every rated item."""
        items = self.items
        if items is None:
            from recsys_lessons.data.movielens import load_movielens

            items = load_movielens("100k").items
            source = "MovieLens 100K's items table (used because items=None)"
        elif isinstance(items, pd.DataFrame):
            source = "items"
        else:
            raise ValueError(
                f"items must be a pandas DataFrame with columns {list(ITEM_COLUMNS)}, or None "
                f"for MovieLens 100K's items; got {type(items).__name__}."
            )
        missing = [column for column in ITEM_COLUMNS if column not in items.columns]
        if missing:
            raise ValueError(
                f"{source} is missing the column(s) {missing}; it has {list(items.columns)}. "
                f"ContentBased needs {list(ITEM_COLUMNS)}, genres being a list of genre names "
                "per item, as in load_movielens('100k').items."
            )
        if items["item_id"].isna().any():
            raise ValueError(
                f"{source} has {int(items['item_id'].isna().sum())} row(s) without an item_id; "
                "drop them first, for example items.dropna(subset=['item_id'])."
            )
        if items["item_id"].duplicated().any():
            repeated = items.loc[items["item_id"].duplicated(), "item_id"].iloc[0]
            raise ValueError(
                f"{source} lists item_id {repeated!r} more than once; keep one row per item."
            )
        for genres in items["genres"]:
            if isinstance(genres, str) or not isinstance(genres, list | tuple | set | np.ndarray):
                raise ValueError(
                    f"{source}['genres'] must hold a list of genre names per item, got "
                    f"{genres!r}. For a '|'-separated string use items['genres'].str.split('|')."
                )
        if self.year_weight > 0:  # The years are read only for their decades.
            items = items.assign(year=_checked_years(items["year"], source))
        absent = pd.Index(rated_item_ids).difference(pd.Index(items["item_id"]))
        if len(absent):
            hint = (
                " ContentBased() without items only knows MovieLens 100K; pass your items "
                "table as ContentBased(items=...)."
                if self.items is None
                else ""
            )
            raise ValueError(
                f"{len(absent)} rated item_id(s) are not in {source}, e.g. "
                f"{absent[:5].tolist()}: the model cannot describe an item without its "
                f"metadata. Add them to the items table, or drop their ratings.{hint}"
            )
        # Sorted by id, the order IdMap uses, so that feature row k is item index k.
        return items.sort_values("item_id", kind="stable").reset_index(drop=True)

    def _feature_blocks(self, items: pd.DataFrame, weights: dict[str, float],
                        min_title_df: int):
        """The weighted genre, decade and title blocks, their column names and the vectoriser."""
        blocks, names, vectorizer = [], [], None
        if weights["genre_weight"] > 0:
            binarizer = MultiLabelBinarizer(sparse_output=True)
            genres = binarizer.fit_transform([list(item_genres) for item_genres in items["genres"]])
            blocks.append(weights["genre_weight"] * normalize(sparse.csr_matrix(genres)))
            names += [f"genre: {genre}" for genre in binarizer.classes_]
        if weights["year_weight"] > 0:
            decades = pd.array(items["year"], dtype="Int64") // 10 * 10
            codes, decade_values = pd.factorize(decades, sort=True, use_na_sentinel=True)
            has_year = codes >= 0
            # One 1 per item with a known year, in the column of its decade.
            decade_block = sparse.csr_matrix(
                (np.ones(has_year.sum()), (np.flatnonzero(has_year), codes[has_year])),
                shape=(len(items), len(decade_values)),
            )
            blocks.append(weights["year_weight"] * decade_block)
            names += [f"decade: {decade}s" for decade in decade_values]
        if weights["title_weight"] > 0:
            titles = items["title"].fillna("").astype(str)
            # An int: scikit-learn reads a float min_df as a share of the titles, so 3.0
            # would be refused and 1.0 would mean "in every title".
            vectorizer = TfidfVectorizer(min_df=min_title_df, stop_words="english")
            title_block = None
            # When no word is in min_title_df titles (a tiny table, say), titles add no
            # feature rather than stop the model. scikit-learn refuses a min_df above the
            # number of titles outright, and raises for an empty vocabulary otherwise.
            if min_title_df <= len(titles):
                try:
                    # TfidfVectorizer already makes every row unit length (norm="l2").
                    title_block = vectorizer.fit_transform(titles)
                except ValueError as error:
                    if not re.search(r"no terms remain|empty vocabulary", str(error)):
                        raise  # Any other error stops the model.
            if title_block is None:
                title_block, vectorizer = sparse.csr_matrix((len(items), 0)), None
            else:
                names += [f"title: {word}" for word in vectorizer.get_feature_names_out()]
            blocks.append(weights["title_weight"] * title_block)
        return blocks, names, vectorizer

    # ----------------------------------------------------------------- fitting

    def _fit(self, ratings: pd.DataFrame) -> None:
        weights = self._check_weights()
        min_title_df = check_positive_int(self.min_title_df, "min_title_df")
        items = self._items_table(self.item_map_.ids)

        blocks, names, self.title_vectorizer_ = self._feature_blocks(items, weights,
                                                                     min_title_df)
        self.feature_names_ = np.asarray(names, dtype=object)
        self.all_item_map_ = IdMap(items["item_id"], "item_id")
        self.all_item_features_ = normalize(sparse.hstack(blocks, format="csr"))
        rows = self.all_item_map_.to_index(self.item_map_.ids)
        self.item_features_ = self.all_item_features_[rows]
        self.item_titles_ = pd.Series(items["title"].to_numpy(), index=items["item_id"])

        # w_ui = r_ui − r̄_u, or 1 for implicit data and for users whose ratings are all equal.
        users = self.user_map_.to_index(ratings["user_id"].to_numpy())
        rated = self.item_map_.to_index(ratings["item_id"].to_numpy())
        num_users = len(self.user_map_)
        if "rating" in ratings.columns:
            values = ratings["rating"].to_numpy(dtype=np.float64)
            per_user = pd.Series(values).groupby(users)
            all_equal = (per_user.max() == per_user.min()).to_numpy()
            mean_rating = per_user.mean().to_numpy()
            weight = np.where(all_equal[users], 1.0, values - mean_rating[users])
        else:
            values = np.ones(len(ratings))
            weight = values
        self.user_ratings_ = sparse.csr_matrix(
            (values, (users, rated)), shape=(num_users, len(self.item_map_))
        )
        weight_matrix = sparse.csr_matrix(
            (weight, (users, rated)), shape=(num_users, len(self.item_map_))
        )
        total_weight = np.bincount(users, np.abs(weight), minlength=num_users)
        profiles = np.asarray((weight_matrix @ self.item_features_).todense())
        self.user_profiles_ = profiles / total_weight[:, None]

    # ----------------------------------------------------------------- scoring

    def _unit_profiles(self, user_indices: np.ndarray) -> np.ndarray:
        """p̂_u = p_u / ‖p_u‖ for the given users; a zero profile stays zero."""
        return normalize(self.user_profiles_[user_indices])

    def _score_users(self, user_indices):
        # Rows of item_features_ are already unit length, so one product gives the cosines.
        return np.asarray(self.item_features_ @ self._unit_profiles(user_indices).T).T

    def _score_pairs(self, user_indices, item_indices):
        profiles = self._unit_profiles(user_indices)
        return np.asarray(self.item_features_[item_indices].multiply(profiles).sum(axis=1)).ravel()

    def score_new_items(self, user_ids, item_ids) -> np.ndarray:
        """cos(p_u, x_i) for paired user and item ids, for any item of the items table.

        Unlike `score`, items need no training ratings: this is how content-based filtering
        ranks a brand-new item. For items seen in training it equals `score`. Users must be
        known; an item id absent from the items table raises `UnknownIdError`.
        """
        self._check_fitted()
        user_indices = self._user_indices(user_ids)
        item_indices = self.all_item_map_.to_index(np.atleast_1d(np.asarray(item_ids)))
        if len(user_indices) != len(item_indices):
            raise ValueError(
                f"user_ids and item_ids are paired and must have the same length; got "
                f"{len(user_indices)} and {len(item_indices)}."
            )
        features = self.all_item_features_[item_indices]
        return np.asarray(features.multiply(self._unit_profiles(user_indices)).sum(axis=1)).ravel()

    # ----------------------------------------------------------------- explanations

    def explain(self, user_id, item_id, top: int | None = 5) -> pd.DataFrame:
        """The features that contributed most to score(user_id, item_id).

        The cosine is a sum over features f of p̂_u,f · x̂_i,f, so each term is that feature's
        contribution; all of them together sum to the score. Returns a DataFrame with columns
        feature and contribution, largest first, limited to the `top` rows (all features that
        contribute when top is None). The item may be any item of the items table.
        """
        self._check_fitted()
        user_index = self._user_indices([user_id])
        item_index = self.all_item_map_.to_index([item_id])
        item_vector = self.all_item_features_[item_index].tocoo()
        profile = self._unit_profiles(user_index)[0]
        # Only features the item has can contribute; x̂_i,f = 0 elsewhere.
        explanation = pd.DataFrame({
            "feature": self.feature_names_[item_vector.col],
            "contribution": item_vector.data * profile[item_vector.col],
        })
        explanation = explanation[explanation["contribution"] != 0]
        explanation = explanation.sort_values("contribution", ascending=False, kind="stable")
        if top is not None:
            explanation = explanation.head(check_positive_int(top, "top"))
        return explanation.reset_index(drop=True)

    def because_you_liked(self, user_id, item_id, top: int = 3) -> pd.DataFrame:
        """The items the user liked that are most similar to item_id: "because you liked …".

        Candidates are the user's training items rated at or above their mean rating r̄_u
        (every item, for implicit data), ranked by cos(x_j, x_i). Returns a DataFrame with
        columns item_id, title, rating and similarity, most similar first. The item may be
        any item of the items table.
        """
        self._check_fitted()
        user_index = self._user_indices([user_id])[0]
        item_index = self.all_item_map_.to_index([item_id])
        row = self.user_ratings_[user_index]
        is_liked = row.data >= row.data.mean()
        liked = row.indices[is_liked]
        similarity = self.item_features_[liked] @ self.all_item_features_[item_index].T
        similarity = np.asarray(similarity.todense()).ravel()
        liked_ids = self.item_map_.to_ids(liked)
        result = pd.DataFrame({
            "item_id": liked_ids,
            "title": self.item_titles_.loc[liked_ids].to_numpy(),
            "rating": row.data[is_liked],
            "similarity": similarity,
        })
        result = result.sort_values("similarity", ascending=False, kind="stable")
        return result.head(check_positive_int(top, "top")).reset_index(drop=True)

    # ----------------------------------------------------------------- contract test

    @classmethod
    def _contract_test_instance(cls, train: pd.DataFrame) -> ContentBased:
        """A model for the contract test, with a synthetic items table for its item ids.

        The test's synthetic ratings are not MovieLens ratings, and the contract test should
        not need the MovieLens download.
        """
        return cls(items=synthetic_items(train["item_id"].unique()))


def synthetic_items(item_ids) -> pd.DataFrame:
    """A deterministic items table for the distinct ids among `item_ids`, for tests.

    Item number n (in sorted id order) gets one or two of five genres, a year between 1950
    and 1999 and a two-word title drawn from a small vocabulary, all from n alone.
    """
    genres = ("Action", "Comedy", "Drama", "Romance", "Sci-Fi")
    words = ("star", "love", "night", "city", "war", "dream", "river")
    item_ids = np.unique(np.asarray(item_ids))
    return pd.DataFrame({
        "item_id": item_ids,
        "title": [f"{words[n % 7]} {words[(3 * n + 1) % 7]}" for n in range(len(item_ids))],
        "year": pd.array([1950 + (7 * n) % 50 for n in range(len(item_ids))], dtype="Int64"),
        "genres": [
            sorted({genres[n % 5], genres[(n // 5) % 5]}) for n in range(len(item_ids))
        ],
    })


__all__ = ["ContentBased", "synthetic_items"]
