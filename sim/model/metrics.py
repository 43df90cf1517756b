"""Outcome measures of one run and their summary over replicates."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.model import state as E
from sim.model.state import salaried_hours_per_week
from sim.model.world import ORBIT_LABELS

__all__ = [
    "KEY_METRICS",
    "METRICS",
    "SHARE_METRICS",
    "YEAR_METRICS",
    "Metric",
    "group_reach",
    "interval",
    "peers_leaving",
    "period_metrics",
    "programme_cost",
    "run_metrics",
    "salaried_hours_per_week",
    "summarise",
]


@dataclass(frozen=True)
class Metric:
    """One outcome measure of a run: its names for people and how it is bounded.

    Attributes:
        name: the key in results, tables, JSON and CSV (``clients_linked``).
        title: a short title, for a plot's panel.
        long_title: a title that explains itself, for a report's table.
        unit: what it counts or measures (``clients``, ``share``, ``currency``, ...).
        meaning: how it is computed, in one line.
        share: a share of a whole, so it and its interval lie within [0, 1].
        key: one of the measures a planner asks about first (:data:`KEY_METRICS`).
    """

    name: str
    title: str
    long_title: str
    unit: str
    meaning: str
    share: bool = False
    key: bool = False

    @property
    def axis_label(self) -> str:
        """The title with its unit, for a plot's axis (``Clients linked (clients)``)."""
        return f"{self.title} ({self.unit})"


