"""The cost of scale: how fitting time and memory grow with the data.

A model that fits MovieLens 100K in a second may need an hour, or more memory than the
machine has, at a hundred times the size. The growth rate, not today's timing, decides what
is usable. This module measures it:

- `measure_cost(make_model, interactions)`: fit one model; time it and measure its memory.
- `cost_curve(model_factories, sizes)`: the same for several models on synthetic data of
  growing size (`recsys_lessons.data.synthetic.synthetic_interactions`), skipping a model at
  the larger sizes once it is over a time budget.
- `scaling_exponents(curve)`: the slope β of log(cost) against log(size), cost ≈ a · size^β,
  to compare with the big-O of `COMPLEXITY`.
- `COMPLEXITY` and `complexity_table()`: what each model's fit costs, in big-O, for the
  implementation in this package.

Notation: n_users users, n_items items, nnz interactions, |I_u| items of user u (so
Σ_u |I_u|² is the number of item pairs that co-occur in some user's history), d factors (k
is kept for neighbours and list lengths, as in the lessons).
"""

from __future__ import annotations

import copy
import ctypes
import gc
import sys
import time
import tracemalloc
from collections.abc import Collection
from numbers import Real

import numpy as np
import pandas as pd

from recsys_lessons.data.synthetic import synthetic_interactions
from recsys_lessons.data.validation import check_interactions, check_positive_int

#: Big-O of `fit` for this package's models. "time" and "memory" are the costs;
#: "dominant step" says what takes them. Every model also keeps its training data as a
#: sparse users × items matrix (`user_items_`, to leave out seen items): the nnz terms
#: (NeuMF also holds each epoch's positives and sampled negatives).
COMPLEXITY = {
    "Popularity": {
        "time": "O(nnz)",
        "memory": "O(nnz + n_items)",
        "dominant step": "one count per item",
    },
    "ItemKNN": {
        "time": "O(Σ_u |I_u|² + n_items²)",
        "memory": "O(nnz + n_items²)",
        "dominant step": "the item–item product XᵀX over co-occurring pairs, then a dense "
                         "n_items × n_items similarity matrix pruned to k neighbours per row",
    },
    "EASE": {
        "time": "O(Σ_u |I_u|² + n_items³)",
        "memory": "O(nnz + n_items²)",
        "dominant step": "inverting the dense n_items × n_items Gram matrix XᵀX + λI",
    },
    "ImplicitALS": {
        "time": "O(iterations · (CG steps + 1) · (n_users · n_items · d "
                "+ (n_users + n_items) · d²))",
        "memory": "O((n_users + n_items) · d + nnz)",
        "dominant step": "each conjugate-gradient product computes x_u·y_i (rows of P and Q) "
                         "for the stored entries from dense blocks of P Qᵀ, so every cell is "
                         "touched; the "
                         "`implicit` library's sparse version costs O(nnz · d) there instead, "
                         "and exact ALS costs O(nnz · d² + (n_users + n_items) · d³)",
    },
    "BPR": {
        "time": "O(epochs · nnz · d)",
        "memory": "O((n_users + n_items) · d + nnz)",
        "dominant step": "one update of p_u, q_i, q_j per sampled triple",
    },
    "NeuMF": {
        "time": "O(epochs · nnz · (1 + negatives) · (d + Σ_l h_(l−1) · h_l))",
        "memory": "O(nnz · (1 + negatives) + (n_users + n_items) · d + Σ_l h_(l−1) · h_l "
                  "+ batch · Σ_l h_l)",
        "dominant step": "forward and backward passes over every positive and its sampled "
                         "negatives (h_l: widths of the MLP tower, h_0 = 2d); recommending "
                         "then runs the network on n_users · n_items pairs",
    },
}


def complexity_table() -> pd.DataFrame:
    """`COMPLEXITY` as a DataFrame indexed by model: time, memory, dominant step."""
    return pd.DataFrame(COMPLEXITY).T.rename_axis("model")


