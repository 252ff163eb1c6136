import numpy as np
import pandas as pd
import pytest

from recsys_lessons.data.synthetic import synthetic_interactions
from recsys_lessons.models import EASE, Popularity
from recsys_lessons.scale import (
    COMPLEXITY,
    complexity_table,
    cost_curve,
    default_model_factories,
    measure_cost,
    scaling_exponents,
)

MEGABYTE = 2**20


class Allocates:
    """A stand-in model whose fit holds `megabytes` of numpy memory, then lets it go."""

    def __init__(self, megabytes=8):
        self.megabytes = megabytes

    def fit(self, interactions):
        block = np.ones(self.megabytes * MEGABYTE // 8)
        self.total_ = float(block.sum())
        return self


@pytest.fixture(scope="module")
def interactions():
    return synthetic_interactions(60, 40, interactions_per_user=5, seed=0)


def test_measure_cost_sees_numpy_memory(interactions):
    cost = measure_cost(lambda: Allocates(8), interactions)
    assert set(cost) == {"fit_seconds", "peak_memory_mb", "rss_growth_mb"}
    assert cost["fit_seconds"] > 0
    # The 8 MB array is the peak; a little more for pandas and numpy bookkeeping.
    assert 8 <= cost["peak_memory_mb"] < 9


def test_measure_cost_peak_grows_with_the_allocation(interactions):
    small = measure_cost(lambda: Allocates(2), interactions)["peak_memory_mb"]
    large = measure_cost(lambda: Allocates(16), interactions)["peak_memory_mb"]
    assert large - small == pytest.approx(14, abs=0.5)


def test_measure_cost_clones_a_model_and_accepts_a_class(interactions):
    model = EASE(regularization=10.0)
    measure_cost(model, interactions)
    assert not hasattr(model, "item_weights_")  # The model given stays unfitted.
    # A class is built with its defaults and fitted: Allocates() holds its default 8 MB.
    assert 8 <= measure_cost(Allocates, interactions)["peak_memory_mb"] < 9
    # A model without clone() (another library's) is copied, not fitted in place, and the copy
    # keeps the caller's parameters: 3 MB measured, not the default 8 MB of a new instance.
    foreign = Allocates(3)
    assert 3 <= measure_cost(foreign, interactions)["peak_memory_mb"] < 4
    assert not hasattr(foreign, "total_")


def test_measure_cost_bad_input(interactions):
    with pytest.raises(TypeError, match="make_model must be a function"):
        measure_cost(42, interactions)
    with pytest.raises(TypeError, match="has no fit method"):
        measure_cost(lambda: "not a model", interactions)
    with pytest.raises(ValueError, match="missing the column"):
        measure_cost(Popularity, interactions.rename(columns={"item_id": "movie"}))


def test_cost_curve_rows_and_columns():
    sizes = [(30, 20), (60, 40)]
    curve = cost_curve({"Popularity": Popularity, "EASE": EASE}, sizes,
                       interactions_per_user=4, time_budget_seconds=60)
    assert list(curve.columns) == ["model", "num_users", "num_items", "interactions",
                                   "fit_seconds", "peak_memory_mb", "rss_growth_mb", "status"]
    assert curve["model"].tolist() == ["Popularity", "EASE"] * 2
    assert (curve["status"] == "ok").all()
    expected_rows = [len(synthetic_interactions(*size, interactions_per_user=4))
                     for size in sizes]
    assert curve["interactions"].tolist() == np.repeat(expected_rows, 2).tolist()


def test_cost_curve_skips_a_model_after_it_is_over_budget():
    # Every fit takes longer than a nanosecond, so every model runs once and is then skipped.
    curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20), (80, 40)],
                       interactions_per_user=3, time_budget_seconds=1e-9)
    assert curve["status"].tolist() == ["ok", "skipped", "skipped"]
    assert curve["fit_seconds"].isna().tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model_factories": {}}, "non-empty dict"),
        ({"sizes": []}, "non-empty list of"),
        ({"sizes": [(10, 10, 10)]}, "non-empty list of"),
        ({"sizes": (500, 250)}, r"for one size write \[\(500, 250\)\]"),
        ({"sizes": [(0, 10)]}, "num_users must be a positive integer"),
        ({"time_budget_seconds": 0}, "time_budget_seconds must be a number > 0"),
    ],
)
def test_cost_curve_bad_input(arguments, message):
    parameters = {"model_factories": {"Popularity": Popularity}, "sizes": [(10, 10)],
                  **arguments}
    with pytest.raises(ValueError, match=message):
        cost_curve(**parameters)