_TABLE = (
    Metric(
        "clients_seen",
        "Clients seen",
        "Clients who met a peer at least once (returning clients included)",
        "clients",
        "distinct clients with at least one encounter in the period: a first contact, a "
        "meeting on the street or at a site, an accompaniment, a house call or a hand-off",
    ),
    Metric(
        "clients_new_share",
        "Share of clients new",
        "Share of the clients seen who were seen for the first time ever",
        "share",
        "clients whose first encounter ever was in the period / clients_seen",
        share=True,
    ),
    Metric(
        "encounters",
        "Encounters",
        "Meetings of clients with peers",
        "encounters",
        "encounters in the period (a client met twice counts twice)",
    ),
    Metric(
        "accompaniments",
        "Accompaniments",
        "Clients accompanied to a service appointment",
        "accompaniments",
        "appointments a peer (or an outreach worker) accompanied the client to",
    ),
    Metric(
        "population_size_end",
        "Population at the end",
        "People in the population in the last week",
        "people",
        "people in the population in the period's last week (the dormant, in prison and "
        "dead left out)",
    ),
    Metric(
        "clients_contacted",
        "Clients contacted",
        "Clients contacted (unique, over the period)",
        "clients",
        "unique clients a peer contacted at least once (after a history: for the first "
        "time in the period)",
        key=True,
    ),
    Metric(
        "clients_engaged",
        "Clients engaged",
        "Clients engaged with a peer",
        "clients",
        "unique clients who engaged with a peer",
        key=True,
    ),
    Metric(
        "clients_linked",
        "Clients linked to services",
        "Clients who attended a service appointment",
        "clients",
        "unique clients who attended a service appointment",
        key=True,
    ),
    Metric(
        "clients_retained",
        "Clients retained",
        "Clients still in contact with services",
        "clients",
        "unique clients still in contact with services after the set weeks",
    ),
    Metric(
        "clients_contacted_outside_orbit",
        "Contacted outside the service orbit",
        "Clients outside the service orbit contacted",
        "clients",
        "unique clients who had used no service in the past year, contacted",
    ),
    Metric(
        "outside_orbit_contacted_share",
        "Share outside the orbit contacted",
        "Share of the people outside the service orbit contacted",
        "share",
        "clients_contacted_outside_orbit / people outside the service orbit",
        share=True,
        key=True,
    ),
    Metric(
        "clients_engaged_outside_orbit",
        "Engaged outside the service orbit",
        "Clients outside the service orbit engaged",
        "clients",
        "unique clients outside the service orbit who engaged with a peer",
    ),
    Metric(
        "clients_linked_outside_orbit",
        "Linked outside the service orbit",
        "Clients outside the service orbit linked to services",
        "clients",
        "unique clients outside the service orbit who attended a service appointment",
    ),
    Metric(
        "deep_contacted_share",
        "Share of the deepest contacted",
        "Share of the deepest band of the subculture contacted",
        "share",
        "share of the people in the deepest band of clients.depth_names contacted",
        share=True,
    ),
    Metric(
        "peers_exhausted_fraction",
        "Share of peers exhausted",
        "Share of peers exhausted at least once",
        "share",
        "share of all peers who were exhausted at least once",
        share=True,
        key=True,
    ),
    Metric(
        "peers_exhausted_fraction_close",
        "Share of close peers exhausted",
        "Share of close peers exhausted at least once",
        "share",
        "share of close peers who were exhausted at least once",
        share=True,
    ),
    Metric(
        "peers_exhausted_fraction_distant",
        "Share of distant peers exhausted",
        "Share of distant peers exhausted at least once",
        "share",
        "share of distant peers who were exhausted at least once",
        share=True,
    ),
    Metric(
        "peers_left_fraction",
        "Share of peers who left",
        "Share of peers who left the programme during the run",
        "share",
        "share of all peers (replacements included) who left during the run, for any "
        "reason of their own or after exhaustion (not those let go by a change of policy)",
        share=True,
    ),
    Metric(
        "clients_handed_off",
        "Clients handed off",
        "Engaged clients taken on by another peer",
        "clients",
        "hand-offs over the run: engaged clients brought by their peer to a close peer "
        "(p_handoff), or taken on by another peer when theirs stopped working",
    ),
    Metric(
        "peers_enrolled",
        "Peers enrolled",
        "Peers enrolled at a time (working, resting or on a break)",
        "peers",
        "mean over the weeks of the peers enrolled: working, resting after exhaustion or "
        "on a break",
    ),
    Metric(
        "peers_active_share",
        "Share of enrolled peers working",
        "Share of the enrolled peers working at a time",
        "share",
        "mean over the weeks of the peers working / the peers enrolled",
        share=True,
    ),
    Metric(
        "peer_hours_per_week",
        "Peer hours a working week",
        "Hours a working peer worked in an average week",
        "hours",
        "hours worked by peers (crises included) / peer weeks worked",
    ),
    Metric(
        "professional_hours_used_share",
        "Professionals' hours used",
        "Share of the professionals' programme hours used",
        "share",
        "professional hours spent coordinating peers, supervising, assessing new peers and on "
        "appointments and house calls / the hours they have for the programme "
        "(services.outside_work_share left out)",
        share=True,
    ),
    Metric(
        "appointments_waiting",
        "Appointments waiting",
        "Appointments asked for and not held",
        "appointments",
        "appointments clients asked for that the professionals' hours could not hold, a "
        "run's total (a client who asks again counts again)",
    ),
    Metric(
        "supervisions_late",
        "Supervisions late",
        "Peer-weeks a due supervision waited",
        "peer-weeks",
        "weeks in which a peer due for supervision was not supervised for want of the "
        "professionals' hours, a run's total",
    ),
    Metric(
        "site_visits",
        "Site visits",
        "Visits to the service sites by people of the service orbit",
        "visits",
        "visits to the localities' service sites over the period (repeat visits count)",
    ),
    Metric(
        "site_encounters",
        "Site encounters",
        "Site visitors met by a peer",
        "encounters",
        "visits in which a peer at the site met the visitor (at most one a person a week)",
    ),
    Metric(
        "peers_active_end",
        "Peers working at the end",
        "Peers working in the last week",
        "peers",
        "peers working in the last week",
    ),
    Metric(
        "peers_recruited",
        "Peers recruited",
        "Peers recruited, replacements included",
        "peers",
        "peers recruited in all, replacements included",
    ),
    Metric(
        "cost_total",
        "Total cost",
        "Total cost (peer pay, salaries, rewards)",
        "currency",
        "peer pay, professionals' and outreach workers' salaries and referral rewards (currency)",
    ),
    Metric(
        "cost_per_linked_client",
        "Cost per linked client",
        "Cost per linked client (peer pay, salaries, rewards)",
        "currency per client",
        "cost_total / clients_linked",
        key=True,
    ),
    Metric(
        "least_connected_contacted",
        "Least-connected clients contacted",
        "Share of the least-connected quarter of clients contacted",
        "share",
        "share of the least-connected quarter of clients contacted",
        share=True,
    ),
    Metric(
        "min_subgroup_reach",
        "Reach of the worst-reached subgroup",
        "Share contacted of the worst-reached gender and age group",
        "share",
        "share contacted of the worst-reached gender x age-band subgroup",
        share=True,
    ),
    Metric(
        "age_band_evenness",
        "Evenness across age bands",
        "Engagement of the least-reached age band relative to all clients",
        "ratio",
        "engaged share of the least-reached age band relative to the engaged share of all "
        "clients (1: every age band reached alike)",
    ),
    Metric(
        "linked_share_close",
        "Linked share, close peers",
        "Share of clients engaged by close peers who were linked",
        "share",
        "share of clients engaged by close peers who were linked",
        share=True,
    ),
    Metric(
        "linked_share_distant",
        "Linked share, distant peers",
        "Share of clients engaged by distant peers who were linked",
        "share",
        "share of clients engaged by distant peers who were linked",
        share=True,
    ),
    Metric(
        "linked_share_high_mistrust",
        "Linked share, high mistrust",
        "Share of engaged clients with high mistrust of professionals who were linked",
        "share",
        "share of engaged clients with mistrust at or above "
        "clients.high_mistrust_at who were linked",
        share=True,
    ),
    Metric(
        "linked_share_low_mistrust",
        "Linked share, low mistrust",
        "Share of engaged clients with low mistrust of professionals who were linked",
        "share",
        "share of engaged clients with mistrust below clients.high_mistrust_at who were linked",
        share=True,
    ),
)

