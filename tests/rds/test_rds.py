"""Respondent-driven sampling against theory and the truth, and ``survey`` / ``estimate`` as a
user runs them.

Statistical tests use fixed seeds; each tolerance is a number of standard errors of the
quantity tested, derived from the sample size in a comment beside it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.graphs.csr import CSRGraph
from sim.graphs.generators import configuration_graph
from sim.rds import estimators as est
from sim.rds.survey import chain_referral, random_walk, report_degrees
from sim.streams import stream
from tests.cli_helpers import one_line_error, outreach, write

# ---------------------------------------------------------------------------- graphs


def two_group_graph(
    n_a: int, n_b: int, degree: int, s_ab: float, s_ba: float, rng: np.random.Generator
) -> tuple[CSRGraph, np.ndarray]:
    """A random graph where each A has ``degree * s_ab`` ties to B, each B ``degree * s_ba``
    to A, the rest within the group (stubs paired at random). Returns the graph and each
    person's group (0 = A, 1 = B)."""
    to_b, to_a = round(degree * s_ab), round(degree * s_ba)
    assert n_a * to_b == n_b * to_a, "cross ties must match"
    a = np.arange(n_a)
    b = n_a + np.arange(n_b)
    cross_a = np.repeat(a, to_b)
    cross_b = rng.permutation(np.repeat(b, to_a))
    within_a = rng.permutation(np.repeat(a, degree - to_b))
    within_b = rng.permutation(np.repeat(b, degree - to_a))
    src = np.concatenate([cross_a, within_a[0::2], within_b[0::2]])
    dst = np.concatenate([cross_b, within_a[1::2], within_b[1::2]])
    group = np.r_[np.zeros(n_a, np.int64), np.ones(n_b, np.int64)]
    return CSRGraph.from_edges(n_a + n_b, src, dst), group


# ---------------------------------------------------------------------------- against theory


def test_wave_composition_converges_to_the_equilibrium_at_the_chain_rate():
    # S_AB = 0.2, S_BA = 0.3: the share of A in wave t is p* + (1 - p*) lambda^t from seeds
    # all in A, with p* = S_BA / (S_AB + S_BA) = 0.6 and lambda = 1 - S_AB - S_BA = 0.5
    # (Heckathorn 1997). The theory's chain passes one coupon to a uniform tie, with
    # replacement: 2,000 independent chains, so each wave's share is binomial with n = 2,000
    # (standard error <= 0.011); tolerance 4 standard errors.
    rng = stream(11, 0, "test-graph")
    graph, group = two_group_graph(120_000, 80_000, 10, 0.2, 0.3, rng)
    seeds = stream(11, 0, "test-seeds").choice(120_000, size=2000, replace=False)
    walks = stream(11, 0, "test-walks")
    chains = np.array([random_walk(graph.indptr, graph.indices, s, 6, walks) for s in seeds])
    p_star, lam = 0.3 / 0.5, 1 - 0.2 - 0.3
    shares = []
    for t in range(7):
        share = float(np.mean(group[chains[:, t]] == 0))
        expected = p_star + (1 - p_star) * lam**t
        se = math.sqrt(expected * (1 - expected) / len(seeds))
        assert abs(share - expected) < 4 * se + 1e-12, (t, share, expected)
        shares.append(share)
    # The rate itself: wave 1's distance from p* over wave 0's (exactly 1 - p*), with standard
    # error 0.009 / 0.4 = 0.023; tolerance 4 standard errors.
    assert abs((shares[1] - p_star) / (1 - p_star) - lam) < 4 * 0.023


def test_survey_chains_reach_the_equilibrium_without_replacement():
    # The survey's own recruitment (no one twice, so a recruit cannot recruit back its
    # recruiter) on the same kind of graph, 30 ties each: after 5 waves the share of A is
    # within 0.05 of p* = 0.6 (the wave-0 gap of 0.4 times 0.5^5 is 0.0125, the sampling error
    # of 1,000 chains at most 4 x 0.016, the non-backtracking shift about 0.01).
    rng = stream(12, 0, "test-graph")
    graph, group = two_group_graph(36_000, 24_000, 30, 0.2, 0.3, rng)
    seeds = stream(12, 0, "test-seeds").choice(36_000, size=1000, replace=False)
    sample = chain_referral(
        graph.indptr,
        graph.indices,
        seeds,
        coupons=1,
        p_redeem=1.0,
        max_size=None,
        rng=stream(12, 0, "test-coupons"),
    )
    last = sample.wave == 5
    assert last.sum() == 1000
    assert abs(np.mean(group[sample.node[last]] == 0) - 0.6) < 0.05 + 4 * 0.016


