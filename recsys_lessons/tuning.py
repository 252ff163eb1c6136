"""Hyper-parameter search for any model of the course: random search and Bayesian (TPE).

A model's hyper-parameters (λ of EASE, the factors of ImplicitALS, the learning rate of
NeuMF) are not learned by `fit`; they are chosen by trying some and keeping the best. The
score of a try must never come from the test set: the test set would then be part of the
training, and its score would flatter the model. So a search carves a **validation split out
of the training data** and never sees anything else:

    fit_part, validation = validation_split(train)          # both inside train
    for each trial θ:  model(θ).fit(fit_part),  score = NDCG@10 on validation
    best θ  →  refit on the whole of train  →  touch the test set once, at the end

Two ways to propose the next θ:

- `random_search` draws every trial independently from the search space (Bergstra &
  Bengio 2012: with a few parameters that matter, random draws cover each of them better
  than a grid of the same size).
- `bayesian_search` uses the Tree-structured Parzen Estimator of Optuna (Bergstra et al.
  2011). After a few random start-up trials it splits the trials so far into the best
  γ-share and the rest, fits one density to each, l(θ) over the good and g(θ) over the
  others, and proposes the candidate that maximises l(θ) / g(θ): where good trials are
  dense and bad ones are rare.

A search space maps parameter names to `Real(low, high)`, `Integer(low, high)` (either with
``log=True`` to search orders of magnitude evenly) or `Categorical([...])`; a plain list or
tuple is a `Categorical`. Every other parameter keeps the value of the model passed in.
Keras models (those with `validation_fraction` and `patience`) train each trial with early
stopping on a share of their own training data, unless told otherwise (see
`random_search`).

Both searches return a `SearchResult`: a tidy trials table (one row per trial: its
parameters, its validation score, the seconds it took), the best parameters, and helpers
for what comes next (`best_model`, `importance`, `study`). The same seed and the same
training rows, in the same order, give the same trials: the stratified validation split, like
the course's other random splits, draws per row in the order given.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
import pandas as pd

from recsys_lessons.data.splits import leave_one_out, stratified_split, validation_counts
from recsys_lessons.data.validation import (
    check_interactions,
    check_positive_int,
    check_share,
    is_real_number,
    seeded_generator,
)
from recsys_lessons.evaluation import evaluate_ranking

#: Metrics a search can maximise, written "name@k" (e.g. "ndcg@10").
METRICS = ("precision", "recall", "f1", "map", "ndcg", "hit_rate", "mrr")
#: How a validation split is carved from the training data.
PROTOCOLS = ("stratified", "leave_one_out")
#: Share of a Keras model's training data held out for early stopping during a search, when
#: the model itself holds out none.
EARLY_STOPPING_FRACTION = 0.1


# ----------------------------------------------------------------------------- the space


@dataclass(frozen=True)
class Real:
    """A real-valued parameter in [low, high]; ``log=True`` draws log(θ) uniformly."""

    low: float
    high: float
    log: bool = False


@dataclass(frozen=True)
class Integer:
    """An integer parameter in [low, high], both included; ``log=True`` for orders of size."""

    low: int
    high: int
    log: bool = False


@dataclass(frozen=True)
class Categorical:
    """A parameter that takes one of `choices` (numbers, strings, tuples, None...)."""

    choices: tuple

    def __post_init__(self):
        # A list (or a range, or a numpy array) is accepted and stored as a tuple, so that
        # every Categorical holds its choices the same way.
        if isinstance(self.choices, list | range | np.ndarray):
            object.__setattr__(self, "choices", tuple(self.choices))


Dimension = Real | Integer | Categorical


def _check_dimension(name: str, dimension) -> Dimension:
    """The dimension as a Real, Integer or Categorical, or a ValueError that says what is wrong."""
    if isinstance(dimension, list | tuple) and not isinstance(dimension, Categorical):
        dimension = Categorical(tuple(dimension))
    if isinstance(dimension, Categorical):
        if not isinstance(dimension.choices, tuple):
            raise ValueError(
                f"The choices for {name!r} must be a list or tuple of values, got "
                f"{dimension.choices!r}; e.g. Categorical([1, 2, 3]), or Categorical(['a']) "
                f"for a single text value."
            )
        if len(dimension.choices) == 0:
            raise ValueError(
                f"The search space for {name!r} has no choices; give at least one, e.g. "
                f"Categorical([1, 2, 3])."
            )
        return dimension
    if isinstance(dimension, Real | Integer):
        kind = type(dimension).__name__
        low, high = dimension.low, dimension.high
        if isinstance(dimension, Integer):
            if not all(isinstance(v, Integral) and not isinstance(v, bool) for v in (low, high)):
                raise ValueError(
                    f"Integer bounds of {name!r} must be integers, got low={low!r}, "
                    f"high={high!r}. For a real-valued parameter use Real({low!r}, {high!r})."
                )
        elif not (is_real_number(low) and is_real_number(high) and math.isfinite(low)
                  and math.isfinite(high)):
            raise ValueError(
                f"Real bounds of {name!r} must be finite numbers, got low={low!r}, high={high!r}."
            )
        if not low < high:
            raise ValueError(
                f"The search space for {name!r} is empty or a single point: {kind}(low={low!r}, "
                f"high={high!r}) needs low < high. To fix the value, set it on the model instead."
            )
        if dimension.log and not low > 0:
            raise ValueError(
                f"{kind}({low!r}, {high!r}, log=True) for {name!r} needs low > 0: a log scale "
                "has no zero or negative values. Use log=False, or a positive lower bound."
            )
        return dimension
    raise ValueError(
        f"The search space for {name!r} must be Real(low, high), Integer(low, high), "
        f"Categorical([...]) or a list of choices; got {dimension!r}."
    )


def check_space(space: Mapping, model) -> dict[str, Dimension]:
    """Validate a search space against a model's parameters; returns it with lists turned
    into `Categorical`. Raises ValueError when it is empty, names a parameter the model does
    not have, or has a dimension that cannot be searched."""
    if not isinstance(space, Mapping) or len(space) == 0:
        raise ValueError(
            "The search space must be a non-empty dict mapping parameter names to ranges, "
            f"e.g. {{'regularization': Real(10, 1000, log=True)}}; got {space!r}."
        )
    parameters = model.get_params()
    unknown = [name for name in space if name not in parameters]
    if unknown:
        raise ValueError(
            f"{type(model).__name__} has no parameter(s) {unknown}; its parameters are "
            f"{list(parameters)}."
        )
    return {name: _check_dimension(name, dimension) for name, dimension in space.items()}


def sample_parameters(space: Mapping[str, Dimension], rng: np.random.Generator) -> dict:
    """One random draw from a (checked) search space, parameter by parameter, in order.

    Real: uniform on [low, high], or log-uniform with ``log=True``. Integer: uniform over
    low..high, or ⌊exp(u)⌋ with u uniform on [log low, log(high + 1)) with ``log=True`` (so
    every order of magnitude is drawn as often). Categorical: each choice equally likely.
    """
    parameters = {}
    for name, dimension in space.items():
        if isinstance(dimension, Categorical):
            parameters[name] = dimension.choices[int(rng.integers(len(dimension.choices)))]
        elif isinstance(dimension, Integer):
            if dimension.log:
                draw = math.exp(rng.uniform(math.log(dimension.low), math.log(dimension.high + 1)))
                parameters[name] = min(int(draw), dimension.high)
            else:
                parameters[name] = int(rng.integers(dimension.low, dimension.high + 1))
        elif dimension.log:
            parameters[name] = float(math.exp(
                rng.uniform(math.log(dimension.low), math.log(dimension.high))
            ))
        else:
            parameters[name] = float(rng.uniform(dimension.low, dimension.high))
    return parameters


# ----------------------------------------------------------------------------- validation


def validation_split(
    train: pd.DataFrame,
    protocol: str = "stratified",
    validation_size: float = 0.25,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Carve (fit_part, validation) out of the training data; the test set is never used.

    ``"stratified"`` holds out `validation_size` of each user's training rows
    (`stratified_split`, the course's standard protocol applied once more, inside train).
    ``"leave_one_out"`` holds out each user's latest training row (`leave_one_out`), for
    models tested with leave-one-out: the validation item is the one before the test item.
    It draws nothing, so `validation_size` and `seed` do not apply to it.

    The stratified split draws per row in the order given, so the same rows in another order
    give another (equally valid) split.
    """
    check_interactions(train, name="train")
    if protocol == "stratified":
        validation_size = check_share(validation_size, "validation_size")
        return stratified_split(train, test_size=validation_size, seed=seed)
    if protocol == "leave_one_out":
        return leave_one_out(train)
    raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")


