import math

import numpy as np
import optuna
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys_lessons.data import stratified_split
from recsys_lessons.evaluation import evaluate_ranking
from recsys_lessons.models import EASE, ImplicitALS, ItemKNN, Popularity
from recsys_lessons.tuning import (
    Categorical,
    Integer,
    Real,
    bayesian_search,
    check_space,
    random_search,
    sample_parameters,
    validation_split,
)
from tests.conftest import make_ratings


@pytest.fixture(scope="module")
def ratings():
    return make_ratings(num_users=30, num_items=40, density=0.3, seed=1)


def without_time(trials: pd.DataFrame) -> pd.DataFrame:
    return trials.drop(columns="seconds")


class LayeredPopularity(Popularity):
    """Popularity with a tuple-valued parameter (like a model's hidden layer widths), and one
    that makes training fail, to test the search machinery without a slow model."""

    def __init__(self, layers=(1,), shift: float = 0.0):
        self.layers = layers
        self.shift = shift

    def _fit(self, ratings):
        if self.shift > 1:
            raise FloatingPointError("diverged")
        super()._fit(ratings)
        self.shift_ = self.shift * len(self.layers)

    def _score_users(self, user_indices):
        # The parameters tilt the counts towards later items, so trials score differently.
        return super()._score_users(user_indices) + self.shift_ * np.arange(
            len(self.item_counts_)
        )


# ----------------------------------------------------------------------------- the space


def test_lists_become_categorical_and_bounds_are_kept():
    space = check_space({"k": [5, 10], "shrinkage": Real(0, 50)}, ItemKNN())
    assert space["k"] == Categorical((5, 10))
    assert space["shrinkage"] == Real(0, 50)
    # A range or a numpy array of choices is a collection of choices too.
    assert Categorical(range(5, 15, 5)) == Categorical(np.array([5, 10])) == space["k"]


@pytest.mark.parametrize(("space", "message"), [
    ({}, "non-empty dict"),
    ([("k", [1, 2])], "non-empty dict"),
    ({"neighbours": [5, 10]}, "no parameter"),
    ({"k": Integer(10, 10)}, "low < high"),
    ({"k": Integer(20, 10)}, "low < high"),
    ({"k": Integer(1.5, 10)}, "must be integers"),
    ({"shrinkage": Real(0, 10, log=True)}, "needs low > 0"),
    ({"shrinkage": Real(0, math.inf)}, "finite numbers"),
    ({"shrinkage": Real("a", 1)}, "finite numbers"),
    ({"k": Categorical([])}, "no choices"),
    ({"k": Categorical("abc")}, "must be a list or tuple of values"),
    ({"k": 5}, "must be Real"),
])
def test_bad_spaces_raise_clear_errors(space, message):
    with pytest.raises(ValueError, match=message):
        check_space(space, ItemKNN())


