import threading

import numpy as np
import pandas as pd
import pytest

import recsys_lessons.scale as scale
from recsys_lessons.data.synthetic import synthetic_interactions
from recsys_lessons.models import EASE, Popularity
from recsys_lessons.scale import (
    COMPLEXITY,
    DEFAULT_SIZES,
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
        ({"model_factories": [("Popularity", Popularity)]}, "non-empty dict"),
        ({"sizes": [(10,)]}, "non-empty list of"),
        ({"time_budget_seconds": True}, "time_budget_seconds must be a number > 0"),
        ({"time_budget_seconds": "10"}, "time_budget_seconds must be a number > 0"),
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
    assert table.index.name == "model"
    assert table.loc["EASE", "time"] == COMPLEXITY["EASE"]["time"]
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
    if not scale._reset_peak_resident():
        pytest.skip("The peak resident memory cannot be reset on this platform.")
    # np.ones writes every page, so the operating system really hands over 64 MB.
    # The growth, not the process's whole resident memory, which is larger. Measured twice:
    # with MALLOC_TOP_PAD_ set, as CI sets it, glibc keeps the 64 MB the first fit freed, and
    # a second fit reused it without any growth (0 MB) until measure_cost handed free memory
    # back to the system before each fit.
    for _ in range(2):
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


def test_cost_curve_skips_as_soon_as_a_fit_exceeds_the_budget(fake_fits):
    # Every fit "takes" 1.5 s against a budget of 1 s: the model is skipped from the next size,
    # and the skipped row has no time and no memory.
    fake_fits(seconds=1.5)
    curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20)],
                       interactions_per_user=3, time_budget_seconds=1.0)
    assert curve["status"].tolist() == ["ok", "skipped"]
    assert curve.loc[1, ["fit_seconds", "peak_memory_mb", "rss_growth_mb"]].isna().all()


def test_scaling_exponents_need_two_distinct_sizes_and_a_positive_cost():
    curve = pd.DataFrame({
        "model": ["one size"] * 2 + ["with a zero"] * 4,
        "num_items": [100, 100, 5, 10, 20, 40],
        "fit_seconds": [1.0, 2.0, 0.0, 1.0, 4.0, 16.0],
    })
    exponents = scaling_exponents(curve)
    assert np.isnan(exponents["one size"])
    assert exponents["with a zero"] == pytest.approx(2)  # the zero row is left out


# ---------------------------------------------------------------------------
# Found missing by a mutation audit
# ---------------------------------------------------------------------------


class ClonesButCannotBeCopied(Allocates):
    """A model like a Keras one: it holds state that deepcopy refuses, and offers clone()."""

    def __init__(self, megabytes=1):
        super().__init__(megabytes)
        self.lock = threading.Lock()

    def clone(self):
        return ClonesButCannotBeCopied(self.megabytes)


def test_measure_cost_uses_a_models_own_clone(interactions):
    # A lock cannot be deep-copied, so only the model's clone() gives a fresh model to fit.
    model = ClonesButCannotBeCopied(1)
    assert 1 <= measure_cost(model, interactions)["peak_memory_mb"] < 2
    assert not hasattr(model, "total_")


def test_measure_cost_checks_the_interactions_before_fitting(interactions):
    # Allocates.fit never looks at its data, so only measure_cost can refuse the bad frame.
    with pytest.raises(ValueError, match="missing the column"):
        measure_cost(Allocates, interactions.rename(columns={"item_id": "movie"}))


def test_measure_cost_times_the_fit_with_the_clock(interactions, monkeypatch):
    # The clock reads 10.0 s before the fit and 12.5 s after it, so the fit took 2.5 s.
    readings = iter([10.0, 12.5])
    monkeypatch.setattr(scale.time, "perf_counter", lambda: next(readings))
    assert measure_cost(Allocates(1), interactions)["fit_seconds"] == 2.5


