"""outreach calibrate over several seeds, and targets that are paired effects of a change:
the runs each trial makes, their means checked against runs of the model made by hand,
resuming, and one-line refusals of bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("optuna")

from sim.errors import UserInputError  # noqa: E402
from sim.fit.calibrate import calibrate, chi2  # noqa: E402
from sim.fit.runs import InlineExecutor, make_fit_job, run_round, variants_of  # noqa: E402
from sim.fit.spec import load_fit_spec  # noqa: E402
from sim.model.outreach import OutreachModel  # noqa: E402
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

[parameters]
"outreach.p_engage_per_week" = { range = [0.05, 0.5] }
"wellbeing.demand_per_hour" = { range = [0.002, 0.02] }
"""

VALUES = {"outreach.p_engage_per_week": 0.2, "wellbeing.demand_per_hour": 0.006}
SUPERVISION = "wellbeing.supervision_every_weeks"

CONTRASTS = f"""
[[target]]
metric = "clients_contacted"
value = 300
sd = 20

[[target]]
name = "weekly vs monthly supervision"
metric = "peers_exhausted_fraction"
contrast = {{ from = {{ "{SUPERVISION}" = 4 }}, to = {{ "{SUPERVISION}" = 1 }} }}
value = -0.07
sd = 0.03

[[target]]
name = "weekly supervision, against the trial's own"
expression = "clients_engaged + 0"
contrast = {{ from = {{}}, to = {{ wellbeing = {{ supervision_every_weeks = 1 }} }} }}
value = 5
sd = 10
"""


class CountingExecutor(InlineExecutor):
    """Runs inline and counts the rows (one per seed and replicate) it returns."""

    def __init__(self):
        super().__init__()
        self.rows = 0

    def results(self):
        for rows in super().results():
            self.rows += len(rows)
            yield rows


def _spec(tmp_path: Path, targets: str, head: str = "seeds = [7, 11, 13]", name: str = "t.toml"):
    path = write(tmp_path / name, f'name = "seeds"\nreplicates = 2\n{head}\n{SMALL}\n{targets}')
    return load_fit_spec(path, BASELINE)


def _by_hand(scenario, seed: int, replicate: int) -> dict[str, float]:
    """One run of the model, built directly: its metrics."""
    model = OutreachModel(scenario.replace({"run.seed": seed}), replicate)
    model.run()
    return model.metrics()


PLAIN = '[[target]]\nmetric = "clients_contacted"\nvalue = 300\nsd = 20\n'


def test_a_seeds_list_runs_every_replicate_of_each_seed(tmp_path):
    """3 seeds x 2 replicates: six runs a trial, seed by seed, each the model's own run."""
    spec = _spec(tmp_path, PLAIN)
    assert spec.seeds == (7, 11, 13) and spec.seed == 7
    job = make_fit_job(spec.base, list(VALUES), spec.expressions(), "seeds-rows")
    executor = CountingExecutor()
    rows = run_round(executor, job, [(0, list(VALUES.values()))], spec.seeds, spec.replicates)[0]
    assert executor.rows == len(rows) == 6
    scenario = spec.base.replace(VALUES)
    expected = [_by_hand(scenario, s, r)["clients_contacted"] for s in spec.seeds for r in range(2)]
    assert [row[0] for row in rows] == expected
    # The mean over all seeds x replicates is the mean of each seed's mean (equal replicates).
    per_seed = [np.mean(expected[2 * k : 2 * k + 2]) for k in range(3)]
    assert np.mean([row[0] for row in rows]) == pytest.approx(np.mean(per_seed))


def test_a_fit_on_several_seeds_reports_the_mean_and_each_seed(tmp_path):
    spec = _spec(tmp_path, PLAIN)
    executor = CountingExecutor()
    result = calibrate(spec, tmp_path / "fit", executor, trials=2, say=lambda _: None)
    assert executor.rows == 2 * 3 * 2  # trials x seeds x replicates
    scenario = spec.base.replace(result.best)
    by_seed = {
        s: np.mean([_by_hand(scenario, s, r)["clients_contacted"] for r in range(2)])
        for s in spec.seeds
    }
    row = result.targets[0]
    assert row["by_seed"] == {str(s): pytest.approx(m) for s, m in by_seed.items()}
    assert row["fitted"] == pytest.approx(np.mean(list(by_seed.values())))
    assert result.best_chi2 == pytest.approx(((row["fitted"] - 300) / 20) ** 2)
    record = json.loads((tmp_path / "fit" / "fit.json").read_text())
    assert record["inputs"]["seeds"] == [7, 11, 13]
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    assert summary["seeds"] == [7, 11, 13]
    header = (tmp_path / "fit" / "calibrated.toml").read_text()
    assert "seeds 7, 11, 13" in header and "Mean per seed (7, 11, 13):" in header