@pytest.mark.parametrize(("coupons", "p_redeem"), [(3, 0.2), (2, 0.35)])
def test_mean_chain_size_per_seed_is_one_over_one_minus_cq(coupons, p_redeem):
    # A subcritical branching process with offspring Binomial(C, Q), m = C*Q < 1: expected
    # total progeny 1 / (1 - m), variance C*Q*(1-Q) / (1 - m)^3 (e.g. Harris 1963). On a
    # 10-regular graph of 200,000 people every respondent has 9+ ties left. 4,000 seeds: the
    # standard error of the mean is sqrt(var / 4000); tolerance 4 standard errors.
    degrees = np.full(200_000, 10)
    graph = configuration_graph(degrees, stream(5, 0, "test-graph"))
    seeds = stream(5, 0, "test-seeds").choice(200_000, size=4000, replace=False)
    sample = chain_referral(
        graph.indptr,
        graph.indices,
        seeds,
        coupons=coupons,
        p_redeem=p_redeem,
        max_size=None,
        rng=stream(5, 0, "test-coupons"),
    )
    sizes = np.bincount(sample.seed)[sample.seed[sample.recruiter < 0]]
    m = coupons * p_redeem
    expected = 1 / (1 - m)
    se = math.sqrt(coupons * p_redeem * (1 - p_redeem) / (1 - m) ** 3 / seeds.size)
    assert sizes.size == 4000
    assert abs(sizes.mean() - expected) < 4 * se, (sizes.mean(), expected, se)


def test_volz_heckathorn_is_unbiased_under_random_walk_recruitment_and_naive_is_not():
    # Log-normal degrees (median 7) and a trait held by the better-connected: degree above 8.
    # A random walk with replacement started at the end of a uniform tie is stationary, each
    # person drawn with probability proportional to degree (Volz & Heckathorn 2008). 300
    # walks of 200 respondents: the standard error of the mean estimate is the spread over
    # walks / sqrt(300); tolerance 4 standard errors, and the naive share must miss by 10.
    rng = stream(3, 0, "test-graph")
    degrees = np.maximum(1, np.round(rng.lognormal(np.log(7), 0.7, 60_000))).astype(np.int64)
    degrees[0] += degrees.sum() % 2
    graph = configuration_graph(degrees, rng)
    d = graph.degree()
    trait = (d > 8).astype(np.int64)
    truth = trait.mean()
    walk_rng = stream(3, 0, "test-walks")
    vh_est, naive_est = [], []
    for _ in range(300):
        start = int(graph.indices[walk_rng.integers(graph.n_arcs)])
        people = random_walk(graph.indptr, graph.indices, start, 199, walk_rng)
        vh_est.append(est.vh(trait[people], d[people], 2)[1])
        naive_est.append(est.naive(trait[people], 2)[1])
    vh_est, naive_est = np.array(vh_est), np.array(naive_est)
    se = vh_est.std(ddof=1) / math.sqrt(vh_est.size)
    assert abs(vh_est.mean() - truth) < 4 * se, (vh_est.mean(), truth, se)
    naive_se = naive_est.std(ddof=1) / math.sqrt(naive_est.size)
    assert naive_est.mean() - truth > 10 * naive_se