@settings(max_examples=50, deadline=None)
@given(
    low=st.integers(1, 1000), width=st.integers(1, 1000), log=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_draws_stay_inside_their_bounds(low, width, log, seed):
    space = {"integer": Integer(low, low + width, log=log),
             "real": Real(float(low), float(low + width), log=log),
             "choice": Categorical(("a", (1, 2), None))}
    rng = np.random.default_rng(seed)
    for _ in range(5):
        drawn = sample_parameters(space, rng)
        assert isinstance(drawn["integer"], int) and low <= drawn["integer"] <= low + width
        assert low <= drawn["real"] <= low + width
        assert drawn["choice"] in space["choice"].choices


@pytest.mark.parametrize("dimension", [Real(1, 1000, log=True), Integer(1, 999, log=True)])
def test_log_draws_cover_every_order_of_magnitude_evenly(dimension):
    rng = np.random.default_rng(0)
    draws = np.array([sample_parameters({"x": dimension}, rng)["x"] for _ in range(3000)])
    per_decade = np.histogram(np.log10(draws), bins=[0, 1, 2, 3])[0] / len(draws)
    np.testing.assert_allclose(per_decade, 1 / 3, atol=0.04)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize("protocol", ["stratified", "leave_one_out"])
def test_validation_split_partitions_the_training_data(ratings, protocol):
    fit_part, validation = validation_split(ratings, protocol=protocol, seed=3)
    assert len(fit_part) + len(validation) == len(ratings)
    assert sorted(fit_part.index.append(validation.index)) == sorted(ratings.index)
    assert set(validation["user_id"]) <= set(fit_part["user_id"])
    if protocol == "leave_one_out":
        assert validation["user_id"].is_unique


def test_validation_split_rejects_an_unknown_protocol(ratings):
    with pytest.raises(ValueError, match="protocol must be one of"):
        validation_split(ratings, protocol="temporal")


# ----------------------------------------------------------------------------- searches


def random_search_by_hand(model_class, space, ratings, n_trials, seed, k=10,
                          metric="ndcg@10", protocol="stratified", validation_size=0.25):
    """(value of the one parameter, validation score) per trial, computed from scratch.

    The same draws as random_search, each model fitted on the fit part of the validation
    split of `protocol` and scored on its validation part.
    """
    (name,) = space
    fit_part, validation = validation_split(ratings, protocol, validation_size, seed=seed)
    rng = np.random.default_rng(seed)
    by_hand = []
    for _ in range(n_trials):
        parameters = sample_parameters(space, rng)
        model = model_class(**parameters).fit(fit_part)
        by_hand.append((parameters[name],
                        evaluate_ranking(model, fit_part, validation, k=k)[metric]))
    return by_hand


def test_random_search_is_the_loop_written_by_hand(ratings):
    space = {"regularization": Real(1, 500, log=True)}
    result = random_search(EASE(), space, ratings, n_trials=4, seed=7)
    by_hand = random_search_by_hand(EASE, space, ratings, n_trials=4, seed=7)
    np.testing.assert_allclose(result.trials[["regularization", "ndcg@10"]].to_numpy(), by_hand)
    assert list(result.trials.columns) == ["trial", "regularization", "ndcg@10", "seconds"]
    best = int(np.argmax([value for _, value in by_hand]))
    assert result.best_params == {"regularization": by_hand[best][0]}
    assert result.best_value == by_hand[best][1]
    # Another validation share carves another split, and the search uses it.
    half = random_search(EASE(), space, ratings, n_trials=4, seed=7, validation_size=0.5)
    by_hand = random_search_by_hand(EASE, space, ratings, n_trials=4, seed=7,
                                    validation_size=0.5)
    np.testing.assert_allclose(half.trials[["regularization", "ndcg@10"]].to_numpy(), by_hand)
    assert not np.allclose(half.trials["ndcg@10"], result.trials["ndcg@10"])


def test_searches_are_deterministic_for_a_seed(ratings):
    space = {"factors": Integer(2, 8), "regularization": Real(0.1, 10, log=True)}
    model = ImplicitALS(iterations=2)
    for search in (random_search, bayesian_search):
        first = search(model, space, ratings, n_trials=5, seed=3)
        again = search(model, space, ratings, n_trials=5, seed=3)
        other = search(model, space, ratings, n_trials=5, seed=4)
        pd.testing.assert_frame_equal(without_time(first.trials), without_time(again.trials))
        assert not without_time(first.trials).equals(without_time(other.trials))


def test_bayesian_search_is_optunas_seeded_tpe_with_its_start_up_phase(ratings, monkeypatch):
    import optuna

    made = []
    real_sampler = optuna.samplers.TPESampler

    def recording_sampler(**arguments):
        made.append(arguments)
        return real_sampler(**arguments)

    monkeypatch.setattr(optuna.samplers, "TPESampler", recording_sampler)
    space = {"regularization": Real(1, 1000, log=True)}
    for n_trials, startup_trials, expected in [(4, None, 3), (12, None, 4), (33, None, 10),
                                               (5, 2, 2)]:
        bayesian_search(EASE(), space, ratings, n_trials=n_trials, seed=5,
                        startup_trials=startup_trials)
        assert made[-1] == {"seed": 5, "n_startup_trials": expected}


def test_bayesian_search_starts_from_the_given_parameters(ratings):
    space = {"regularization": Real(1, 1000, log=True)}
    result = bayesian_search(EASE(), space, ratings, n_trials=6, seed=0,
                             initial_params=[{"regularization": 500.0}])
    assert len(result.trials) == 6
    assert result.trials.loc[0, "regularization"] == 500.0
    assert result.best_value == result.trials["ndcg@10"].max()
    assert result.trials["regularization"].between(1, 1000).all()


@pytest.mark.parametrize(("initial", "message"), [
    # More sets than trials: the extra ones would be queued and silently never run.
    ([{"regularization": value} for value in (5.0, 50.0, 500.0)], "3 initial_params but only"),
    ({"regularization": 5.0}, "must be a list of parameter dicts"),
])
def test_bayesian_search_rejects_initial_parameters_it_cannot_try(ratings, initial, message):
    with pytest.raises(ValueError, match=message):
        bayesian_search(EASE(), {"regularization": Real(1, 1000)}, ratings, n_trials=2,
                        initial_params=initial)


def test_bayesian_search_rejects_incomplete_initial_parameters(ratings):
    with pytest.raises(ValueError, match="every searched parameter"):
        bayesian_search(ImplicitALS(), {"factors": [2, 4], "alpha": Real(1, 2)}, ratings,
                        n_trials=2, initial_params=[{"factors": 2}])


@pytest.mark.parametrize(("initial", "message"), [
    ({"layers": (3, 3), "shift": 0.1}, r"layers=\(3, 3\), which is not one of its choices"),
    ({"layers": (1,), "shift": 0.9}, r"shift=0.9; it must be a number in \[0.0, 0.5\]"),
])
def test_initial_parameters_outside_the_space_are_named(ratings, initial, message):
    space = {"layers": Categorical([(1,), (2, 2)]), "shift": Real(0.0, 0.5)}
    with pytest.raises(ValueError, match=message):
        bayesian_search(LayeredPopularity(), space, ratings, n_trials=1, initial_params=[initial])


def test_initial_integer_parameters_must_be_whole(ratings):
    with pytest.raises(ValueError, match=r"factors=2.5; it must be an integer in \[2, 8\]"):
        bayesian_search(ImplicitALS(), {"factors": Integer(2, 8)}, ratings, n_trials=1,
                        initial_params=[{"factors": 2.5}])


def test_initial_parameters_read_back_from_json_keep_their_tuples(ratings):
    space = {"layers": Categorical([(1,), (2, 2)]), "shift": Real(0.0, 0.5)}
    result = bayesian_search(LayeredPopularity(), space, ratings, n_trials=1,
                             initial_params=[{"layers": [2, 2], "shift": 0.1}])
    assert result.trials.loc[0, "layers"] == (2, 2)


def test_tuple_choices_round_trip_through_optuna(ratings):
    space = {"layers": Categorical([(1,), (2, 2)]), "shift": Real(0.0, 0.5)}
    result = bayesian_search(LayeredPopularity(), space, ratings, n_trials=4, seed=0)
    assert set(result.trials["layers"]) <= {(1,), (2, 2)}
    assert result.best_params["layers"] in space["layers"].choices
    assert len(result.study().trials) == 4


def test_a_diverged_trial_is_recorded_as_failed(ratings):
    space = {"shift": Categorical([0.0, 5.0])}
    for search in (random_search, bayesian_search):
        result = search(LayeredPopularity(), space, ratings, n_trials=6, seed=0)
        failed = result.trials["shift"] == 5.0
        assert failed.any() and result.trials.loc[failed, "ndcg@10"].isna().all()
        assert result.best_params == {"shift": 0.0}
    with pytest.raises(FloatingPointError, match="Every trial failed"):
        random_search(LayeredPopularity(), {"shift": [5.0, 6.0]}, ratings, n_trials=2)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"metric": "ndcg"}, "name@k"),
    ({"metric": "accuracy@10"}, "name@k"),
    ({"metric": "ndcg@0"}, "name@k"),
    # Refused before any fit: the results would be labelled "ndcg@10", never "ndcg@010".
    ({"metric": "ndcg@010"}, "name@k"),
    ({"validation_size": 1.0}, "validation_size must be a fraction"),
    ({"n_trials": 0}, "n_trials"),
    ({"protocol": "random"}, "protocol"),
])
def test_bad_search_arguments_raise_clear_errors(ratings, arguments, message):
    for search in (random_search, bayesian_search):
        with pytest.raises(ValueError, match=message):
            search(EASE(), {"regularization": Real(1, 10)}, ratings, **arguments)


