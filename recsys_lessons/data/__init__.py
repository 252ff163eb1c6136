"""Data: MovieLens 100K, the toy examples, id maps, splits and negative sampling."""

from recsys_lessons.data.interactions import IdMap, UnknownIdError, interaction_matrix
from recsys_lessons.data.movielens import (
    GENRES,
    DataUnavailableError,
    MovieLens,
    default_data_dir,
    load_movielens,
)
from recsys_lessons.data.sampling import candidate_sets, sample_negative_indices, sample_negatives
from recsys_lessons.data.splits import (
    k_fold_splits,
    leave_one_out,
    random_split,
    stratified_split,
    temporal_split,
)
from recsys_lessons.data.synthetic import synthetic_interactions
from recsys_lessons.data.toy import load_toy_ratings
from recsys_lessons.data.validation import check_interactions

__all__ = [
    "GENRES",
    "DataUnavailableError",
    "IdMap",
    "MovieLens",
    "UnknownIdError",
    "candidate_sets",
    "check_interactions",
    "default_data_dir",
    "interaction_matrix",
    "k_fold_splits",
    "leave_one_out",
    "load_movielens",
    "load_toy_ratings",
    "random_split",
    "sample_negative_indices",
    "sample_negatives",
    "stratified_split",
    "synthetic_interactions",
    "temporal_split",
]
