"""outreach calibrate and optimize: recovery of known parameters, posterior coverage, known
optima, reproducibility, resuming, and one-line refusals of bad input."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna")

from sim.fit.abc import abc_weights, effective_sample_size, weighted_quantile  # noqa: E402
from sim.fit.calibrate import calibrate  # noqa: E402
from sim.fit.optimize import optimize, pareto_front  # noqa: E402
from sim.fit.runs import InlineExecutor, make_fit_job, run_round  # noqa: E402
from sim.fit.spec import load_fit_spec, load_search_spec  # noqa: E402
from tests.cli_helpers import one_line_error, outreach, write  # noqa: E402
from tests.fit_helpers import InterruptingExecutor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "sim" / "scenarios" / "baseline.toml"

#: A small programme: 800 clients, 10 + 10 peers, half a year (about 0.03 s a run).
SMALL = """
[set]
"population.size" = 800
"run.weeks" = 26
"close_peers.count" = 10
"distant_peers.count" = 10
"""

FIT_PARAMS = """
[parameters]
"outreach.p_engage_per_week" = { range = [0.05, 0.5] }
"wellbeing.demand_per_hour" = { range = [0.002, 0.02] }
"""

TRUTH = {"outreach.p_engage_per_week": 0.2, "wellbeing.demand_per_hour": 0.006}


def _targets_file(tmp_path: Path, targets: str, head: str = "", name: str = "t.toml") -> Path:
    return write(
        tmp_path / name,
        f'name = "synthetic"\nseed = 7\nreplicates = 8\n{head}\n{SMALL}\n{FIT_PARAMS}\n{targets}',
    )


def _measure(base, values, exprs, seed, replicates):
    """Mean over replicates of each expression at ``values`` (the model as its own truth)."""
    job = make_fit_job(base, list(values), exprs, f"truth-{seed}")
    rows = run_round(InlineExecutor(), job, [(0, list(values.values()))], seed, replicates)[0]
    return np.mean(np.array(rows, dtype=float), axis=0)


def _synthetic_spec(tmp_path: Path, seed: int):
    """A targets file whose figures the model gave at TRUTH (another seed, 24 runs)."""
    sds = {"clients_engaged": 10.0, "clients_contacted": 15.0, "peers_exhausted_fraction": 0.03}
    probe = _targets_file(
        tmp_path,
        "".join(f'[[target]]\nmetric = "{m}"\nvalue = 1\nsd = {sd}\n' for m, sd in sds.items()),
        name="probe.toml",
    )
    spec = load_fit_spec(probe, BASELINE)
    truth = _measure(spec.base, TRUTH, spec.expressions(), seed, 24)
    text = "".join(
        f'[[target]]\nmetric = "{m}"\nvalue = {float(v)!r}\nsd = {sd}\n'
        for (m, sd), v in zip(sds.items(), truth, strict=True)
    )
    return load_fit_spec(_targets_file(tmp_path, text), BASELINE)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


# ------------------------------------------------------------------ expressions and weights


def test_weighted_quantile_matches_plain_quantile_for_equal_weights():
    x = np.arange(11.0)
    assert weighted_quantile(x, np.ones(11), 0.5) == pytest.approx(5.0)
    assert weighted_quantile(x, np.ones(11), [0.05, 0.95]) == pytest.approx([0.05, 9.95])
    w = abc_weights([0.0, np.inf, 2 * np.log(3.0)])  # exp(-chi2/2): 1, 0, 1/3
    assert w == pytest.approx([0.75, 0.0, 0.25])
    assert effective_sample_size([1, 1, 1, 1]) == pytest.approx(4.0)


def test_pareto_front_of_a_known_set():
    pts = np.array([[1, 1], [2, 4], [2, 6], [3, 5], [0, 0]], dtype=float)
    # maximise the first, minimise the second: (2, 6) is dominated by (2, 4).
    assert sorted(pareto_front(pts, ["maximize", "minimize"])) == [0, 1, 3, 4]


# ------------------------------------------------------------------ recovery


def test_calibrate_recovers_known_parameters(tmp_path):
    """Targets the model gave at known values (24 runs of another seed) are fitted back.

    Tolerance: within 0.12 of each range's width (0.45 and 0.018 wide). The targets carry
    their own noise (24 runs of another seed, sd about a third of the stated sd), and the
    fit's 8 runs a trial add about as much; a sweep of the two parameters over the ranges
    moves the targets by 40 stated sds or more, so 0.12 of the width is a few sds.
    """
    spec = _synthetic_spec(tmp_path, seed=99)
    result = calibrate(spec, tmp_path / "fit", InlineExecutor(), trials=48, say=lambda _: None)
    assert not result.interrupted
    # Three targets: 11.3 is chi-square's 99% point with 3 degrees of freedom (the truth itself
    # scores about 1.4 on the fit's runs; 48 trials of TPE need not reach it).
    assert result.best_chi2 < 11.3
    widths = {"outreach.p_engage_per_week": 0.45, "wellbeing.demand_per_hour": 0.018}
    for key, truth in TRUTH.items():
        assert abs(result.best[key] - truth) <= 0.12 * widths[key], (key, result.best)
    for name in ("calibrated.toml", "trials.csv", "fit.png", "summary.json"):
        assert (tmp_path / "fit" / name).is_file()
    assert len(_rows(tmp_path / "fit" / "trials.csv")) == 48


@pytest.mark.slow
def test_posterior_intervals_cover_the_truth_at_their_nominal_rate(tmp_path):
    """Simulation-based calibration (Cook, Gelman & Rubin 2006; Talts et al. 2018).

    256 prior draws (scrambled Sobol) are run once on common random numbers. Each of 60
    draws in turn is the truth: its target means plus Gaussian noise of the stated sds are
    the observations, and the posterior from the other 255 draws (Gaussian-kernel ABC, the
    model plus that observation error, Wilkinson 2013) gives 90% intervals. Over 60 truths
    and 2 parameters, 120 intervals: nominal coverage 108, binomial sd 3.3; the check allows
    0.80 to 0.97 (about -3 to +2 sd; intervals from a finite weighted sample run slightly
    wide or narrow).
    """
    from scipy.stats import qmc

    spec = load_fit_spec(
        _targets_file(
            tmp_path,
            "".join(
                f'[[target]]\nmetric = "{m}"\nvalue = 1\nsd = {sd}\n'
                for m, sd in (
                    ("clients_contacted", 25.0),
                    ("peers_exhausted_fraction", 0.08),
                    ("clients_engaged", 20.0),
                )
            ),
        ),
        BASELINE,
    )
    keys = [p.key for p in spec.parameters]
    lo = np.array([p.lo for p in spec.parameters])
    hi = np.array([p.hi for p in spec.parameters])
    u = qmc.Sobol(len(keys), scramble=True, seed=11).random(256)
    draws = lo + u * (hi - lo)
    job = make_fit_job(spec.base, keys, spec.expressions(), "sbc")
    rows = run_round(
        InlineExecutor(), job, list(enumerate(draws.tolist())), spec.seed, spec.replicates
    )
    means = np.array([np.mean(rows[k], axis=0) for k in range(len(draws))])
    sd = np.array([t.sd for t in spec.targets])
    rng = np.random.default_rng(5)
    covered, total, ess = 0, 0, []
    for k in range(60):
        obs = means[k] + rng.normal(0.0, sd)
        others = np.delete(np.arange(len(draws)), k)
        c2 = np.sum(((means[others] - obs) / sd) ** 2, axis=1)
        w = abc_weights(c2)
        ess.append(effective_sample_size(w))
        for j in range(len(keys)):
            q05, q95 = weighted_quantile(draws[others, j], w, [0.05, 0.95])
            covered += int(q05 <= draws[k, j] <= q95)
            total += 1
    share = covered / total
    assert 0.80 <= share <= 0.97, (share, np.median(ess))
    assert np.median(ess) >= 10  # the intervals rest on more than a handful of draws


# ------------------------------------------------------------------ optimize


SEARCH_PEERS = """
name = "peers"
seed = 3
replicates = 1
{top}
[set]
"population.size" = 600
"run.weeks" = 1
[parameters]
"close_peers.count" = { range = [0, 10] }
"distant_peers.count" = { range = [0, 10] }
"""


def test_optimize_finds_the_known_optimum_within_a_budget(tmp_path):
    """Most peers for a first week's cost of at most 5,800.

    Untailored, every new peer works the kind's hours in the first week (no caseload, no
    crises yet), paid by the hour: 12 x 25/3 = 100 per close and 8 x 7.5 = 60 per distant peer,
    with no randomness. The first week costs 5,062.5 (three professionals) plus that, so the
    most peers within 737.5 are 10 distant and 1 close (11); 12 would cost at least 800.
    """
    path = write(
        tmp_path / "s.toml",
        SEARCH_PEERS.replace("{top}", 'trials = 60\nconstraints = ["cost[1] <= 5800"]').replace(
            '"run.weeks" = 1',
            '"run.weeks" = 1\n"services.tailoring" = 0.0\n'
            '"close_peers.pay_per_hour" = 8.333333333333334\n"distant_peers.pay_per_hour" = 7.5',
        )
        + """