def _proc_status_megabytes(field: str) -> float | None:
    """A memory field of /proc/self/status ("VmRSS", "VmHWM") in MB; None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 2**10  # The file gives kB.
    except OSError:
        return None
    return None


def _release_free_memory() -> None:
    """Free unreachable objects and hand the allocator's free memory back to the system.

    Otherwise a fit can reuse memory that earlier work left resident (glibc keeps freed heap,
    256 MiB of it when MALLOC_TOP_PAD_ is set as CI sets it), and that reuse would not show as
    growth of the resident memory.
    """
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # Not glibc (macOS, Windows, musl): nothing to trim, or no way to ask.


def _reset_peak_resident() -> bool:
    """Reset Linux's record of the process's peak resident memory (VmHWM); False if not possible.

    Writing "5" to /proc/self/clear_refs sets the peak back to the current resident size
    (Linux 4.0 and later), so that the peak read after a fit belongs to that fit alone.
    """
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return _proc_status_megabytes("VmHWM") is not None


def _peak_resident_megabytes() -> float | None:
    """The process's peak resident memory so far, in MB, or None where it is not available.

    `resource.getrusage` reports it in kilobytes on Linux and in bytes on macOS; Windows has
    no `resource` module.
    """
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _new_model(make_model):
    """A new, unfitted model from a factory function or class, or a clone of a model."""
    if hasattr(make_model, "fit") and not isinstance(make_model, type):
        # A model of another library has no clone(); a deep copy keeps the caller's unfitted.
        return make_model.clone() if hasattr(make_model, "clone") else copy.deepcopy(make_model)
    if not callable(make_model):
        raise TypeError(
            "make_model must be a function that returns a new model (the class itself, or "
            f"lambda: EASE(regularization=500)), got {make_model!r}."
        )
    model = make_model()
    if not hasattr(model, "fit"):
        raise TypeError(f"make_model() returned {model!r}, which has no fit method.")
    return model


def measure_cost(make_model, interactions: pd.DataFrame) -> dict:
    """Fit a new model on `interactions`; return its wall-clock time and memory.

    Parameters
    ----------
    make_model:
        A function without arguments that returns a new model (a class, or
        ``lambda: ItemKNN(k=50)``), or a model, which is cloned so it stays unfitted.
    interactions:
        The training rows (user_id, item_id, ...).

    Returns
    -------
    dict with
        fit_seconds: wall-clock seconds of ``model.fit(interactions)``.
        peak_memory_mb: the most memory allocated during the fit and alive at one moment, as
            seen by `tracemalloc`. numpy arrays and Python objects are traced; memory that
            native libraries allocate on their own (TensorFlow's tensors, BLAS work space) is
            not, so for Keras models this is a lower bound.
        rss_growth_mb: how far the process's resident memory (what the operating system
            sees, native allocations included) rose above its level at the start of the fit,
            at its highest. On Linux the peak counter is reset before the fit (see
            `_reset_peak_resident`), so this is the fit's own peak. Elsewhere it is how far
            the fit raised the process's lifetime peak (`resource.getrusage`): 0 when the fit
            stayed below an earlier peak, so a lower bound. None where neither is available.
            Memory freed by Python is not always returned to the system at once, so this
            can differ from peak_memory_mb either way; free memory is handed back before
            the fit (`_release_free_memory`) so that the fit cannot hide growth by reusing it.

    Tracing makes every allocation slower and costs memory of its own, mostly for code that
    creates many small Python objects (then fit_seconds and rss_growth_mb both grow); this
    package's numpy-heavy fits barely notice. When the caller is already tracing, its
    recorded peak (`tracemalloc.get_traced_memory`) is reset by this measurement.
    """
    check_interactions(interactions, name="interactions")
    model = _new_model(make_model)
    _release_free_memory()
    fit_peak_known = _reset_peak_resident()
    resident_before = (_proc_status_megabytes("VmRSS") if fit_peak_known
                       else _peak_resident_megabytes())
    already_tracing = tracemalloc.is_tracing()
    if not already_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()
    started = time.perf_counter()
    try:
        model.fit(interactions)
        fit_seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not already_tracing:
            tracemalloc.stop()
    resident_after = (_proc_status_megabytes("VmHWM") if fit_peak_known
                      else _peak_resident_megabytes())
    rss_growth = None
    if resident_before is not None and resident_after is not None:
        rss_growth = max(0.0, resident_after - resident_before)
    return {
        "fit_seconds": fit_seconds,
        "peak_memory_mb": max(0, peak - baseline) / 2**20,
        "rss_growth_mb": rss_growth,
    }


def default_model_factories(include_keras: bool = True) -> dict:
    """The models of lesson 10's cost curve, with settings small enough for a laptop.

    ItemKNN and EASE with their defaults; ImplicitALS with 32 factors and 5 iterations; and,
    with `include_keras`, NeuMF with 16-dimensional embeddings trained for 2 epochs (imported
    here, so TensorFlow is only loaded when asked for).
    """
    from recsys_lessons.models import EASE, ImplicitALS, ItemKNN

    factories = {
        "ItemKNN": ItemKNN,
        "EASE": EASE,
        "ImplicitALS": lambda: ImplicitALS(factors=32, iterations=5),
    }
    if include_keras:
        from recsys_lessons.models import NeuMF

        factories["NeuMF"] = lambda: NeuMF(embedding_dim=16, hidden_layers=(32, 16), epochs=2)
    return factories


#: Sizes (num_users, num_items) of the default cost curve: both double at each step.
DEFAULT_SIZES = ((500, 250), (1000, 500), (2000, 1000), (4000, 2000))


def cost_curve(
    model_factories: dict,
    sizes=DEFAULT_SIZES,
    interactions_per_user: float = 20.0,
    time_budget_seconds: float = 10.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Fitting time and memory of several models on synthetic data of growing size.

    For each (num_users, num_items) in `sizes`, in the order given (smallest first), one data
    set is drawn with `synthetic_interactions(num_users, num_items, interactions_per_user,
    seed=seed)` and every model is fitted on it with `measure_cost`. The budget: once a
    model's fit takes longer than `time_budget_seconds`, it is not fitted at the sizes that
    follow, whose rows say "skipped" (a model that grows like n³ would otherwise take the
    rest of the afternoon).

    Parameters
    ----------
    model_factories:
        Model name → a function without arguments that returns a new model, e.g.
        ``{"EASE": EASE, "ItemKNN": lambda: ItemKNN(k=50)}``; see `default_model_factories`.

    Returns
    -------
    DataFrame with one row per (model, size): model, num_users, num_items, interactions,
    fit_seconds, peak_memory_mb, rss_growth_mb and status ("ok" or "skipped").
    """
    if not isinstance(model_factories, dict) or not model_factories:
        raise ValueError(
            "model_factories must be a non-empty dict of name → function returning a new "
            "model, e.g. {'EASE': EASE}."
        )
    sizes = list(sizes)
    if not all(isinstance(size, Collection) for size in sizes):
        # A single pair such as (500, 250) would otherwise fail inside tuple() with
        # "'int' object is not iterable".
        raise ValueError(
            f"sizes must be a non-empty list of (num_users, num_items) pairs, got {sizes!r}; "
            "for one size write [(500, 250)]."
        )
    sizes = [tuple(size) for size in sizes]
    if not sizes or any(len(size) != 2 for size in sizes):
        raise ValueError(
            f"sizes must be a non-empty list of (num_users, num_items) pairs, got {sizes!r}."
        )
    sizes = [(check_positive_int(users, "num_users"), check_positive_int(items, "num_items"))
             for users, items in sizes]
    if isinstance(time_budget_seconds, bool) or not isinstance(time_budget_seconds, Real) \
            or not time_budget_seconds > 0:
        raise ValueError(
            f"time_budget_seconds must be a number > 0, got {time_budget_seconds!r}."
        )
    over_budget = set()
    rows = []
    for num_users, num_items in sizes:
        interactions = synthetic_interactions(
            num_users, num_items, interactions_per_user=interactions_per_user, seed=seed
        )
        for name, make_model in model_factories.items():
            row = {"model": name, "num_users": num_users, "num_items": num_items,
                   "interactions": len(interactions)}
            if name in over_budget:
                row.update(fit_seconds=np.nan, peak_memory_mb=np.nan, rss_growth_mb=np.nan,
                           status="skipped")
            else:
                row.update(measure_cost(make_model, interactions), status="ok")
                if row["fit_seconds"] > time_budget_seconds:
                    over_budget.add(name)
            rows.append(row)
    curve = pd.DataFrame(rows)
    curve["rss_growth_mb"] = curve["rss_growth_mb"].astype(float)
    return curve