def test_another_metric_and_the_leave_one_out_protocol(ratings):
    space = {"k": Integer(2, 20)}
    result = random_search(ItemKNN(), space, ratings, n_trials=3, metric="hit_rate@5",
                           protocol="leave_one_out", seed=0)
    assert list(result.trials.columns) == ["trial", "k", "hit_rate@5", "seconds"]
    # Each user's latest row held out, scored by hit rate at 5: a search that carved a
    # stratified split instead would score other validation rows.
    by_hand = random_search_by_hand(ItemKNN, space, ratings, n_trials=3, seed=0, k=5,
                                    metric="hit_rate@5", protocol="leave_one_out")
    np.testing.assert_allclose(result.trials[["k", "hit_rate@5"]].to_numpy(dtype=float), by_hand)


def test_best_model_is_unfitted_and_carries_the_best_parameters(ratings):
    result = random_search(ItemKNN(k=3), {"shrinkage": Real(0, 20)}, ratings, n_trials=3)
    model = result.best_model()
    assert model.shrinkage == result.best_params["shrinkage"] and model.k == 3
    assert not hasattr(model, "user_map_")


class EASEWithAnIgnoredParameter(EASE):
    """EASE with a parameter that changes nothing, for the importance and tie tests."""

    def __init__(self, regularization: float = 500.0, ignored: float = 0.0):
        super().__init__(regularization)
        self.ignored = ignored


