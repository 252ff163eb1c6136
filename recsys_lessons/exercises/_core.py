"""The grading machinery behind `check`; each lesson registers its exercises in its own
module (lesson00.py, lesson01.py, ...)."""

from __future__ import annotations

import copy
import math
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

NUM_GENERATED_INPUTS = 25
#: Absolute tolerance of array answers: float32 arithmetic must pass, a wrong formula not.
ATOL = 1e-6


@dataclass
class Exercise:
    """One exercise. Give `reference` and `make_inputs` for a function, `expected` for a value."""

    exercise_id: str
    description: str
    reference: Callable | None = None
    make_inputs: Callable[[np.random.Generator], tuple] | None = None
    expected: Callable[[], object] | None = None
    compare: Callable[[object, object], bool] = field(default=None)


@dataclass
class CheckResult:
    """The verdict of `check`: true when the answer is right; shows as its message."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return self.message


_EXERCISES: dict[str, Exercise] = {}


def register(exercise: Exercise) -> Exercise:
    if exercise.exercise_id in _EXERCISES:
        raise ValueError(f"Exercise {exercise.exercise_id!r} is registered twice.")
    _EXERCISES[exercise.exercise_id] = exercise
    return exercise


def exercise_ids() -> list[str]:
    return sorted(_EXERCISES)


# --------------------------------------------------------------------------- comparing


def _same(expected, got) -> bool:
    """Equality that treats floats with a tolerance and DataFrames as sets of rows."""
    if isinstance(expected, pd.DataFrame):
        if not isinstance(got, pd.DataFrame) or list(got.columns) != list(expected.columns):
            return False
        try:
            return sorted(map(tuple, expected.to_numpy().tolist())) == sorted(
                map(tuple, got.to_numpy().tolist())
            )
        except TypeError:
            # Rows that Python cannot order (None next to numbers, say) cannot be the expected
            # rows, which it can: a wrong answer, not an error of the grader.
            return False
    if isinstance(expected, float | np.floating):
        if isinstance(got, str | bytes):
            return False  # float("0.44") would parse, but a number is what was asked for.
        try:
            return math.isclose(float(got), float(expected), rel_tol=1e-6, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list | tuple | np.ndarray):
        if isinstance(got, Mapping):
            return False  # list(a dict) would be its keys: not the list that was asked for.
        try:
            return list(np.asarray(got).tolist()) == list(np.asarray(expected).tolist())
        except (TypeError, ValueError):
            return False
    try:
        return bool(got == expected)
    except (TypeError, ValueError):
        return False  # An array or Series where one value was expected: "truth ... ambiguous".


def _allclose(expected, got) -> bool:
    """Numeric arrays equal up to rounding; anything that is not such an array is wrong."""
    try:
        got = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return False
    # atol 1e-6: a float32 solution leaves about 1e-7 where the exact value is 0. Where the
    # answer has large entries (an ill-conditioned solve), float32 errs in proportion to
    # them, so small entries get a tolerance relative to the largest one.
    if got.shape != np.shape(expected):
        return False
    largest = float(np.max(np.abs(expected), initial=0.0))
    return bool(np.allclose(got, expected, atol=ATOL + 1e-5 * largest))


def _describe(value) -> str:
    """A short, readable rendering of an input or a result for feedback messages."""
    if isinstance(value, pd.DataFrame):
        rows = [tuple(row) for row in value.itertuples(index=False)]
        text = f"DataFrame{tuple(value.columns)} with rows {rows[:8]}"
        return text + (f" … ({len(rows)} rows)" if len(rows) > 8 else "")
    if isinstance(value, pd.Series):
        return f"Series {[None if pd.isna(item) else item for item in value.tolist()]!r}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.6g}"
    if isinstance(value, np.integer):
        return str(int(value))
    if isinstance(value, np.ndarray):
        if np.issubdtype(value.dtype, np.floating):
            value = np.round(value, 6) + 0.0  # + 0.0 turns -0.0 into 0.0.
        return repr(value.tolist())
    if isinstance(value, tuple):
        return "(" + ", ".join(_describe(part) for part in value) + ")"
    return repr(value)


# --------------------------------------------------------------------------- checking


def _learner_frame(error: Exception) -> traceback.FrameSummary | None:
    """The innermost frame of the learner's own code, not of numpy, pandas or this package.

    None when the error arose before any line of theirs ran (a wrong number of arguments).
    """
    frames = traceback.extract_tb(error.__traceback__)[1:]  # [0] is `check` calling them.
    # The package counts as a library even when installed in editable mode (outside
    # site-packages), so an error inside `recsys_lessons` points at the learner's call.
    libraries = {sysconfig.get_paths()[name] for name in ("stdlib", "purelib", "platlib")}
    libraries.add(str(Path(__file__).resolve().parent.parent))
    own = [frame for frame in frames
           if not any(frame.filename.startswith(folder) for folder in libraries)]
    return own[-1] if own else None


def _unchanged(before, after) -> bool:
    """Whether an argument is as it was before the learner's function ran."""
    if isinstance(before, pd.DataFrame | pd.Series):
        return before.equals(after)
    if isinstance(before, np.ndarray | float | np.floating):
        # equal_nan: a NaN argument that stayed NaN is unchanged, though NaN != NaN.
        return np.shape(after) == np.shape(before) and bool(
            np.array_equal(before, after, equal_nan=True))
    try:
        return bool(before == after)
    except (TypeError, ValueError):
        return True  # Cannot tell; do not blame the learner.


