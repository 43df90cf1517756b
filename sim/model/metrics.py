"""Outcome measures of one run and their summary over replicates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from sim.model import state as E

__all__ = ["METRICS", "SHARE_METRICS", "group_reach", "interval", "programme_cost", "run_metrics",
           "summarise"]

#: Every metric of a run, with its meaning.
METRICS: dict[str, str] = {
    "clients_contacted": "unique clients a peer contacted at least once",
    "clients_engaged": "unique clients who engaged with a peer",
    "clients_linked": "unique clients who attended a service appointment",
    "clients_retained": "unique clients still in contact with services after the set weeks",
    "peers_exhausted_fraction": "share of all peers who were exhausted at least once",
    "peers_active_end": "peers working in the last week",
    "peers_recruited": "peers recruited in all, replacements included",
    "cost_total": "peer compensation and professional hours (currency)",
    "cost_per_linked_client": "cost_total / clients_linked",
    "least_connected_contacted": "share of the least-connected quarter of clients contacted",
    "min_subgroup_reach": "share contacted of the worst-reached gender x age-band subgroup",
    "age_band_evenness": "engaged share of the least-reached age band relative to the "
                         "engaged share of all clients (1: every age band reached alike)",
    "linked_share_close": "share of clients engaged by close peers who were linked",
    "linked_share_distant": "share of clients engaged by distant peers who were linked",
}


def programme_cost(costs, totals) -> float:
    """Money spent: peer compensation plus professional hours at the hourly price.

    Args:
        costs: the scenario's ``[costs]`` section.
        totals: counts so far of ``appointments``, ``supervisions`` and ``team_meetings``, and
            the ``compensation`` paid.
    """
    hours = (totals["appointments"] * costs.hours_per_appointment
             + totals["supervisions"] * costs.hours_per_supervision
             + totals["team_meetings"] * costs.hours_per_team_meeting)
    return totals["compensation"] + hours * costs.professional_hour


def _share(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def group_reach(model) -> dict[str, dict[str, dict[str, float]]]:
    """Reach split by subgroup and locality: ``{attribute: {label: {measure: value}}}``.

    Measures per group: ``size`` (clients at the start), ``contacted``, ``engaged``, ``linked``
    (unique clients) and ``contacted_share``.
    """
    s = model.scenario
    w = model.world
    ever = model.ever
    out: dict[str, dict[str, dict[str, float]]] = {}
    groups = {
        "gender": (w.gender, s.population.subgroups["gender"].names),
        "age_band": (w.age_band, s.population.subgroups["age_band"].names),
        "locality": (w.locality, tuple(loc.name for loc in s.population.localities)),
    }
    clients = model.role == E.CLIENT
    for attr, (codes, names) in groups.items():
        k = max(len(names), int(codes.max()) + 1 if codes.size else 0)
        size = np.bincount(codes, weights=clients | (ever > 0), minlength=k)
        counts = {
            flag_name: np.bincount(codes, weights=(ever & flag) > 0, minlength=k)
            for flag_name, flag in (("contacted", E.EVER_CONTACTED),
                                    ("engaged", E.EVER_ENGAGED), ("linked", E.EVER_LINKED))
        }
        out[attr] = {}
        for j in range(k):
            label = names[j] if j < len(names) else str(j)
            row = {"size": float(size[j])}
            row.update({m: float(c[j]) for m, c in counts.items()})
            row["contacted_share"] = _share(row["contacted"], row["size"])
            out[attr][label] = row
    return out


def run_metrics(model) -> dict[str, float]:
    """The metrics of :data:`METRICS` for one finished (or running) model."""
    ever = model.ever
    contacted, engaged, linked, retained = (
        int(np.count_nonzero(ever & flag)) for flag in
        (E.EVER_CONTACTED, E.EVER_ENGAGED, E.EVER_LINKED, E.EVER_RETAINED))
    n = model.n_peers
    w = model.world
    clients = model.role == E.CLIENT
    population = clients | (ever > 0)  # peers promoted from clients still count as reached
    deg = w.graph.degree()
    low = population.copy()
    if population.any():
        low &= deg <= np.quantile(deg[population], 0.25)
    cell = w.gender.astype(np.int64) * (int(w.age_band.max()) + 1) + w.age_band
    cell_size = np.bincount(cell[population])
    cell_hit = np.bincount(cell[population], weights=(ever[population] & E.EVER_CONTACTED) > 0,
                           minlength=cell_size.size)
    present = cell_size > 0
    engaged_pop = (ever[population] & E.EVER_ENGAGED) > 0
    band_size = np.bincount(w.age_band[population])
    band_eng = np.bincount(w.age_band[population], weights=engaged_pop, minlength=band_size.size)
    bands = band_size > 0
    cost = model.cost()
    eng = (ever & E.EVER_ENGAGED) > 0
    lnk = (ever & E.EVER_LINKED) > 0
    close, distant = eng & (model.ekind == E.CLOSE), eng & (model.ekind == E.DISTANT)
    return {
        "clients_contacted": float(contacted),
        "clients_engaged": float(engaged),
        "clients_linked": float(linked),
        "clients_retained": float(retained),
        "peers_exhausted_fraction": _share(float(np.sum(model.p_ever_exhausted[:n])), n),
        "peers_active_end": float(np.sum(model.p_status[:n] == E.ACTIVE)),
        "peers_recruited": float(n),
        "cost_total": float(cost),
        "cost_per_linked_client": _share(float(cost), linked),
        "least_connected_contacted": _share(
            float(np.sum((ever[low] & E.EVER_CONTACTED) > 0)), float(np.sum(low))),
        "min_subgroup_reach": float(np.min(cell_hit[present] / cell_size[present])),
        "age_band_evenness": _share(float(np.min(band_eng[bands] / band_size[bands])),
                                    _share(float(engaged_pop.sum()), float(engaged_pop.size))),
        "linked_share_close": _share(float(np.sum(close & lnk)), float(np.sum(close))),
        "linked_share_distant": _share(float(np.sum(distant & lnk)), float(np.sum(distant))),
    }


def interval(values: Sequence[float], level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t interval of the mean over replicates; NaN values are left out.

    The interval says where the expected value lies given the replicates run; it narrows as
    replicates grow, so differences between scenarios can be judged against it.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"mean": float("nan"), "ci_low": float("nan"), "ci_high": float("nan"),
                "sd": float("nan"), "n": 0}
    mean = float(x.mean())
    if x.size == 1:
        return {"mean": mean, "ci_low": float("nan"), "ci_high": float("nan"), "sd": float("nan"),
                "n": 1}
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd,
            "n": int(x.size)}


#: Metrics that are shares, so their intervals are kept within [0, 1].
SHARE_METRICS = frozenset({
    "peers_exhausted_fraction", "least_connected_contacted", "min_subgroup_reach",
    "linked_share_close", "linked_share_distant",
})


def summarise(runs: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """Mean and 95% interval of every metric over replicate runs.

    Every metric is a count, a cost or a share, so no interval reaches below 0, and those of
    shares (:data:`SHARE_METRICS`) not above 1.
    """
    out = {}
    for name in runs[0] if runs else ():
        s = interval([r[name] for r in runs])
        s["ci_low"] = max(0.0, s["ci_low"]) if math.isfinite(s["ci_low"]) else s["ci_low"]
        if name in SHARE_METRICS and math.isfinite(s["ci_high"]):
            s["ci_high"] = min(1.0, s["ci_high"])
        out[name] = s
    return out