def test_importance_gives_an_ignored_parameter_a_small_share(ratings):
    space = {"regularization": Real(1, 10_000, log=True), "ignored": Real(0, 1)}
    result = random_search(EASEWithAnIgnoredParameter(), space, ratings, n_trials=12, seed=0)
    importance = result.importance(seed=0)
    # 0.07 here; a split into equal shares would give it 0.5.
    assert importance["ignored"] < 0.2 and importance.index[0] == "regularization"


def test_importance_shares_sum_to_one(ratings):
    space = {"factors": Integer(2, 8), "alpha": Real(0.5, 20, log=True)}
    result = random_search(ImplicitALS(iterations=2), space, ratings, n_trials=6)
    importance = result.importance(seed=0)
    assert set(importance.index) == set(space)
    assert importance.sum() == pytest.approx(1.0)
    pd.testing.assert_series_equal(importance, result.importance(seed=0))
    single = random_search(EASE(), {"regularization": Real(1, 10)}, ratings, n_trials=1)
    with pytest.raises(ValueError, match="at least 2 finished trials"):
        single.importance()


def test_keras_models_train_with_early_stopping(ratings):
    from recsys_lessons.models import GMF

    # A high learning rate over-fits these 30 users within a few epochs.
    model = GMF(embedding_dim=4, epochs=10, batch_size=256, patience=1)
    result = random_search(model, {"learning_rate": Real(0.04, 0.06)}, ratings, n_trials=1)
    assert result.model.validation_fraction > 0 and model.validation_fraction == 0
    assert result.trials["epochs_run"].between(2, 9).all()  # stopped before its 10 epochs
    assert result.best_model().validation_fraction == result.model.validation_fraction
    # Switched off, the trials train for exactly `epochs` on everything.
    plain = random_search(model, {"learning_rate": Real(0.001, 0.05)}, ratings, n_trials=1,
                          early_stopping=False)
    assert "epochs_run" not in plain.trials.columns and plain.model.validation_fraction == 0


def test_study_is_as_quiet_as_the_search(ratings, capfd):
    result = random_search(EASE(), {"regularization": Real(1, 100)}, ratings, n_trials=2)
    capfd.readouterr()
    assert len(result.study().trials) == 2
    assert "A new study created" not in capfd.readouterr().err


