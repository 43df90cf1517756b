"""Screening recruitment policies on the contact-propagation core, before the full model.

For each policy and replicate the model's own recruitment picks the peers (an
:class:`~sim.model.outreach.OutreachModel` built for that replicate, week 0), and the
two-stage propagation of :mod:`sim.cascade.influence`, with each kind's tie probabilities
(:func:`sim.model.recruitment.influence.tie_probabilities`), measures how many clients their
outreach and referral chains are expected to reach: the average over :data:`SAMPLES` draws,
keyed by ``(seed, replicate, "reach-screen")`` and shared by every policy (common random numbers),
independent of the draws the ``influence`` policy chose with. This is the network's upper
bound: no hours, caseloads, burnout, services or losses of contact limit it.

Optionally the full model runs the same policies on the same seed and replicates, for its
``clients_contacted``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.ensemble.compare import paired_difference
from sim.errors import UserInputError
from sim.model import state as S
from sim.model.metrics import interval
from sim.model.scenario import RECRUITMENT_POLICIES, Scenario
from sim.streams import stream, uint64_seeds

__all__ = [
    "DEFAULT_POLICIES",
    "SAMPLES",
    "UPPER_BOUND_NOTE",
    "ReachScreen",
    "parse_policies",
    "policy_scenario",
    "screen",
]

#: Policies screened when none are named.
DEFAULT_POLICIES = ("random", "degree", "nomination", "cover_subgroups", "influence")

#: Draws of the propagation averaged for each policy's expected reach in a replicate.
SAMPLES = 200

#: What the screen's numbers are, in plain words, for tables, plots and JSON.
UPPER_BOUND_NOTE = (
    "expected clients reached through the network: an upper bound without "
    "hours, caseloads, burnout or services (every tie within reach tried)"
)


def parse_policies(text: str) -> list[str]:
    """``random,degree,...`` as a list of recruitment policies.

    Raises:
        UserInputError: an empty list, an unknown policy or a repeat, naming the allowed ones.
    """
    names = [p.strip() for p in text.split(",") if p.strip()]
    allowed = ", ".join(RECRUITMENT_POLICIES)
    if not names:
        raise UserInputError(f"--policies {text!r}: name at least one of {allowed}")
    for name in names:
        if name not in RECRUITMENT_POLICIES:
            raise UserInputError(
                f"--policies {text!r}: unknown policy {name!r}; allowed: {allowed}"
            )
    if len(set(names)) != len(names):
        raise UserInputError(f"--policies {text!r}: each policy at most once")
    return names


def policy_scenario(scenario: Scenario, policy: str, peers: int | None = None) -> Scenario:
    """The scenario with both kinds recruiting by ``policy``.

    With ``peers``, each kind that has peers in the scenario has ``peers`` of them.
    """
    overrides: dict[str, Any] = {
        "close_peers.recruitment": policy,
        "distant_peers.recruitment": policy,
        "name": f"{scenario.name}/{policy}",
    }
    if peers is not None:
        for kind in ("close_peers", "distant_peers"):
            if getattr(scenario, kind).count > 0:
                overrides[f"{kind}.count"] = peers
    return scenario.replace(overrides)


@dataclass
class ReachScreen:
    """The screen's results.

    Attributes:
        scenario: the scenario screened (its seed and replicates).
        policies: the policies, in the order given.
        reach: per policy, the expected clients reached in each replicate.
        picks: per policy, each replicate's ``(close, distant)`` peers.
        full: per policy, the full model's ``clients_contacted`` in each replicate (empty
            without ``full``).
        mean_degree: per policy, the mean number of ties of the peers picked.
        counts: peers of each kind screened (``close``, ``distant``).
    """

    scenario: Scenario
    policies: list[str]
    reach: dict[str, np.ndarray] = field(default_factory=dict)
    picks: dict[str, list[tuple[list[int], list[int]]]] = field(default_factory=dict)
    full: dict[str, np.ndarray] = field(default_factory=dict)
    mean_degree: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The policy differences are taken against: ``random`` if screened, else the first."""
        return "random" if "random" in self.policies else self.policies[0]

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per policy: ``reach`` (and ``full``), mean and 95% interval, with paired differences.

        Differences are taken replicate by replicate against :attr:`base`.
        """
        out: dict[str, dict[str, Any]] = {}
        for policy in self.policies:
            row: dict[str, Any] = {
                "reach": interval(self.reach[policy]),
                "reach_difference": paired_difference(self.reach[self.base], self.reach[policy]),
                "mean_degree_of_peers": self.mean_degree[policy],
            }
            if self.full:
                row["full"] = interval(self.full[policy])
                row["full_difference"] = paired_difference(self.full[self.base], self.full[policy])
            out[policy] = row
        return out


def _team_reach(model, key: int) -> float:
    """Expected clients reached by a model's peers at week 0 (:data:`SAMPLES` draws)."""
    from sim.cascade.influence import team_spread_samples
    from sim.model.recruitment.influence import tie_probabilities

    kinds = []
    for kind in (S.CLOSE, S.DISTANT):
        contact, hops, refer = tie_probabilities(model.scenario, model.world, kind)
        kinds.append((contact, hops, refer, model.peer_nodes(S.KIND_SECTIONS[kind].split("_")[0])))
    peers = sum(len(k[3]) for k in kinds)
    sizes = team_spread_samples(model.world.graph, kinds, samples=SAMPLES, key=key)
    return float(sizes.mean()) - peers


