"""RDS-I exact: the recruitment chain's stationary distribution solved, checked against closed
forms on bottlenecked chains, and R's rule for a category that recruited no one.

Closed forms: two categories, ``q_A = p_BA / (p_AB + p_BA)``; three, the Markov chain tree
theorem (each state's weight is the sum over spanning trees directed into it of the product
of their transition probabilities). These are exact, so tolerances are rounding (1e-12),
not sampling error.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.rds import diagnostics as D
from sim.rds import estimators as est
from sim.streams import stream


def _two_group(p_ab: float, p_ba: float) -> float:
    return p_ba / (p_ab + p_ba)


def _tree_theorem3(p: np.ndarray) -> np.ndarray:
    """Stationary distribution of a 3-state chain by the Markov chain tree theorem."""
    w = np.array(
        [
            p[1, 0] * p[2, 0] + p[1, 2] * p[2, 0] + p[2, 1] * p[1, 0],
            p[0, 1] * p[2, 1] + p[0, 2] * p[2, 1] + p[2, 0] * p[0, 1],
            p[0, 2] * p[1, 2] + p[0, 1] * p[1, 2] + p[1, 0] * p[0, 2],
        ]
    )
    return w / w.sum()


def _sample_from_counts(
    t: np.ndarray, degree_of=lambda k: 3 + k
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sample whose recruitments are exactly the counts ``t`` (one recruiter per count).

    Each category gets one seed; each recruitment i -> j adds a recruit of category j whose
    recruiter is that seed of category i. Degrees are ``degree_of(category)``.
    """
    k = t.shape[0]
    y = list(range(k))
    recruiter = [-1] * k
    for i in range(k):
        for j in range(k):
            y += [j] * int(t[i, j])
            recruiter += [i] * int(t[i, j])
    y = np.asarray(y, dtype=np.int64)
    degree = np.asarray([degree_of(c) for c in y], dtype=np.int64)
    return y, degree, np.asarray(recruiter, dtype=np.int64)


def _expected_rds1(t: np.ndarray, y: np.ndarray, degree: np.ndarray, q: np.ndarray) -> np.ndarray:
    h = est.harmonic_means(y, degree, t.shape[0])
    r = q / h
    return r / r.sum()


# ------------------------------------------------------------------ bottlenecked chains


@pytest.mark.parametrize(
    ("t", "q_a"),
    [
        # Crossing once in 3,000 recruitments: 2,000 steps of power iteration left 0.605 where
        # the exact share is 2/3.
        (np.array([[3000.0, 1.0], [2.0, 3000.0]]), None),
        (np.array([[5000.0, 1.0], [7.0, 400.0]]), None),
        # B leads to A once in a thousand; A never recruits B: B is transient, A's share is 1
        # (the case of "0.914 where the exact value is 1.000"; power iteration gave 0.816).
        (np.array([[40.0, 0.0], [1.0, 1000.0]]), 1.0),
    ],
)
def test_two_group_stationary_matches_the_closed_form(t, q_a):
    p = t / t.sum(axis=1, keepdims=True)
    want = _two_group(p[0, 1], p[1, 0]) if q_a is None else q_a
    q = est.stationary(p)
    assert q[0] == pytest.approx(want, abs=1e-12)
    assert q.sum() == pytest.approx(1.0, abs=1e-15)
    y, degree, recruiter = _sample_from_counts(t)
    assert est.transitions(y, recruiter, 2).tolist() == t.tolist()
    assert est.rds1(y, degree, recruiter, 2) == pytest.approx(
        _expected_rds1(t, y, degree, np.array([want, 1 - want])), abs=1e-12
    )


@pytest.mark.parametrize("seed", range(6))
def test_three_group_stationary_matches_the_tree_theorem(seed):
    rng = np.random.default_rng(seed)
    # Heavy recruitment within each category, a handful of crossings (some none at all).
    t = np.diag(rng.integers(500, 5000, 3)).astype(float)
    t += rng.integers(0, 4, (3, 3)) * (1 - np.eye(3))
    if seed == 0:  # category 0 never recruits out, and the others reach it: they are transient
        t[0, 1] = t[0, 2] = 0
        t[1, 0] = t[2, 0] = 1
    p = t / t.sum(axis=1, keepdims=True)
    q = est.stationary(p)
    assert q == pytest.approx(_tree_theorem3(p), abs=1e-12)
    y, degree, recruiter = _sample_from_counts(t)
    assert est.rds1(y, degree, recruiter, 3) == pytest.approx(
        _expected_rds1(t, y, degree, _tree_theorem3(p)), abs=1e-12
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**32 - 1), st.floats(1e-5, 1.0))
def test_the_solved_distribution_is_stationary(k, seed, crossing):
    # Random chains, some nearly decomposed (crossing probability down to 1e-5): pi P = pi
    # to rounding, where power iteration would need about 1 / crossing steps.
    rng = np.random.default_rng(seed)
    p = rng.random((k, k)) * np.where(np.eye(k, dtype=bool), 1.0, crossing)
    p /= p.sum(axis=1, keepdims=True)
    q = est.stationary(p)
    assert np.all(q >= 0) and q.sum() == pytest.approx(1.0, abs=1e-12)
    assert q @ p == pytest.approx(q, abs=1e-12)


