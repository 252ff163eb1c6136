"""Benchmarks: the course leaderboard, and the speed of the evaluation code and of training.

`run_benchmark` fits every model on MovieLens 100K under one of two protocols;
`write_record` keeps such a run in ``recsys_lessons/recorded/`` and `recorded_benchmark` reads
it back, refusing rows whose settings are no longer the models' defaults;
`time_ranking_metrics` times `ranking_metrics` on synthetic data of a realistic size, and
`time_neumf_epoch` times one training epoch of `NeuMF` on MovieLens 100K.

- ``"standard"``: per-user stratified 75/25 split with seed 0, k = 10, full ranking over all
  items with the user's training items excluded, every held-out rating relevant. Models that
  predict ratings (the rating models and the multi-task models) also get RMSE and MAE on the
  same test rows.
- ``"leave-one-out"``: each user's latest rating is held out and ranked among 99 items the
  user never rated (seed 0), scored with HR@10, NDCG@10 and MRR@10: the protocol of the
  neural collaborative filtering papers. The same held-out items are also ranked among all
  the items the user has not rated ("full" HR@10 and NDCG@10).

The standard table also gives each model's catalogue coverage: the share of the films that
appear in at least one top-k list.

Timings are wall-clock seconds on the machine that runs the benchmark.

Why a record: training the nine Keras models with their defaults under both protocols took
9.4 minutes on two CPU cores (2026-12-02), too long for a lesson. Lesson 08 therefore shows
the Keras rows of the leaderboard from the record, written by
``python -m recsys_lessons benchmark --protocol PROTOCOL --record``, and trains one of them
again to show that the record reproduces; lessons 05 and 07 take one costly baseline row each
from it. Each recorded row keeps the model's hyper-parameters, so a changed default makes
`recorded_benchmark` fail until the row is measured again; the record also keeps the
protocol's split settings (`protocol_settings`), and refuses to be read or extended once
they change. A change to a model's code that keeps its defaults is not detected that way:
measure the model again after changing it.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

import recsys_lessons.models as models
from recsys_lessons._files import create_new_file, write_atomically
from recsys_lessons.data import leave_one_out, load_movielens, stratified_split
from recsys_lessons.data.validation import check_positive_int, seeded_generator
from recsys_lessons.evaluation import evaluate_ranking, evaluate_rating, ranking_metrics
from recsys_lessons.metrics import _check_k, catalog_coverage

STANDARD_K = 10
STANDARD_TEST_SIZE = 0.25
STANDARD_SEED = 0
LEAVE_ONE_OUT_NEGATIVES = 99
MOVIELENS_ITEMS = 1682
PROTOCOLS = ("standard", "leave-one-out")
RECORD_DIR = Path(__file__).parent / "recorded"
# Hyper-parameters that do not change what a model learns, left out of the recorded settings.
UNRECORDED_PARAMETERS = ("verbose",)


def model_classes(names: list[str] | None = None) -> list[type]:
    """The model classes to run: all of them, or those named (case-insensitive).

    Naming only classic models keeps TensorFlow unloaded.
    """
    if names is None:
        return list(models.ALL_MODELS)
    if not names:
        # An empty list is more likely a filter that kept nothing than a wish to run every
        # model, Keras included, for several minutes.
        raise ValueError("No model named; name at least one, or pass None for all of them.")
    lowered = [name.lower() for name in names]
    repeated = sorted({name for name in names if lowered.count(name.lower()) > 1})
    if repeated:
        raise ValueError(f"Model(s) named more than once: {repeated}; name each model once.")
    known = {cls.__name__.lower(): cls.__name__ for cls in models.CLASSIC_MODELS}
    known.update({name.lower(): name for name in models._KERAS_MODELS})
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ValueError(f"Unknown model(s) {unknown}; choose from {sorted(known)}.")
    return [getattr(models, known[name.lower()]) for name in names]


def check_benchmark_arguments(names: list[str] | None, k: int, protocol: str) -> list[type]:
    """The model classes to run, or ValueError for a protocol, k or name they cannot use."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")
    _check_k(k)
    # A list as long as the candidates holds every candidate: HR@k would be 1 for any model.
    limit = LEAVE_ONE_OUT_NEGATIVES + 1 if protocol == "leave-one-out" else MOVIELENS_ITEMS
    if k >= limit:
        candidates = (f"{limit} candidates per user (the held-out item and "
                      f"{LEAVE_ONE_OUT_NEGATIVES} negatives)" if protocol == "leave-one-out"
                      else f"{limit} items in MovieLens 100K")
        raise ValueError(f"k={k} is not fewer than the {candidates}, so every list would hold "
                         "them all; pass a smaller k, e.g. 10.")
    return model_classes(names)


