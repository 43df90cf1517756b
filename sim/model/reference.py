"""The weekly dynamics of peer outreach in plain Python: the executable specification.

:class:`ReferenceModel` follows the same rules as :class:`sim.model.OutreachModel` and its numba
kernel :func:`sim.model.kernel.week`, written for reading rather than speed: Python lists, one loop
per phase, Python's own random generator. Tests check that both give the same distributions of
outcomes; benchmarks measure the engine against it. The world (graph and attributes), the
recruitment policies and the metrics are shared with the engine, so only the weekly dynamics
are compared.

One week, in order:

1. **Outreach.** Each working peer walks its network breadth-first up to ``reach_hops`` steps
   (distant peers reach friends of friends). A hidden client met at step ``h`` is contacted with
   chance ``p_contact x (1 - indirect_work_share) x hop_trust^(h-1) x label x
   (1 - stigma_effect x stigma)``, where ``label`` is ``label_trust_factor`` while the peer is
   labelled a snitch.
   The contact's trust is the kind's trust, lowered by distance, by the label and by
   ``subgroup_trust`` for each of gender and age band in which peer and client differ.
2. **Referral.** An engaged (or linked, or retained) client with coupons, whose peer is working,
   refers each hidden friend with chance ``p_refer_per_tie_week``, one coupon each; the friend is
   contacted on behalf of that peer, one step further from them.
3. **Online.** Each working peer makes a Poisson number of online attempts (mean
   ``online_contacts_per_peer_week x effort``) at persons drawn uniformly; a hidden client is
   contacted with chance equal to the online access of their locality (no stigma: nobody sees).
4. **Engagement.** A contacted client whose peer works and is under the caseload cap engages
   with chance ``p_engage x trust x (1 - stigma_effect x stigma)``; a new engaged client is a
   referrer (gets ``referral_coupons``) with chance ``p_referrer``. A client who does not engage
   loses contact with chance ``p_lose_contact_per_week`` and is hidden again.
5. **Linkage and retention**, clients in a random rotation so none always books first. An
   engaged client drops out with ``p_dropout_engaged_per_week``; otherwise, while appointment
   slots last, asks for one with ``p_seek_appointment_per_week`` and attends with ``p_attend``
   plus the ``attendance_boost`` of their peer's kind if the peer is working; attending links
   them and takes them off the peer's caseload. Linked or retained clients drop out with
   ``p_dropout_linked_per_week``; linked ones become retained after ``weeks_to_retained``.
6. **Well-being** (job demands-resources; Bakker & Demerouti 2007; Homer 1985 for the
   stock-and-flow energy model). A working peer spends ``demand_per_client_week`` per client in
   the caseload, ``crisis_cost`` per crisis (each client has one with ``p_crisis``), and
   ``stigma_event_cost`` if labelled a snitch (chance ``p_stigma_event x stigma``), which also
   lowers their contacts' trust for ``stigma_trust_weeks``. Resources restore a share of the
   missing energy: rest outside work, supervision when due (every ``supervision_every_weeks``,
   in a turn set by the person: week + person id) and a slot is free, team meetings,
   peer support when others work, compensation, and meaning from indirect work. Below
   ``exhaustion_threshold`` the peer is exhausted and rests; a resting peer recovers and returns
   at ``return_threshold``, or withdraws with ``p_withdraw_per_rest_week``.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import numpy as np

from sim.model import state as E
from sim.model.metrics import programme_cost, run_metrics
from sim.model.outreach import WEEKLY_SERIES, _Vacancy
from sim.model.recruitment import kind_streams, recruit, start_energies
from sim.model.scenario import Scenario
from sim.model.state import KIND_SECTIONS as _KINDS
from sim.model.world import World, build_world
from sim.streams import stream

__all__ = ["ReferenceModel"]


class ReferenceModel:
    """Plain-Python outreach model with the rules of the numba engine.

    Args:
        scenario: the validated scenario.
        replicate: replicate index (fixes the world and the random streams).
        world: a prebuilt world; built from the scenario if None.
    """

    def __init__(self, scenario: Scenario, replicate: int = 0, world: World | None = None):
        self.scenario = scenario
        self.world = world if world is not None else build_world(scenario, replicate)
        g = self.world.graph
        n = g.n_nodes
        self.neighbours = [g.indices[g.indptr[v]:g.indptr[v + 1]].tolist() for v in range(n)]
        self.locality = self.world.locality.tolist()
        self.gender = self.world.gender.tolist()
        self.age = self.world.age_band.tolist()
        self.random = random.Random(int(stream(scenario.run.seed, replicate, "reference")
                                        .integers(2**63)))
        self._recruit_streams = {kind: kind_streams(scenario.run.seed, replicate, kind)
                                 for kind in _KINDS}
        self.week = 0
        self.role = [E.CLIENT] * n
        self.cstate = [E.HIDDEN] * n
        self.ever = [0] * n
        self.peer_of = [-1] * n
        self.trust = [0.0] * n
        self.since = [0] * n
        self.coupons = [0] * n
        self.ekind = [0] * n
        self.peers: list[dict] = []
        self.totals = {"appointments": 0, "supervisions": 0, "team_meetings": 0,
                       "compensation": 0.0}
        self.vacancies = [_Vacancy(kind, 0) for kind, name in _KINDS.items()
                          for _ in range(getattr(scenario, name).count)]
        self.weekly: dict[str, list[float]] = {name: [] for name in WEEKLY_SERIES}
        self._fill_vacancies()
        self._record()

    def load_state(self, week: int, clients, peers) -> None:
        """Take over an engine's state, to run one phase of the week from it.

        Args:
            week: the week about to be simulated.
            clients: a :class:`~sim.model.state.ClientArrays` (copied).
            peers: a :class:`~sim.model.state.PeerArrays` (copied; rows become ``self.peers``).
        """
        self.week = week
        for name in ("role", "cstate", "ever", "peer_of", "trust", "since", "coupons", "ekind"):
            setattr(self, name, getattr(clients, name).tolist())
        self.peers = [
            {"node": int(node), "kind": int(kind), "status": int(status), "energy": float(energy),
             "caseload": int(load), "ever_exhausted": bool(tired), "label_until": int(until),
             "replaced": False}
            for node, kind, status, energy, load, tired, until in zip(
                peers.node, peers.kind, peers.status, peers.energy, peers.caseload,
                peers.ever_exhausted, peers.label_until, strict=True)]
        self.vacancies = []

    #: The phases of a week in order, by the names of :data:`sim.model.kernel.PHASES`.
    PHASES = ("outreach", "referral", "online", "engagement", "linkage", "wellbeing")

    def run_phase(self, name: str) -> None:
        """Run one phase of the week (see the module's description) on the current state."""
        if name not in self.PHASES:
            raise ValueError(f"phase: must be one of {', '.join(self.PHASES)}, got {name!r}")
        getattr(self, f"_{name}")()

    # ------------------------------------------------------------------ peers

    def _fill_vacancies(self) -> None:
        due = [v for v in self.vacancies if v.due_week <= self.week]
        if not due:
            return
        view = SimpleNamespace(role=np.array(self.role), cstate=np.array(self.cstate),
                               since=np.array(self.since), week=self.week, world=self.world)
        for kind, name in _KINDS.items():
            wanted = [v for v in due if v.kind == kind]
            if not wanted:
                continue
            nodes = recruit(view, getattr(self.scenario, name), len(wanted),
                            self._recruit_streams[kind])
            for node, vacancy in zip(nodes.tolist(), wanted, strict=False):
                self._add_peer(node, kind)
                view.role[node] = kind
                self.vacancies.remove(vacancy)

    def _add_peer(self, node: int, kind: int) -> None:
        w = self.scenario.wellbeing
        energy = float(start_energies(self._recruit_streams[kind], np.array([node]),
                                      w.energy_start, w.energy_start_spread)[0])
        self.peers.append({"node": node, "kind": kind, "status": E.ACTIVE, "energy": energy,
                           "caseload": 0, "ever_exhausted": False, "label_until": 0,
                           "replaced": False})
        j = self.peer_of[node]
        if j >= 0 and self.cstate[node] == E.ENGAGED:
            self.peers[j]["caseload"] -= 1
        self.role[node] = kind
        self.coupons[node] = 0

    def _kind(self, kind: int):
        return getattr(self.scenario, _KINDS[kind])

    def _subgroup_trust(self, a: int, b: int) -> float:
        factor = self.scenario.outreach.subgroup_trust
        t = 1.0
        if self.gender[a] != self.gender[b]:
            t *= factor
        if self.age[a] != self.age[b]:
            t *= factor
        return t

    def _stigma_factor(self, v: int) -> float:
        return 1.0 - self.scenario.outreach.stigma_effect * self.world.loc_stigma[self.locality[v]]

    def _contact(self, v: int, peer: int, trust: float) -> None:
        self.cstate[v] = E.CONTACTED
        self.ever[v] |= E.EVER_CONTACTED
        self.since[v] = self.week
        self.peer_of[v] = peer
        self.trust[v] = trust

    # ------------------------------------------------------------------ the week

    def step(self) -> None:
        """One week: recruitment, the six phases, replacement and the record."""
        self._fill_vacancies()
        for phase in self.PHASES:
            self.run_phase(phase)
        self.week += 1
        for p in self.peers:
            if p["status"] == E.WITHDRAWN and not p["replaced"]:
                p["replaced"] = True
                if self.scenario.policy.replace_withdrawn:
                    due = self.week + self.scenario.policy.replacement_delay_weeks
                    self.vacancies.append(_Vacancy(p["kind"], due))
        self._record()

    def run(self, weeks: int | None = None) -> None:
        """Run ``weeks`` weeks (default: the scenario's)."""
        for _ in range(self.scenario.run.weeks if weeks is None else weeks):
            self.step()

    def _outreach(self) -> None:
        o = self.scenario.outreach
        effort = 1.0 - self.scenario.wellbeing.indirect_work_share
        for i, peer in enumerate(self.peers):
            if peer["status"] != E.ACTIVE:
                continue
            kind = self._kind(peer["kind"])
            label = (self.scenario.wellbeing.label_trust_factor
                     if peer["label_until"] > self.week else 1.0)
            seen = {peer["node"]}
            frontier = [peer["node"]]
            for h in range(1, kind.reach_hops + 1):
                distance_trust = o.hop_trust ** (h - 1)
                next_frontier = []
                for u in frontier:
                    for v in self.neighbours[u]:
                        if v in seen:
                            continue
                        seen.add(v)
                        next_frontier.append(v)
                        if self.role[v] != E.CLIENT or self.cstate[v] != E.HIDDEN:
                            continue
                        similar = self._subgroup_trust(peer["node"], v)
                        p = (kind.p_contact_per_tie_week * effort * distance_trust * label
                             * similar * self._stigma_factor(v))
                        if self.random.random() < p:
                            self._contact(v, i, kind.trust * distance_trust * label * similar)
                frontier = next_frontier

    def _referral(self) -> None:
        o = self.scenario.outreach
        for v in range(len(self.role)):
            if self.coupons[v] <= 0 or self.cstate[v] < E.ENGAGED or self.role[v] != E.CLIENT:
                continue
            i = self.peer_of[v]
            if i < 0 or self.peers[i]["status"] != E.ACTIVE:
                continue
            peer = self.peers[i]
            for u in self.neighbours[v]:
                if self.coupons[v] <= 0:
                    break
                if self.role[u] != E.CLIENT or self.cstate[u] != E.HIDDEN:
                    continue
                if self.random.random() < o.p_refer_per_tie_week:
                    self.coupons[v] -= 1
                    trust = (self._kind(peer["kind"]).trust * o.hop_trust
                             * self._subgroup_trust(peer["node"], u))
                    self._contact(u, i, trust)

    def _online(self) -> None:
        o = self.scenario.outreach
        if o.online_contacts_per_peer_week <= 0:
            return
        mean = o.online_contacts_per_peer_week * (1.0 - self.scenario.wellbeing.indirect_work_share)
        n = len(self.role)
        for i, peer in enumerate(self.peers):
            if peer["status"] != E.ACTIVE:
                continue
            for _ in range(_poisson(self.random, mean)):
                v = self.random.randrange(n)
                if self.role[v] != E.CLIENT or self.cstate[v] != E.HIDDEN:
                    continue
                if self.random.random() < self.world.loc_online[self.locality[v]]:
                    self._contact(v, i, o.online_trust * self._subgroup_trust(peer["node"], v))

    def _engagement(self) -> None:
        o = self.scenario.outreach
        for v in range(len(self.role)):
            if self.cstate[v] != E.CONTACTED or self.role[v] != E.CLIENT:
                continue
            i = self.peer_of[v]
            engaged = False
            if i >= 0 and self.peers[i]["status"] == E.ACTIVE:
                peer = self.peers[i]
                cap = self._kind(peer["kind"]).caseload_cap
                if cap == 0 or peer["caseload"] < cap:
                    p = o.p_engage_per_week * self.trust[v] * self._stigma_factor(v)
                    if self.random.random() < p:
                        engaged = True
                        self.cstate[v] = E.ENGAGED
                        self.ever[v] |= E.EVER_ENGAGED
                        self.since[v] = self.week
                        peer["caseload"] += 1
                        self.ekind[v] = peer["kind"]
                        if self.random.random() < o.p_referrer:
                            self.coupons[v] = o.referral_coupons
            if not engaged and self.random.random() < o.p_lose_contact_per_week:
                self.cstate[v] = E.HIDDEN
                self.peer_of[v] = -1

    def _linkage(self) -> None:
        sv = self.scenario.services
        capacity = sv.professionals * sv.appointments_per_professional_week
        slots = int(capacity + self.random.random())
        n = len(self.role)
        start = self.random.randrange(n)
        for step in range(n):
            v = (start + step) % n
            if self.role[v] != E.CLIENT:
                continue
            i = self.peer_of[v]
            if self.cstate[v] == E.ENGAGED:
                if self.random.random() < sv.p_dropout_engaged_per_week:
                    self.cstate[v] = E.HIDDEN
                    self.coupons[v] = 0
                    if i >= 0:
                        self.peers[i]["caseload"] -= 1
                    self.peer_of[v] = -1
                    continue
                if slots > 0 and self.random.random() < sv.p_seek_appointment_per_week:
                    slots -= 1
                    self.totals["appointments"] += 1
                    p = sv.p_attend
                    if i >= 0 and self.peers[i]["status"] == E.ACTIVE:
                        p += self._kind(self.peers[i]["kind"]).attendance_boost
                    if self.random.random() < p:
                        self.cstate[v] = E.LINKED
                        self.ever[v] |= E.EVER_LINKED
                        self.since[v] = self.week
                        if i >= 0:
                            self.peers[i]["caseload"] -= 1
            elif self.cstate[v] in (E.LINKED, E.RETAINED):
                if self.random.random() < sv.p_dropout_linked_per_week:
                    self.cstate[v] = E.HIDDEN
                    self.coupons[v] = 0
                    self.peer_of[v] = -1
                elif (self.cstate[v] == E.LINKED
                      and self.week - self.since[v] >= sv.weeks_to_retained):
                    self.cstate[v] = E.RETAINED
                    self.ever[v] |= E.EVER_RETAINED

    def _wellbeing(self) -> None:
        s = self.scenario
        w = s.wellbeing
        every, team_every = w.supervision_every_weeks, w.team_meeting_every_weeks
        supervisions_left = int(s.services.professionals
                                * s.services.supervision_per_professional_week)
        team_meeting = (team_every > 0 and self.week % team_every == 0
                        and s.services.professionals > 0)
        working = sum(p["status"] == E.ACTIVE for p in self.peers)
        if team_meeting and working > 0:
            self.totals["team_meetings"] += 1
        for peer in self.peers:
            if peer["status"] == E.ACTIVE:
                kind = self._kind(peer["kind"])
                crises = sum(self.random.random() < w.p_crisis_per_client_week
                             for _ in range(peer["caseload"]))
                demand = w.demand_per_client_week * peer["caseload"] + w.crisis_cost * crises
                stigma = self.world.loc_stigma[self.locality[peer["node"]]]
                if self.random.random() < w.p_stigma_event_per_week * stigma:
                    demand += w.stigma_event_cost
                    peer["label_until"] = self.week + w.stigma_trust_weeks
                gain = w.recovery_per_week + w.meaning_gain * w.indirect_work_share
                if (every > 0 and (self.week + peer["node"]) % every == 0
                        and supervisions_left > 0):
                    supervisions_left -= 1
                    gain += w.supervision_gain
                    self.totals["supervisions"] += 1
                if team_meeting:
                    gain += w.team_meeting_gain
                if working >= 2:
                    gain += w.peer_support_gain
                if kind.compensation_per_week > 0:
                    gain += w.compensation_gain
                    self.totals["compensation"] += kind.compensation_per_week
                energy = peer["energy"] + gain * (1.0 - peer["energy"]) - demand
                peer["energy"] = min(1.0, max(0.0, energy))
                if peer["energy"] < w.exhaustion_threshold:
                    peer["status"] = E.RESTING
                    peer["ever_exhausted"] = True
            elif peer["status"] == E.RESTING:
                peer["energy"] = min(1.0, peer["energy"]
                                     + w.rest_recovery_per_week * (1.0 - peer["energy"]))
                if peer["energy"] >= w.return_threshold:
                    peer["status"] = E.ACTIVE
                elif self.random.random() < w.p_withdraw_per_rest_week:
                    peer["status"] = E.WITHDRAWN

    # ------------------------------------------------------------------ measures

    def cost(self) -> float:
        """Money spent so far, as :meth:`sim.model.OutreachModel.cost`."""
        return programme_cost(self.scenario.costs, self.totals)

    def _ever_all(self) -> list[int]:
        return [sum(1 for e in self.ever if e & flag) for flag in
                (E.EVER_CONTACTED, E.EVER_ENGAGED, E.EVER_LINKED, E.EVER_RETAINED)]

    def _record(self) -> None:
        rec = self.weekly
        for name, value in zip(("contacted", "engaged", "linked", "retained"), self._ever_all(),
                               strict=True):
            rec[name].append(value)
        clients = [s for s, r in zip(self.cstate, self.role, strict=True) if r == E.CLIENT]
        rec["engaged_now"].append(clients.count(E.ENGAGED))
        rec["linked_now"].append(clients.count(E.LINKED) + clients.count(E.RETAINED))
        for name, status in (("peers_active", E.ACTIVE), ("peers_resting", E.RESTING),
                             ("peers_withdrawn", E.WITHDRAWN)):
            rec[name].append(sum(p["status"] == status for p in self.peers))
        rec["peers_exhausted_ever"].append(sum(p["ever_exhausted"] for p in self.peers))
        rec["appointments"].append(self.totals["appointments"])
        rec["supervisions"].append(self.totals["supervisions"])
        rec["cost"].append(self.cost())

    def metrics(self) -> dict[str, float]:
        """The metrics of :data:`sim.model.metrics.METRICS`, computed as for the engine."""
        n = len(self.peers)
        view = SimpleNamespace(
            ever=np.array(self.ever, np.int8), role=np.array(self.role, np.int8),
            ekind=np.array(self.ekind, np.int8), world=self.world, n_peers=n,
            p_ever_exhausted=np.array([p["ever_exhausted"] for p in self.peers], bool),
            p_status=np.array([p["status"] for p in self.peers], np.int8),
            cost=self.cost)
        return run_metrics(view)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw by inversion (Knuth), as the engine draws it."""
    x = rng.random()
    term = math.exp(-mean)
    cdf = term
    k = 0
    while x > cdf and k < 10000:
        k += 1
        term *= mean / k
        cdf += term
    return k
