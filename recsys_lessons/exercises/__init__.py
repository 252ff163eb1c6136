"""Self-checking exercises: `check(exercise_id, answer)` grades a learner's answer.

An answer is either a value (a number the learner computed) or a function the learner wrote.
A function is graded by running it next to the course's reference implementation on many
small generated inputs; the first input where the two differ is shown with the expected value
and the value received, so the learner sees exactly what to fix.

    >>> result = check("00.sparsity", lambda ratings: 0.0)
    >>> bool(result)
    False

Each lesson registers its exercises with `register` in its own module, `lessonNN.py`; ids
read "LESSON.name". Importing this package registers them all.
"""

# Importing a lesson's module registers its exercises.
from recsys_lessons.exercises import (  # noqa: E402, F401
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
    lesson11,
)
from recsys_lessons.exercises._core import (
    _EXERCISES,  # noqa: F401 - the registry, read by the tests.
    NUM_GENERATED_INPUTS,
    CheckResult,
    Exercise,
    check,
    exercise_ids,
    random_ratings,
    register,
)

__all__ = [
    "NUM_GENERATED_INPUTS",
    "CheckResult",
    "Exercise",
    "check",
    "exercise_ids",
    "random_ratings",
    "register",
]