def test_scaling_exponents_recover_a_known_power_law():
    sizes = np.array([100, 200, 400, 800])
    curve = pd.DataFrame({
        "model": ["cubic"] * 4 + ["linear"] * 4 + ["once"],
        "num_items": np.concatenate([sizes, sizes, [100]]),
        "fit_seconds": np.concatenate([2e-9 * sizes**3, 0.01 * sizes, [1.0]]),
    })
    exponents = scaling_exponents(curve)
    assert exponents["cubic"] == pytest.approx(3)
    assert exponents["linear"] == pytest.approx(1)
    assert np.isnan(exponents["once"])
    with pytest.raises(ValueError, match="no column 'num_items'"):
        scaling_exponents(curve.drop(columns="num_items"))


def test_scaling_exponents_ignore_skipped_rows():
    curve = pd.DataFrame({"model": ["m"] * 3, "num_items": [10, 20, 40],
                          "fit_seconds": [1.0, 4.0, np.nan]})
    assert scaling_exponents(curve)["m"] == pytest.approx(2)


def test_complexity_covers_the_default_models():
    table = complexity_table()
    assert list(table.columns) == ["time", "memory", "dominant step"]
    for name in ("ItemKNN", "EASE", "ImplicitALS", "NeuMF"):
        assert name in COMPLEXITY
    assert "n_items³" in COMPLEXITY["EASE"]["time"]
    assert "n_items²" in COMPLEXITY["EASE"]["memory"]


def test_default_factories_fit_without_keras():
    factories = default_model_factories(include_keras=False)
    assert list(factories) == ["ItemKNN", "EASE", "ImplicitALS"]
    data = synthetic_interactions(40, 30, interactions_per_user=5, seed=1)
    for make_model in factories.values():
        assert len(make_model().fit(data).recommend(k=2)) > 0


def test_resident_memory_growth_on_linux(interactions):
    from recsys_lessons.scale import _reset_peak_resident

    if not _reset_peak_resident():
        pytest.skip("The peak resident memory cannot be reset on this platform.")
    # np.ones writes every page, so the operating system really hands over 64 MB.
    # The growth, not the process's whole resident memory, which is larger.
    assert 60 <= measure_cost(lambda: Allocates(64), interactions)["rss_growth_mb"] < 90


def test_measure_cost_inside_a_callers_trace(interactions):
    import tracemalloc

    # The caller traces already, with 16 MB alive and an earlier, freed peak of 48 MB: the
    # fit's own 8 MB is measured, and the caller's trace goes on.
    tracemalloc.start()
    try:
        alive = np.ones(16 * MEGABYTE // 8)
        freed = np.ones(48 * MEGABYTE // 8)
        del freed
        cost = measure_cost(lambda: Allocates(8), interactions)
        assert 8 <= cost["peak_memory_mb"] < 9
        assert tracemalloc.is_tracing()
        assert alive.sum() == len(alive)
    finally:
        tracemalloc.stop()


def test_cost_curve_draws_its_data_with_the_seed():
    def sizes_drawn(seed):
        curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20)],
                           interactions_per_user=3, seed=seed)
        return curve["interactions"].tolist()

    assert sizes_drawn(0) == sizes_drawn(0)
    assert sizes_drawn(0) != sizes_drawn(1)


def test_cost_curve_skips_as_soon_as_a_fit_exceeds_the_budget(monkeypatch):
    # Every fit "takes" 1.5 s against a budget of 1 s: the model is skipped from the next size.
    monkeypatch.setattr("recsys_lessons.scale.measure_cost", lambda make_model, data: {
        "fit_seconds": 1.5, "peak_memory_mb": 1.0, "rss_growth_mb": None})
    curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20)],
                       interactions_per_user=3, time_budget_seconds=1.0)
    assert curve["status"].tolist() == ["ok", "skipped"]


def test_scaling_exponents_need_two_distinct_sizes_and_a_positive_cost():
    curve = pd.DataFrame({
        "model": ["one size"] * 2 + ["with a zero"] * 4,
        "num_items": [100, 100, 5, 10, 20, 40],
        "fit_seconds": [1.0, 2.0, 0.0, 1.0, 4.0, 16.0],
    })
    exponents = scaling_exponents(curve)
    assert np.isnan(exponents["one size"])
    assert exponents["with a zero"] == pytest.approx(2)  # the zero row is left out
