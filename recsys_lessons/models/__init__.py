"""Every model of the course, all with the same contract (see `base`).

`ALL_MODELS` lists the model classes; the contract test runs over it, so a model added here
is tested like every other.
"""

from recsys_lessons.models.base import NotFittedError, RatingPredictor, Recommender
from recsys_lessons.models.baselines import BiasBaseline, GlobalMean, Popularity, RandomRecommender
from recsys_lessons.models.content_based import ContentBased
from recsys_lessons.models.knn import ItemKNN, UserKNN
from recsys_lessons.models.linear import EASE
from recsys_lessons.models.matrix_factorization import ALS, BPR, BiasedMF, ImplicitALS, PureSVD

ALL_MODELS = (
    Popularity, RandomRecommender, GlobalMean, BiasBaseline, ContentBased, UserKNN, ItemKNN,
    PureSVD, BiasedMF, ALS, ImplicitALS, BPR, EASE,
)

__all__ = [
    "ALL_MODELS",
    "ALS",
    "BPR",
    "BiasBaseline",
    "BiasedMF",
    "ContentBased",
    "EASE",
    "GlobalMean",
    "ImplicitALS",
    "ItemKNN",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "RandomRecommender",
    "RatingPredictor",
    "Recommender",
    "UserKNN",
]