[[objective]]
expression = "peers_active[0]"
direction = "maximize"
""",
    )
    spec = load_search_spec(path, BASELINE)
    result = optimize(spec, tmp_path / "opt", InlineExecutor(), say=lambda _: None)
    best = result.front[0]
    assert (best["close_peers.count"], best["distant_peers.count"]) == (1, 10)
    assert best["peers_active[0]"] == 11
    assert (tmp_path / "opt" / "best_1.toml").is_file()


def test_nsga2_front_matches_the_known_front(tmp_path):
    """Most peers against the least first-week cost: the true front is known.

    For each team size n the cheapest team takes distant peers first (60 against 100), so the
    front is (0, n) for n <= 10 and (n - 10, 10) above: 21 policies out of 121. NSGA-II with
    a population of 32 over 10 generations finds at least 19 of them (it finds all 21 with
    this seed), and none that is not on it (fewer generations leave a dominated policy whose
    better neighbour was never tried: 16 x 12 kept (1, 3), as (0, 4) was not run).
    """
    path = write(
        tmp_path / "s.toml",
        SEARCH_PEERS.replace("{top}", "trials = 320\npopulation = 32")
        + """
[[objective]]
expression = "peers_active[0]"
direction = "maximize"
[[objective]]
expression = "cost[1]"
direction = "minimize"
""",
    )
    spec = load_search_spec(path, BASELINE)
    result = optimize(spec, tmp_path / "opt", InlineExecutor(), say=lambda _: None)
    true_front = {(0, n) for n in range(11)} | {(n, 10) for n in range(1, 11)}
    found = {(r["close_peers.count"], r["distant_peers.count"]) for r in result.front}
    assert found <= true_front, found - true_front
    assert len(found) >= 19, sorted(found)
    assert (tmp_path / "opt" / "pareto.csv").is_file()
    assert (tmp_path / "opt" / "pareto.png").is_file()


# ------------------------------------------------------------------ reproducibility, resuming


def test_same_seed_same_fit_and_a_resumed_fit_equals_one_run(tmp_path):
    """8 trials then 16 in one folder give the same trials as 16 at once, and as a fit that
    was interrupted mid-round and run again."""
    spec = load_fit_spec(
        _targets_file(tmp_path, '[[target]]\nmetric = "clients_contacted"\nvalue = 300\nsd = 20\n'),
        BASELINE,
    )
    spec = dataclasses.replace(spec, replicates=2)
    quiet = {"say": lambda _: None}
    calibrate(spec, tmp_path / "a", InlineExecutor(), trials=8, **quiet)
    calibrate(spec, tmp_path / "a", InlineExecutor(), trials=16, **quiet)
    calibrate(spec, tmp_path / "b", InlineExecutor(), trials=16, **quiet)

    # Ctrl-C after 21 runs: in the middle of the second round.
    first = calibrate(spec, tmp_path / "c", InterruptingExecutor(after=21), trials=16, **quiet)
    assert first.interrupted and first.trials_done == 8
    calibrate(spec, tmp_path / "c", InlineExecutor(), trials=16, **quiet)
    a, b, c = (_rows(tmp_path / x / "trials.csv") for x in "abc")
    assert len(a) == 16 and a == b == c
    assert (tmp_path / "a" / "calibrated.toml").read_text() == (
        tmp_path / "b" / "calibrated.toml"
    ).read_text()


@pytest.mark.slow  # several seconds; run by .ci/run with the other slow tests
def test_workers_do_not_change_the_front(tmp_path):
    """The same search on 2 worker processes and in this process gives the same trials."""
    from sim.sweep.executors import LocalExecutor

    path = write(
        tmp_path / "s.toml",
        SEARCH_PEERS.replace("{top}", "trials = 16\npopulation = 8")
        + """
