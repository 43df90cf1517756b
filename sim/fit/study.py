"""Optuna studies kept in a folder: trials asked in rounds, run on an executor, told in order.

A fit or a search lives in one folder: ``fit.json`` records what it was started with (its
identity: the file, the scenario, the seed or seeds), and ``optuna.journal`` is Optuna's journal
storage, which holds every trial told. The same command run again opens the same studies and
carries on, so an interrupted fit loses at most the round it was in.

Reproducibility: trials are asked in rounds of a fixed size (not the number of workers), each
round's sampler is seeded from ``(seed, round)``, and a round's trials are told in trial order
once all of them have run. The trials asked therefore depend only on the seed and the trials
told before, never on how many workers ran them or where the fit was interrupted: trials
left running by an interruption are run again (their parameters are stored) before the next
round is asked.

Samplers: Optuna's TPE (Bergstra et al. 2011, NeurIPS; ``multivariate``, Falkner et al.
2018) for a single objective, NSGA-II (Deb et al. 2002, IEEE TEC 6:182) for several, and a
scrambled Sobol sequence (Owen 1998) for prior draws (:mod:`sim.fit.abc`).
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import UserInputError

__all__ = ["FitFolder", "StudyRun", "distributions", "parameter_values", "round_seed", "run_study"]

#: Trials asked per round when the sampler does not fix it (NSGA-II asks a population).
ROUND_SIZE = 8


def model_fingerprint() -> str:
    """A digest of the model's code (``sim/model``, ``sim/graphs``) and the package version.

    Part of a fit's identity: trials run by another version of the model must not be mixed
    with new ones, so a folder fitted before a model change is refused, not resumed.
    """
    import sim

    root = Path(sim.__file__).resolve().parent
    h = hashlib.sha256(sim.__version__.encode())
    for folder in ("model", "graphs"):
        for path in sorted((root / folder).glob("*.py")):
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def round_seed(seed: int, round_index: int) -> int:
    """A sampler's seed for one round, derived from the fit's root seed."""
    return int(np.random.SeedSequence([seed, round_index, 0x0F17]).generate_state(1)[0])


def distributions(parameters) -> dict[str, Any]:
    """Optuna distributions of the ``[parameters]``: ranges (whole numbers too), levels.

    Raises:
        UserInputError: a level Optuna cannot hold (a table or a list).
    """
    import optuna.distributions as D

    out: dict[str, Any] = {}
    for p in parameters:
        if p.levels is not None:
            for v in p.levels:
                if not (v is None or isinstance(v, (bool, int, float, str))):
                    raise UserInputError(
                        f"parameters.{p.key}.levels: {v!r}: a level must be "
                        "a number, a string or true/false"
                    )
            out[p.key] = D.CategoricalDistribution(list(p.levels))
        elif p.integer:
            out[p.key] = D.IntDistribution(int(p.lo), int(p.hi))
        else:
            out[p.key] = D.FloatDistribution(float(p.lo), float(p.hi))
    return out


def parameter_values(parameters, params: dict[str, Any]) -> list[Any]:
    """A trial's values, in the order of ``parameters``."""
    return [params[p.key] for p in parameters]


