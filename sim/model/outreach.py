"""The outreach model: one Mesa model per replicate, its state held as arrays.

:class:`OutreachModel` owns one row per person (client state, who supports them, trust) and one
row per peer (kind, status, energy, caseload). Peers and professionals are Mesa agents that are
views over those rows; client agents are made only where someone looks (:meth:`client`). One
:meth:`OutreachModel.step` is one week: recruitment and replacement of peers in Python (rare
events), then the weekly dynamics in the numba kernel :func:`sim.model.kernel.week`. With
``events=True`` (or an :class:`~sim.model.events.EventRecorder`) it also records the run's
event history, one row per contact, engagement, referral, linkage, drop-out and change of a
peer's status (see :mod:`sim.model.events`), read with :meth:`OutreachModel.events`.
"""

from __future__ import annotations

from typing import Any, Literal

import mesa
import numpy as np

from sim.model import kernel as K
from sim.model import state as E
from sim.model.agents import Client, ClosePeer, DistantPeer, Professional
from sim.model.direct import DirectCall
from sim.model.events import EV_PEER_WITHDRAWN, NO_EVENTS, EventRecorder, log_event, new_log
from sim.model.recruitment.draws import kind_streams
from sim.model.recruitment.policies import recruit
from sim.model.scenario import PeerKind, Scenario
from sim.model.state import KIND_SECTIONS as _KINDS
from sim.model.state import salaried_hours_per_week
from sim.model.world import World, build_world, site_arrays
from sim.streams import stream, uint64_seeds

__all__ = ["WEEKLY_SERIES", "WEEKS_PER_YEAR", "OutreachModel", "initial_presence"]

#: Names of the weekly time series, in record order.
WEEKLY_SERIES = (
    "contacted",
    "engaged",
    "linked",
    "retained",  # unique clients so far
    "engaged_now",
    "linked_now",  # clients in that state this week
    "peers_active",
    "peers_resting",
    "peers_on_break",
    "peers_withdrawn",  # left the programme, any reason
    "peers_exhausted_ever",
    "appointments",
    "supervisions",
    "cost",  # cumulative
    "population",  # people in the population this week
)
#: Weeks in a year of results: a run longer than this is also reported year by year.
WEEKS_PER_YEAR = 52