def _parse_metric(metric: str) -> int:
    """k of a metric written "name@k"; ValueError when the name or k is wrong."""
    name, _, k = str(metric).partition("@")
    # k is written plainly ("10", not "010"): the results are looked up by this very name.
    if name not in METRICS or not k.isdigit() or int(k) < 1 or k != str(int(k)):
        raise ValueError(
            f"metric must be written 'name@k' with a name among {METRICS} and k >= 1, e.g. "
            f"'ndcg@10'; got {metric!r}."
        )
    return int(k)


# ----------------------------------------------------------------------------- results


@dataclass
class SearchResult:
    """What a search found.

    Attributes
    ----------
    trials : DataFrame
        One row per trial, in the order they ran: "trial" (0, 1, ...), one column per searched
        parameter, the validation score (a column named like the metric, NaN when the model
        failed to train), "seconds" (fit and evaluation), and "epochs_run" for models trained
        with early stopping (the epochs actually run; a searched "epochs" keeps its own column).
    best_params : dict
        The searched parameters of the best trial (the first of equals).
    best_value : float
        Its validation score.
    metric : str
        The metric maximised, e.g. "ndcg@10".
    space : dict
        The checked search space.
    model : Recommender
        The unfitted model every trial started from (with early stopping switched on when
        the search did so).
    """

    trials: pd.DataFrame
    best_params: dict
    best_value: float
    metric: str
    space: dict
    model: object = field(repr=False)

    def best_model(self):
        """A new, unfitted model with the best parameters; fit it on the whole training set."""
        return self.model.clone().set_params(**self.best_params)

    def study(self):
        """The trials as an in-memory Optuna study, for Optuna's plots and importance tools."""
        optuna = _import_optuna()
        distributions = _distributions(self.space)
        with _quiet_optuna(optuna):  # Without it Optuna logs "A new study created in memory".
            study = optuna.create_study(direction="maximize")
        for _, row in self.trials.iterrows():
            value = row[self.metric]
            parameters = {name: _encode(self.space[name], row[name]) for name in self.space}
            study.add_trial(optuna.trial.create_trial(
                params=parameters,
                distributions=distributions,
                value=float(value) if np.isfinite(value) else None,
                state=(optuna.trial.TrialState.COMPLETE if np.isfinite(value)
                       else optuna.trial.TrialState.FAIL),
            ))
        return study

    def importance(self, seed: int = 0) -> pd.Series:
        """How much of the variation in the validation score each parameter explains.

        fANOVA (Hutter et al. 2014, as implemented in Optuna): a random forest learns the
        score as a function of the parameters, and the variance of that function is split
        into the share due to each parameter alone; Optuna leaves out the interactions and
        scales the shares to sum to 1. With few trials the estimate is rough, and another
        `seed` of the forest gives other shares; it says where to look, not a law.
        """
        finished = int(np.isfinite(self.trials[self.metric]).sum())
        if finished < 2:
            raise ValueError(
                f"Parameter importance needs at least 2 finished trials; this search has "
                f"{finished}. Run more trials."
            )
        optuna = _import_optuna()
        with _quiet_optuna(optuna):
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
            importances = optuna.importance.get_param_importances(
                self.study(), evaluator=evaluator
            )
        return pd.Series(importances, name="importance").sort_values(ascending=False)