def test_chapman_is_unbiased_for_independent_captures_and_lincoln_petersen_is_not():
    # Two independent simple random captures of 100 and 150 from 1,000 people: the overlap is
    # hypergeometric (mean 15). Chapman's bias is about -N exp(-(n1+1)(n2+1)/N), under 0.001
    # here (Chapman 1951). 20,000 pairs: the standard error of the mean estimate is the
    # spread / sqrt(20,000) (about 1.4); tolerance 4 standard errors. Lincoln-Petersen
    # (n1 n2 / m) is biased upwards by about N / E[m] = 67, far beyond it.
    rng = stream(7, 0, "test-captures")
    big_n, n1, n2 = 1000, 100, 150
    m = rng.hypergeometric(n1, big_n - n1, n2, size=20_000)
    chap = np.array([est.chapman(n1, n2, int(x))[0] for x in m])
    se = chap.std(ddof=1) / math.sqrt(chap.size)
    assert abs(chap.mean() - big_n) < 4 * se, (chap.mean(), se)
    petersen = n1 * n2 / m[m > 0]
    assert petersen.mean() - big_n > 10 * se


def test_differential_recruitment_biases_volz_heckathorn_towards_the_favoured():
    # A trait held by a fifth of a 10-regular graph, independent of degree: RDS-II is near the
    # truth when coupons go to uniform ties, and far above it when holders are favoured three
    # to one. 40 surveys of 300 each way; the spread of the uniform surveys' estimates gives
    # the standard error of their mean (tolerance 4 of them), and the favoured mean must sit
    # 0.1 above the truth (a weight of 3 gives holders 0.6 / (0.6 + 0.8) = 43% of coupons
    # among ties that are a fifth holders; measured: 0.34 against 0.20).
    from sim.rds.survey import Population, SurveyDesign, survey

    graph = configuration_graph(np.full(20_000, 10), stream(4, 0, "test-graph"))
    trait = (stream(4, 0, "test-trait").random(20_000) < 0.2).astype(np.int64)
    nobody = np.zeros(20_000, dtype=bool)
    pop = Population(
        graph.indptr,
        graph.indices,
        {"hiv": (trait, None)},
        [str(i) for i in range(20_000)],
        nobody,
        nobody,
    )
    truth = trait.mean()
    means = {}
    for how in ("uniform", "hiv=1"):
        design = SurveyDesign(
            n_seeds=10,
            coupons=3,
            p_redeem=0.6,
            sample_size=300,
            recruit_by=how,
            recruit_strength=3.0,
        )
        est_vh = []
        for r in range(40):
            s = survey(pop, design, 21, r)
            est_vh.append(est.vh(trait[s.node], s.reported, 2)[1])
        means[how] = (np.mean(est_vh), np.std(est_vh, ddof=1) / math.sqrt(40))
    assert abs(means["uniform"][0] - truth) < 4 * means["uniform"][1]
    assert means["hiv=1"][0] - truth > 0.1


def test_seeds_come_from_the_service_when_asked(tmp_path):
    from sim.model.scenario import load_scenario
    from sim.rds.survey import SurveyDesign, survey, survey_population

    pop = survey_population(load_scenario(_graph_scenario(tmp_path)))
    assert pop.linked.sum() > 0 and pop.engaged.sum() >= pop.linked.sum()
    for source, who in (("service", pop.linked), ("engaged", pop.engaged)):
        design = SurveyDesign(n_seeds=min(3, int(who.sum())), sample_size=50, seed_from=source)
        s = survey(pop, design, 1, 0)
        assert who[s.node[s.recruiter < 0]].all()
        # Same seed and replicate: the same sample; another replicate: another one.
        again = survey(pop, design, 1, 0)
        assert np.array_equal(s.node, again.node)
        assert not np.array_equal(s.node, survey(pop, design, 1, 1).node)


# ---------------------------------------------------------------------------- by hand

# Eight respondents: A = 0, B = 1. Recruiter rows, degrees, categories.
RECRUITER = np.array([-1, 0, 0, 1, 1, 2, 4, 5])
DEGREE = np.array([2, 4, 5, 2, 4, 10, 2, 5])
GROUP = np.array([0, 1, 0, 1, 0, 1, 0, 1])


