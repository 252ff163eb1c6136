"""The course's small hand-made examples, small enough to compute on paper.

Both files are ours and live in the checkout's ``datasets/`` folder:

- ``toy_interactions.csv``: the first example of the course. Users A, B and C and movies 1–3,
  where a 1 means "watched": A = (1, 0, 0), B = (0, 1, 0), C = (1, 0, 1). Only the 1s are
  stored, one tidy row each, as interaction data usually is.
- ``toy_ratings.csv``: explicit 1–5 star ratings by five users (Ann, Ben, Cat, Dan, Eve) on six
  movies, with gaps. Dan rates everything low and Eve likes what Ann dislikes, so the example
  shows rating-scale bias and negative correlation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TOY_FILES = {"implicit": "toy_interactions.csv", "explicit": "toy_ratings.csv"}


def _datasets_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "datasets"


def load_toy_ratings(kind: str = "implicit") -> pd.DataFrame:
    """Return a toy example as a tidy DataFrame with columns user_id, item_id, rating.

    Parameters
    ----------
    kind:
        ``"implicit"`` for the A/B/C watch matrix (ratings are all 1), or ``"explicit"`` for
        the five users' 1–5 star ratings.
    """
    if kind not in TOY_FILES:
        raise ValueError(f"kind must be one of {sorted(TOY_FILES)}, got {kind!r}.")
    path = _datasets_folder() / TOY_FILES[kind]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. The toy data ships with the course's git checkout; run the "
            "course from a clone of the repository (pip install -e .)."
        )
    ratings = pd.read_csv(path, dtype={"user_id": "str"})
    ratings["rating"] = ratings["rating"].astype("float64")
    return ratings