# ----------------------------------------------------------------------------- optuna glue


def _import_optuna():
    try:
        with warnings.catch_warnings():
            # Optuna loads tqdm.auto, which warns inside Jupyter when ipywidgets is absent;
            # the course draws no progress bars, so the warning would only be noise.
            warnings.filterwarnings("ignore", message="IProgress not found")
            import optuna
    except ImportError as error:  # pragma: no cover - optuna is in requirements.txt
        raise ImportError(
            "bayesian_search and parameter importance need Optuna: "
            "python -m pip install -r requirements.txt"
        ) from error
    return optuna


@contextlib.contextmanager
def _quiet_optuna(optuna):
    """Hide Optuna's per-trial log lines while inside, then restore the caller's setting."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _plain(value) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _check_initial_value(name: str, dimension: Dimension, value):
    """`value` as the search space holds it, or a ValueError that names what it may be."""
    if isinstance(dimension, Categorical):
        if value in dimension.choices:
            return value
        # Parameters read back from JSON hold lists where the choices hold tuples.
        as_tuples = _lists_to_tuples(value)
        if as_tuples in dimension.choices:
            return as_tuples
        raise ValueError(f"initial_params gives {name}={value!r}, which is not one of its "
                         f"choices {list(dimension.choices)}.")
    valid = is_real_number(value)
    if valid and isinstance(dimension, Integer):
        valid = float(value).is_integer()  # Optuna would silently round 2.5 down to 2.
    if not valid or not dimension.low <= value <= dimension.high:
        kind = "an integer" if isinstance(dimension, Integer) else "a number"
        raise ValueError(f"initial_params gives {name}={value!r}; it must be {kind} in "
                         f"[{dimension.low}, {dimension.high}].")
    return value


def _lists_to_tuples(value):
    return tuple(map(_lists_to_tuples, value)) if isinstance(value, list | tuple) else value


def _encode(dimension: Dimension, value):
    """The value as Optuna stores it: categorical choices that are not plain values (tuples
    of layer widths, say) are stored by their position in `choices`."""
    if isinstance(dimension, Categorical) and not all(map(_plain, dimension.choices)):
        return next(i for i, choice in enumerate(dimension.choices) if choice == value)
    if isinstance(dimension, Integer):
        return int(value)
    if isinstance(dimension, Real):
        return float(value)
    return value


def _decode(dimension: Dimension, value):
    if isinstance(dimension, Categorical) and not all(map(_plain, dimension.choices)):
        return dimension.choices[value]
    return value


def _distributions(space: Mapping[str, Dimension]) -> dict:
    optuna = _import_optuna()
    distributions = {}
    for name, dimension in space.items():
        if isinstance(dimension, Categorical):
            plain = all(map(_plain, dimension.choices))
            choices = dimension.choices if plain else tuple(range(len(dimension.choices)))
            distributions[name] = optuna.distributions.CategoricalDistribution(choices)
        elif isinstance(dimension, Integer):
            distributions[name] = optuna.distributions.IntDistribution(
                int(dimension.low), int(dimension.high), log=dimension.log
            )
        else:
            distributions[name] = optuna.distributions.FloatDistribution(
                float(dimension.low), float(dimension.high), log=dimension.log
            )
    return distributions


# ----------------------------------------------------------------------------- searching


class _Objective:
    """Fits one trial's model on the fit part and scores it on the validation part."""

    def __init__(self, model, space, train, metric, protocol, validation_size, seed,
                 early_stopping):
        self.space = check_space(space, model)
        self.metric = metric
        self.k = _parse_metric(metric)
        template = model.clone()
        parameters = template.get_params()
        self.early_stopping = bool(early_stopping) and {"validation_fraction", "patience"} <= set(
            parameters
        )
        self.fit_part, self.validation = validation_split(
            train, protocol, validation_size, seed
        )
        # A Keras model that holds out nothing would train for all its epochs; with a share
        # of its own training data held out, it stops when the validation loss stops
        # improving and keeps its best epoch. The search's validation split stays untouched.
        # On data so small that the share holds out nothing, every trial trains all epochs.
        if (self.early_stopping and "validation_fraction" not in self.space
                and not parameters["validation_fraction"]):
            items_per_user = self.fit_part.groupby("user_id", sort=False).size().to_numpy()
            if validation_counts(items_per_user, EARLY_STOPPING_FRACTION).any():
                template.set_params(validation_fraction=EARLY_STOPPING_FRACTION)
            else:
                self.early_stopping = False
        self.template = template
        self.rows = []

    def __call__(self, parameters: dict) -> float:
        candidate = self.template.clone().set_params(**parameters)
        start = time.perf_counter()
        try:
            candidate.fit(self.fit_part)
            metrics = evaluate_ranking(candidate, self.fit_part, self.validation, k=self.k)
            value = float(metrics[self.metric])
        except FloatingPointError:
            # A diverged model (too large a learning rate) is a failed trial, not a crash.
            value = float("nan")
        except Exception as error:
            # Anything else is a mistake in the search space or the data, and stops the search;
            # the note says which trial and which values raised it.
            error.add_note(
                f"Raised in trial {len(self.rows)} of the search, with parameters {parameters}. "
                "Narrow the search space to values the model accepts; the trials that had "
                "finished are not returned."
            )
            raise
        row = {"trial": len(self.rows), **parameters, self.metric: value,
               "seconds": time.perf_counter() - start}
        if self.early_stopping and hasattr(candidate, "history_"):
            # Its own column: a search over `epochs` must keep the value it tried.
            row["epochs_run"] = len(candidate.history_)
        self.rows.append(row)
        return value

    def result(self) -> SearchResult:
        trials = pd.DataFrame(self.rows)
        for name in self.space:
            # Keep the columns of tuple-valued choices as objects, not arrays.
            trials[name] = pd.Series([row[name] for row in self.rows], dtype=object) \
                if isinstance(self.space[name], Categorical) else trials[name]
        scores = trials[self.metric].to_numpy(dtype=np.float64)
        if not np.isfinite(scores).any():
            raise FloatingPointError(
                "Every trial failed to train (diverged). Narrow the search space, for example "
                "lower the learning rates it allows."
            )
        best = int(np.nanargmax(scores))
        return SearchResult(
            trials=trials,
            best_params={name: self.rows[best][name] for name in self.space},
            best_value=float(scores[best]),
            metric=self.metric,
            space=self.space,
            model=self.template,
        )