def test_naive_and_volz_heckathorn_match_hand_computed_values():
    # Naive: 4 of 8 are B. RDS-II (R's vh.weights, 1/d): sum of 1/d over B = 1/4 + 1/2 +
    # 1/10 + 1/5 = 1.05, over A = 1/2 + 1/5 + 1/4 + 1/2 = 1.45; B's share 1.05 / 2.5 = 0.42.
    assert est.naive(GROUP, 2)[1] == pytest.approx(0.5)
    assert est.vh(GROUP, DEGREE, 2)[1] == pytest.approx(0.42)


def test_rds1_matches_r_definition_by_hand():
    # Recruitments: A->A 2 (0->2, 4->6), A->B 2 (0->1, 2->5), B->A 1 (1->4), B->B 2 (1->3,
    # 5->7). S_AB = 1/2, S_BA = 1/3: stationary q_A = S_BA / (S_AB + S_BA) = 0.4, q_B = 0.6.
    # Harmonic mean degrees: h_A = 4 / 1.45, h_B = 4 / 1.05. R's rds.I.weights: (q/h)/sum:
    # q_A / h_A = 0.145, q_B / h_B = 0.1575, B's share 0.1575 / 0.3025 = 63 / 121.
    t = est.transitions(GROUP, RECRUITER, 2)
    assert t.tolist() == [[2, 2], [1, 2]]
    assert est.harmonic_means(GROUP, DEGREE, 2) == pytest.approx([4 / 1.45, 4 / 1.05])
    assert est.rds1(GROUP, DEGREE, RECRUITER, 2) == pytest.approx([58 / 121, 63 / 121])


def test_ss_matches_its_limits_by_hand():
    # Population = sample: every inclusion probability is 1, SS is the sample share (0.5).
    # Sample of 8 in 1,000, under 1%: SS takes RDS-II's weights (R's SS.infinity), 0.42.
    # One degree class: each of N units is included with probability n / N exactly.
    rng = stream(1, 0, "test-ss")
    assert est.ss(GROUP, DEGREE, 2, 8, rng)[0][1] == pytest.approx(0.5)
    assert est.ss(GROUP, DEGREE, 2, 1000, rng)[0][1] == pytest.approx(0.42)
    classes, probs = est.ss_inclusion(np.full(50, 6), 400, rng, samples=20)
    assert classes.tolist() == [6] and probs == pytest.approx([50 / 400])
    # Between the two: the estimate lies between the sample share and RDS-II's.
    share = est.ss(GROUP, DEGREE, 2, 20, rng)[0][1]
    assert 0.42 <= share <= 0.5


def test_diagnostics_match_hand_computed_values():
    from sim.rds import diagnostics as D

    # Waves: 0: A; 1: B, A; 2: B, A, B; 3: A, B.
    wave = np.array([0, 1, 1, 2, 2, 2, 3, 3])
    assert D.wave_composition(GROUP, wave, 2).tolist() == [[1, 0], [1, 1], [1, 2], [1, 1]]
    # The recruitment chain's equilibrium is q = (0.4, 0.6) (see the RDS-I test). Heckathorn's
    # homophily with P = RDS-I = (58, 63) / 121: S_AA = 1/2 >= P_A, so H_A = (1/2 - 58/121) /
    # (63/121) = 5/126; S_BB = 2/3, H_B = (2/3 - 63/121) / (58/121) = 53/174.
    assert D.equilibrium(GROUP, RECRUITER, 2) == pytest.approx([0.4, 0.6])
    h, s = D.homophily(GROUP, DEGREE, RECRUITER, 2)
    assert h == pytest.approx([5 / 126, 53 / 174])
    assert s.ravel() == pytest.approx([0.5, 0.5, 1 / 3, 2 / 3])
    # RDS-II of B among the first two (A of degree 2, B of degree 4): 0.25 / 0.75.
    assert D.cumulative_vh(GROUP, DEGREE, 1)[:2] == pytest.approx([0, 1 / 3])
    # A category absent from the sample has no place in the equilibrium.
    assert D.equilibrium(GROUP, RECRUITER, 3) == pytest.approx([0.4, 0.6, 0.0])