def screen(
    scenario: Scenario,
    policies: Sequence[str],
    *,
    peers: int | None = None,
    full: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> ReachScreen:
    """Screen recruitment policies on the propagation core (and the full model if ``full``).

    Args:
        scenario: the scenario; its ``run.seed`` and ``run.replicates`` are used.
        policies: recruitment policies to screen.
        peers: peers of each kind the scenario has (None: its counts).
        full: also run the full model for each policy.
        workers: parallel workers of the full model's runs.
        progress: called with ``(done, total)`` steps.
        stop: when set, the screen stops between steps (``RunCancelled``).

    Returns:
        A :class:`ReachScreen`.
    """
    from sim.ensemble.replicates import RunCancelled, run_ensemble
    from sim.model.outreach import OutreachModel

    seed, replicates = scenario.run.seed, scenario.run.replicates
    result = ReachScreen(scenario, list(policies))
    variants = {p: policy_scenario(scenario, p, peers) for p in policies}
    first = variants[policies[0]]
    result.counts = {"close": first.close_peers.count, "distant": first.distant_peers.count}
    total = len(policies) * replicates * (2 if full else 1)
    done = 0
    degrees: dict[str, list[float]] = {p: [] for p in policies}
    for policy in policies:
        result.reach[policy] = np.zeros(replicates)
        result.picks[policy] = []
    for r in range(replicates):
        key = int(uint64_seeds(stream(seed, r, "reach-screen"), 1)[0])
        for policy in policies:
            if stop is not None and stop.is_set():
                raise RunCancelled("reach screen stopped")
            model = OutreachModel(variants[policy], r)
            close, distant = model.peer_nodes("close"), model.peer_nodes("distant")
            result.picks[policy].append((close.tolist(), distant.tolist()))
            team = np.concatenate([close, distant])
            degrees[policy] += model.world.graph.degree()[team].tolist()
            result.reach[policy][r] = _team_reach(model, key)
            done += 1
            if progress is not None:
                progress(done, total)
    result.mean_degree = {p: float(np.mean(d)) if d else float("nan") for p, d in degrees.items()}
    if full:
        for policy in policies:

            def step(finished: int, _total: int, offset: int = done) -> None:
                if progress is not None:
                    progress(offset + finished, total)

            ens = run_ensemble(variants[policy], workers=workers, progress=step, stop=stop)
            result.full[policy] = ens.metric_values("clients_contacted")
            done += replicates
    return result


def screen_document(result: ReachScreen, file: str = "") -> dict[str, Any]:
    """The screen as a JSON-ready document."""
    s = result.scenario
    summary = result.summary()
    keep = ("mean", "ci_low", "ci_high")
    policies = {}
    for policy in result.policies:
        row = summary[policy]
        entry: dict[str, Any] = {
            "expected_clients_reached": {m: row["reach"][m] for m in keep},
            "difference_to_" + result.base: {
                **{m: row["reach_difference"][m] for m in keep},
                "distinguishable": row["reach_difference"]["distinguishable"],
            },
            "mean_degree_of_peers": row["mean_degree_of_peers"],
            "per_replicate": result.reach[policy].tolist(),
            "peers": [{"close": c, "distant": d} for c, d in result.picks[policy]],
        }
        if result.full:
            entry["full_model_clients_contacted"] = {
                **{m: row["full"][m] for m in keep},
                "difference_to_" + result.base: {
                    **{m: row["full_difference"][m] for m in keep},
                    "distinguishable": row["full_difference"]["distinguishable"],
                },
                "per_replicate": result.full[policy].tolist(),
            }
        policies[policy] = entry
    return {
        "scenario": s.name,
        "file": file,
        "seed": s.run.seed,
        "replicates": s.run.replicates,
        "weeks": s.run.weeks,
        "peers": result.counts,
        "samples_per_replicate": SAMPLES,
        "base_policy": result.base,
        "note": UPPER_BOUND_NOTE,
        "policies": policies,
    }