def _value_verdict(answer, expected) -> str:
    """Which way a wrong number is off, without giving the answer away."""
    if isinstance(answer, float | np.floating) and math.isnan(answer):
        return "got NaN, expected a number"
    direction = "too high" if answer > expected else "too low"
    verdict = f"{_describe(answer)} is {direction}"
    # Only say "rounded" when the answer is the expected value rounded to some decimals, and
    # keeps at least one of its digits: 0 for 0.44 is not a rounding worth calling "a little".
    if any(round(float(expected), decimals) != 0
           and math.isclose(float(answer), round(float(expected), decimals), abs_tol=1e-12)
           for decimals in range(10)):
        verdict += " by a little: give the full value, not a rounded one"
    return verdict


def check(exercise_id: str, answer) -> CheckResult:
    """Grade `answer` for the exercise `exercise_id` and say what, if anything, differed."""
    if exercise_id not in _EXERCISES:
        raise KeyError(
            f"No exercise {exercise_id!r}. Known exercises: {', '.join(exercise_ids())}."
        )
    exercise = _EXERCISES[exercise_id]
    compare = exercise.compare or _same
    if exercise.expected is not None:
        expected = exercise.expected()
        if compare(expected, answer):
            return CheckResult(True, f"✓ {exercise_id}: correct ({_describe(answer)}).")
        # A value exercise must not give the answer away; say which way to look instead.
        if isinstance(answer, int | float | np.number) and not isinstance(answer, bool):
            verdict = _value_verdict(answer, expected)
        else:
            verdict = f"got {_describe(answer)}, expected a number"
        return CheckResult(False, f"✗ {exercise_id}: not yet: {verdict}.")
    if not callable(answer):
        return CheckResult(
            False, f"✗ {exercise_id}: expected a function, got {type(answer).__name__}."
        )
    rng = np.random.default_rng(0)
    failures = []
    for _ in range(NUM_GENERATED_INPUTS):
        arguments = exercise.make_inputs(rng)
        expected = exercise.reference(*arguments)
        shown_input = ", ".join(_describe(argument) for argument in arguments)
        pristine = copy.deepcopy(arguments)
        try:
            got = answer(*arguments)
        except Exception as error:  # noqa: BLE001 - any learner error becomes feedback.
            where = _learner_frame(error)
            line = (f"\n  (raised at line {where.lineno}: {where.line})"
                    if where is not None and where.line else "")
            failures.append((shown_input, (
                f"✗ {exercise_id}: your function raised {type(error).__name__}: {error}\n"
                f"  input:    {shown_input}\n  expected: {_describe(expected)}{line}"
            )))
            continue
        changed = [position for position, (before, after)
                   in enumerate(zip(pristine, arguments, strict=True), start=1)
                   if not _unchanged(before, after)]
        if changed:
            # Changing an argument in place changes the caller's data too (in a notebook,
            # a learner's own ratings), even when the returned value is right.
            failures.append((shown_input, (
                f"✗ {exercise_id}: your function changed its input (argument {changed[0]}) "
                f"in place. Work on a copy, e.g. values = values.copy(), and return the "
                f"result.\n  input:    {shown_input}"
            )))
            continue
        if not compare(expected, got):
            failures.append((shown_input, (
                f"✗ {exercise_id}: not yet.\n  input:    {shown_input}\n"
                f"  expected: {_describe(expected)}\n  got:      {_describe(got)}"
            )))
    if failures:
        # The smallest failing input is the easiest one to work through by hand.
        return CheckResult(False, min(failures, key=lambda failure: len(failure[0]))[1])
    return CheckResult(
        True, f"✓ {exercise_id}: correct on {NUM_GENERATED_INPUTS} generated inputs."
    )


# --------------------------------------------------------------------------- generators


def random_ratings(rng: np.random.Generator, max_users: int = 5, max_items: int = 6):
    """A small random ratings DataFrame: user_id, item_id, rating (1–5), no duplicate pairs."""
    num_users = int(rng.integers(1, max_users + 1))
    num_items = int(rng.integers(1, max_items + 1))
    cells = [(user, item) for user in range(1, num_users + 1) for item in range(1, num_items + 1)]
    chosen = rng.choice(len(cells), size=int(rng.integers(1, len(cells) + 1)), replace=False)
    rows = sorted(cells[index] for index in chosen)
    return pd.DataFrame({
        "user_id": [user for user, _ in rows],
        "item_id": [10 + item for _, item in rows],
        "rating": rng.integers(1, 6, size=len(rows)).astype(float),
    })