def test_successive_sampling_inclusion_matches_enumeration():
    # Units of sizes 1, 1, 2, 4 (draw probabilities 1/8, 1/8, 2/8, 4/8), two drawn without
    # replacement, each draw proportional to size: P(i in sample) = p_i + sum_j p_j p_i /
    # (1 - p_j), by hand 13/42, 4/7 and 17/21 for sizes 1, 2 and 4. 200,000 simulated samples
    # (no observed sample added): standard error under 0.0011 per unit; tolerance 4 of them.
    probs = est._simulated_inclusion(
        np.array([1, 2, 4]),
        np.array([0.5, 0.25, 0.25]),
        4,
        2,
        np.zeros(3),
        200_000,
        stream(8, 0, "test-ss"),
    )
    assert probs == pytest.approx([13 / 42, 4 / 7, 17 / 21], abs=4 * 0.0011)


def test_size_estimators_match_hand_computed_values():
    # Chapman: (101 x 151) / 16 - 1 = 15,251 / 16 - 1 = 952.1875; Seber's variance
    # 101 x 151 x 85 x 135 / (16^2 x 17) = 40,212.6..., so the interval is 952.1875 +/-
    # 1.96 x 200.53.
    value, low, high = est.chapman(100, 150, 15)
    assert value == pytest.approx(952.1875)
    half = 1.959963984540054 * math.sqrt(101 * 151 * 85 * 135 / (256 * 17))
    assert half == pytest.approx(393.03, abs=0.01)
    assert (low, high) == pytest.approx((952.1875 - half, 952.1875 + half))
    # Multiplier: 389 records over a share of 0.05 who used the service.
    assert est.multiplier(389, 0.05, 0.04, 0.0625) == pytest.approx((7780, 6224, 9725))
    # Wilson: 4 of 8 gives 0.5 +/- ... symmetric, within [0, 1].
    lo, hi = est.wilson(4, 8)
    assert lo == pytest.approx(1 - hi) and 0 < lo < 0.5


def test_salganik_bootstrap_is_reproducible_and_brackets_the_estimate():
    # The same stream gives the same bootstrap; intervals hold their estimate.
    a = est.salganik_bootstrap(GROUP, DEGREE, RECRUITER, 2, stream(2, 0, "b"), replicates=200)
    b = est.salganik_bootstrap(GROUP, DEGREE, RECRUITER, 2, stream(2, 0, "b"), replicates=200)
    for name in ("RDS-I", "RDS-II"):
        assert np.array_equal(a[name], b[name], equal_nan=True)
    lo, hi = est.bootstrap_interval(0.42, a["RDS-II"][:, 1])
    assert 0 <= lo < 0.42 < hi <= 1


def test_reported_degrees_heap_and_stay_positive():
    true = np.array([1, 3, 7, 12, 18, 40])
    exact = report_degrees(true, 0.0, 1, stream(0, 0, "d"))
    assert exact.tolist() == true.tolist()
    heaped = report_degrees(true, 0.0, 5, stream(0, 0, "d"))
    assert heaped.tolist() == [1, 5, 5, 10, 20, 40]
    noisy = report_degrees(np.full(20_000, 10), 0.5, 1, stream(0, 0, "d"))
    # Log-normal error of mean one: the mean stays 10 within 4 standard errors (sd ~5.3).
    assert noisy.min() >= 1 and abs(noisy.mean() - 10) < 4 * 5.3 / math.sqrt(20_000) + 0.05


# ---------------------------------------------------------------------------- the command line


def _graph_scenario(folder):
    """A scenario on a 400-person graph file with an extra 0/1 column ``hiv`` in its nodes.

    A closed population (no [turnover]): the survey sees all 400 and the truth is the file's
    (tests/rds/test_open_population.py surveys an open one).
    """
    n = 400
    rows = [f"p{i},p{(i + 1) % n}" for i in range(n)]
    rows += [f"p{i},p{(i + 7) % n}" for i in range(0, n, 3)]
    rows += [f"p{i},p{(i + 41) % n}" for i in range(0, n, 2)]
    write(folder / "ties.csv", "source,target\n" + "\n".join(rows) + "\n")
    nodes = ["id,hiv"] + [f"p{i},{1 if i % 5 == 0 else 0}" for i in range(n)]
    write(folder / "nodes.csv", "\n".join(nodes) + "\n")
    return write(
        folder / "net.toml",
        """
name = "net"
[run]
replicates = 2
weeks = 6
[turnover]
stop_per_year = 0.0
deaths_per_year = 0.0
prison_per_year = 0.0
move_away_per_year = 0.0
[network]
generator = "file"
file = "ties.csv"
nodes_file = "nodes.csv"
[close_peers]
count = 2
[distant_peers]
count = 2
""",
    )