def test_a_trial_that_raises_names_its_trial_and_parameters(ratings):
    # A value the model refuses stops the search; the error keeps its type and message, and a
    # note says which trial and which values raised it.
    space = {"regularization": Categorical([50.0, -1.0])}
    with pytest.raises(ValueError, match="regularization must be") as raised:
        random_search(EASE(), space, ratings, n_trials=6, seed=0)
    (note,) = raised.value.__notes__
    assert note.startswith("Raised in trial ") and "{'regularization': -1.0}" in note


def test_early_stopping_steps_aside_when_its_share_holds_out_nothing():
    from recsys_lessons.models import GMF

    # Six items per user, so the fit part keeps at most five: round(0.1 · 5) = 0 for everyone,
    # and the trials train all their epochs instead of failing on an empty validation split.
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame([(user, int(item)) for user in range(30)
                         for item in rng.choice(40, 6, replace=False)],
                        columns=["user_id", "item_id"])
    model = GMF(embedding_dim=4, epochs=2, batch_size=64)
    result = random_search(model, {"learning_rate": Real(0.001, 0.05, log=True)}, tiny,
                           n_trials=1)
    assert result.model.validation_fraction == 0 and "epochs_run" not in result.trials.columns
    assert np.isfinite(result.best_value)


def test_a_searched_epochs_value_is_kept_when_early_stopping_ends_a_trial_sooner(ratings):
    from recsys_lessons.models import GMF

    model = GMF(embedding_dim=4, batch_size=256, patience=1, learning_rate=0.05)
    result = random_search(model, {"epochs": Categorical([6, 8])}, ratings, n_trials=2)
    assert result.trials["epochs"].isin([6, 8]).all()
    assert (result.trials["epochs_run"] < result.trials["epochs"]).all()  # stopped sooner
    assert result.best_params["epochs"] in (6, 8)
    assert result.best_model().epochs == result.best_params["epochs"]


# ------------------------------------------------- seeds, bounds and early-stopping plumbing


def test_validation_split_uses_its_seed(ratings):
    # Another seed carves another validation split: the stratified split, inside train.
    assert not validation_split(ratings, seed=1)[1].index.equals(
        validation_split(ratings, seed=2)[1].index)
    assert validation_split(ratings, seed=3)[1].index.equals(
        stratified_split(ratings, 0.25, seed=3)[1].index)


@pytest.mark.parametrize(("dimension", "expected"), [
    (Integer(1, 3), {1, 2, 3}),
    (Integer(1, 3, log=True), {1, 2, 3}),
    (Integer(1, 2, log=True), {1, 2}),
])
def test_integer_draws_reach_the_upper_bound(dimension, expected):
    rng = np.random.default_rng(0)
    draws = {sample_parameters({"n": dimension}, rng)["n"] for _ in range(300)}
    assert draws == expected


def test_study_best_trial_is_the_search_best(ratings):
    result = random_search(EASE(), {"regularization": Real(1, 500, log=True)}, ratings,
                           n_trials=4, seed=7)
    assert result.trials["ndcg@10"].nunique() > 1  # the best and the worst differ
    assert result.study().best_value == pytest.approx(result.best_value)


def test_an_initial_value_on_the_upper_bound_is_tried(ratings):
    result = bayesian_search(EASE(), {"regularization": Real(1, 500)}, ratings, n_trials=1,
                             initial_params=[{"regularization": 500}])
    assert result.trials["regularization"].tolist() == [500.0]


class StoppingPopularity(LayeredPopularity):
    """A stand-in for a Keras model: it has `validation_fraction` and `patience`, and its
    history has one row per epoch it ran, three here, whatever it holds out."""

    def __init__(self, validation_fraction=0.0, patience=2, shift: float = 0.0):
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.shift = shift
        self.layers = (1,)

    def _fit(self, ratings):
        super()._fit(ratings)
        self.history_ = pd.DataFrame({"loss": [0.3, 0.2, 0.25]})


def _mixed_activity():
    # 29 users with 6 items each, whose fit part holds out nothing at 10 %, and one user with
    # 30 items, who holds out some: early stopping can still work.
    rng = np.random.default_rng(0)
    rows = [(user, int(item)) for user in range(29) for item in rng.choice(40, 6, replace=False)]
    rows += [(29, item) for item in range(30)]
    return pd.DataFrame(rows, columns=["user_id", "item_id"])