def run_benchmark(
    names: list[str] | None = None, k: int = STANDARD_K, protocol: str = "standard"
) -> pd.DataFrame:
    """Fit, recommend and evaluate each model; one row per model."""
    # Checked before anything trains: a Keras model can take minutes to fit.
    classes = check_benchmark_arguments(names, k, protocol)
    ratings = load_movielens("100k").ratings
    if protocol == "standard":
        train, test = stratified_split(ratings, test_size=STANDARD_TEST_SIZE, seed=STANDARD_SEED)
    else:
        train, test = leave_one_out(ratings)
    users = test["user_id"].unique()
    num_items = ratings["item_id"].nunique()
    rows, settings = [], {}
    for model_class in classes:
        model = model_class()
        settings[model_class.__name__] = model_settings(model)
        start = time.perf_counter()
        model.fit(train)
        fitted = time.perf_counter()
        row = {"model": model_class.__name__}
        if protocol == "standard":
            recommendations = model.recommend(users, k=k, exclude_seen=True)
            row.update(ranking_metrics(recommendations, test, k=k).drop("users").to_dict())
        else:
            sampled = evaluate_ranking(model, train, test, k=k, protocol="sampled",
                                       num_negatives=LEAVE_ONE_OUT_NEGATIVES,
                                       seed=STANDARD_SEED)
            row.update(sampled.drop("cases").to_dict())
        evaluated = time.perf_counter()
        if protocol == "standard":
            # The share of the catalogue that appears in at least one list.
            row["coverage"] = catalog_coverage(
                recommendations.groupby("user_id")["item_id"].agg(list), num_items)
        else:
            # The same held-out items ranked among all the items each user has not rated.
            full = evaluate_ranking(model, train, test, k=k)
            row.update({f"full {metric}@{k}": full[f"{metric}@{k}"]
                        for metric in ("hit_rate", "ndcg")})
        # The rating models, the neighbourhood models in rating mode, and the multi-task
        # models whose second task is the rating; UserKNN and ItemKNN rank by default.
        if protocol == "standard" and model.predicts_ratings:
            row.update(evaluate_rating(model, test)[["rmse", "mae"]].to_dict())
        row["fit_s"] = fitted - start
        # Standard: recommending for every user; leave-one-out: scoring the candidate lists.
        row["recommend_s" if protocol == "standard" else "score_s"] = evaluated - fitted
        rows.append(row)
    table = _timings_last(pd.DataFrame(rows).set_index("model"))
    table.attrs = {"protocol": protocol, "k": k, "settings": settings}
    return table


def _timings_last(table: pd.DataFrame) -> pd.DataFrame:
    """The metric columns first, then the timings (``*_s``), whichever models ran."""
    timings = [column for column in table.columns if column.endswith("_s")]
    return table[[column for column in table.columns if column not in timings] + timings]


def model_settings(model) -> dict:
    """The model's hyper-parameters as JSON values (tuples become lists), `verbose` left out."""
    parameters = {name: value for name, value in model.get_params().items()
                  if name not in UNRECORDED_PARAMETERS}
    return json.loads(json.dumps(parameters))