@pytest.fixture(scope="module")
def graph_survey(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rds")
    scenario = _graph_scenario(folder)
    proc = outreach(
        "survey",
        scenario,
        "--out",
        folder / "out",
        "--sample-size",
        "120",
        "--n-seeds",
        "4",
        "--replicates",
        "3",
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stderr
    return folder, scenario, proc


def test_survey_on_a_user_graph_file_writes_sample_and_truth(graph_survey):
    import csv
    import json

    folder, _, proc = graph_survey
    out = folder / "out"
    with (out / "sample.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["replicate"] for r in rows} == {"0", "1", "2"}
    for r in rows:
        assert r["id"].startswith("p") and r["hiv"] in ("0", "1")
        assert (r["recruiter"] == "") == (r["wave"] == "0")
    first = [r for r in rows if r["replicate"] == "0"]
    assert len(first) <= 120 and sum(r["wave"] == "0" for r in first) == 4
    truth = json.loads((out / "truth.json").read_text())
    assert truth["population_size"] == 400
    assert truth["attributes"]["hiv"]["shares"]["1"] == pytest.approx(0.2)
    assert "surveyed 400 people" in proc.stdout


def test_estimate_prints_each_estimator_beside_the_truth(graph_survey):
    folder, _, _ = graph_survey
    proc = outreach(
        "estimate",
        folder / "out",
        "--trait",
        "hiv",
        "--replicate",
        "1",
        "--bootstrap",
        "100",
        "--diagnostics",
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("naive", "RDS-I", "RDS-II", "SS (N = 400)", "truth 0.200", "Chapman"):
        assert name in proc.stdout, proc.stdout
    # One replicate's files are named by it, beside (not over) the all-replicates ones.
    assert (folder / "out" / "estimates-hiv-replicate1.csv").is_file()
    for name in ("waves", "convergence", "bottleneck"):
        assert (folder / "out" / f"diagnostics-hiv-replicate1-{name}.png").stat().st_size > 1000
    over = outreach("estimate", folder / "out", "--trait", "hiv", "--bootstrap", "100")
    assert over.returncode == 0, over.stderr
    assert "coverage" in over.stdout and "RMSE" in over.stdout
    assert (folder / "out" / "estimators-hiv.png").stat().st_size > 1000


@pytest.mark.slow  # several seconds; run by .ci/run with the other slow tests
def test_same_seed_gives_the_same_sample_byte_for_byte(graph_survey, tmp_path):
    folder, scenario, _ = graph_survey
    again = outreach(
        "survey",
        scenario,
        "--out",
        tmp_path / "again",
        "--sample-size",
        "120",
        "--n-seeds",
        "4",
        "--replicates",
        "3",
        cwd=folder,
    )
    assert again.returncode == 0, again.stderr
    first = (folder / "out" / "sample.csv").read_bytes()
    assert (tmp_path / "again" / "sample.csv").read_bytes() == first
    other = outreach(
        "survey",
        scenario,
        "--out",
        tmp_path / "other",
        "--sample-size",
        "120",
        "--n-seeds",
        "4",
        "--replicates",
        "3",
        "--seed",
        "99",
        cwd=folder,
    )
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "other" / "sample.csv").read_bytes() != first


def test_an_interrupted_survey_resumes_to_the_same_sample(graph_survey, tmp_path):
    import shutil

    folder, scenario, _ = graph_survey
    copy = tmp_path / "copy"
    shutil.copytree(folder / "out", copy)
    (copy / "sample.csv").unlink()
    (copy / "replicates" / "0002.csv").unlink()
    gone = outreach("estimate", copy, "--trait", "hiv")
    one_line_error(gone, "no sample.csv", "run the same outreach survey command again")
    proc = outreach(
        "survey",
        scenario,
        "--out",
        copy,
        "--sample-size",
        "120",
        "--n-seeds",
        "4",
        "--replicates",
        "3",
        cwd=folder,
    )
    assert proc.returncode == 0, proc.stderr
    assert "resuming" in proc.stdout and "2 of 3" in proc.stdout
    assert (copy / "sample.csv").read_bytes() == (folder / "out" / "sample.csv").read_bytes()
    other = outreach(
        "survey",
        scenario,
        "--out",
        copy,
        "--sample-size",
        "120",
        "--n-seeds",
        "4",
        "--coupons",
        "2",
        cwd=folder,
    )
    one_line_error(other, "holds a survey with other settings")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--p-redeem", "1.5"], ["--p-redeem", "[0, 1]"]),
        (["--p-redeem", "-0.1"], ["--p-redeem", "[0, 1]"]),
        (["--coupons", "0"], ["--coupons", "1 or more"]),
        (["--sample-size", "401"], ["--sample-size 401", "400 people"]),
        (["--n-seeds", "30", "--sample-size", "20"], ["--n-seeds 30", "--sample-size 20"]),
        (["--recruit-by", "nosuch"], ["--recruit-by nosuch", "no such attribute"]),
        (["--recruit-strength", "0"], ["--recruit-strength"]),
    ],
)
def test_bad_survey_input_is_one_line(graph_survey, tmp_path, args, fragments):
    folder, scenario, _ = graph_survey
    # A valid sample size first: a later one given in ``args`` replaces it.
    proc = outreach(
        "survey", scenario, "--out", tmp_path / "bad", "--sample-size", "120", *args, cwd=folder
    )
    one_line_error(proc, *fragments)


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--trait", "nosuch"], ["--trait nosuch", "no such attribute", "hiv"]),
        (["--trait", "gender=other"], ["gender has no label 'other'", "man"]),
        (["--trait", "community"], []),
        (["--trait", "mistrust"], ["--trait mistrust", "too many values", "hiv"]),
        (["--trait", "problems"], ["--trait problems=VALUE"]),
        (["--trait", "problems=99"], ["no one in the population has problems = 99"]),
        (["--trait", "hiv", "--population-size", "50"], ["--population-size 50", "sample size"]),
    ],
)
def test_bad_estimate_input_is_one_line(graph_survey, args, fragments):
    folder, _, _ = graph_survey
    proc = outreach("estimate", folder / "out", *args)
    if args[1] == "community":  # not in a file graph's sample: no such attribute
        fragments = ["--trait community", "no such attribute"]
    one_line_error(proc, *fragments)