#: Every metric of a run, by name, in the order tables list them.
METRICS: dict[str, Metric] = {m.name: m for m in _TABLE}

#: Metrics a planner asks about first: reach, engagement, linkage, peer exhaustion and cost.
KEY_METRICS: tuple[str, ...] = tuple(m.name for m in _TABLE if m.key)

#: Metrics that are shares, so their intervals are kept within [0, 1].
SHARE_METRICS: frozenset[str] = frozenset(m.name for m in _TABLE if m.share)

#: The metrics of each year of a run (:func:`period_metrics`), in table order.
YEAR_METRICS: tuple[str, ...] = (
    "clients_seen",
    "clients_new_share",
    "encounters",
    "accompaniments",
    "clients_contacted",
    "clients_engaged",
    "clients_linked",
    "peers_exhausted_fraction",
    "peers_enrolled",
    "peers_active_share",
    "peers_left_fraction",
    "population_size_end",
)


def programme_cost(costs, totals) -> float:
    """Money spent: peer pay, salaried hours at the hourly price, and referral rewards.

    Args:
        costs: the scenario's ``[costs]`` section.
        totals: so far, the ``compensation`` paid to peers, the ``salaried_hours`` of
            professionals and outreach workers, and the ``referrals`` made.
    """
    return (
        totals["compensation"]
        + totals["salaried_hours"] * costs.professional_hour
        + totals["referrals"] * costs.reward_per_referral
    )


def _share(num: float, den: float) -> float:
    return num / den if den > 0 else float("nan")