def protocol_settings(protocol: str) -> dict:
    """How a protocol splits and samples: kept in its record, which is only valid for them."""
    if protocol == "standard":
        return {"split": "stratified", "test_size": STANDARD_TEST_SIZE, "seed": STANDARD_SEED}
    return {"split": "leave_one_out", "negatives": LEAVE_ONE_OUT_NEGATIVES,
            "seed": STANDARD_SEED}


def _check_protocol_settings(record: dict, protocol: str, path: Path) -> None:
    current = protocol_settings(protocol)
    if record.get("protocol_settings") != current:
        measured = record.get("protocol_settings") or "that it did not record"
        raise ValueError(
            f"The record {path.name} was measured with protocol settings {measured}, but "
            f"the benchmark now uses {current}; delete "
            f"it and measure every model again with "
            f"`python -m recsys_lessons benchmark --protocol {protocol} --record`."
        )


def record_path(protocol: str, record_dir: str | Path | None = None) -> Path:
    """Where the record of one protocol is kept."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}.")
    return Path(record_dir or RECORD_DIR) / f"benchmark_{protocol}.json"


def _processor(cpuinfo_path: str | Path = "/proc/cpuinfo") -> str:
    """The processor's model name where the system gives it (Linux), else its architecture.

    Kept in the record because the Keras models' results differ a little between processors.
    """
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                name = line.partition(":")[2].strip()
                if line.startswith("model name") and name:
                    return f"{name}, {platform.machine()}"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine() -> str:
    return f"{os.cpu_count()} CPU cores ({_processor()}), {platform.system()}"


def _versions() -> dict:
    """The versions of Python and of the libraries the models compute with."""
    versions = {"python": platform.python_version()}
    for library in ("numpy", "pandas", "scipy", "scikit-learn", "keras", "tensorflow"):
        try:
            versions[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            versions[library] = "not installed"
    return versions


def write_record(table: pd.DataFrame, record_dir: str | Path | None = None) -> Path:
    """Add the rows of a `run_benchmark` table to its protocol's record, replacing older rows.

    Each row keeps its metrics, its timings, the model's settings, the date, the machine and
    the library versions, so a reader knows where every number came from.
    """
    if table.attrs.get("k") != STANDARD_K or "settings" not in table.attrs:
        raise ValueError("Only a table returned by run_benchmark with the standard k = "
                         f"{STANDARD_K} can be recorded.")
    protocol = table.attrs["protocol"]
    record = read_record(protocol, record_dir, missing_ok=True)
    path = record_path(protocol, record_dir)
    provenance = {
        "recorded": datetime.date.today().isoformat(),
        "machine": _machine(),
        "versions": _versions(),
    }
    for name, row in table.iterrows():
        record["models"][name] = {
            "settings": table.attrs["settings"][name],
            "results": {column: float(value) for column, value in row.items()
                        if pd.notna(value)},
            **provenance,
        }
    # Keep the rows in the order of models.ALL_MODELS, so that the record reads like a table.
    order = [cls.__name__ for cls in models.ALL_MODELS]
    record["models"] = dict(sorted(record["models"].items(),
                                   key=lambda item: order.index(item[0])
                                   if item[0] in order else len(order)))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Never leave a half-written record.
    write_atomically(path, (json.dumps(record, indent=1) + "\n").encode("utf-8"))
    return path


def check_record_writable(protocol: str, record_dir: str | Path | None = None) -> None:
    """ValueError unless the record of `protocol` can be written: checked before training."""
    folder = record_path(protocol, record_dir).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = create_new_file(folder, ".write-test.", ".part")
        os.close(handle)
        probe.unlink()
    except OSError as error:
        raise ValueError(
            f"The record cannot be written in {folder} ({error.strerror or error}). --record "
            "updates the course's own record, so run it in a clone of the repository, or drop "
            "--record to print the table only."
        ) from None


def _check_record_row(name: str, row) -> None:
    """ValueError unless a recorded row has settings, numeric results and its provenance."""
    if not isinstance(row, dict) or not isinstance(row.get("settings"), dict):
        raise ValueError(f"the row of {name} has no settings")
    results = row.get("results")
    if not isinstance(results, dict) or not all(
        isinstance(value, int | float) and not isinstance(value, bool)
        for value in results.values()
    ):
        raise ValueError(f"the row of {name} has no table of numeric results")
    missing = [key for key in ("recorded", "machine", "versions") if key not in row]
    if missing:
        raise ValueError(f"the row of {name} lacks {missing}")


def read_record(
    protocol: str, record_dir: str | Path | None = None, missing_ok: bool = False
) -> dict:
    """A protocol's record as written by `write_record`, checked; ValueError names what is wrong.

    With `missing_ok`, a record not written yet is an empty one for the current settings.
    """
    path = record_path(protocol, record_dir)
    if not path.exists():
        if missing_ok:
            return {"protocol": protocol, "k": STANDARD_K,
                    "protocol_settings": protocol_settings(protocol), "models": {}}
        raise ValueError(f"No record at {path}; write it with "
                         f"`python -m recsys_lessons benchmark --protocol {protocol} --record`.")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("models"), dict):
            raise ValueError("no table of models")
        if record.get("k") != STANDARD_K:
            raise ValueError(f"measured with k = {record.get('k')}, not {STANDARD_K}")
        for name, row in record["models"].items():
            _check_record_row(name, row)
    except (UnicodeDecodeError, ValueError) as error:  # JSONDecodeError is a ValueError.
        raise ValueError(
            f"The record {path} is not readable ({error}); restore it with "
            f"`git checkout -- {path.as_posix()}` and run this again."
        ) from None
    # Rows measured under other split settings cannot share a table with these.
    _check_protocol_settings(record, protocol, path)
    return record


def recorded_benchmark(
    protocol: str = "standard", names: list[str] | None = None,
    record_dir: str | Path | None = None,
) -> pd.DataFrame:
    """The recorded rows of one protocol (all models, or those named), like `run_benchmark`.

    Raises ValueError when a model has no recorded row, or when its row was measured with
    settings other than the model's current defaults: the message names the command that
    measures it again. ``attrs`` holds each row's date, machine and library versions.
    """
    recorded = read_record(protocol, record_dir)["models"]
    rows, provenance = {}, {}
    for model_class in model_classes(names):
        name = model_class.__name__
        command = (f"`python -m recsys_lessons benchmark --protocol {protocol} --models {name} "
                   "--record`")
        if name not in recorded:
            raise ValueError(f"{name} has no recorded {protocol} row; measure it with "
                             f"{command}.")
        current = model_settings(model_class())
        if recorded[name]["settings"] != current:
            raise ValueError(
                f"The recorded {protocol} row of {name} was measured with the settings "
                f"{recorded[name]['settings']}, but its defaults are now {current}; "
                f"measure it again with {command}."
            )
        rows[name] = recorded[name]["results"]
        provenance[name] = {key: recorded[name][key]
                            for key in ("recorded", "machine", "versions")}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")
    table = _timings_last(table)
    table.attrs = {"protocol": protocol, "k": STANDARD_K, "provenance": provenance}
    return table


def format_table(table: pd.DataFrame) -> str:
    """A Markdown table, so the output can be pasted into the README as it is."""
    shown = table.copy()
    header = "| model | " + " | ".join(shown.columns) + " |"
    rule = "|---|" + "---:|" * len(shown.columns)
    lines = [header, rule]
    for name, row in shown.iterrows():
        cells = ["" if pd.isna(value) else f"{value:.3f}" for value in row]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def time_ranking_metrics(
    num_users: int = 5000,
    num_items: int = 10000,
    held_out_per_user: int = 1000,
    k: int = 10,
    seed: int = 0,
    repeats: int = 3,
) -> dict:
    """Time ``ranking_metrics`` on synthetic data of a realistic size.

    Every user gets ``held_out_per_user`` distinct test items and ``k`` distinct recommended
    items, both drawn uniformly from ``num_items`` items with a seeded generator, so the data
    are the same on every run. Only the ``ranking_metrics`` calls are timed. Returns the
    number of rows of both frames and the best and median time in seconds over ``repeats``
    calls.
    """
    for name, value in (("num_users", num_users), ("num_items", num_items),
                        ("held_out_per_user", held_out_per_user), ("repeats", repeats)):
        check_positive_int(value, name)
    _check_k(k)
    if max(k, held_out_per_user) > num_items:
        raise ValueError(
            f"k ({k}) and held_out_per_user ({held_out_per_user}) must not exceed num_items "
            f"({num_items}): each user's items are distinct."
        )
    rng = seeded_generator(seed)
    test_items = np.concatenate(
        [rng.choice(num_items, held_out_per_user, replace=False) for _ in range(num_users)]
    )
    recommended_items = np.concatenate(
        [rng.choice(num_items, k, replace=False) for _ in range(num_users)]
    )
    test = pd.DataFrame(
        {"user_id": np.repeat(np.arange(num_users), held_out_per_user), "item_id": test_items}
    )
    recommendations = pd.DataFrame(
        {
            "user_id": np.repeat(np.arange(num_users), k),
            "item_id": recommended_items,
            "rank": np.tile(np.arange(1, k + 1), num_users),
        }
    )

    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        ranking_metrics(recommendations, test, k=k)
        seconds.append(time.perf_counter() - start)
    return {
        "num_test_rows": len(test),
        "num_recommendation_rows": len(recommendations),
        "best_seconds": min(seconds),
        "median_seconds": statistics.median(seconds),
    }


def time_neumf_epoch(
    ratings: pd.DataFrame | None = None, repeats: int = 3, extra_epochs: int = 3
) -> dict:
    """Time one training epoch of `NeuMF` with its default hyper-parameters.

    The data are the training part of MovieLens 100K under leave-one-out (the protocol of
    lesson 05), or `ratings` when given. An epoch is every positive with `num_negatives`
    (4 by default) fresh negatives each: 99,057 · 5 = 495,285 rows on MovieLens 100K.

    Keras builds and traces the network on the first epoch of every fit, so one fit's time is
    not an epoch's. Each repeat therefore times a fit of 1 epoch and a fit of
    1 + `extra_epochs` epochs, with the same seed, and divides the difference by
    `extra_epochs`: what is left is the cost of an ordinary epoch, negative sampling included.
    One untimed fit first warms up TensorFlow. Returns the positives, the rows per epoch, the
    batch size, and the best and median seconds per epoch over `repeats` repeats.
    """
    repeats = check_positive_int(repeats, "repeats")
    extra_epochs = check_positive_int(extra_epochs, "extra_epochs")
    if ratings is None:
        ratings, _ = leave_one_out(load_movielens("100k").ratings)

    def fit_seconds(epochs: int) -> float:
        model = models.NeuMF(epochs=epochs)
        start = time.perf_counter()
        model.fit(ratings)
        return time.perf_counter() - start

    warm_up = models.NeuMF(epochs=1).fit(ratings)
    seconds = [(fit_seconds(1 + extra_epochs) - fit_seconds(1)) / extra_epochs
               for _ in range(repeats)]
    positives = warm_up.user_items_.nnz  # Repeated (user, item) rows count once.
    return {
        "positives": positives,
        "rows_per_epoch": positives * (1 + warm_up.num_negatives),
        "batch_size": warm_up.batch_size,
        "best_seconds": min(seconds),
        "median_seconds": statistics.median(seconds),
    }