def test_estimate_of_a_folder_without_a_sample_is_one_line(tmp_path):
    one_line_error(outreach("estimate", tmp_path, "--trait", "gender"), "no sample.csv")
    one_line_error(
        outreach("estimate", tmp_path / "missing", "--trait", "gender"), "no such folder"
    )


@pytest.mark.e2e
def test_ctrl_c_stops_a_survey_which_then_resumes(tmp_path):
    # Started in its own session with Ctrl-C's default action (as from a terminal, even when
    # the tests run in a background job), interrupted once its first replicates are written.
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["survey", "baseline", "--out", "rds", "--sample-size", "3000"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", *args, "--replicates", "2000"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "rds" / "replicates" / "0001.csv").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no replicate written"
            time.sleep(0.05)
        start = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        seconds = time.monotonic() - start
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (proc.returncode, err)
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "interrupted" in err and "run the same command again to resume" in err
    # The promise of run, compare and report (about two seconds; slack for a loaded machine).
    assert seconds < 4.0, f"ended {seconds:.1f} s after Ctrl-C"
    assert not (tmp_path / "rds" / "sample.csv").exists()
    done = len(list((tmp_path / "rds" / "replicates").glob("*.csv")))
    assert done >= 2 and not list((tmp_path / "rds" / "replicates").glob(".*"))
    again = outreach(*args, "--replicates", str(done + 1), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"resuming rds: {done} of {done + 1} replicates already surveyed" in again.stdout