def test_a_periodic_chain_and_a_batch_of_chains():
    # A recruits only B and B only A: period two, stationary (1/2, 1/2) all the same.
    assert est.stationary(np.array([[0.0, 1.0], [1.0, 0.0]])) == pytest.approx([0.5, 0.5])
    batch = np.stack(
        [np.array([[0.5, 0.5], [1 / 3, 2 / 3]]), np.eye(2), np.array([[1.0, 0.0], [0.5, 0.5]])]
    )
    q = est.stationary(batch)
    assert q[0] == pytest.approx([0.4, 0.6])
    assert np.isnan(q[1]).all()  # two closed classes: no unique distribution
    assert q[2] == pytest.approx([1.0, 0.0])


# ------------------------------------------------------------------ R's rules


def test_a_category_that_recruited_no_one_recruits_every_category_alike():
    # A (degrees 2, 4, 4) recruits A twice and B twice; B (degrees 3, 6) recruits no one.
    # R's count.transitions sets B's row to 0.1 each: P = [[1/2, 1/2], [1/2, 1/2]], q = (1/2,
    # 1/2). Harmonic means h_A = 3 / (1/2 + 1/4 + 1/4) = 3, h_B = 2 / (1/3 + 1/6) = 4;
    # (q / h) normalised: A = (1/6) / (1/6 + 1/8) = 4/7. It was NaN.
    y = np.array([0, 0, 1, 1, 0])
    recruiter = np.array([-1, 0, 0, 1, 1])
    degree = np.array([2, 4, 3, 6, 4])
    assert est.transitions(y, recruiter, 2).tolist() == [[2, 2], [0, 0]]
    assert est.rds1(y, degree, recruiter, 2) == pytest.approx([4 / 7, 3 / 7], abs=1e-12)
    # Its bootstrap is a number too (a chain whose draws all happen to stay in A is A's alone).
    boot = est.salganik_bootstrap(y, degree, recruiter, 2, stream(3, 0, "t"), replicates=200)
    assert np.isfinite(boot["RDS-I"]).all()


def test_no_recruitment_or_separate_closed_classes_give_no_estimate():
    # Seeds only: no chain to estimate from.
    y = np.array([0, 1, 0, 1])
    assert np.isnan(est.rds1(y, np.full(4, 3), np.full(4, -1), 2)).all()
    # A recruits only A, B only B: where the chain settles depends on where it starts.
    y = np.array([0, 1, 0, 1])
    assert np.isnan(est.rds1(y, np.full(4, 3), np.array([-1, -1, 0, 1]), 2)).all()
    # A category absent from the sample stays out of the chain and gets 0.
    y = np.array([0, 0, 2, 2, 0])
    assert est.rds1(y, np.full(5, 3), np.array([-1, 0, 0, 2, 2]), 3) == pytest.approx(
        [0.5, 0.0, 0.5]
    )


def test_one_label_of_a_trait_is_estimated_from_the_chain_of_all_its_labels():
    # --trait depth=deep reports one label; its chain is between all three depth labels (as
    # R's, over the sample's values), so it is the three-label estimate's entry, not that of
    # a deep / not-deep chain, which lumps two labels that recruit differently.
    t = np.array([[50.0, 10.0, 0.0], [5.0, 50.0, 20.0], [1.0, 1.0, 60.0]])
    y, degree, recruiter = _sample_from_counts(t)
    three = est.rds1(y, degree, recruiter, 3)
    lumped = est.rds1((y == 2).astype(np.int64), degree, recruiter, 2)
    p = t / t.sum(axis=1, keepdims=True)
    assert three == pytest.approx(_expected_rds1(t, y, degree, _tree_theorem3(p)), abs=1e-12)
    assert not math.isclose(three[2], lumped[1], abs_tol=1e-3)


def test_the_equilibrium_of_a_seeds_only_sample_is_undefined():
    y = np.array([0, 1])
    assert np.isnan(D.equilibrium(y, np.array([-1, -1]), 2)).all()