def group_reach(model) -> dict[str, dict[str, dict[str, float]]]:
    """Reach split by client type: ``{attribute: {label: {measure: value}}}``.

    Groups: gender, age band, locality, the service orbit (in or outside), mistrust (low or
    high, split at ``clients.high_mistrust_at``) and depth in the subculture. Measures per
    group: ``size`` (clients at the start), ``contacted``, ``engaged``, ``linked`` (unique
    clients) and ``contacted_share``, ``engaged_share`` and ``linked_share`` (of its size).
    """
    s = model.scenario
    w = model.world
    ever = model.ever
    out: dict[str, dict[str, dict[str, float]]] = {}
    high = (w.mistrust >= s.clients.high_mistrust_at).astype(np.int8)
    groups = {
        "gender": (w.gender, s.population.subgroups["gender"].names),
        "age_band": (w.age_band, s.population.subgroups["age_band"].names),
        "locality": (w.locality, tuple(loc.name for loc in s.population.localities)),
        "service_orbit": (w.in_orbit, ORBIT_LABELS),
        "mistrust": (high, ("low", "high")),
        "depth": (w.depth, tuple(s.clients.depth_names)),
    }
    ever = _period_path(model)
    population = _period_population(model, ever)
    for attr, (codes, names) in groups.items():
        k = max(len(names), int(codes.max()) + 1 if codes.size else 0)
        size = np.bincount(codes, weights=population, minlength=k)
        counts = {
            flag_name: np.bincount(codes, weights=(ever & flag) > 0, minlength=k)
            for flag_name, flag in (
                ("contacted", E.EVER_CONTACTED),
                ("engaged", E.EVER_ENGAGED),
                ("linked", E.EVER_LINKED),
            )
        }
        out[attr] = {}
        for j in range(k):
            label = names[j] if j < len(names) else str(j)
            row = {"size": float(size[j])}
            row.update({m: float(c[j]) for m, c in counts.items()})
            for m in ("contacted", "engaged", "linked"):
                row[f"{m}_share"] = _share(row[m], row["size"])
            out[attr][label] = row
    return out


def peers_leaving(model) -> dict[str, dict[str, float]]:
    """Why peers left: ``{reason: {"size", "left", "left_share"}}``, for the JSON's groups.

    ``size`` is every peer of the measured period (replacements included), ``left`` those
    who left in it for the reason (:data:`sim.model.state.LEAVING_REASONS`), ``left_share``
    their share.
    """
    n, s = model.n_peers, model.start_week
    rows = _period_peers(model, s, max(model.week, s + 1))
    gone = rows & (model.p_status[:n] == E.WITHDRAWN) & (model.p_left_week[:n] >= s)
    reasons = model.p_left_reason[:n][gone]
    counts = np.bincount(reasons, minlength=max(E.LEAVING_REASONS) + 1)
    size = float(np.sum(rows))
    return {
        name: {
            "size": size,
            "left": float(counts[code]),
            "left_share": _share(float(counts[code]), size),
        }
        for code, name in E.LEAVING_REASONS.items()
    }


def _period_path(model) -> np.ndarray:
    """Each person's path flags of the measured period: steps taken for the first time in it."""
    before = getattr(model, "ever_before", None)
    ever = model.ever & E.EVER_PATH
    return ever if before is None else ever & ~before


def _period_population(model, ever: np.ndarray) -> np.ndarray:
    """The clients of the measured period: in the population at some time of it, or reached.

    Peers are left out, but a peer who was a client reached in the period is counted.
    """
    not_peer = (model.role == E.CLIENT) | (model.role == E.ABSENT)
    return (not_peer & ((model.ever & E.EVER_PRESENT) > 0)) | (ever > 0)


def _period_peers(model, start: int, end: int) -> np.ndarray:
    """The peer rows enrolled at some time of weeks ``[start, end)``."""
    n = model.n_peers
    joined, left = model.p_joined[:n], model.p_left_week[:n]
    return (joined < max(end, start + 1)) & ((left < 0) | (left >= start))


def _enrolment(weekly, start: int = 0, end: int | None = None) -> tuple[float, float]:
    """Mean peers enrolled a week, and the mean share of them working, from the series.

    Over weeks ``[start, end)`` (the series' entry ``t + 1`` is week ``t``'s).
    """
    hi = None if end is None else end + 1
    active = np.asarray(weekly["peers_active"][start + 1 : hi], float)
    if active.size == 0:
        return float("nan"), float("nan")
    enrolled = (
        active
        + np.asarray(weekly["peers_resting"][start + 1 : hi], float)
        + np.asarray(weekly["peers_on_break"][start + 1 : hi], float)
    )
    some = enrolled > 0
    if not some.any():
        return float(enrolled.mean()), float("nan")
    return float(enrolled.mean()), float(np.mean(active[some] / enrolled[some]))


def _seen(model, start: int) -> tuple[float, float]:
    """Clients with an encounter from week ``start`` on, and the share of them new then."""
    seen = int(np.count_nonzero(model.last_met >= start))
    new = int(np.count_nonzero(model.first_met >= start))
    return float(seen), _share(float(new), float(seen))