def random_search(
    model,
    space: Mapping,
    train: pd.DataFrame,
    n_trials: int = 20,
    metric: str = "ndcg@10",
    protocol: str = "stratified",
    validation_size: float = 0.25,
    seed: int = 0,
    early_stopping: bool = True,
) -> SearchResult:
    """Try `n_trials` parameter sets drawn at random from `space`; keep the best.

    Parameters
    ----------
    model:
        An unfitted model whose parameters are the starting point; each trial is a clone with
        the drawn parameters set (`set_params`).
    space:
        Parameter name → `Real`, `Integer`, `Categorical` or a list of choices.
    train:
        The training data. The search carves its validation split from it with
        `validation_split(train, protocol, validation_size, seed)` and never sees a test set.
    n_trials:
        How many parameter sets to try.
    metric:
        What to maximise on the validation split, "name@k" with a name of `METRICS`; the
        full-ranking protocol of `evaluate_ranking` (training items excluded).
    seed:
        Seeds the validation split and the draws (`sample_parameters` with
        ``np.random.default_rng(seed)``); the models keep their own `random_state`.
    early_stopping:
        For models with `validation_fraction` and `patience` (the Keras models): when the
        model holds out nothing and the space does not search `validation_fraction`, each
        trial holds out `EARLY_STOPPING_FRACTION` of its training data and stops after
        `patience` epochs without a lower validation loss; "epochs_run" in the trials table
        says how many it ran. On data so small that this share holds out nothing (every user
        has 5 or fewer training items), the trials train all their epochs.

    Returns
    -------
    SearchResult
    """
    n_trials = check_positive_int(n_trials, "n_trials")
    objective = _Objective(model, space, train, metric, protocol, validation_size, seed,
                           early_stopping)
    rng = seeded_generator(seed)
    for _ in range(n_trials):
        objective(sample_parameters(objective.space, rng))
    return objective.result()