class _EgoNetworks:
    """Every peer's ego network (everyone within reach) in growing CSR buffers.

    The graph is fixed, so a peer's reach is listed once when they join, grouped by the class
    of the entries (see :func:`sim.model.kernel.ego_network`); the weekly kernel then draws contacts
    from those lists instead of walking the graph. Buffers grow by doubling, so adding a peer
    costs its own ego network only.
    """

    def __init__(self, n_persons: int):
        self.work = K.empty_work_arrays(n_persons)
        self.visits = 0
        self.count = 0  # peers listed
        # Room for a few hundred peers from the start (untouched pages cost nothing), so the
        # first recruitment does not grow the buffers step by step.
        self.class_ptr = np.zeros(512 * E.N_EGO_CLASSES + 1, np.int64)
        self.nodes = np.zeros(1 << 16, np.int32)
        self._add = DirectCall(K.add_ego_networks)  # argument types fixed by the world

    def add(self, model: OutreachModel, nodes: np.ndarray, kind: int) -> None:
        """List the ego networks of new peers of one kind (the next rows), in one call."""
        g, w = model.world.graph, model.world
        hops = getattr(model.scenario, _KINDS[kind]).reach_hops
        srcs = np.asarray(nodes, np.int32)
        done = 0
        while done < srcs.size:  # straight into the buffers, grown when they are full
            listed, visit = self._add(
                g.indptr,
                g.indices,
                srcs[done:],
                hops,
                w.gender,
                w.age_band,
                *self.work,
                self.visits + 1,
                self.class_ptr,
                self.nodes,
                (self.count + done) * E.N_EGO_CLASSES,
            )
            self.visits = visit - 1
            done += listed
            if done < srcs.size:
                at = (self.count + done + 1) * E.N_EGO_CLASSES + 1
                if at > self.class_ptr.size:
                    self.class_ptr = np.concatenate([self.class_ptr, np.zeros_like(self.class_ptr)])
                else:
                    self.nodes = np.concatenate([self.nodes, np.zeros_like(self.nodes)])
        self.count += srcs.size

    def rebuild(self, model: OutreachModel) -> None:
        """List every peer's ego network again (after a change of reach)."""
        self.count = 0
        n = model.n_peers
        kinds = model.peers.kind[:n]
        # Peers join in runs of one kind; list each run with one call.
        starts = np.flatnonzero(np.diff(kinds, prepend=-1)) if n else np.zeros(0, int)
        for a, b in zip(starts, [*starts[1:], n], strict=True):
            self.add(model, model.peers.node[a:b], int(kinds[a]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """``(class_ptr, nodes)`` views for the kernel."""
        k = self.count * E.N_EGO_CLASSES
        return self.class_ptr[: k + 1], self.nodes[: int(self.class_ptr[k])]


def initial_presence(scenario: Scenario, replicate: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where each of a world's ``n`` people is at the start: ``(here, away_until)``.

    In a generated world a share ``d / (1 + d)`` of the people are dormant
    (``population.dormant_per_person`` = d); of the others, as many are in prison as the
    flows in and out of prison keep there (``q x prison_weeks / (1 + q x prison_weeks)``, q the
    weekly chance of going), each back after a geometric number of weeks. A graph file's
    people are all present. Drawn on the replicate's own ``population`` stream, the same for
    every policy (common random numbers).
    """
    here = np.full(n, E.PRESENT, np.int8)
    away_until = np.zeros(n, np.int32)
    rng = stream(scenario.run.seed, replicate, "population")
    u_dormant, u_away, u_back = rng.random(n), rng.random(n), rng.random(n)
    d = scenario.population.dormant_per_person
    if scenario.network.generator != "file" and d > 0:
        here[u_dormant < d / (1.0 + d)] = E.DORMANT
    t = scenario.turnover
    q = 1.0 - (1.0 - t.prison_per_year) ** (1.0 / 52.0) if t.prison_per_year < 1 else 1.0
    stay = q * t.prison_weeks
    away = (here == E.PRESENT) & (u_away < stay / (1.0 + stay))
    here[away] = E.AWAY
    if t.prison_weeks > 1.0:  # geometric on 1, 2, ... with mean prison_weeks, as the kernel's
        weeks = 1 + np.floor(np.log(np.maximum(u_back, 1e-300)) / np.log(1 - 1 / t.prison_weeks))
    else:
        weeks = np.ones(n)
    away_until[away] = weeks[away].astype(np.int32)
    return here, away_until


class OutreachModel(mesa.Model):
    """Peer outreach to a hidden population, one replicate, one week per step.

    Args:
        scenario: the validated scenario.
        replicate: replicate index; with ``scenario.run.seed`` it fixes every random stream.
        world: a prebuilt world (graph and attributes); built from the scenario if None.
        events: record the event history: True keeps it in memory (read it with
            :meth:`events`), an :class:`~sim.model.events.EventRecorder` receives it (one that
            streams to a Parquet file, for example); False (the default) records nothing.
            Recording changes no random draw: a run gives the same numbers either way.

    Attributes:
        week: weeks simulated so far (the programme's history included).
        start_week: the week the measured period starts (``run.history_weeks``): the
            metrics are the measured period's.
        cstate: client state of each person (``sim.model.state.HIDDEN`` .. ``RETAINED``).
        role: 0 for a client, ``sim.model.state.CLOSE`` or ``DISTANT`` for a peer,
            ``sim.model.state.ABSENT`` for a person not in the population now.
        here: where each person is (``sim.model.state.PRESENT``, ``DORMANT``, ``AWAY`` in
            prison, ``DEAD``).
        first_met, last_met: the week of each person's first and latest encounter with a
            peer (-1: never).
        peers: the peers' rows, a :class:`~sim.model.state.PeerFrame` (each column also read
            as ``p_<column>``: ``p_energy`` is ``peers.energy``).
        weekly: recorded time series, one list per name in :data:`WEEKLY_SERIES`.
        recorder: the :class:`~sim.model.events.EventRecorder`, or None.

    Examples:
        One replicate of a small scenario, four weeks:

        >>> from importlib.resources import files
        >>> from sim import OutreachModel, load_scenario
        >>> scenario = load_scenario(
        ...     files("sim.scenarios") / "baseline.toml",
        ...     {"population.size": 300, "run.weeks": 4},
        ... )
        >>> model = OutreachModel(scenario, replicate=0)
        >>> model.run()
        >>> model.week
        4
        >>> metrics = model.metrics()
        >>> 0 <= metrics["clients_engaged"] <= metrics["clients_contacted"] <= 300
        True
        >>> len(model.peer_nodes("close")) > 0
        True
    """

    def __init__(
        self,
        scenario: Scenario,
        replicate: int = 0,
        world: World | None = None,
        events: bool | EventRecorder = False,
    ):
        seed = scenario.run.seed
        super().__init__(rng=stream(seed, replicate, "mesa"))
        self.scenario = scenario
        self.replicate = replicate
        self.world = world if world is not None else build_world(scenario, replicate)
        n = self.world.n
        self.week = 0
        self.role = np.zeros(n, np.int8)
        self.cstate = np.zeros(n, np.int8)
        self.ever = np.zeros(n, np.int8)
        self.peer_of = np.full(n, -1, np.int32)
        self.trust = np.zeros(n, np.float64)
        self.since = np.zeros(n, np.int32)
        self.coupons = np.zeros(n, np.int32)
        self.ekind = np.zeros(n, np.int8)
        self.referrer = np.full(n, -1, np.int32)
        self.wave = np.zeros(n, np.int32)
        self.follow = np.zeros(n, np.int8)
        self.reached = np.zeros(n, np.int32)  # clients in contact (any state but hidden)
        self.reached_pos = np.full(n, -1, np.int32)
        self.fresh = np.zeros(n, np.int32)  # clients contacted, not yet engaged
        self.fresh_pos = np.full(n, -1, np.int32)
        self.holders = np.zeros(n, np.int32)  # clients holding coupons
        self.holders_pos = np.full(n, -1, np.int32)
        self.scratch = np.zeros(n, np.int32)
        self.book = np.zeros(E.N_BOOK, np.int64)
        self.here, self.away_until = initial_presence(scenario, replicate, n)
        self.first_met = np.full(n, -1, np.int32)
        self.last_met = np.full(n, -1, np.int32)
        self.role[self.here != E.PRESENT] = E.ABSENT
        present = int(np.count_nonzero(self.here == E.PRESENT))
        self.ever[self.here == E.PRESENT] |= E.EVER_PRESENT
        self.book[E.B_PRESENT] = self.book[E.B_SIZE] = present
        if events is True:
            events = EventRecorder(replicate)
        self.recorder: EventRecorder | None = events or None
        self._log = new_log(n) if self.recorder is not None else NO_EVENTS
        self._egos = _EgoNetworks(n)
        self._peer_view: E.PeerArrays | None = None
        self._peer_view_n = -1
        self.peers = E.PeerFrame(max(8, scenario.close_peers.count + scenario.distant_peers.count))
        # outreach workers: caseload, hours left, need; professionals: hours left, used
        self.team = np.zeros(E.TEAM_LEN, np.float64)
        self._peer_capacity = self._peer_rows(self.peers.capacity)  # for admitting new peers
        self._keys = E.make_keys(
            uint64_seeds(stream(seed, replicate, "kernel-keys"), len(E.Keys._fields))
        )
        self._recruit_streams = {kind: kind_streams(seed, replicate, kind) for kind in _KINDS}
        self._counters = np.zeros(E.N_COUNTERS, np.int64)
        # The kernels, called past numba's type dispatch (the arguments' types are fixed).
        self._week = DirectCall(K.week)
        self._admit = DirectCall(K.admit)
        w = self.world
        sites = site_arrays(w, scenario, replicate)
        self._world_arrays = E.WorldArrays(
            indptr=w.graph.indptr,
            indices=w.graph.indices,
            locality=w.locality,
            gender=w.gender,
            age=w.age_band,
            loc_stigma=w.loc_stigma,
            loc_online=w.loc_online,
            mistrust=w.mistrust,
            problems=w.problems,
            site_visits=sites.visits_per_week,
            site_open_hours=sites.open_hours_per_week,
            site_orbit_ptr=sites.orbit_ptr,
            site_orbit_nodes=sites.orbit_nodes,
            site_orbit_cum=sites.orbit_cum,
        )
        self._clients = E.ClientArrays(
            role=self.role,
            here=self.here,
            away_until=self.away_until,
            first_met=self.first_met,
            last_met=self.last_met,
            cstate=self.cstate,
            ever=self.ever,
            peer_of=self.peer_of,
            trust=self.trust,
            since=self.since,
            coupons=self.coupons,
            ekind=self.ekind,
            referrer=self.referrer,
            wave=self.wave,
            follow=self.follow,
            reached=self.reached,
            reached_pos=self.reached_pos,
            fresh=self.fresh,
            fresh_pos=self.fresh_pos,
            holders=self.holders,
            holders_pos=self.holders_pos,
            scratch=self.scratch,
            book=self.book,
            events=self._log,
        )
        self.totals = {
            "appointments": 0,
            "supervisions": 0,
            "team_meetings": 0,
            "house_calls": 0,
            "accompaniments": 0,
            "peer_hours": 0.0,
            "compensation": 0.0,
            "referrals": 0,
            "online_contacts": 0,
            "handed_off": 0,
            "site_visits": 0,
            "site_encounters": 0,
            "exhausted_ever": 0,
            "peer_weeks": 0,
            "salaried_hours": 0.0,
            "professional_hours_used": 0.0,
            "professional_hours_available": 0.0,
            "appointments_waiting": 0,
            "supervisions_late": 0,
            "encounters": 0,
            "entered": 0,
            "left_population": 0,
        }
        self.policy_changes: list[tuple[int, str, Any]] = []
        self._set_params()
        self.vacancies: list[E.Vacancy] = []
        for kind, name in _KINDS.items():
            self.vacancies += [E.Vacancy(kind, 0)] * getattr(scenario, name).count
        self._peer_agents: list[ClosePeer | DistantPeer] = []
        self.professionals = [Professional(self, j) for j in range(scenario.services.professionals)]
        self.weekly: dict[str, list[float]] = {name: [] for name in WEEKLY_SERIES}
        self._fill_vacancies()
        self._record()
        self.start_week = scenario.run.history_weeks
        #: Each finished year of the measured period: ``{"year", "weeks", "metrics"}``.
        self.closed_years: list[dict[str, Any]] = []
        self._mark: dict[str, Any] = {}
        if self.start_week == 0:
            self._start_measuring()

    # ------------------------------------------------------------------ periods

    def _snapshot(self) -> dict[str, Any]:
        """What a period's measures count from: the week, the totals and the running book."""
        return {"week": self.week, "totals": dict(self.totals), "book": self.book.tolist()}

    def _start_measuring(self) -> None:
        """The measured period starts now: what happened before is the programme's history.

        The path's flags of the history are kept apart (the period's counts are of people
        who took a step for the first time in it), and who is in the population at some time
        of the period starts from who is in it now.
        """
        self.ever_before = self.ever & E.EVER_PATH
        self.ever &= ~np.int8(E.EVER_PRESENT)
        self.ever[self.here == E.PRESENT] |= E.EVER_PRESENT
        self._mark = {"period": self._snapshot(), "year": self._snapshot()}

    def _close_year(self) -> None:
        """A year of the measured period has ended: its measures are kept."""
        from sim.model.metrics import period_metrics

        start = self._mark["year"]
        self.closed_years.append(
            {
                "year": len(self.closed_years) + 1,
                "weeks": self.week - start["week"],
                "metrics": period_metrics(self, start),
            }
        )
        self._mark["year"] = self._snapshot()

    def years(self) -> list[dict[str, Any]]:
        """The measured period year by year: each year's :data:`~sim.model.metrics.YEAR_METRICS`.

        Each item is ``{"year": 1, "weeks": 52, "metrics": {NAME: value}}``; a year not
        finished yet is the last item, with the weeks it has so far.
        """
        from sim.model.metrics import period_metrics

        out = list(self.closed_years)
        if self._mark and self.week > self._mark["year"]["week"]:
            start = self._mark["year"]
            out.append(
                {
                    "year": len(out) + 1,
                    "weeks": self.week - start["week"],
                    "metrics": period_metrics(self, start),
                }
            )
        return out

    # ------------------------------------------------------------------ parameters

    def _set_params(self) -> None:
        self._params = E.kernel_params(self.scenario)
        self._salaried_hours = salaried_hours_per_week(self.scenario)
        self._programme_hours = E.programme_hours_per_week(self.scenario)

    def set_policy(self, overrides: dict[str, Any]) -> None:
        """Change policies mid-run (dotted keys, as ``--set``), from the next week on.

        Peer counts take effect by opening vacancies (more peers) or letting the newest peers
        withdraw (fewer). The change is recorded in :attr:`policy_changes`.
        """
        old = self.scenario
        self.scenario = old.replace(overrides)
        self._set_params()
        self._week.forget()
        self._admit.forget()
        self._egos.rebuild(self)  # how far peers reach may have changed
        self._peer_view = None
        for kind, name in _KINDS.items():
            diff = getattr(self.scenario, name).count - getattr(old, name).count
            if diff > 0:
                self.vacancies += [E.Vacancy(kind, self.week)] * diff
            elif diff < 0:
                open_ = [v for v in self.vacancies if v.kind == kind]
                for v in open_[:-diff]:
                    self.vacancies.remove(v)
                    diff += 1
                pf = self.peers
                mine = [
                    i
                    for i in range(pf.count - 1, -1, -1)
                    if pf.kind[i] == kind and pf.status[i] != E.WITHDRAWN
                ]
                for i in mine[:-diff]:
                    pf.status[i] = E.WITHDRAWN
                    pf.left_reason[i] = E.LEFT_POLICY
                    pf.left_week[i] = self.week
                    pf.replaced[i] = True
                    log_event(self._log, self.week, EV_PEER_WITHDRAWN, int(pf.node[i]), i)
        wanted = self.scenario.services.professionals
        while len(self.professionals) > wanted:
            self.professionals.pop().remove()
        while len(self.professionals) < wanted:
            self.professionals.append(Professional(self, len(self.professionals)))
        for key, value in overrides.items():
            self.policy_changes.append((self.week, key, value))

    # ------------------------------------------------------------------ peers

    @property
    def peer_agents(self) -> list[ClosePeer | DistantPeer]:
        """Mesa agents viewing the peers' rows, made when first asked for.

        A run needs no agent objects; the visualisation and inspection do.
        """
        while len(self._peer_agents) < self.peers.count:
            row = len(self._peer_agents)
            cls = ClosePeer if self.peers.kind[row] == E.CLOSE else DistantPeer
            self._peer_agents.append(cls(self, row))
        return self._peer_agents

    @property
    def agents(self) -> mesa.agent.AgentSet:
        """All Mesa agents, the peers' views included."""
        _ = self.peer_agents
        return super().agents

    @property
    def n_peers(self) -> int:
        """Peers ever recruited (withdrawn ones included)."""
        return self.peers.count

    def peer_nodes(self, kind: Literal["close", "distant"]) -> np.ndarray:
        """The persons who are (or were) peers of one kind, in recruitment order.

        Args:
            kind: ``"close"`` or ``"distant"``.

        Returns:
            Their person ids (graph nodes), withdrawn peers included.
        """
        codes = {"close": E.CLOSE, "distant": E.DISTANT}
        if kind not in codes:
            raise ValueError(f"kind: must be 'close' or 'distant', got {kind!r}")
        n = self.peers.count
        return self.peers.node[:n][self.peers.kind[:n] == codes[kind]].copy()

    def available_hours(self) -> np.ndarray:
        """Each peer's hours for the week as the engine plans it (the rows in use).

        Their kind's ``hours_per_week``, tailored to the strength a professional last assessed
        (``services.tailoring``; not at all without professionals), before fixed commitments
        and the caseload's follow-up; whether the peer works this week is not asked.
        """
        n = self.peers.count
        return K.tailored_hours(self._params, self.peers.kind[:n], self.peers.strength[:n])

    def peer_arrays(self) -> E.PeerArrays:
        """The peers' rows in use, with their ego networks, as the kernel takes them.

        Views, made again only when peers join (the kernel changes their contents in place).
        """
        if self._peer_view is not None and self._peer_view_n == self.peers.count:
            return self._peer_view
        n = self.peers.count
        view = self._peer_rows(n)
        self._peer_view, self._peer_view_n = view, n
        return view

    def client_arrays(self) -> E.ClientArrays:
        """The persons' rows as the kernel takes them (views, changed in place by a week)."""
        return self._clients

    def world_arrays(self) -> E.WorldArrays:
        """The graph and attributes as the kernel takes them."""
        return self._world_arrays

    def _peer_rows(self, n: int) -> E.PeerArrays:
        """The first ``n`` peer rows (views) with the ego networks, as the kernel takes them."""
        class_ptr, nodes = self._egos.arrays()
        return self.peers.kernel_arrays(n, self.team, class_ptr, nodes)

    def _add_peers(self, nodes: np.ndarray, kind: int) -> None:
        """Make distinct persons ``nodes`` peers of one kind (the next peer rows)."""
        k = nodes.size
        if self.peers.grow(k):  # new buffers: the kernels' views and types are made again
            self._peer_view = None
            self._peer_capacity = self._peer_rows(self.peers.capacity)
            self._week.forget()
            self._admit.forget()
        w = self.scenario.wellbeing
        # A professional assesses a new peer's strength at induction (none without them); the
        # week's plan undoes it when the professionals' hours do not reach the new peer.
        self._admit(
            self._world_arrays,
            self._clients,
            self._peer_capacity,
            self._params,
            self.peers.count,
            np.asarray(nodes, np.int32),
            int(kind),
            self.week,
            np.uint64(self._recruit_streams[kind].energy_key),
            float(w.energy_start),
            float(w.energy_start_spread),
            float(w.vulnerability_sd),
            self.scenario.services.professionals > 0,
        )
        self._egos.add(self, nodes, kind)
        self.peers.count += k

    def _fill_vacancies(self) -> None:
        """Recruit for every vacancy that is due, by the kind's recruitment policy."""
        due = [v for v in self.vacancies if v.due_week <= self.week]
        if not due:
            return
        for kind, name in _KINDS.items():
            wanted = [v for v in due if v.kind == kind]
            if not wanted:
                continue
            pk: PeerKind = getattr(self.scenario, name)
            nodes = recruit(self, pk, len(wanted), self._recruit_streams[kind])
            self._add_peers(nodes, kind)
            filled, left = nodes.size, []
            for vacancy in self.vacancies:  # the first due ones of this kind are filled
                if filled and vacancy.kind == kind and vacancy.due_week <= self.week:
                    filled -= 1
                else:
                    left.append(vacancy)
            self.vacancies = left

    def _replace_leavers(self) -> None:
        """Open a vacancy for each peer who left this week (any reason), if the policy says so."""
        policy = self.scenario.policy
        pf = self.peers
        n = pf.count
        gone = np.flatnonzero((pf.status[:n] == E.WITHDRAWN) & ~pf.replaced[:n])
        for i in gone:
            pf.replaced[i] = True
            if policy.replace_withdrawn:
                due = self.week + policy.replacement_delay_weeks
                self.vacancies.append(E.Vacancy(int(pf.kind[i]), due))

    # ------------------------------------------------------------------ stepping

    def step(self) -> None:
        """Advance one week: recruitment, then the weekly dynamics, then the record."""
        self._fill_vacancies()
        c = self._counters
        self._week(
            self.week,
            self._world_arrays,
            self._clients,
            self.peer_arrays(),
            self._params,
            self._keys,
            c,
        )
        week = c.tolist()  # one conversion, then plain Python numbers
        t = self.totals
        t["appointments"] += week[E.C_APPOINTMENTS]
        t["supervisions"] += week[E.C_SUPERVISIONS]
        t["team_meetings"] += week[E.C_TEAM_MEETINGS]
        t["house_calls"] += week[E.C_HOUSE_CALLS]
        t["accompaniments"] += week[E.C_ACCOMPANIED]
        t["peer_hours"] += week[E.C_PEER_CENTIHOURS] / 100.0
        t["peer_weeks"] += week[E.C_PEER_WEEKS_PAID]
        t["salaried_hours"] += self._salaried_hours
        t["professional_hours_used"] += week[E.C_PROFESSIONAL_CENTIHOURS] / 100.0
        t["professional_hours_available"] += self._programme_hours
        t["appointments_waiting"] += week[E.C_APPOINTMENTS_WAITING]
        t["supervisions_late"] += week[E.C_SUPERVISIONS_LATE]
        t["compensation"] += week[E.C_COMPENSATION] / 100.0
        t["referrals"] += week[E.C_REFERRALS]
        t["online_contacts"] += week[E.C_ONLINE_CONTACTS]
        t["handed_off"] += week[E.C_HANDED_OFF]
        t["site_visits"] += week[E.C_SITE_VISITS]
        t["site_encounters"] += week[E.C_SITE_ENCOUNTERS]
        t["exhausted_ever"] += week[E.C_NEW_EXHAUSTED]
        t["encounters"] += week[E.C_ENCOUNTERS]
        t["entered"] += week[E.C_ENTERED]
        t["left_population"] += week[E.C_EXITED]
        if self.recorder is not None:
            self.recorder.take(self._log, self.peers.node)
        self.week += 1
        if week[E.C_LEFT]:
            self._replace_leavers()
        self._record(week)
        if self.week == self.start_week:
            self._start_measuring()
        elif self.week > self.start_week and (self.week - self.start_week) % WEEKS_PER_YEAR == 0:
            self._close_year()

    def run(self, weeks: int | None = None) -> None:
        """Run ``weeks`` weeks (default: the scenario's history, then its ``run.weeks``)."""
        if weeks is None:
            weeks = self.start_week + self.scenario.run.weeks - self.week
        for _ in range(weeks):
            self.step()

    # ------------------------------------------------------------------ measures

    def cost(self) -> float:
        """Money spent so far: peer compensation and professional hours."""
        from sim.model.metrics import programme_cost

        return programme_cost(self.scenario.costs, self.totals)

    def _record(self, week: list[int] | None = None) -> None:
        """Append this week to the weekly series, from the kernel's tallies.

        ``week`` is the kernel's counters, None before the first week; no pass over persons.
        """
        n = self.peers.count
        if week is None:
            week = [0] * E.N_COUNTERS
            week[E.C_ACTIVE] = n
        b = self.book.tolist()
        t = self.totals
        active, resting, away = week[E.C_ACTIVE], week[E.C_RESTING], week[E.C_ON_BREAK]
        values = (
            b[E.B_CONTACTED],
            b[E.B_ENGAGED],
            b[E.B_LINKED],
            b[E.B_RETAINED],
            week[E.C_NOW_ENGAGED],
            week[E.C_NOW_LINKED],
            active,
            resting,
            away,
            n - active - resting - away,
            t["exhausted_ever"],
            t["appointments"],
            t["supervisions"],
            self.cost(),
            b[E.B_PRESENT],
        )
        for name, value in zip(WEEKLY_SERIES, values, strict=True):
            self.weekly[name].append(value)

    def metrics(self) -> dict[str, float]:
        """The run's outcome measures (see ``sim.model.metrics.METRICS`` for their meaning)."""
        from sim.model.metrics import run_metrics

        return run_metrics(self)

    # ------------------------------------------------------------------ event history

    def events(self):
        """The event history so far as a pandas DataFrame (see :mod:`sim.model.events`).

        One row per event, in the order they happened: ``replicate``, ``week``, ``event``
        (categorical), ``person``, ``peer``, ``recruiter``, ``wave`` (the last three nullable).

        Raises:
            ValueError: the model records no events, or streams them to a file.
        """
        return self._recorder().frame()

    def event_table(self):
        """The event history so far as a pyarrow Table (needs pyarrow); see :meth:`events`."""
        return self._recorder().table()

    def _recorder(self) -> EventRecorder:
        if self.recorder is None:
            raise ValueError(
                "this model records no events: make it with "
                "OutreachModel(scenario, replicate, events=True)"
            )
        self.recorder.take(self._log, self.peers.node)  # recruitment before the first week
        return self.recorder

    # ------------------------------------------------------------------ inspection

    def client(self, node: int) -> Client:
        """A Mesa agent viewing one person's client state, made on demand."""
        return Client(self, int(node))


def _peer_column(name: str) -> property:
    return property(
        lambda self: getattr(self.peers, name),
        doc=f"The peers' ``{name}`` column of :attr:`OutreachModel.peers` (the whole "
        "buffer: the first :attr:`OutreachModel.n_peers` rows are in use).",
    )


# ``model.p_energy`` and the like read the peer frame's columns, for the measures, the page and
# the reference's comparisons, which take the reference model's lists under the same names.
for _name in E.PeerFrame.NAMES:
    setattr(OutreachModel, f"p_{_name}", _peer_column(_name))
del _name