def _peer_shares(model, start: int, end: int) -> tuple[float, float, float]:
    """Peers enrolled in weeks ``[start, end)``; the share of them exhausted, and who left.

    Read at week ``end`` (a peer's latest exhaustion is kept, so an earlier one within the
    weeks is known only until the next).
    """
    n = model.n_peers
    rows = _period_peers(model, start, end)
    enrolled = float(np.sum(rows))
    tired = rows & (model.p_exhausted_week[:n] >= start)
    left = model.p_left_week[:n]
    gone = rows & (left >= start) & (left < end) & (model.p_left_reason[:n] != E.LEFT_POLICY)
    return enrolled, _share(float(np.sum(tired)), enrolled), _share(float(np.sum(gone)), enrolled)


def period_metrics(model, start: dict) -> dict[str, float]:
    """The :data:`YEAR_METRICS` of the weeks since ``start`` (a model's snapshot), read now.

    ``start`` holds the week, the totals and the running book when the period began.
    """
    s, e = int(start["week"]), int(model.week)
    seen, new_share = _seen(model, s)
    before, now = start["book"], model.book
    enrolled_mean, active_share = _enrolment(model.weekly, s, e)
    _, exhausted, left = _peer_shares(model, s, e)
    t0, t = start["totals"], model.totals
    return {
        "clients_seen": seen,
        "clients_new_share": new_share,
        "encounters": float(t["encounters"] - t0["encounters"]),
        "accompaniments": float(t["accompaniments"] - t0["accompaniments"]),
        "clients_contacted": float(now[E.B_CONTACTED] - before[E.B_CONTACTED]),
        "clients_engaged": float(now[E.B_ENGAGED] - before[E.B_ENGAGED]),
        "clients_linked": float(now[E.B_LINKED] - before[E.B_LINKED]),
        "peers_exhausted_fraction": exhausted,
        "peers_enrolled": enrolled_mean,
        "peers_active_share": active_share,
        "peers_left_fraction": left,
        "population_size_end": float(model.weekly["population"][e]),
    }