def test_early_stopping_holds_out_a_share_when_any_user_can_spare_one():
    result = random_search(StoppingPopularity(), {"shift": Real(0, 1)}, _mixed_activity(),
                           n_trials=1)
    assert result.model.validation_fraction == 0.1
    assert result.trials["epochs_run"].tolist() == [3]  # one per row of its history


def test_a_models_own_validation_fraction_is_kept():
    result = random_search(StoppingPopularity(validation_fraction=0.3), {"shift": Real(0, 1)},
                           _mixed_activity(), n_trials=1)
    assert result.model.validation_fraction == 0.3


def test_a_failed_bayesian_trial_is_told_to_optuna_as_failed(ratings, monkeypatch):
    import optuna

    # Told as a score (0, say), a diverged trial would steer TPE as a poor setting; told as
    # failed, TPE leaves it out.
    told = []
    tell = optuna.study.Study.tell

    def recording_tell(self, trial, values=None, state=None, **options):
        told.append((values, state))
        return tell(self, trial, values, state=state, **options)

    monkeypatch.setattr(optuna.study.Study, "tell", recording_tell)
    result = bayesian_search(LayeredPopularity(), {"shift": Categorical([0.5, 2.0])}, ratings,
                             n_trials=2, initial_params=[{"shift": 2.0}, {"shift": 0.5}])
    assert np.isnan(result.trials["ndcg@10"][0]) and np.isfinite(result.trials["ndcg@10"][1])
    assert told[0] == (None, optuna.trial.TrialState.FAIL)
    assert told[1] == (result.trials["ndcg@10"][1], None)


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


def test_the_first_of_equal_trials_is_the_best(ratings):
    # The ignored parameter changes nothing, so all trials score the same; the documented
    # rule "the first of equals" makes trial 0 the best, whatever came later.
    result = random_search(EASEWithAnIgnoredParameter(), {"ignored": [0.0, 1.0, 2.0, 3.0]},
                           ratings, n_trials=5, seed=0)
    values = result.trials["ignored"].tolist()
    assert result.trials["ndcg@10"].nunique() == 1
    assert values[0] != values[-1]  # Otherwise first and last could not be told apart.
    assert result.best_params == {"ignored": values[0]}


def test_bayesian_search_asks_optuna_to_maximise(ratings, monkeypatch):
    # The score is NDCG, higher is better: TPE must model the high scores as the good ones.
    directions = []
    create_study = optuna.create_study

    def spy(*args, **kwargs):
        directions.append(kwargs.get("direction"))
        return create_study(*args, **kwargs)

    monkeypatch.setattr(optuna, "create_study", spy)
    bayesian_search(EASE(), {"regularization": Real(10, 1000, log=True)}, ratings, n_trials=2)
    assert directions == ["maximize"]


def test_integer_bounds_that_are_booleans_are_rejected():
    # True is an Integral in Python, but Integer(False, 3) is surely a slip, not a range 0..3.
    with pytest.raises(ValueError, match="must be integers"):
        check_space({"regularization": Integer(False, 3)}, EASE())


def test_validation_split_names_the_training_data_in_its_errors():
    # The learner passed `train`; an error about "ratings" would point at the wrong frame.
    with pytest.raises(ValueError, match=r"train is missing the column\(s\) \['item_id'\]"):
        validation_split(pd.DataFrame({"user_id": [1]}))


def test_the_trials_table_numbers_and_times_each_trial(ratings):
    result = random_search(EASE(), {"regularization": Real(10, 1000)}, ratings, n_trials=3)
    # Three trials are numbered 0, 1, 2 in the order they ran.
    assert result.trials["trial"].tolist() == [0, 1, 2]
    # Fitting EASE and ranking takes some time: no trial can have taken 0 seconds.
    assert (result.trials["seconds"] > 0).all()


def test_best_model_leaves_the_searched_model_untouched(ratings):
    model = EASE(regularization=123.0)
    result = random_search(model, {"regularization": Real(10, 1000)}, ratings, n_trials=2)
    best = result.best_model()
    # A new model each time: setting the best parameters must not change the starting model
    # that `result.model` documents, nor hand back that same object.
    assert best is not result.model
    assert result.model.regularization == 123.0