def scaling_exponents(curve: pd.DataFrame, cost: str = "fit_seconds",
                      size: str = "num_items") -> pd.Series:
    """The exponent β in cost ≈ a · size^β for each model, fitted on log–log axes.

    β is the least-squares slope of log(cost) against log(size) over the model's measured
    rows. When the sizes double, cost ratio ≈ 2^β: β ≈ 3 is the n_items³ of a matrix inverse,
    β ≈ 1 a cost linear in the data. Small sizes are dominated by fixed overheads, so β
    comes out below the big-O at first; it approaches it as the data grow. Models with fewer
    than two measured sizes get NaN.
    """
    for column in ("model", cost, size):
        if column not in curve.columns:
            raise ValueError(f"curve has no column {column!r}; pass the output of cost_curve.")
    exponents = {}
    for model, rows in curve.groupby("model", sort=False):
        rows = rows[np.isfinite(rows[cost].to_numpy(dtype=float))
                    & (rows[cost].to_numpy(dtype=float) > 0)]
        if rows[size].nunique() < 2:
            exponents[model] = np.nan
            continue
        slope, _ = np.polyfit(np.log(rows[size].to_numpy(dtype=float)),
                              np.log(rows[cost].to_numpy(dtype=float)), 1)
        exponents[model] = float(slope)
    return pd.Series(exponents, name=f"exponent of {cost} in {size}")


__all__ = [
    "COMPLEXITY",
    "DEFAULT_SIZES",
    "complexity_table",
    "cost_curve",
    "default_model_factories",
    "measure_cost",
    "scaling_exponents",
]