def run_metrics(model) -> dict[str, float]:
    """The metrics of :data:`METRICS` for one finished (or running) model.

    Over the measured period: after a history (``run.history_weeks``) the path's counts are
    of people who took a step for the first time in it, the peers those enrolled in it, the
    totals and cost its own.
    """
    ever = _period_path(model)
    contacted, engaged, linked, retained = (
        int(np.count_nonzero(ever & flag))
        for flag in (E.EVER_CONTACTED, E.EVER_ENGAGED, E.EVER_LINKED, E.EVER_RETAINED)
    )
    n = model.n_peers
    w = model.world
    population = _period_population(model, ever)
    deg = w.graph.degree()
    low = population.copy()
    if population.any():
        low &= deg <= np.quantile(deg[population], 0.25)
    cell = w.gender.astype(np.int64) * (int(w.age_band.max()) + 1) + w.age_band
    cell_size = np.bincount(cell[population])
    cell_hit = np.bincount(
        cell[population],
        weights=(ever[population] & E.EVER_CONTACTED) > 0,
        minlength=cell_size.size,
    )
    present = cell_size > 0
    engaged_pop = (ever[population] & E.EVER_ENGAGED) > 0
    band_size = np.bincount(w.age_band[population])
    band_eng = np.bincount(w.age_band[population], weights=engaged_pop, minlength=band_size.size)
    bands = band_size > 0
    start = model._mark.get("period") if model._mark else None
    s = model.start_week
    t0 = start["totals"] if start else {k: 0 * v for k, v in model.totals.items()}
    totals = {k: v - t0[k] for k, v in model.totals.items()}
    cost = programme_cost(model.scenario.costs, totals)
    rows = _period_peers(model, s, max(model.week, s + 1))
    eng = (ever & E.EVER_ENGAGED) > 0
    lnk = (ever & E.EVER_LINKED) > 0
    close, distant = eng & (model.ekind == E.CLOSE), eng & (model.ekind == E.DISTANT)
    kinds = model.p_kind[:n][rows]
    tired = (model.p_exhausted_week[:n] >= s)[rows]
    out = population & (w.in_orbit == 0)
    deep = population & (w.depth == len(model.scenario.clients.depth_names) - 1)
    high = w.mistrust >= model.scenario.clients.high_mistrust_at
    contacted_mask = (ever & E.EVER_CONTACTED) > 0
    contacted_out = float(np.sum(contacted_mask & out))
    left_reason = model.p_left_reason[:n][rows]
    left_week = model.p_left_week[:n][rows]
    enrolled, active_share = _enrolment(model.weekly, s)
    seen, new_share = _seen(model, s)
    peers = float(np.sum(rows))
    return {
        "clients_seen": seen,
        "clients_new_share": new_share,
        "encounters": float(totals["encounters"]),
        "accompaniments": float(totals["accompaniments"]),
        "population_size_end": float(model.weekly["population"][-1]),
        "clients_contacted": float(contacted),
        "clients_engaged": float(engaged),
        "clients_linked": float(linked),
        "clients_retained": float(retained),
        "clients_contacted_outside_orbit": contacted_out,
        "outside_orbit_contacted_share": _share(contacted_out, float(np.sum(out))),
        "clients_engaged_outside_orbit": float(np.sum(eng & out)),
        "clients_linked_outside_orbit": float(np.sum(lnk & out)),
        "deep_contacted_share": _share(float(np.sum(contacted_mask & deep)), float(np.sum(deep))),
        "peers_exhausted_fraction": _share(float(np.sum(tired)), peers),
        "peers_exhausted_fraction_close": _share(
            float(np.sum(tired[kinds == E.CLOSE])), float(np.sum(kinds == E.CLOSE))
        ),
        "peers_exhausted_fraction_distant": _share(
            float(np.sum(tired[kinds == E.DISTANT])), float(np.sum(kinds == E.DISTANT))
        ),
        "peers_left_fraction": _share(
            float(np.sum((left_week >= s) & (left_reason != E.LEFT_POLICY))), peers
        ),
        "clients_handed_off": float(totals["handed_off"]),
        "peers_enrolled": enrolled,
        "peers_active_share": active_share,
        "peer_hours_per_week": _share(totals["peer_hours"], totals["peer_weeks"]),
        "professional_hours_used_share": _share(
            totals["professional_hours_used"], totals["professional_hours_available"]
        ),
        "appointments_waiting": float(totals["appointments_waiting"]),
        "supervisions_late": float(totals["supervisions_late"]),
        "site_visits": float(totals["site_visits"]),
        "site_encounters": float(totals["site_encounters"]),
        "peers_active_end": float(np.sum(model.p_status[:n] == E.ACTIVE)),
        "peers_recruited": peers,
        "cost_total": float(cost),
        "cost_per_linked_client": _share(float(cost), linked),
        "least_connected_contacted": _share(
            float(np.sum((ever[low] & E.EVER_CONTACTED) > 0)), float(np.sum(low))
        ),
        "min_subgroup_reach": float(np.min(cell_hit[present] / cell_size[present])),
        "age_band_evenness": _share(
            float(np.min(band_eng[bands] / band_size[bands])),
            _share(float(engaged_pop.sum()), float(engaged_pop.size)),
        ),
        "linked_share_close": _share(float(np.sum(close & lnk)), float(np.sum(close))),
        "linked_share_distant": _share(float(np.sum(distant & lnk)), float(np.sum(distant))),
        "linked_share_high_mistrust": _share(
            float(np.sum(eng & lnk & high)), float(np.sum(eng & high))
        ),
        "linked_share_low_mistrust": _share(
            float(np.sum(eng & lnk & ~high)), float(np.sum(eng & ~high))
        ),
    }


def interval(values: Sequence[float] | np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Mean and Student-t interval of the mean over replicates; NaN values are left out.

    The interval says where the expected value lies given the replicates run; it narrows as
    replicates grow, so differences between scenarios can be judged against it.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {
            "mean": float("nan"),
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "sd": float("nan"),
            "n": 0,
        }
    mean = float(x.mean())
    if x.size == 1:
        return {
            "mean": mean,
            "ci_low": float("nan"),
            "ci_high": float("nan"),
            "sd": float("nan"),
            "n": 1,
        }
    sd = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * sd / math.sqrt(x.size)
    return {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "sd": sd, "n": int(x.size)}


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