def test_each_distinct_variant_runs_once_per_seed_and_replicate(tmp_path, monkeypatch):
    """The plain target and the empty ``from`` share the trial's own scenario; the two
    ``to`` tables (quoted and nested spellings of one key) share one variant."""
    spec = _spec(tmp_path, CONTRASTS)
    variants, measures = variants_of([t.contrast for t in spec.targets])
    assert variants == [(), ((SUPERVISION, 1),), ((SUPERVISION, 4),)]
    assert measures == [[0, -1], [1, 2], [1, 0]]  # [to, from]; -1: no from
    built = []
    real = OutreachModel.__init__

    def counting(self, scenario, replicate, *args, **kwargs):
        built.append((scenario.run.seed, replicate))
        real(self, scenario, replicate, *args, **kwargs)

    monkeypatch.setattr(OutreachModel, "__init__", counting)
    job = make_fit_job(
        spec.base,
        list(VALUES),
        spec.expressions(),
        "variants-once",
        contrasts=[t.contrast for t in spec.targets],
    )
    run_round(InlineExecutor(), job, [(0, list(VALUES.values()))], spec.seeds, 2)
    assert len(built) == 3 * 3 * 2  # variants x seeds x replicates


def test_a_contrast_target_is_the_paired_difference_of_two_run_sets(tmp_path):
    """Runs of the trial with the ``from`` table and with the ``to`` table, on the same seed
    and replicate: the target's runs are their differences, its figure their mean, and its
    interval the 95% confidence interval of that mean."""
    spec = _spec(tmp_path, CONTRASTS)
    executor = InlineExecutor()
    result = calibrate(spec, tmp_path / "fit", executor, trials=1, say=lambda _: None)
    scenario = spec.base.replace(result.best)
    monthly = scenario.replace({SUPERVISION: 4})
    weekly = scenario.replace({SUPERVISION: 1})
    runs = [(s, r) for s in spec.seeds for r in range(2)]
    exhausted = "peers_exhausted_fraction"
    diff = np.array(
        [_by_hand(weekly, s, r)[exhausted] - _by_hand(monthly, s, r)[exhausted] for s, r in runs]
    )
    engaged = np.array(
        [
            _by_hand(weekly, s, r)["clients_engaged"] - _by_hand(scenario, s, r)["clients_engaged"]
            for s, r in runs
        ]
    )
    contacted = np.mean([_by_hand(scenario, s, r)["clients_contacted"] for s, r in runs])
    effect = result.targets[1]
    assert effect["effect"] and not result.targets[0]["effect"]
    assert effect["fitted"] == pytest.approx(diff.mean())
    se = diff.std(ddof=1) / np.sqrt(len(diff))
    assert effect["runs_low"] == pytest.approx(diff.mean() - 1.96 * se)
    assert effect["runs_high"] == pytest.approx(diff.mean() + 1.96 * se)
    assert result.targets[2]["fitted"] == pytest.approx(engaged.mean())
    assert result.targets[0]["fitted"] == pytest.approx(contacted)
    assert result.best_chi2 == pytest.approx(
        chi2(np.array([contacted, diff.mean(), engaged.mean()]), spec.targets)
    )
    assert (tmp_path / "fit" / "fit.png").is_file()


def test_a_fit_on_seeds_resumes_and_refuses_another_seed_list(tmp_path):
    """Interrupted mid-round and run again, a fit on two seeds gives the trials of one run;
    the same folder with another seed list is refused."""
    spec = dataclasses.replace(_spec(tmp_path, PLAIN, head="seeds = [7, 11]"), replicates=1)
    quiet = {"say": lambda _: None}
    calibrate(spec, tmp_path / "a", InlineExecutor(), trials=16, **quiet)
    # Two runs a trial, eight trials a round: Ctrl-C after 21 runs is in the second round.
    first = calibrate(spec, tmp_path / "b", InterruptingExecutor(after=21), trials=16, **quiet)
    assert first.interrupted and first.trials_done == 8
    calibrate(spec, tmp_path / "b", InlineExecutor(), trials=16, **quiet)
    a, b = ((tmp_path / x / "trials.csv").read_text() for x in "ab")
    assert a == b and len(a.splitlines()) == 17
    other = dataclasses.replace(spec, seeds=(7, 12))
    with pytest.raises(UserInputError, match="other inputs"):
        calibrate(other, tmp_path / "a", InlineExecutor(), trials=16, **quiet)


def test_one_seed_given_as_a_list_is_the_same_fit_as_seed(tmp_path):
    """``seeds = [7]`` and ``seed = 7`` are one fit: the same identity, so either resumes."""
    one = _spec(tmp_path, PLAIN, head="seed = 7", name="one.toml")
    listed = _spec(tmp_path, PLAIN, head="seeds = [7]", name="listed.toml")
    assert one.seeds == listed.seeds == (7,)
    calibrate(one, tmp_path / "o", InlineExecutor(), trials=1, say=lambda _: None)
    again = calibrate(listed, tmp_path / "o", InlineExecutor(), trials=1, say=lambda _: None)
    assert not again.interrupted and again.trials_done == 1