def bayesian_search(
    model,
    space: Mapping,
    train: pd.DataFrame,
    n_trials: int = 20,
    metric: str = "ndcg@10",
    protocol: str = "stratified",
    validation_size: float = 0.25,
    seed: int = 0,
    early_stopping: bool = True,
    startup_trials: int | None = None,
    initial_params: Sequence[Mapping] = (),
) -> SearchResult:
    """Bayesian optimisation with Optuna's Tree-structured Parzen Estimator (TPE).

    The arguments are those of `random_search`, and:

    startup_trials:
        Random trials before TPE starts to model the space. None gives
        min(10, max(3, n_trials // 3)): Optuna's own default of 10 would leave nothing to
        the model in the small budgets of a lesson.
    initial_params:
        Parameter sets to try first (for example the model's defaults), so the search starts
        from something known to work; they count towards `n_trials`.

    The TPE sampler is seeded with `seed`, so the same seed and data give the same trials
    (as long as the model itself is deterministic).
    """
    n_trials = check_positive_int(n_trials, "n_trials")
    if startup_trials is None:
        startup_trials = min(10, max(3, n_trials // 3))
    startup_trials = check_positive_int(startup_trials, "startup_trials")
    objective = _Objective(model, space, train, metric, protocol, validation_size, seed,
                           early_stopping)
    if not isinstance(initial_params, Mapping):
        initial_params = list(initial_params)
    if isinstance(initial_params, Mapping) or not all(
            isinstance(parameters, Mapping) for parameters in initial_params):
        raise ValueError(
            f"initial_params must be a list of parameter dicts, e.g. "
            f"[{{'regularization': 500.0}}]; got {initial_params!r}."
        )
    initial_params = [dict(parameters) for parameters in initial_params]
    if len(initial_params) > n_trials:
        raise ValueError(
            f"{len(initial_params)} initial_params but only n_trials={n_trials}: the extra "
            f"sets would never be tried. Raise n_trials or pass fewer sets."
        )
    for parameters in initial_params:
        if set(parameters) != set(objective.space):
            raise ValueError(
                f"Each of initial_params must give every searched parameter "
                f"{list(objective.space)}; got {list(parameters)}."
            )
        for name, value in parameters.items():
            parameters[name] = _check_initial_value(name, objective.space[name], value)
    optuna = _import_optuna()
    distributions = _distributions(objective.space)
    with _quiet_optuna(optuna):
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup_trials)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        for parameters in initial_params:
            study.enqueue_trial({name: _encode(objective.space[name], value)
                                 for name, value in parameters.items()})
        # Ask-and-tell: Optuna proposes, the course's objective scores, Optuna learns.
        for _ in range(n_trials):
            trial = study.ask(distributions)
            parameters = {name: _decode(objective.space[name], trial.params[name])
                          for name in objective.space}
            value = objective(parameters)
            if np.isfinite(value):
                study.tell(trial, value)
            else:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return objective.result()


__all__ = [
    "EARLY_STOPPING_FRACTION",
    "METRICS",
    "PROTOCOLS",
    "Categorical",
    "Integer",
    "Real",
    "SearchResult",
    "bayesian_search",
    "check_space",
    "random_search",
    "sample_parameters",
    "validation_split",
]
