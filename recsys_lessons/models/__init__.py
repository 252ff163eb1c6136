"""Every model of the course, all with the same contract (see `base`).

`ALL_MODELS` lists the model classes; the contract test runs over it, so a model added here
is tested like every other. `CLASSIC_MODELS` are those that need no deep-learning library.
"""

import importlib

from recsys_lessons.models.base import NotFittedError, RatingPredictor, Recommender
from recsys_lessons.models.baselines import BiasBaseline, GlobalMean, Popularity, RandomRecommender
from recsys_lessons.models.content_based import ContentBased
from recsys_lessons.models.keras_import import import_keras
from recsys_lessons.models.knn import ItemKNN, UserKNN
from recsys_lessons.models.linear import EASE
from recsys_lessons.models.matrix_factorization import ALS, BPR, BiasedMF, ImplicitALS, PureSVD

#: The models that need no deep-learning library (fast to import).
CLASSIC_MODELS = (
    Popularity, RandomRecommender, GlobalMean, BiasBaseline, ContentBased, UserKNN, ItemKNN,
    PureSVD, BiasedMF, ALS, ImplicitALS, BPR, EASE,
)

# Keras models are imported on first use, because loading TensorFlow takes seconds and most
# lessons never need it; `from recsys_lessons.models import NeuMF` works as usual.
_KERAS_MODELS = {
    "GMF": "ncf",
    "MLP": "ncf",
    "NeuMF": "ncf",
    "SharedBottom": "multitask",
    "MMoE": "multitask",
    "GRU4Rec": "sequential",
    "AttentionGRU": "sequential",
    "DIN": "sequential",
    "SASRec": "sequential",
}


def __getattr__(name):
    if name in _KERAS_MODELS:
        import_keras()  # First, so TensorFlow's start-up notices stay out of notebooks.
        module = importlib.import_module(f"recsys_lessons.models.{_KERAS_MODELS[name]}")
        return getattr(module, name)
    if name == "ALL_MODELS":  # Every model, the Keras ones included.
        return CLASSIC_MODELS + tuple(__getattr__(keras_name) for keras_name in _KERAS_MODELS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ALL_MODELS",
    "ALS",
    "AttentionGRU",
    "BPR",
    "BiasBaseline",
    "BiasedMF",
    "CLASSIC_MODELS",
    "ContentBased",
    "DIN",
    "EASE",
    "GMF",
    "GRU4Rec",
    "GlobalMean",
    "ImplicitALS",
    "ItemKNN",
    "MLP",
    "MMoE",
    "NeuMF",
    "NotFittedError",
    "Popularity",
    "PureSVD",
    "RandomRecommender",
    "RatingPredictor",
    "Recommender",
    "SASRec",
    "SharedBottom",
    "UserKNN",
]