class FitFolder:
    """The folder of a fit or a search: its identity, Optuna's storage, the outputs.

    Args:
        out: the folder (created).
        kind: ``"calibrate"`` or ``"optimize"``.
        identity: what the fit was started with (JSON-able); a folder holding another
            identity is refused, so two fits never mix their trials.
    """

    def __init__(self, out: str | Path, kind: str, identity: dict[str, Any]):
        self.out = Path(out)
        if self.out.exists() and not self.out.is_dir():
            raise UserInputError(f"--out {self.out}: is a file; give a folder")
        digest = hashlib.sha256(
            json.dumps(identity, sort_keys=True, default=str).encode()
        ).hexdigest()[:16]
        record = self.out / "fit.json"
        self.resumed = record.is_file()
        if self.resumed:
            try:
                old = json.loads(record.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise UserInputError(
                    f"--out {self.out}: {record} cannot be read; give another folder or remove it"
                ) from None
            if old.get("kind") != kind or old.get("identity") != digest:
                raise UserInputError(
                    f"--out {self.out}: holds a {old.get('kind', 'different')} run of other "
                    "inputs (file, scenario, seed or the model's code changed); give another "
                    "folder or remove it"
                )
        else:
            if self.out.exists() and any(self.out.iterdir()):
                raise UserInputError(
                    f"--out {self.out}: is a folder with other files in it; "
                    "give a new or empty folder"
                )
            try:
                self.out.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise UserInputError(
                    f"--out {self.out}: cannot create it ({err.strerror})"
                ) from None
            record.write_text(
                json.dumps(
                    {"kind": kind, "identity": digest, "inputs": identity}, indent=2, default=str
                )
                + "\n",
                encoding="utf-8",
            )
        self.digest = digest
        self._storage = None

    @property
    def storage(self):
        """Optuna's journal storage in the folder (opened once)."""
        if self._storage is None:
            from optuna.storages import JournalStorage
            from optuna.storages.journal import JournalFileBackend

            self._storage = JournalStorage(JournalFileBackend(str(self.out / "optuna.journal")))
        return self._storage

    def study(self, name: str, directions: Sequence[str]):
        """Open (or create) the study ``name``."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        return optuna.create_study(
            study_name=name, storage=self.storage, directions=list(directions), load_if_exists=True
        )


@dataclass
class StudyRun:
    """What a call of :func:`run_study` did.

    Attributes:
        done_before: trials complete when it started.
        told: trials told by this call.
        interrupted: stopped by Ctrl-C.
    """

    done_before: int
    told: int = 0
    interrupted: bool = False


def run_study(
    study,
    *,
    parameters,
    trials: int,
    replicates: int,
    seed: int,
    executor,
    job: dict[str, Any],
    seeds: Sequence[int] | None = None,
    make_sampler: Callable[[int], Any],
    score: Callable[[list[list[float]]], tuple[Any, dict[str, Any]]],
    round_size: int = ROUND_SIZE,
    enqueue: dict[str, Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StudyRun:
    """Bring ``study`` to ``trials`` finished trials, in rounds.

    Args:
        study: an Optuna study (its storage keeps the trials).
        parameters: the ``[parameters]`` (:class:`sim.sweep.spec.Parameter`).
        trials: finished trials wanted in all.
        replicates: runs per trial and seed.
        seed: the root seed of the samplers, and of every run unless ``seeds`` is given.
        executor: where the runs go.
        job: from :func:`sim.fit.runs.make_fit_job`.
        seeds: the root seeds of every trial's runs (common random numbers); default
            ``(seed,)``.
        make_sampler: a round's sampler from its seed.
        score: a trial's value(s) and user attributes from its rows (run x measure, seed
            by seed); a value of None marks the trial failed (its runs gave no number).
        round_size: trials per round.
        enqueue: parameter values to try first (the base scenario's own), if within range.
        progress: called with (runs done, runs wanted).

    Returns:
        What was done. Ctrl-C is caught: what was told stays in the storage.
    """
    from optuna.trial import TrialState

    from sim.fit.runs import run_round

    dists = distributions(parameters)
    finished = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)

    def count(states) -> int:
        return len(study.get_trials(deepcopy=False, states=states))

    seeds = [seed] if seeds is None else list(seeds)
    done = count(finished)
    outcome = StudyRun(done_before=done)
    per_trial = replicates * len(seeds)
    runs_done = done * per_trial
    total_runs = max(trials, done) * per_trial

    def tick() -> None:
        nonlocal runs_done
        runs_done += 1
        if progress:
            progress(min(runs_done, total_runs), total_runs)

    if progress:
        progress(runs_done, total_runs)
    if enqueue is not None and len(study.trials) == 0:
        study.enqueue_trial(enqueue, skip_if_exists=True)
    try:
        while True:
            # Trials an interruption left running: run them again as they were asked.
            pending = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if not pending:
                done = count(finished)
                if done >= trials:
                    break
                k = min(round_size, trials - done)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Optuna's ExperimentalWarning
                    study.sampler = make_sampler(round_seed(seed, done // round_size))
                    pending = [study.ask(dists) for _ in range(k)]
            pending = sorted(pending, key=lambda t: t.number)
            asked = [(t.number, parameter_values(parameters, t.params)) for t in pending]
            rows = run_round(executor, job, asked, seeds, replicates, tick)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for t in pending:
                    values, attrs = score(rows[t.number])
                    # Set through the storage: a trial left running by an interruption is a
                    # FrozenTrial here, which has no set_user_attr of its own.
                    for key, value in attrs.items():
                        study._storage.set_trial_user_attr(t._trial_id, key, value)
                    if values is None:
                        study.tell(t.number, state=TrialState.FAIL)
                    else:
                        study.tell(t.number, values)
                    outcome.told += 1
    except KeyboardInterrupt:
        outcome.interrupted = True
    return outcome


def finite(x: float) -> bool:
    """A number that is neither NaN nor infinite."""
    return isinstance(x, (int, float)) and math.isfinite(x)