[[objective]]
expression = "peers_active[0]"
direction = "maximize"
[[objective]]
metric = "cost_total"
direction = "minimize"
""",
    )
    spec = load_search_spec(path, BASELINE)
    optimize(spec, tmp_path / "one", InlineExecutor(), say=lambda _: None)
    pool = LocalExecutor(2)
    try:
        optimize(spec, tmp_path / "two", pool, say=lambda _: None)
    finally:
        pool.close()
    assert _rows(tmp_path / "one" / "trials.csv") == _rows(tmp_path / "two" / "trials.csv")
    assert _rows(tmp_path / "one" / "pareto.csv") == _rows(tmp_path / "two" / "pareto.csv")


# ------------------------------------------------------------------ the command line


def test_calibrate_command_end_to_end(tmp_path):
    targets = _targets_file(
        tmp_path,
        '[[target]]\nmetric = "peers_exhausted_fraction"\n'
        'value = 0.3\nsd = 0.05\nsource = "a test"\n',
        head="trials = 6\nposterior = 8",
    )
    proc = outreach(
        "calibrate",
        "baseline",
        targets,
        "--out",
        tmp_path / "out",
        "--workers",
        "1",
        "--replicates",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    assert "best of 6 trials" in proc.stdout
    assert "effective sample size" in proc.stdout
    for name in (
        "calibrated.toml",
        "trials.csv",
        "fit.png",
        "posterior.csv",
        "posterior_pairs.png",
    ):
        assert (tmp_path / "out" / name).is_file(), name
    check = outreach("validate", tmp_path / "out" / "calibrated.toml")
    assert check.returncode == 0, check.stdout + check.stderr
    again = outreach(
        "calibrate",
        "baseline",
        targets,
        "--out",
        tmp_path / "out",
        "--workers",
        "1",
        "--replicates",
        "2",
    )
    assert again.returncode == 0 and "resuming" in again.stdout


BAD_TARGETS = [
    (
        '[[target]]\nmetric = "clients_reached"\nvalue = 1\nsd = 1\n',
        "target.0.metric",
        "unknown metric",
    ),
    ('[[target]]\nmetric = "clients_contacted"\nvalue = 1\nsd = 0\n', "target.0.sd", "above 0"),
    ('[[target]]\nexpression = "contacted[99]"\nvalue = 1\nsd = 1\n', "week 99", "runs 26 weeks"),
    (
        "[[target]]\nexpression = \"__import__('os')\"\nvalue = 1\nsd = 1\n",
        "target.0.expression",
        "allowed",
    ),
    (
        '[[target]]\nseries = "contacted"\nweeks = [4, 8]\nvalues = [1]\nsd = 1\n',
        "target.0.values",
        "2 numbers",
    ),
    (
        '[[target]]\nmetric = "clients_contacted"\nvalue = 1\nsd = 1\nwhat = 2\n',
        "target.0.what",
        "unknown key",
    ),
    ("", "target", "at least one"),
]


@pytest.mark.parametrize(("targets", "where", "what"), BAD_TARGETS)
def test_bad_targets_get_one_line(tmp_path, targets, where, what):
    path = _targets_file(tmp_path, targets)
    proc = outreach("calibrate", "baseline", path, "--out", tmp_path / "out")
    one_line_error(proc, str(path), where, what)
    assert not (tmp_path / "out").exists()


BAD_SEARCHES = [
    (
        '[parameters]\n"close_peers.count" = { range = [0, 9999] }\n',
        "close_peers.count",
        "population",
    ),
    (
        '[parameters]\n"close_peers.nothing" = { range = [0, 1] }\n',
        "close_peers.nothing",
        "not a parameter",
    ),
    (
        '[parameters]\n"close_peers.count" = { range = [0, 5] }\n[[objective]]\n'
        'metric = "clients_linked"\ndirection = "up"\n',
        "objective.0.direction",
        "maximize",
    ),
    (
        'constraints = ["cost_total < 5"]\n[parameters]\n"close_peers.count" = { range = '
        '[0, 5] }\n[[objective]]\nmetric = "clients_linked"\ndirection = "maximize"\n',
        "constraints.0",
        "<= NUMBER",
    ),
    (
        'constraints = ["money <= 5"]\n[parameters]\n"close_peers.count" = { range = '
        '[0, 5] }\n[[objective]]\nmetric = "clients_linked"\ndirection = "maximize"\n',
        "constraints.0",
        "unknown name 'money'",
    ),
]


@pytest.mark.parametrize(("text", "where", "what"), BAD_SEARCHES)
def test_bad_search_spaces_and_constraints_get_one_line(tmp_path, text, where, what):
    path = write(tmp_path / "s.toml", "seed = 1\n" + text)
    proc = outreach("optimize", "baseline", path, "--out", tmp_path / "out")
    one_line_error(proc, str(path), where, what)


@pytest.mark.slow  # several seconds; run by .ci/run with the other slow tests
def test_a_folder_of_another_fit_is_refused(tmp_path):
    a = _targets_file(
        tmp_path,
        '[[target]]\nmetric = "clients_contacted"\nvalue = 300\nsd = 20\n',
        head="trials = 2",
        name="a.toml",
    )
    b = _targets_file(
        tmp_path,
        '[[target]]\nmetric = "clients_contacted"\nvalue = 400\nsd = 20\n',
        head="trials = 2",
        name="b.toml",
    )
    assert (
        outreach(
            "calibrate",
            "baseline",
            a,
            "--out",
            tmp_path / "o",
            "--workers",
            "1",
            "--replicates",
            "1",
        ).returncode
        == 0
    )
    proc = outreach("calibrate", "baseline", b, "--out", tmp_path / "o", "--workers", "1")
    one_line_error(proc, "--out", "other inputs")


def test_a_fit_whose_targets_never_give_a_number_says_so(tmp_path):
    """With no peers the share exhausted is a share of nothing: every trial fails, one line."""
    path = write(
        tmp_path / "t.toml",
        """seed = 1
replicates = 1
trials = 3
[set]
"close_peers.count" = 0
"distant_peers.count" = 0
"run.weeks" = 4
[parameters]
"outreach.p_engage_per_week" = { range = [0.05, 0.5] }
[[target]]
metric = "peers_exhausted_fraction"
value = 0.3
sd = 0.1
""",
    )
    proc = outreach("calibrate", "baseline", path, "--out", tmp_path / "o", "--workers", "1")
    one_line_error(proc, str(path), "no trial gave a number for every target")