BAD = [
    (
        "seeds = [7, 11]",
        '[[target]]\nmetric = "peers_exhausted_fraction"\nvalue = 0\nsd = 1\n'
        'contrast = { from = {}, to = { "wellbeing.supervison_every_weeks" = 1 } }\n',
        ("target.0.contrast.to.wellbeing.supervison_every_weeks", "not a parameter"),
    ),
    (
        "seeds = [7, 11]",
        f'[[target]]\nmetric = "peers_exhausted_fraction"\nvalue = 0\nsd = 1\n'
        f'contrast = {{ from = {{}}, to = {{ "{SUPERVISION}" = -3 }} }}\n',
        (f"target.0.contrast.to.{SUPERVISION} = -3",),
    ),
    (
        "seeds = [7, 11]",
        '[[target]]\nmetric = "peers_exhausted_fraction"\nvalue = 0\nsd = 1\n'
        "contrast = { to = {} }\n",
        ("target.0.contrast", "from = "),
    ),
    (
        "seeds = [7, 11]",
        '[[target]]\nmetric = "peers_exhausted_fraction"\nvalue = 0\nsd = 1\n'
        'contrast = { from = {}, to = { "run.weeks" = 13 } }\n',
        ("target.0.contrast.to.run.weeks", "the run's settings"),
    ),
    ("seed = 7\nseeds = [7, 11]", PLAIN, ("seed and seeds", "not both")),
    ("seeds = []", PLAIN, ("seeds = []", "non-empty list")),
    ("seeds = [7, 7]", PLAIN, ("seeds = [7, 7]", "distinct")),
    (
        "seeds = [7, 11]",
        '[[target]]\nseries = "contacted"\nweeks = [4, 8]\nvalues = [1, 2]\nsd = 1\n'
        f'contrast = {{ from = {{}}, to = {{ "{SUPERVISION}" = 1 }} }}\n',
        ("target.0.contrast", "series target cannot be a contrast"),
    ),
]


@pytest.mark.parametrize(("head", "targets", "fragments"), BAD)
def test_bad_seeds_and_contrasts_get_one_line(tmp_path, head, targets, fragments):
    path = write(tmp_path / "t.toml", f'name = "bad"\nreplicates = 1\n{head}\n{SMALL}\n{targets}')
    proc = outreach("calibrate", "baseline", path, "--out", tmp_path / "out")
    one_line_error(proc, str(path), *fragments)
    assert not (tmp_path / "out").exists()


def test_the_command_names_the_seeds_and_prints_each_seeds_mean(tmp_path):
    path = write(
        tmp_path / "t.toml",
        f'name = "cli"\nreplicates = 1\ntrials = 2\nseeds = [7, 11]\n{SMALL}\n{CONTRASTS}',
    )
    proc = outreach("calibrate", "baseline", path, "--out", tmp_path / "out", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "1 run x 2 seeds a trial (seeds 7, 11)" in proc.stdout
    assert "mean per seed at the best trial:" in proc.stdout
    assert "(effect: 95% CI of the paired mean)" in proc.stdout
    # --seed replaces the file's list by one seed: another fit, so another folder.
    one = outreach(
        "calibrate", "baseline", path, "--out", tmp_path / "one", "--workers", "1", "--seed", "5"
    )
    assert one.returncode == 0, one.stderr
    assert "(seed 5)" in one.stdout and "mean per seed" not in one.stdout


def test_a_search_on_several_seeds_runs_each_and_names_them(tmp_path):
    """``outreach optimize`` takes seeds as calibrate does: replicates x seeds a trial."""
    from sim.fit.optimize import optimize
    from sim.fit.spec import load_search_spec

    path = write(
        tmp_path / "s.toml",
        """name = "peers"
seeds = [3, 4]
replicates = 2
trials = 3
[set]
"population.size" = 600
"run.weeks" = 2
[parameters]
"close_peers.count" = { range = [0, 10] }
[[objective]]
metric = "clients_contacted"
direction = "maximize"
""",
    )
    spec = load_search_spec(path, BASELINE)
    assert spec.seeds == (3, 4)
    executor = CountingExecutor()
    result = optimize(spec, tmp_path / "opt", executor, say=lambda _: None)
    assert executor.rows == 3 * 2 * 2  # trials x seeds x replicates
    best = result.front[0]
    scenario = spec.base.replace({"close_peers.count": best["close_peers.count"]})
    by_hand = [_by_hand(scenario, s, r)["clients_contacted"] for s in (3, 4) for r in range(2)]
    assert best["clients_contacted"] == pytest.approx(np.mean(by_hand))
    assert "2 runs of each of seeds 3, 4" in (tmp_path / "opt" / "best_1.toml").read_text()