def test_resident_growth_ignores_an_earlier_higher_peak(interactions):
    if not scale._reset_peak_resident():
        pytest.skip("The peak resident memory cannot be reset on this platform.")
    # 256 MB touched and freed before the measurement raises the process's lifetime peak;
    # the fit itself touches 8 MB, so its growth must stay far below 256 MB.
    earlier = np.ones(256 * MEGABYTE // 8)
    del earlier
    assert measure_cost(lambda: Allocates(8), interactions)["rss_growth_mb"] < 100


def test_reset_peak_resident_reports_failure(monkeypatch):
    # When /proc/self/clear_refs cannot be opened, the peak was not reset and the answer is False.
    real_open = open

    def refusing_open(path, *arguments, **keywords):
        if str(path).endswith("clear_refs"):
            raise PermissionError(path)
        return real_open(path, *arguments, **keywords)

    monkeypatch.setattr(scale, "open", refusing_open, raising=False)
    assert scale._reset_peak_resident() is False


def test_peak_resident_is_read_in_bytes_on_macos(monkeypatch):
    # macOS reports ru_maxrss in bytes: 2**30 bytes is 1024 MB (on Linux, kB: 2**30 kB = 2**20 MB).
    resource = pytest.importorskip("resource")

    class Usage:
        ru_maxrss = 2**30

    monkeypatch.setattr(resource, "getrusage", lambda who: Usage())
    monkeypatch.setattr(scale.sys, "platform", "darwin")
    assert scale._peak_resident_megabytes() == 1024
    monkeypatch.setattr(scale.sys, "platform", "linux")
    assert scale._peak_resident_megabytes() == 2**20


def test_resident_growth_is_never_negative(interactions, monkeypatch):
    # The resident memory read before the fit (500 MB) is above the peak read after it
    # (400 MB), as when pages are handed back meanwhile: the growth is 0, not -100.
    monkeypatch.setattr(scale, "_reset_peak_resident", lambda: True)
    monkeypatch.setattr(scale, "_proc_status_megabytes",
                        lambda field: {"VmRSS": 500.0, "VmHWM": 400.0}[field])
    assert measure_cost(Allocates(1), interactions)["rss_growth_mb"] == 0.0


def test_default_factories_settings():
    # The documented settings: ImplicitALS with 32 factors and 5 iterations; by default NeuMF
    # too, with 16-dimensional embeddings and 2 epochs (built here, never trained).
    factories = default_model_factories()
    assert list(factories) == ["ItemKNN", "EASE", "ImplicitALS", "NeuMF"]
    als = factories["ImplicitALS"]()
    assert (als.factors, als.iterations) == (32, 5)
    neumf = factories["NeuMF"]()
    assert (neumf.embedding_dim, neumf.hidden_layers, neumf.epochs) == (16, (32, 16), 2)


def test_default_sizes_double_from_500_users_four_times():
    # Lesson 10's curve: 500 × 250 doubled at each of four sizes, up to 4000 × 2000.
    assert list(DEFAULT_SIZES) == [(500 * 2**i, 250 * 2**i) for i in range(4)]


@pytest.fixture
def fake_fits(monkeypatch):
    """measure_cost replaced by a fit that 'takes' the seconds listed, in order; calls recorded."""
    calls = []

    def install(seconds=5.0, rss=None):
        def fake(make_model, data):
            calls.append(len(data))
            return {"fit_seconds": seconds, "peak_memory_mb": 1.0, "rss_growth_mb": rss}

        monkeypatch.setattr(scale, "measure_cost", fake)
        return calls

    return install


def test_cost_curve_default_budget_is_ten_seconds(fake_fits):
    # A 5 s fit is within the default 10 s budget, so the model is fitted at every size.
    fake_fits(seconds=5.0)
    curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20)], interactions_per_user=3)
    assert curve["status"].tolist() == ["ok", "ok"]


def test_cost_curve_a_fit_exactly_at_the_budget_is_not_over_it(fake_fits):
    # Only a fit that takes longer than the budget stops the model: 1.0 s against 1.0 s does not.
    fake_fits(seconds=1.0)
    curve = cost_curve({"Popularity": Popularity}, [(20, 10), (40, 20)],
                       interactions_per_user=3, time_budget_seconds=1.0)
    assert curve["status"].tolist() == ["ok", "ok"]


def test_cost_curve_default_draws_twenty_interactions_per_user(monkeypatch, fake_fits):
    fake_fits()
    seen = []

    def recording(num_users, num_items, interactions_per_user, seed):
        seen.append(interactions_per_user)
        return synthetic_interactions(num_users, num_items, interactions_per_user=3, seed=seed)

    monkeypatch.setattr(scale, "synthetic_interactions", recording)
    cost_curve({"Popularity": Popularity}, [(20, 10)])
    assert seen == [20.0]


def test_cost_curve_rss_column_is_numeric_without_resident_memory(fake_fits):
    # Where the resident memory is unknown (None), the column still holds floats (NaN).
    fake_fits(seconds=0.1, rss=None)
    curve = cost_curve({"Popularity": Popularity}, [(20, 10)], interactions_per_user=3)
    assert curve["rss_growth_mb"].dtype == float
    assert curve["rss_growth_mb"].isna().all()


def test_cost_curve_checks_every_size_before_fitting_anything(fake_fits):
    calls = fake_fits()
    with pytest.raises(ValueError, match="num_items must be a positive integer"):
        cost_curve({"Popularity": Popularity}, [(20, 10), (20, 0)], interactions_per_user=3)
    assert calls == []


def test_scaling_exponents_ignore_infinite_costs():
    # Sizes 10 and 20 cost 1 and 4: slope log(4)/log(2) = 2; the infinite row is left out.
    curve = pd.DataFrame({"model": ["m"] * 3, "num_items": [10, 20, 40],
                          "fit_seconds": [1.0, 4.0, np.inf]})
    assert scaling_exponents(curve)["m"] == pytest.approx(2)


def test_scaling_exponents_of_another_cost_and_size():
    # Memory 1, 8 MB at 10, 20 users: slope log(8)/log(2) = 3. The time column, 1 and 2 s
    # against items 5 and 50, would give other slopes, so the columns asked for must be used.
    curve = pd.DataFrame({"model": ["m", "m"], "num_users": [10, 20], "num_items": [5, 50],
                          "fit_seconds": [1.0, 2.0], "peak_memory_mb": [1.0, 8.0]})
    exponents = scaling_exponents(curve, cost="peak_memory_mb", size="num_users")
    assert exponents["m"] == pytest.approx(3)
    assert exponents.name == "exponent of peak_memory_mb in num_users"


def test_scaling_exponents_keep_the_curves_model_order():
    # The models come out in the order the curve lists them, not alphabetically.
    curve = pd.DataFrame({"model": ["zeta", "zeta", "alpha", "alpha"],
                          "num_items": [10, 20, 10, 20], "fit_seconds": [1.0, 2.0, 1.0, 4.0]})
    assert scaling_exponents(curve).index.tolist() == ["zeta", "alpha"]

