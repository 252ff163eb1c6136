"""Every model of the course, all with the same contract (see `base`).

`ALL_MODELS` lists the model classes; the contract test runs over it, so a model added here
is tested like every other.
"""

from recsys_lessons.models.base import NotFittedError, RatingPredictor, Recommender
from recsys_lessons.models.baselines import BiasBaseline, GlobalMean, Popularity, RandomRecommender
from recsys_lessons.models.content_based import ContentBased

ALL_MODELS = (Popularity, RandomRecommender, GlobalMean, BiasBaseline, ContentBased)

__all__ = [
    "ALL_MODELS",
    "BiasBaseline",
    "ContentBased",
    "GlobalMean",
    "NotFittedError",
    "Popularity",
    "RandomRecommender",
    "RatingPredictor",
    "Recommender",
]
