"""Tests for cross_validate_rating."""

import time

import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data.splits import k_fold_splits
from recsys_lessons.evaluation import cross_validate_rating, evaluate_rating
from recsys_lessons.models import BiasBaseline, GlobalMean


def test_one_row_per_fold_with_the_metrics_of_that_fold(small_ratings):
    started = time.perf_counter()
    result = cross_validate_rating(BiasBaseline, small_ratings, folds=4, seed=2)
    elapsed = time.perf_counter() - started
    assert list(result.columns) == ["rmse", "mae", "fit_seconds"]
    assert result.index.name == "fold" and result.index.tolist() == [1, 2, 3, 4]
    # Every fit takes some time, and the fits happen inside the call, so together they take
    # no longer than the whole call did.
    assert (result["fit_seconds"] > 0).all()
    assert result["fit_seconds"].sum() <= elapsed
    # The same folds, fitted and evaluated by hand.
    for fold, (train, test) in enumerate(k_fold_splits(small_ratings, folds=4, seed=2), 1):
        expected = evaluate_rating(BiasBaseline().fit(train), test)
        assert result.loc[fold, "rmse"] == pytest.approx(expected["rmse"])
        assert result.loc[fold, "mae"] == pytest.approx(expected["mae"])


def test_global_mean_error_is_the_spread_around_the_train_mean(small_ratings):
    result = cross_validate_rating(GlobalMean, small_ratings, folds=3, seed=0)
    for fold, (train, test) in enumerate(k_fold_splits(small_ratings, folds=3, seed=0), 1):
        errors = test["rating"] - train["rating"].mean()
        assert result.loc[fold, "rmse"] == pytest.approx(np.sqrt(np.mean(errors**2)))
        assert result.loc[fold, "mae"] == pytest.approx(np.mean(np.abs(errors)))


def test_every_fold_gets_a_fresh_model(small_ratings):
    made = []

    def make_model():
        made.append(BiasBaseline(reg_user=5.0))
        return made[-1]

    cross_validate_rating(make_model, small_ratings, folds=3)
    assert len(made) == 3 and len({id(model) for model in made}) == 3


def test_same_seed_same_result(small_ratings):
    first = cross_validate_rating(BiasBaseline, small_ratings, seed=1)
    again = cross_validate_rating(BiasBaseline, small_ratings, seed=1)
    pd.testing.assert_frame_equal(first[["rmse", "mae"]], again[["rmse", "mae"]])


def test_a_model_instance_is_not_a_model_factory(small_ratings):
    with pytest.raises(TypeError, match="make_model must be a function"):
        cross_validate_rating(BiasBaseline(), small_ratings)
    with pytest.raises(TypeError, match="no fit and predict"):
        cross_validate_rating(lambda: "not a model", small_ratings)


def test_ratings_are_needed(small_ratings):
    with pytest.raises(ValueError, match=r"missing the column\(s\) \['rating'\]"):
        cross_validate_rating(BiasBaseline, small_ratings.drop(columns="rating"))
    with pytest.raises(ValueError, match="folds must be an integer"):
        cross_validate_rating(BiasBaseline, small_ratings, folds=1)
