"""Drift statistics against scipy on the same samples (tolerance 1e-9)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from scipy.spatial import distance
from scipy.special import rel_entr

from driftd.config import DriftSpec
from driftd.detectors import stats
from driftd.detectors.drift import CategoricalDrift, NumericDrift

TOL = 1e-9


def _numeric(reference, current, **spec):
    detector = NumericDrift(
        np.asarray(reference, float), DriftSpec(min_samples=1, **spec), window=len(current)
    )
    for value in current:
        detector.update(value)
    return detector


@pytest.mark.parametrize("shift", [0.0, 0.3, 2.0])
def test_numeric_statistics_equal_scipy(shift):
    rng = np.random.default_rng(1)
    reference = rng.normal(0, 1, 3000)
    current = rng.normal(shift, 1.2, 800)
    got = _numeric(reference, current).readings()
    ks = sps.ks_2samp(reference, current, method="asymp")
    assert got["ks_statistic"] == pytest.approx(ks.statistic, abs=TOL)
    assert got["ks_pvalue"] == pytest.approx(ks.pvalue, abs=TOL)
    wasserstein = sps.wasserstein_distance(reference, current) / np.std(reference)
    assert got["wasserstein"] == pytest.approx(wasserstein, abs=TOL)
    edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    ref_counts = np.histogram(reference, bins=np.r_[-np.inf, edges, np.inf])[0].astype(float)
    cur_counts = np.histogram(current, bins=np.r_[-np.inf, edges, np.inf])[0].astype(float)
    assert got["jensenshannon"] == pytest.approx(
        distance.jensenshannon(ref_counts, cur_counts, base=2), abs=TOL
    )
    r = np.maximum(ref_counts / ref_counts.sum(), 1e-4)
    c = np.maximum(cur_counts / cur_counts.sum(), 1e-4)
    assert got["psi"] == pytest.approx(float(np.sum(rel_entr(c, r) + rel_entr(r, c))), abs=TOL)
    # large reference -> the Wasserstein effect, and KS significance at 0.001
    assert got["drifted"] == float(wasserstein >= 0.1 and ks.pvalue < 0.001)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
)
def test_numeric_hypothesis(reference, current):
    reference, current = np.array(reference), np.array(current)
    ks_stat, ks_p, w = stats.ks_wasserstein_sorted(np.sort(reference), np.sort(current))
    expected = sps.ks_2samp(reference, current, method="asymp")
    assert ks_stat == pytest.approx(expected.statistic, abs=TOL)
    assert ks_p == pytest.approx(expected.pvalue, abs=TOL)
    assert w == pytest.approx(sps.wasserstein_distance(reference, current), rel=1e-9, abs=1e-6)


def test_nan_and_infinities_are_excluded_and_small_reference_uses_ks():
    rng = np.random.default_rng(2)
    reference = np.r_[rng.normal(0, 1, 500), np.nan, np.inf]
    current = np.r_[rng.normal(0.5, 1, 200), np.nan, -np.inf, np.inf]
    detector = _numeric(reference, current)
    assert detector.test == "ks"  # 500 finite reference rows <= 1000
    got = detector.readings()
    finite_ref = reference[np.isfinite(reference)]
    finite_cur = current[np.isfinite(current)]
    assert got["samples"] == 200
    assert got["ks_pvalue"] == pytest.approx(
        sps.ks_2samp(finite_ref, finite_cur, method="asymp").pvalue, abs=TOL
    )
    # an effect (KS statistic >= 0.1) and significance (p < 0.001), never a p-value alone
    assert got["significant"] == float(got["ks_pvalue"] < 0.001)
    assert got["drifted"] == float(got["ks_statistic"] >= 0.1 and got["ks_pvalue"] < 0.001)


def test_no_statistics_below_min_samples():
    detector = NumericDrift(np.arange(100.0), DriftSpec(min_samples=50), window=100)
    for value in range(49):
        detector.update(float(value))
    readings = detector.readings()
    window = {k: v for k, v in readings.items() if not k.startswith(("shift", "scale"))}
    assert window == {"samples": 49.0}
    assert "shift_alarms" in readings  # the sequential test runs from the first value


def test_categorical_against_scipy():
    rng = np.random.default_rng(3)
    reference = rng.choice(["a", "b", "c"], 5000, p=[0.5, 0.3, 0.2])
    current = rng.choice(["a", "b", "c", "zzz"], 700, p=[0.4, 0.3, 0.2, 0.1])
    detector = CategoricalDrift(reference, DriftSpec(min_samples=1), window=700)
    for value in current:
        detector.update(str(value))
    got = detector.readings()
    ref_counts = np.array([np.sum(reference == c) for c in "abc"], float)
    cur_known = np.array([np.sum(current == c) for c in "abc"], float)
    # two samples (the reference's shares are estimates too): a 2 x K contingency table
    expected = sps.chi2_contingency([ref_counts, cur_known], correction=False)
    assert got["chisquare_pvalue"] == pytest.approx(expected.pvalue, abs=TOL)
    assert got["unseen_rate"] == pytest.approx(np.mean(current == "zzz"), abs=TOL)
    cur_all = np.append(cur_known, np.sum(current == "zzz"))
    js = distance.jensenshannon(np.append(ref_counts, 0), cur_all, base=2)
    assert got["jensenshannon"] == pytest.approx(js, abs=TOL)
    # unseen: 10% of 700 against Good-Turing's chance, itself an estimate (categories
    # seen once: none, so Beta(1, 5001)): a one-sided beta-binomial test
    unseen_p = sps.betabinom.sf(int(np.sum(current == "zzz")) - 1, 700, 1, 5001)
    significant = min(unseen_p, expected.pvalue) < 0.001
    assert got["significant"] == float(significant)
    assert detector.test == "jensenshannon" and got["drifted"] == float(js >= 0.1 and significant)


def test_empty_reference_is_refused():
    with pytest.raises(ValueError):
        NumericDrift(np.array([np.nan]), DriftSpec())


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 4), min_size=2, max_size=80),
    st.lists(st.integers(0, 4), min_size=1, max_size=80),
)
def test_ks_and_wasserstein_with_heavy_ties(reference, current):
    """Few distinct values: the CDFs must be read at the end of each run of ties."""
    reference, current = np.array(reference, float), np.array(current, float)
    ks_stat, ks_p, w = stats.ks_wasserstein_sorted(np.sort(reference), np.sort(current))
    expected = sps.ks_2samp(reference, current, method="asymp")
    assert ks_stat == pytest.approx(expected.statistic, abs=TOL)
    assert ks_p == pytest.approx(expected.pvalue, abs=TOL)
    assert w == pytest.approx(sps.wasserstein_distance(reference, current), abs=1e-9)


def test_unseen_categories_are_flagged_per_value_against_good_turing():
    reference = np.array(["a"] * 50 + ["b"] * 30 + ["c", "d"])  # c and d seen once
    detector = CategoricalDrift(reference, DriftSpec(min_samples=1), window=100)
    # Good-Turing: 2 singletons of 82, as Beta(3, 81), its mean 3/84
    assert detector.unseen_baseline == (3, 81)
    assert detector.unseen_chance == pytest.approx(3 / 84)
    flags = detector.update_many(["a", "zzz", "c", "new"])
    assert flags.tolist() == [False, True, False, True]


def test_rare_categories_are_pooled_and_the_reference_counts_as_a_sample():
    """Oracle: scipy's chi2_contingency on the 2 x K table left after pooling every
    category expected fewer than 5 times into one (Cochran's rule). A goodness-of-fit
    test taking the reference's shares as exact, on the same 300 Zipf categories from
    one distribution, finds the window significant."""
    rng = np.random.default_rng(8)
    levels = np.array([f"k{i}" for i in range(300)])
    weights = 1 / np.arange(1, 301)
    weights /= weights.sum()
    reference = rng.choice(levels, 5000, p=weights)
    current = rng.choice(levels, 2000, p=weights)
    detector = CategoricalDrift(reference, DriftSpec(min_samples=1), window=2000)
    detector.update_many(list(current))
    got = detector.readings()
    ref = np.array([np.sum(reference == c) for c in detector.categories], float)
    cur = np.array([np.sum(current == c) for c in detector.categories], float)
    rare = (ref + cur) * 2000 / 7000 < 5
    table = [np.append(ref[~rare], ref[rare].sum()), np.append(cur[~rare], cur[rare].sum())]
    expected = sps.chi2_contingency(table, correction=False).pvalue
    assert got["chisquare_pvalue"] == pytest.approx(expected, abs=TOL)
    assert got["chisquare_pvalue"] > 0.001
    assert sps.chisquare(cur, ref / 5000 * cur.sum()).pvalue < 0.001  # the old test


def test_the_distributions_the_dashboard_draws_equal_numpy_and_pandas():
    """Reference vs window shares per bin (the reference's deciles, right-closed) and per
    category (unseen ones together), as the feature view draws them."""
    import pandas as pd

    rng = np.random.default_rng(4)
    reference = rng.normal(0, 1, 3000)
    current = rng.normal(0.7, 1.0, 600)
    got = _numeric(reference, current).distribution()
    edges = np.quantile(reference, np.linspace(0, 1, 11)[1:-1])
    bins = [-np.inf, *edges, np.inf]
    for values, shares in ((reference, got.reference), (current, got.current)):
        counted = pd.Series(pd.cut(values, bins, right=True)).value_counts(sort=False,
                                                                            normalize=True)
        assert shares == pytest.approx(counted.to_numpy(), abs=TOL)
    assert len(got.labels) == 10 and got.labels[0].startswith("<= ")
    categorical = CategoricalDrift(np.array(["a"] * 60 + ["b"] * 40), DriftSpec(min_samples=1))
    categorical.update_many(["a", "b", "b", "c", "d", "b"])
    seen = categorical.distribution()
    assert seen.labels == ["a", "b", "(unseen)"]
    assert seen.reference == pytest.approx([0.6, 0.4, 0.0], abs=TOL)
    assert seen.current == pytest.approx([1 / 6, 3 / 6, 2 / 6], abs=TOL)


def test_ranks_kept_from_updates_give_scipy_values_past_int32_products():
    """The tick reads each window value's reference rank kept from its update (int32):
    with R x W past 2**31 the KS products must not overflow."""
    rng = np.random.default_rng(7)
    reference = rng.normal(0, 1, 300_000)
    current = rng.normal(0.05, 1, 8000)
    detector = NumericDrift(reference, DriftSpec(min_samples=1), window=len(current))
    detector.update_many(current)
    got = detector.readings()
    expected = sps.ks_2samp(reference, current, method="asymp")
    assert got["ks_statistic"] == pytest.approx(expected.statistic, abs=TOL)
    assert got["ks_pvalue"] == pytest.approx(expected.pvalue, abs=TOL)
    wasserstein = sps.wasserstein_distance(reference, current) / np.std(reference)
    assert got["wasserstein"] == pytest.approx(wasserstein, rel=1e-9)
