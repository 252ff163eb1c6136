"""The contract every model in the course keeps.

Data goes in and out as pandas, with MovieLens ids as they are; inside, a model works on
indices 0..n-1 and a scipy.sparse CSR matrix. A model only has to say how it learns
(`_fit`) and how it scores items for some users (`_score_users`); this base class does the
rest the same way for every model:

    model = SomeModel(hyper_parameters).fit(train)      # returns the model
    model.recommend(user_ids, k=10, exclude_seen=True)  # DataFrame user_id, item_id, score, rank
    model.score(user_ids, item_ids)                     # np.ndarray, higher is better
    model.predict(user_ids, item_ids)                   # rating models only

Conventions (those of scikit-learn): `__init__` only stores its arguments, unchanged; what is
learned ends with an underscore and exists only after `fit`; a `random_state` is turned into
a generator inside `fit`, so the same seed gives the same model.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from recsys_lessons.data.interactions import IdMap, UnknownIdError, interaction_matrix
from recsys_lessons.data.validation import check_interactions, check_positive_int

# Scores are computed for this many (user, item) cells at a time, about 32 MB of float64, so
# recommending for every user never needs a users × items matrix in memory at once.
SCORE_BLOCK_CELLS = 1 << 22


class NotFittedError(ValueError, AttributeError):
    """Raised when a model is used before `fit`."""


class Recommender:
    """Base class of every model. Subclasses implement `_fit` and `_score_users`.

    Attributes set by `fit`
    -----------------------
    user_map_, item_map_ : IdMap
        Translate MovieLens ids to row and column indices and back.
    user_items_ : scipy.sparse.csr_matrix
        The binary users × items matrix of the training data, used to exclude seen items.
    """

    #: Score given to items that were not in the training data (they cannot be ranked).
    unknown_item_score = -np.inf
    #: Whether `fit` needs a rating column.
    needs_ratings = False
    #: Whether `predict` gives ratings r̂_ui. Ask a fitted model: for some it depends on
    #: their settings and on what `fit` learned (a property there, not a class attribute).
    predicts_ratings = False
    #: Whether users absent from training get recommendations (from `_score_unknown_users`).
    supports_unknown_users = False

    # ----------------------------------------------------------------- parameters

    @classmethod
    def _parameter_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self) -> dict:
        """The hyper-parameters given to `__init__`, by name."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **parameters) -> Recommender:
        """Change hyper-parameters; the model must be fitted again afterwards."""
        for name, value in parameters.items():
            if name not in self._parameter_names():
                raise ValueError(
                    f"{type(self).__name__} has no parameter {name!r}; its parameters are "
                    f"{self._parameter_names()}."
                )
            setattr(self, name, value)
        return self

    def clone(self) -> Recommender:
        """A new, unfitted model with the same hyper-parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={_parameter_repr(value)}"
                              for name, value in self.get_params().items())
        return f"{type(self).__name__}({arguments})"

    # ----------------------------------------------------------------- fitting

    def fit(self, ratings: pd.DataFrame) -> Recommender:
        """Learn from a DataFrame of user_id, item_id (and rating) rows; returns the model."""
        columns = ("user_id", "item_id", "rating") if self.needs_ratings else ("user_id", "item_id")
        if "rating" in getattr(ratings, "columns", ()):
            # Some implicit models weigh interactions by the rating when there is one, so a
            # rating column is always checked.
            columns = ("user_id", "item_id", "rating")
            missing = int(ratings["rating"].isna().sum())
            if missing and not self.needs_ratings:
                raise ValueError(
                    f"ratings has {missing} NaN value(s) in column 'rating'. Drop or fill "
                    "those rows first, for example frame.dropna(subset=['rating']); or, if "
                    f"the data has no ratings at all, fit {type(self).__name__} on the "
                    "interactions alone: frame.drop(columns='rating')."
                )
        check_interactions(ratings, name="ratings", columns=columns)
        ratings = _with_numeric_ratings(ratings)
        self.user_items_, self.user_map_, self.item_map_ = interaction_matrix(ratings)
        try:
            self._fit(ratings)
        except BaseException:
            # A failed fit must not leave a model that looks fitted: the new id maps next to
            # the previous fit's learned parameters, or to none at all.
            del self.user_map_
            raise
        return self

    def _fit(self, ratings: pd.DataFrame) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_map_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet. Call .fit(train) first."
            )

    def _rating_matrix(self, ratings: pd.DataFrame):
        """The users × items matrix of r_ui, aligned with this model's id maps."""
        matrix, _, _ = interaction_matrix(ratings, self.user_map_, self.item_map_, "rating")
        return matrix

    # ----------------------------------------------------------------- scoring

    def _score_users(self, user_indices: np.ndarray) -> np.ndarray:
        """Scores of every item for the given user indices: shape (len(users), num_items)."""
        raise NotImplementedError

    def _score_unknown_users(self, count: int) -> np.ndarray:
        """Scores for users absent from training; only models with a fallback define this."""
        raise NotImplementedError

    def _score_rows(self, user_indices: np.ndarray) -> np.ndarray:
        """`_score_users` for known users (index >= 0) and the fallback for unknown ones (-1)."""
        scores = np.empty((len(user_indices), len(self.item_map_)), dtype=np.float64)
        known = user_indices >= 0
        if known.any():
            scores[known] = self._score_users(user_indices[known])
        if (~known).any():
            scores[~known] = self._score_unknown_users(int((~known).sum()))
        if np.isnan(scores).any():
            raise FloatingPointError(
                f"{type(self).__name__} produced NaN scores. Training diverged: lower the "
                "learning rate or raise the regularisation."
            )
        return scores

    def _user_indices(self, user_ids) -> np.ndarray:
        user_ids = _one_dimensional(user_ids, "user_ids")
        unknown = "mask" if self.supports_unknown_users else "raise"
        return self.user_map_.to_index(user_ids, unknown=unknown)

    def _score_pairs(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        """Scores of paired (user, item) indices; items are known, users may be -1 (fallback).

        The default scores all items for each distinct user and picks the requested ones;
        models with a cheaper way (a dot product) override it.
        """
        distinct_users, position = np.unique(user_indices, return_inverse=True)
        result = np.empty(len(user_indices), dtype=np.float64)
        block = max(1, SCORE_BLOCK_CELLS // max(1, len(self.item_map_)))
        for start in range(0, len(distinct_users), block):
            rows = self._score_rows(distinct_users[start : start + block])
            in_block = (position >= start) & (position < start + block)
            result[in_block] = rows[position[in_block] - start, item_indices[in_block]]
        return result

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Scores of paired user and item ids (higher is better).

        Items absent from training get `unknown_item_score`. Users absent from training raise
        `UnknownIdError`, unless the model documents a fallback for them.
        """
        self._check_fitted()
        item_ids = _one_dimensional(item_ids, "item_ids")
        user_indices = self._user_indices(user_ids)
        if len(user_indices) != len(item_ids):
            raise ValueError(
                f"user_ids and item_ids are paired and must have the same length; got "
                f"{len(user_indices)} and {len(item_ids)}. To score several items for one "
                "user, repeat the user id."
            )
        item_indices = self.item_map_.to_index(item_ids, unknown="mask")
        scores = np.full(len(item_ids), self.unknown_item_score, dtype=np.float64)
        known_items = item_indices >= 0
        if known_items.any():
            scores[known_items] = self._score_pairs(
                user_indices[known_items], item_indices[known_items]
            )
        return scores

    def recommend(self, user_ids=None, k: int = 10, exclude_seen: bool = True) -> pd.DataFrame:
        """The top-k items for each user.

        Parameters
        ----------
        user_ids:
            Users to recommend for; all training users when None.
        k:
            Number of items per user. With fewer than k candidate items (a tiny catalogue, or
            most items already seen) a user gets as many rows as there are candidates.
        exclude_seen:
            Leave out items the user interacted with in the training data.

        Returns
        -------
        DataFrame with columns user_id, item_id, score, rank (1 = best), sorted by user in the
        order given and by rank. Ties in score are broken by the lower item index.
        """
        self._check_fitted()
        k = check_positive_int(k, "k")
        if user_ids is None:
            user_ids = self.user_map_.ids
        user_ids = np.atleast_1d(np.asarray(user_ids))
        user_indices = self._user_indices(user_ids)
        num_items = len(self.item_map_)
        keep = min(k, num_items)
        block = max(1, SCORE_BLOCK_CELLS // max(1, num_items))
        parts = []
        for start in range(0, len(user_indices), block):
            indices = user_indices[start : start + block]
            scores = self._score_rows(indices)
            if exclude_seen and (indices >= 0).any():
                known_rows = np.flatnonzero(indices >= 0)
                seen = self.user_items_[indices[known_rows]].tocoo()
                scores[known_rows[seen.row], seen.col] = -np.inf
            # A stable sort of the negated scores ranks ties by the lower item index.
            top_items = np.argsort(-scores, axis=1, kind="stable")[:, :keep]
            top_scores = np.take_along_axis(scores, top_items, axis=1)
            rows = np.repeat(np.arange(len(indices)), keep)
            parts.append(pd.DataFrame({
                "user_id": user_ids[start + rows],
                "item_id": self.item_map_.to_ids(top_items.ravel()),
                "score": top_scores.ravel(),
                "rank": np.tile(np.arange(1, keep + 1), len(indices)),
            }))
        if not parts:
            return pd.DataFrame({"user_id": [], "item_id": [], "score": [], "rank": []})
        recommendations = pd.concat(parts, ignore_index=True)
        # Excluded items carry a score of -inf; they are not recommendations.
        recommendations = recommendations[np.isfinite(recommendations["score"].to_numpy())]
        return recommendations.reset_index(drop=True)


class RatingPredictor(Recommender):
    """A model that also predicts ratings r̂_ui. Its ranking score is the predicted rating.

    The score is clipped like `predict`, so the items a generous user is predicted to rate
    above the top of the scale tie at it and are ordered by item index, as every tie is.
    (On MovieLens 100K, ranking by the unclipped prediction instead moved NDCG@10 by at most
    0.0007 for BiasBaseline, BiasedMF and ALS, under both protocols.)

    Subclasses set ``global_mean_`` (μ), ``user_bias_`` (b_u) and ``item_bias_`` (b_i) in
    `_fit`, and implement `_predict_known`. `predict` falls back to the baseline estimate
    μ + b_u + b_i for users or items absent from training, using the biases that are known.
    Predictions are clipped to the range of ratings seen in training.
    """

    needs_ratings = True
    predicts_ratings = True

    def fit(self, ratings: pd.DataFrame) -> RatingPredictor:
        super().fit(ratings)
        # As floats: min() and max() of ratings written as text would compare text.
        values = ratings["rating"].to_numpy(dtype=np.float64)
        self.rating_range_ = (float(values.min()), float(values.max()))
        return self

    def _predict_known(self, user_indices: np.ndarray, item_indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _score_pairs(self, user_indices, item_indices):
        return np.clip(self._predict_known(user_indices, item_indices), *self.rating_range_)

    def _score_users(self, user_indices):
        # Predict every (user, item) cell; models with a matrix form override this.
        num_items = len(self.item_map_)
        users = np.repeat(user_indices, num_items)
        items = np.tile(np.arange(num_items), len(user_indices))
        return self._score_pairs(users, items).reshape(len(user_indices), num_items)

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings r̂_ui for paired user and item ids."""
        self._check_fitted()
        user_ids = _one_dimensional(user_ids, "user_ids")
        item_ids = _one_dimensional(item_ids, "item_ids")
        if len(user_ids) != len(item_ids):
            raise ValueError(
                f"user_ids and item_ids are paired and must have the same length; got "
                f"{len(user_ids)} and {len(item_ids)}."
            )
        users = self.user_map_.to_index(user_ids, unknown="mask")
        items = self.item_map_.to_index(item_ids, unknown="mask")
        user_bias = np.where(users >= 0, self.user_bias_[np.maximum(users, 0)], 0.0)
        item_bias = np.where(items >= 0, self.item_bias_[np.maximum(items, 0)], 0.0)
        predictions = self.global_mean_ + user_bias + item_bias
        known = (users >= 0) & (items >= 0)
        if known.any():
            predictions[known] = self._predict_known(users[known], items[known])
        return np.clip(predictions, *self.rating_range_)


__all__ = ["IdMap", "NotFittedError", "RatingPredictor", "Recommender", "UnknownIdError"]


def _with_numeric_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """ratings with its rating column as float64, when it holds numbers in another form.

    `check_interactions` accepts ratings written as text ("4"), Decimals or categories when
    they read as finite numbers. Left as they are, min() and max() would compare text ("10" <
    "9"), == 0 would miss "0" and mean() would fail, so every model gets plain floats.
    """
    if "rating" not in ratings.columns or ratings["rating"].dtype.kind in "biuf":
        return ratings
    return ratings.assign(rating=ratings["rating"].to_numpy(dtype=np.float64))


def _one_dimensional(ids, name: str) -> np.ndarray:
    """ids as a 1-D array (one id becomes a list of one), or a ValueError naming the shape."""
    ids = np.atleast_1d(np.asarray(ids))
    if ids.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {ids.shape}.")
    return ids


def _parameter_repr(value) -> str:
    """A hyper-parameter as a model's repr shows it: a table or an array by its size only.

    An items table or a catalogue of ids would otherwise print hundreds of lines.
    """
    if isinstance(value, pd.DataFrame | pd.Series | pd.Index | np.ndarray) and np.ndim(value):
        if np.ndim(value) > 1 and not isinstance(value, pd.DataFrame):
            return f"<{type(value).__name__} of shape {np.shape(value)}>"
        return f"<{type(value).__name__} of {len(value)} item{'s' if len(value) != 1 else ''}>"
    # A list of ids (a catalogue, say) is summarised too; short ones, such as layer widths,
    # are shown in full.
    if isinstance(value, list | tuple) and len(value) > 10:
        return f"<{type(value).__name__} of {len(value)} items>"
    return repr(value)
