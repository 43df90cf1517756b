"""The weekly dynamics of peer outreach in plain Python: the executable specification.

:class:`ReferenceModel` follows the same rules as :class:`sim.model.OutreachModel` and its numba
kernel :func:`sim.model.kernel.week`, written for reading rather than speed: Python lists, one loop
per phase, Python's own random generator. Tests check that both give the same distributions of
outcomes; benchmarks measure the engine against it. The world (graph and attributes), the
recruitment policies and the metrics are shared with the engine, so only the weekly dynamics
are compared.

One week, in order:

0. **Population** (``[turnover]``). Each person in the population stops using (dormant),
   dies, goes to prison or moves away (dormant), at each rate's weekly chance ``1 - (1 -
   rate)^(1/52)``, one change at most; a person in prison comes back after a geometric number
   of weeks (mean ``prison_weeks``) drawn when they went. Then each dormant person enters
   with chance ``(size - present) / dormant`` (at most 1), ``size`` being the population at the
   start. A client who leaves is out of contact (out of their peer's caseload, no coupons,
   hidden) and looked for by no rule until they enter again; a peer's work does not change.
   A meeting (street, site, online, outreach workers) that falls on someone not in the
   population draws again, up to the kernel's ``MEETING_DRAWS`` times. Every meeting of a
   client with a peer is an encounter: a first contact, meeting a client in contact again on
   the street or at a site, an accompaniment, a house call, a hand-off's meeting.
1. **Plan** (the professionals' side). The professionals have ``professionals x
   professional_hours_per_week x (1 - outside_work_share)`` hours for the programme, spent in
   this order while they last: ``coordination_hours_per_peer_week`` for each enrolled peer;
   ``hours_per_linked_client_week`` for each client in services (linked or retained);
   a supervision (``hours_per_supervision``) for each working peer who is due (``supervision
   _every_weeks`` since their last, or since joining), most strained first (lowest judged
   energy, then person; ``supervision_order = 'turn'``: longest waiting first), those the
   hours do not reach waiting for a later week; ``hours_per_assessment`` for each peer who
   joined this week (by person), one the hours do not reach starting unassessed (strength 1).
   The professionals judge each working peer's energy with a normal error
   (``assessment_error_sd``, kept within [0, 1]); need is the judged energy, and a supervision
   is an assessment: the peer's strength becomes their judged energy. Each working peer's
   hours are their kind's ``hours_per_week`` times ``1 - tailoring x (1 - strength)`` (1 without
   professionals). First come supervision, a team meeting, training (a new peer's first
   ``training_weeks``, fewer by the strongest ``educator_effect`` of an experienced working
   peer), the ``indirect_work_share`` of the hours and ``hours_per_client_week`` per unit of
   the caseload's need (each client 1 plus ``problem_load`` per problem area); what does not
   fit waits. The outreach workers' team has ``count x
   hours_per_week`` less the follow-up of its caseload.
2. **Linkage and retention.** An engaged client drops out with ``p_dropout_engaged_per_week``;
   otherwise, if there are professionals, asks for an appointment with
   ``p_seek_appointment_per_week`` plus the ``interpreter_boost`` of a working peer's kind.
   Linked or retained clients drop out with ``p_dropout_linked_per_week``, times ``1 -
   retention_boost`` of a working peer's kind and ``1 - mirror_effect`` of each kind with a
   working peer; linked ones become retained after ``weeks_to_retained``. Then the askers, in a
   rotation from a random first one, within the professionals' hours the plan left: an office
   appointment (``hours_per_appointment``) while they last, attended with ``p_attend x
   (1 - mistrust_barrier x mistrust)``, plus the kind's ``attendance_boost`` if the peer has
   ``hours_per_accompaniment`` left to accompany them, whose company also removes
   ``accompaniment_bridge`` of the barrier (the outreach workers likewise from the team's
   hours, without the bridge); otherwise a house call if the professionals have
   ``hours_per_house_call`` left and the peer joins house calls and has those hours too,
   which links with ``p_link_house_call`` times the bridged barrier; otherwise the asker
   waits (and may ask again in a later week). A linked client leaves the caseload.
3. **Hand-off.** A working peer with engaged clients hands one of them (chosen at random) to
   a close peer with their kind's ``p_handoff`` a week (distant peers find, close peers at
   the site accompany: Osis). The receiver is a working close peer other than the giver,
   under the caseload cap, whose caseload's follow-up (``hours_per_client_week`` per unit of
   need) with this client fits in their weekly hours as tailored, and with
   ``hours_per_meeting`` left, of the client's locality if any such, else of any; chosen at
   random; they spend the meeting's hours and support the
   client from then on. The client's trust in the new peer is ``b + handoff_vouching x old
   trust x (1 - b)``, ``b`` the new kind's trust times the subgroup factor between client and
   new peer. Without a receiver the client stays. Givers draw first, then hand off in order.
4. **Online.** Each working peer makes a Poisson number of attempts (mean
   ``online_contacts_per_peer_week``), each taking ``hours_per_meeting`` while hours last, at
   persons drawn uniformly; a hidden client is contacted with chance equal to the online access
   of their locality (no stigma: nobody sees) times the mistrust kept (below).
5. **Outreach.** A working peer keeps ``hours_per_meeting`` for each referred contact waiting
   to be met, and with the hours left meets ``hours_left / hours_per_meeting``
   people (half as many when working in pairs), rounded up or down at random. A ``site_share``
   of the meetings (all, if no one is within reach) are at the service site of the peer's
   locality, as many as fit in its ``site_open_hours_per_week``; the others are with someone
   within ``reach_hops`` steps, chosen with weight ``hop_trust^(steps - 1) x
   subgroup_trust^(subgroups in which they differ)``. Each site has a Poisson number of
   visits a week (mean ``site_visits_per_week``), each by a person of its locality's service
   orbit, drawn in proportion to each person's visiting rate (gamma, mean 1, coefficient of
   variation ``site_visit_cv``), so people come back over the weeks, some often. The peers
   at the site share the visitors: a visit is met by one of them with chance in proportion
   to the site meetings they have left, and a person met once this week is not met again;
   when the peers' site meetings are used up, the rest of the visitors go unmet. A peer's
   site meetings that found no visitor are held with someone within reach, or, with no one,
   are not worked. A hidden
   client met becomes a contact with chance ``p_contact_per_meeting x label x (1 -
   stigma_effect x stigma) x mistrust kept``, where ``label`` is ``label_trust_factor`` while
   the peer is labelled a snitch and the mistrust kept is ``1 - mistrust_barrier x
   service_likeness x mistrust`` (the kind's share of the barrier against professionals);
   their trust is the kind's trust times the label and the tie's weight (none at a site).
   The outreach workers meet persons drawn uniformly with the team's hours; a
   hidden client becomes their contact with chance ``p_contact_per_meeting x (1 - stigma_effect
   x stigma) x (1 - mistrust_barrier x mistrust)``, at the workers' trust.
6. **Referral.** An engaged (or linked, or retained) client with coupons, whose peer is working,
   refers each hidden friend with chance ``p_refer_per_tie_week``, one coupon each; the coupon
   brings the friend to that peer: a contact with the referrer's trust in the peer times the
   subgroup factor between the two friends (a friend's word: no ``hop_trust`` step), in the
   next referral wave. The friend came, so the peer meets them at once: ``hours_per_meeting``
   from the hours left, or beyond them (as a crisis).
7. **Engagement.** A contact marked as waiting to be met (``follow``; referral marks none
   now) is met if their peer works and has ``hours_per_meeting`` left; until met they cannot
   engage. A contacted client whose peer
   works and is under the caseload cap (the kind's, times the peer's tailoring share, at least
   one) engages with chance ``p_engage x trust x (1 - stigma_effect x stigma) x mistrust
   kept``; a new engaged client of a peer is a referrer (gets ``referral_coupons``) with chance
   ``p_referrer``. The outreach workers' clients engage
   likewise within ``count x caseload_cap`` and get no coupons. A client who does not engage
   loses contact with chance ``p_lose_contact_per_week`` and is hidden again.
8. **Well-being and careers** (job demands-resources; Bakker & Demerouti 2007; Homer 1985 for
   the stock-and-flow energy model). First, an enrolled peer (working, resting or on a break)
   leaves for other work, health or prison, or a move, at each reason's weekly chance
   (``1 - (1 - rate)^(1/52)`` of its yearly ``[careers]`` rate). A working peer's crises: each
   client of the caseload has one with ``p_crisis x (1 - educator_effect)`` times the
   caseload's mean need, each adding ``hours_per_crisis``. Demands: ``demand_per_hour`` per
   hour worked, ``demand_per_client_week`` per client, ``crisis_cost`` per crisis,
   ``stigma_event_cost`` if labelled a snitch (chance ``p_stigma_event x stigma``; trust falls
   for ``stigma_trust_weeks``), ``stigma_demand_per_week x stigma`` for working where one is
   known, the kind's ``role_conflict_per_week``, and life events: a death among the clients
   and ties (each at the weekly chance of ``overdose_deaths_per_year``) costs
   ``bereavement_cost``, a relapse ``relapse_cost``, losing housing ``housing_loss_cost``, an
   arrest ``arrest_cost``; in pairs crises and stigma events cost ``pair_risk_factor`` of that.
   The week's demands are multiplied by the peer's lasting vulnerability (lognormal, mean 1,
   log-sd ``vulnerability_sd``, drawn once per person) and a weekly strain (lognormal, mean 1,
   log-sd ``strain_sd``). Resources restore a share of the missing energy: rest, supervision
   this week, a team meeting, peer support when others work, ``compensation_gain`` times the
   kind's ``pay_per_hour`` over ``fair_wage_per_hour`` (at most 1; pay is the hours worked
   times the pay an hour), ``meaning_gain x indirect_work_share``, and ``direct_meaning_gain``
   per client engaged or linked this week. Then one change of status at most: below
   ``exhaustion_threshold`` the peer is exhausted and rests; else an arrest ends in prison
   with ``p_prison_after_arrest`` (the peer leaves); else a relapse ends the work with
   ``p_leave_after_relapse`` or takes the peer out for a geometric number of weeks (mean
   ``relapse_break_weeks``); else the peer takes a break with chance ``breaks_per_year / 52``
   (mean ``break_weeks``). A resting peer recovers and returns at ``return_threshold``, or
   withdraws with ``p_withdraw_per_rest_week``; a peer on a break recovers as in rest and
   comes back when it ends. A peer who leaves, for any reason, is replaced after
   ``policy.replacement_delay_weeks`` if ``policy.replace_withdrawn``. When a peer stops
   working (any change of status but coming back), each of their engaged clients is lost
   (hidden again) with ``p_client_lost_when_peer_stops``, or else taken on by a working peer
   of either kind with room as in a hand-off (but no hours asked this week: they are spent),
   of the client's locality first, at random, with trust as in a hand-off; or, if none has room,
   waits for their peer.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace

import numpy as np

from sim.model import kernel as K
from sim.model import state as E
from sim.model.metrics import period_metrics, programme_cost, run_metrics
from sim.model.outreach import WEEKLY_SERIES, WEEKS_PER_YEAR, initial_presence
from sim.model.recruitment.draws import kind_streams, start_energies, vulnerabilities
from sim.model.recruitment.policies import recruit
from sim.model.scenario import Scenario
from sim.model.state import KIND_SECTIONS as _KINDS
from sim.model.state import salaried_hours_per_week
from sim.model.world import World, build_world, site_arrays
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
        self.neighbours = [g.indices[g.indptr[v] : g.indptr[v + 1]].tolist() for v in range(n)]
        self.locality = self.world.locality.tolist()
        self.gender = self.world.gender.tolist()
        self.age = self.world.age_band.tolist()
        self.mistrust = self.world.mistrust.tolist()
        self.problems = self.world.problems.tolist()
        sites = site_arrays(self.world, scenario, replicate)
        ptr = sites.orbit_ptr.tolist()
        #: Each locality's site: (mean visits a week, open hours, who may visit it, and the
        #: running sum of their visiting rates).
        self.sites = [
            (
                visits,
                hours,
                sites.orbit_nodes[ptr[loc] : ptr[loc + 1]].tolist(),
                sites.orbit_cum[ptr[loc] : ptr[loc + 1]].tolist(),
            )
            for loc, (visits, hours) in enumerate(
                zip(
                    sites.visits_per_week.tolist(),
                    sites.open_hours_per_week.tolist(),
                    strict=True,
                )
            )
        ]
        self.random = random.Random(
            int(stream(scenario.run.seed, replicate, "reference").integers(2**63))
        )
        self._recruit_streams = {
            kind: kind_streams(scenario.run.seed, replicate, kind) for kind in _KINDS
        }
        self.week = 0
        here, away_until = initial_presence(scenario, replicate, n)
        self.here = here.tolist()
        self.away_until = away_until.tolist()
        self.role = [E.CLIENT if h == E.PRESENT else E.ABSENT for h in self.here]
        self.cstate = [E.HIDDEN] * n
        self.ever = [E.EVER_PRESENT if h == E.PRESENT else 0 for h in self.here]
        self.size = self.here.count(E.PRESENT)  # the population's size at the start
        self.first_met = [-1] * n
        self.last_met = [-1] * n
        self.peer_of = [-1] * n
        self.trust = [0.0] * n
        self.since = [0] * n
        self.coupons = [0] * n
        self.ekind = [0] * n
        self.referrer = [-1] * n
        self.wave = [0] * n
        self.follow = [0] * n
        self.peers: list[dict] = []
        self.team = {"caseload": 0, "hours": 0.0, "need": 0.0}  # the outreach workers
        self.professional_hours = {"left": 0.0, "used": 0.0}  # this week's, for the programme
        self._egos: dict[tuple[int, int], tuple[list[int], list[float], list[float]]] = {}
        self.totals = {
            "appointments": 0,
            "supervisions": 0,
            "team_meetings": 0,
            "compensation": 0.0,
            "referrals": 0,
            "handed_off": 0,
            "site_visits": 0,
            "site_encounters": 0,
            "peer_hours": 0.0,
            "peer_weeks": 0,
            "salaried_hours": 0.0,
            "professional_hours_used": 0.0,
            "professional_hours_available": 0.0,
            "appointments_waiting": 0,
            "supervisions_late": 0,
            "accompaniments": 0,
            "encounters": 0,
        }
        self.vacancies = [
            E.Vacancy(kind, 0)
            for kind, name in _KINDS.items()
            for _ in range(getattr(scenario, name).count)
        ]
        self.weekly: dict[str, list[float]] = {name: [] for name in WEEKLY_SERIES}
        self._fill_vacancies()
        self._record()
        self.start_week = scenario.run.history_weeks
        self.closed_years: list[dict] = []
        self._mark: dict = {}
        if self.start_week == 0:
            self._start_measuring()

    def load_state(self, week: int, clients, peers) -> None:
        """Take over an engine's state, to run one phase of the week from it.

        Args:
            week: the week about to be simulated.
            clients: a :class:`~sim.model.state.ClientArrays` (copied).
            peers: a :class:`~sim.model.state.PeerArrays` (copied; rows become ``self.peers``).
        """
        self.week = week
        self.size = int(clients.book[E.B_SIZE])
        for name in (
            "role",
            "here",
            "away_until",
            "first_met",
            "last_met",
            "cstate",
            "ever",
            "peer_of",
            "trust",
            "since",
            "coupons",
            "ekind",
            "referrer",
            "wave",
            "follow",
        ):
            setattr(self, name, getattr(clients, name).tolist())
        self.peers = [
            {
                "node": int(node),
                "kind": int(kind),
                "status": int(status),
                "energy": float(energy),
                "caseload": int(load),
                "ever_exhausted": bool(tired),
                "label_until": int(until),
                "joined": int(joined),
                "strength": float(strength),
                "last_supervised": int(sup),
                "hours_left": float(left),
                "hours_worked": float(worked),
                "successes": int(done),
                "need": float(need),
                "pending": int(pending),
                "replaced": False,
                "vulnerability": float(vuln),
                "judged": float(judged),
                "break_until": int(back),
                "left_reason": int(why),
                "exhausted_week": int(tired_week),
                "left_week": int(left_week),
            }
            for (
                node,
                kind,
                status,
                energy,
                load,
                tired,
                until,
                joined,
                strength,
                sup,
                left,
                worked,
                done,
                need,
                pending,
                vuln,
                judged,
                back,
                why,
                tired_week,
                left_week,
            ) in zip(
                peers.node,
                peers.kind,
                peers.status,
                peers.energy,
                peers.caseload,
                peers.ever_exhausted,
                peers.label_until,
                peers.joined,
                peers.strength,
                peers.last_supervised,
                peers.hours_left,
                peers.hours_worked,
                peers.successes,
                peers.need,
                peers.pending,
                peers.vulnerability,
                peers.judged,
                peers.break_until,
                peers.left_reason,
                peers.exhausted_week,
                peers.left_week,
                strict=True,
            )
        ]
        self.team = {
            "caseload": int(peers.team[0]),
            "hours": float(peers.team[1]),
            "need": float(peers.team[2]),
        }
        self.professional_hours = {
            "left": float(peers.team[E.T_PROFESSIONAL_LEFT]),
            "used": float(peers.team[E.T_PROFESSIONAL_USED]),
        }
        self.vacancies = []

    #: The phases of a week in order, by the names of :data:`sim.model.kernel.PHASES`.
    PHASES = tuple(K.PHASES)

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
        view = SimpleNamespace(
            role=np.array(self.role),
            cstate=np.array(self.cstate),
            since=np.array(self.since),
            week=self.week,
            world=self.world,
            scenario=self.scenario,
        )
        for kind, name in _KINDS.items():
            wanted = [v for v in due if v.kind == kind]
            if not wanted:
                continue
            nodes = recruit(
                view, getattr(self.scenario, name), len(wanted), self._recruit_streams[kind]
            )
            for node, vacancy in zip(nodes.tolist(), wanted, strict=False):
                self._add_peer(node, kind)
                view.role[node] = kind
                self.vacancies.remove(vacancy)

    def _add_peer(self, node: int, kind: int) -> None:
        w = self.scenario.wellbeing
        energy = float(
            start_energies(
                self._recruit_streams[kind], np.array([node]), w.energy_start, w.energy_start_spread
            )[0]
        )
        vuln = float(
            vulnerabilities(self._recruit_streams[kind], np.array([node]), w.vulnerability_sd)[0]
        )
        assessed = self.scenario.services.professionals > 0  # induction by a professional
        self.peers.append(
            {
                "node": node,
                "kind": kind,
                "status": E.ACTIVE,
                "energy": energy,
                "caseload": 0,
                "ever_exhausted": False,
                "label_until": 0,
                "joined": self.week,
                "strength": energy if assessed else 1.0,
                "last_supervised": self.week,
                "hours_left": 0.0,
                "hours_worked": 0.0,
                "successes": 0,
                "need": 0.0,
                "pending": 0,
                "replaced": False,
                "vulnerability": vuln,
                "judged": energy,
                "break_until": 0,
                "left_reason": E.STAYING,
                "exhausted_week": -1,
                "left_week": -1,
            }
        )
        j = self.peer_of[node]
        if self.cstate[node] == E.ENGAGED:
            self._release(node)
        if self.follow[node] and j >= 0:
            self.peers[j]["pending"] -= 1
            self.follow[node] = 0
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

    def _mistrust_kept(self, v: int, likeness: float) -> float:
        """The share of a chance client ``v``'s mistrust leaves, facing ``likeness`` of services."""
        return 1.0 - self.scenario.services.mistrust_barrier * likeness * self.mistrust[v]

    def _attend_kept(self, v: int, bridged: bool) -> float:
        """The share of the chance to attend that mistrust leaves (less with a peer's company)."""
        sv = self.scenario.services
        barrier = sv.mistrust_barrier * self.mistrust[v]
        return 1.0 - barrier * ((1.0 - sv.accompaniment_bridge) if bridged else 1.0)

    def _need(self, v: int) -> float:
        return 1.0 + self.scenario.clients.problem_load * self.problems[v]

    def _stigma_factor(self, v: int) -> float:
        return 1.0 - self.scenario.outreach.stigma_effect * self.world.loc_stigma[self.locality[v]]

    def _encounter(self, v: int) -> None:
        """Client ``v`` meets a peer this week."""
        self.totals["encounters"] += 1
        if self.first_met[v] < 0:
            self.first_met[v] = self.week
        self.last_met[v] = self.week

    def _present(self, draw) -> int:
        """A person drawn by ``draw()``, drawn again while not in the population (a bound)."""
        v = draw()
        for _ in range(K.MEETING_DRAWS - 1):
            if self.here[v] == E.PRESENT:
                break
            v = draw()
        return v

    def _contact(self, v: int, peer: int, trust: float) -> None:
        self._encounter(v)
        self.cstate[v] = E.CONTACTED
        self.ever[v] |= E.EVER_CONTACTED
        self.since[v] = self.week
        self.peer_of[v] = peer
        self.trust[v] = trust
        self.referrer[v] = -1
        self.wave[v] = 0
        self.follow[v] = 0

    # ------------------------------------------------------------------ the week

    def step(self) -> None:
        """One week: recruitment, the eight phases, replacement and the record."""
        self._fill_vacancies()
        for phase in self.PHASES:
            self.run_phase(phase)
        self.totals["salaried_hours"] += salaried_hours_per_week(self.scenario)
        self.totals["professional_hours_used"] += self.professional_hours["used"]
        self.totals["professional_hours_available"] += E.programme_hours_per_week(self.scenario)
        self.week += 1
        for p in self.peers:
            if p["status"] == E.WITHDRAWN and not p["replaced"]:  # left, for any reason
                p["replaced"] = True
                if self.scenario.policy.replace_withdrawn:
                    due = self.week + self.scenario.policy.replacement_delay_weeks
                    self.vacancies.append(E.Vacancy(p["kind"], due))
        self._record()
        if self.week == self.start_week:
            self._start_measuring()
        elif self.week > self.start_week and (self.week - self.start_week) % WEEKS_PER_YEAR == 0:
            view = self._view()
            start = self._mark["year"]
            self.closed_years.append(
                {
                    "year": len(self.closed_years) + 1,
                    "weeks": self.week - start["week"],
                    "metrics": period_metrics(view, start),
                }
            )
            self._mark["year"] = self._snapshot()

    def _snapshot(self) -> dict:
        book = [0] * E.N_BOOK
        book[E.B_CONTACTED : E.B_RETAINED + 1] = self._ever_all()
        return {"week": self.week, "totals": dict(self.totals), "book": book}

    def _start_measuring(self) -> None:
        """As the engine: the measured period starts, the history's path kept apart."""
        self.ever_before = [e & E.EVER_PATH for e in self.ever]
        self.ever = [
            (e & ~E.EVER_PRESENT) | (E.EVER_PRESENT if h == E.PRESENT else 0)
            for e, h in zip(self.ever, self.here, strict=True)
        ]
        self._mark = {"period": self._snapshot(), "year": self._snapshot()}

    def run(self, weeks: int | None = None) -> None:
        """Run ``weeks`` weeks (default: the scenario's history, then its weeks)."""
        if weeks is None:
            weeks = self.start_week + self.scenario.run.weeks - self.week
        for _ in range(weeks):
            self.step()

    def _population(self) -> None:
        t = self.scenario.turnover
        q = self._weekly_chance
        leave = (
            (E.DORMANT, q(t.stop_per_year)),
            (E.DEAD, q(t.deaths_per_year)),
            (E.AWAY, q(t.prison_per_year)),
            (E.DORMANT, q(t.move_away_per_year)),
        )
        present = 0
        for v, where in enumerate(self.here):
            if where == E.PRESENT:
                u = self.random.random()
                for goes, chance in leave:
                    if u < chance:
                        self._leaves(v, goes)
                        if goes == E.AWAY:
                            self.away_until[v] = self.week + self._break_weeks(t.prison_weeks)
                        break
                    u -= chance
                else:
                    present += 1
            elif where == E.AWAY and self.away_until[v] <= self.week:
                self._enters(v)
                present += 1
        dormant = self.here.count(E.DORMANT)
        if dormant and self.size > present:
            chance = min(1.0, (self.size - present) / dormant)
            for v, where in enumerate(self.here):
                if where == E.DORMANT and self.random.random() < chance:
                    self._enters(v)

    def _leaves(self, v: int, where: int) -> None:
        self.here[v] = where
        if self.role[v] != E.CLIENT:
            return
        if self.cstate[v] == E.ENGAGED:
            self._release(v)
        i = self.peer_of[v]
        if self.follow[v] and i >= 0:
            self.peers[i]["pending"] -= 1
        self.follow[v] = 0
        self.cstate[v] = E.HIDDEN
        self.peer_of[v] = -1
        self.coupons[v] = 0
        self.role[v] = E.ABSENT

    def _enters(self, v: int) -> None:
        self.here[v] = E.PRESENT
        self.ever[v] |= E.EVER_PRESENT
        if self.role[v] == E.ABSENT:
            self.role[v] = E.CLIENT

    def _tailor(self, peer: dict) -> float:
        if self.scenario.services.professionals > 0:
            return 1.0 - self.scenario.services.tailoring * (1.0 - peer["strength"])
        return 1.0

    def _supervised(self, peer: dict) -> bool:
        return peer["last_supervised"] == self.week and peer["joined"] < self.week

    def _team_meeting(self) -> bool:
        every = self.scenario.wellbeing.team_meeting_every_weeks
        return every > 0 and self.week % every == 0 and self.scenario.services.professionals > 0

    def _plan(self) -> None:
        s = self.scenario
        sv, wk = s.services, s.work
        for peer in self.peers:
            peer["hours_left"] = peer["hours_worked"] = 0.0
            peer["successes"] = 0
        working = [p for p in self.peers if p["status"] == E.ACTIVE]
        error = s.wellbeing.assessment_error_sd
        for peer in working:  # the professionals judge each working peer's energy
            judged = peer["energy"] + error * self.random.gauss(0.0, 1.0)
            peer["judged"] = min(1.0, max(0.0, judged))
        hours = self.professional_hours
        hours["left"] = E.programme_hours_per_week(s) if sv.professionals > 0 else 0.0
        hours["used"] = 0.0
        enrolled = sum(p["status"] != E.WITHDRAWN for p in self.peers)
        self._professional(enrolled * sv.coordination_hours_per_peer_week)  # coordination first
        in_services = sum(
            1
            for r, st in zip(self.role, self.cstate, strict=True)
            if r == E.CLIENT and st in (E.LINKED, E.RETAINED)
        )
        self._professional(in_services * sv.hours_per_linked_client_week)  # then their clients
        every = s.wellbeing.supervision_every_weeks
        if every > 0 and sv.professionals > 0:
            due = [p for p in working if self.week - p["last_supervised"] >= every]
            if sv.supervision_order == "need":
                due.sort(key=lambda p: (p["judged"], p["node"]))
            else:
                due.sort(key=lambda p: (p["last_supervised"], p["node"]))
            if wk.hours_per_supervision > 0:
                held = min(len(due), int(hours["left"] / wk.hours_per_supervision + 1e-9))
            else:
                held = len(due)
            for peer in due[:held]:
                peer["last_supervised"] = self.week
                peer["strength"] = peer["judged"]
                self.totals["supervisions"] += 1
            self._professional(held * wk.hours_per_supervision)
            self.totals["supervisions_late"] += len(due) - held  # they wait for a later week
        if sv.professionals > 0:
            new = sorted((p for p in working if p["joined"] == self.week), key=lambda p: p["node"])
            for peer in new:  # induction: assessed while the hours last
                if hours["left"] + 1e-9 >= sv.hours_per_assessment:
                    self._professional(sv.hours_per_assessment)
                else:
                    peer["strength"] = 1.0  # unassessed: the kind's hours until supervised
        meeting = self._team_meeting()
        if meeting and working:
            self.totals["team_meetings"] += 1
        experienced = [
            self._kind(p["kind"]).educator_effect
            for p in working
            if self.week - p["joined"] >= wk.training_weeks
        ]
        training = wk.training_weeks * (1.0 - max(experienced, default=0.0))
        for peer in working:
            budget = self._kind(peer["kind"]).hours_per_week * self._tailor(peer)
            need = (
                s.wellbeing.indirect_work_share * budget + peer["need"] * wk.hours_per_client_week
            )
            if self._supervised(peer):
                need += wk.hours_per_supervision
            if meeting:
                need += wk.hours_per_team_meeting
            if self.week - peer["joined"] < training:
                need += wk.training_hours_per_week
            peer["hours_worked"] = min(budget, need)
            peer["hours_left"] = budget - peer["hours_worked"]
        ow = s.outreach_workers
        self.team["hours"] = (
            max(0.0, ow.count * ow.hours_per_week - self.team["need"] * wk.hours_per_client_week)
            if ow.count > 0
            else 0.0
        )

    def _professional(self, hours: float) -> None:
        """Spend up to ``hours`` of the professionals' programme hours left this week."""
        took = min(hours, self.professional_hours["left"])
        self.professional_hours["left"] -= took
        self.professional_hours["used"] += took

    def _spend(self, peer: dict, hours: float) -> bool:
        if peer["hours_left"] >= hours:
            peer["hours_left"] -= hours
            peer["hours_worked"] += hours
            return True
        return False

    def _not_worked(self, peer: dict, hours: float) -> None:
        """Meetings that found no one: their hours go back, not worked."""
        hours = min(peer["hours_worked"], hours)
        peer["hours_worked"] -= hours
        peer["hours_left"] += hours

    def _ego(self, peer: dict) -> tuple[list[int], list[float]]:
        """Everyone within reach of a peer, and the weight of meeting each."""
        node, hops = peer["node"], self._kind(peer["kind"]).reach_hops
        if (node, hops) not in self._egos:
            o = self.scenario.outreach
            seen, frontier, entries, weights = {node}, [node], [], []
            for h in range(1, hops + 1):
                nxt = []
                for u in frontier:
                    for v in self.neighbours[u]:
                        if v not in seen:
                            seen.add(v)
                            nxt.append(v)
                            differ = (self.gender[v] != self.gender[node]) + (
                                self.age[v] != self.age[node]
                            )
                            entries.append(v)
                            weights.append(o.hop_trust ** (h - 1) * o.subgroup_trust**differ)
                frontier = nxt
            self._egos[node, hops] = (entries, weights)
        return self._egos[node, hops]

    def _contact_chance(self, v: int, kind, label: float) -> float:
        return (
            kind.p_contact_per_meeting
            * label
            * self._stigma_factor(v)
            * self._mistrust_kept(v, kind.service_likeness)
        )

    def _meet_within_reach(self, i: int, peer: dict, label: float) -> None:
        kind = self._kind(peer["kind"])
        entries, weights = self._ego(peer)
        j = self.random.choices(range(len(entries)), weights)[0]
        for _ in range(K.MEETING_DRAWS - 1):  # someone in the population instead
            if self.here[entries[j]] == E.PRESENT:
                break
            j = self.random.choices(range(len(entries)), weights)[0]
        v = entries[j]
        if self.role[v] != E.CLIENT:
            return
        if self.cstate[v] != E.HIDDEN:
            self._encounter(v)
            return
        if self.random.random() < self._contact_chance(v, kind, label):
            self._contact(v, i, kind.trust * label * weights[j])

    def _label(self, peer: dict) -> float:
        labelled = peer["label_until"] > self.week
        return self.scenario.wellbeing.label_trust_factor if labelled else 1.0

    def _outreach(self) -> None:
        s = self.scenario
        wk = s.work
        site_left: dict[int, int] = {}  # peer index: site meetings not yet held
        for i, peer in enumerate(self.peers):
            if peer["status"] != E.ACTIVE or peer["hours_left"] <= 0:
                continue
            kind = self._kind(peer["kind"])
            entries, weights = self._ego(peer)
            reach = bool(entries) and sum(weights) > 0
            if not reach and kind.site_share <= 0:
                continue
            per_meeting = wk.hours_per_meeting * (2 if kind.works_in_pairs else 1)
            visits, open_hours, visitors, _ = self.sites[self.locality[peer["node"]]]
            capacity = int(open_hours / per_meeting) if visits > 0 and visitors else 0
            keep = min(peer["hours_left"], peer["pending"] * wk.hours_per_meeting)
            street = peer["hours_left"] - keep
            tries = int(street / per_meeting + self.random.random())
            peer["hours_worked"] += street
            peer["hours_left"] = keep
            label = self._label(peer)
            at_site = idle = 0
            for _ in range(tries):
                if not reach or self.random.random() < kind.site_share:
                    if at_site < capacity:
                        at_site += 1  # held at the site, with a visitor if one comes
                        continue
                    if not reach:
                        idle += 1
                        continue
                self._meet_within_reach(i, peer, label)
            self._not_worked(peer, idle * per_meeting)
            site_left[i] = at_site
        met: set[int] = set()
        for loc, (mean, _, visitors, rates_cum) in enumerate(self.sites):
            if mean <= 0 or not visitors:
                continue
            # In parts of mean at most 400, as the engine draws it (a sum of Poissons is one).
            parts = math.ceil(mean / 400.0)
            visits = sum(_poisson(self.random, mean / parts) for _ in range(parts))
            self.totals["site_visits"] += visits
            here = [i for i in site_left if self.locality[self.peers[i]["node"]] == loc]
            for _ in range(visits):
                open_ = [i for i in here if site_left[i] > 0]
                if not open_:
                    break
                v = self._present(
                    lambda: self.random.choices(visitors, cum_weights=rates_cum)[0]  # noqa: B023
                )
                if self.role[v] != E.CLIENT or v in met:
                    continue
                i = self.random.choices(open_, [site_left[i] for i in open_])[0]
                site_left[i] -= 1
                met.add(v)
                self.totals["site_encounters"] += 1
                peer = self.peers[i]
                kind, label = self._kind(peer["kind"]), self._label(peer)
                if self.cstate[v] != E.HIDDEN:
                    self._encounter(v)
                elif self.random.random() < self._contact_chance(v, kind, label):
                    self._contact(v, i, kind.trust * label)
        for i, unmet in site_left.items():
            peer = self.peers[i]
            kind = self._kind(peer["kind"])
            if not unmet:
                continue
            if sum(self._ego(peer)[1]) <= 0:
                per_meeting = wk.hours_per_meeting * (2 if kind.works_in_pairs else 1)
                self._not_worked(peer, unmet * per_meeting)
                continue
            label = self._label(peer)
            for _ in range(unmet):
                self._meet_within_reach(i, peer, label)
        ow = s.outreach_workers
        if ow.count > 0 and self.team["hours"] > 0:
            tries = int(self.team["hours"] / wk.hours_per_meeting + self.random.random())
            self.team["hours"] = 0.0
            for _ in range(tries):
                v = self._present(lambda: self.random.randrange(len(self.role)))
                if self.role[v] != E.CLIENT or self.cstate[v] != E.HIDDEN:
                    continue
                if self.random.random() < (
                    ow.p_contact_per_meeting * self._stigma_factor(v) * self._mistrust_kept(v, 1.0)
                ):
                    self._contact(v, E.TEAM, ow.trust)

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
                    self.totals["referrals"] += 1
                    trust = self.trust[v] * self._subgroup_trust(v, u)  # on a friend's word
                    self._contact(u, i, trust)
                    self.referrer[u] = v
                    self.wave[u] = self.wave[v] + 1
                    # The friend came: met at once, beyond the week's hours if need be.
                    meeting = self.scenario.work.hours_per_meeting
                    peer["hours_left"] -= min(peer["hours_left"], meeting)
                    peer["hours_worked"] += meeting

    def _online(self) -> None:
        o = self.scenario.outreach
        if o.online_contacts_per_peer_week <= 0:
            return
        n = len(self.role)
        for i, peer in enumerate(self.peers):
            if peer["status"] != E.ACTIVE:
                continue
            for _ in range(_poisson(self.random, o.online_contacts_per_peer_week)):
                if not self._spend(peer, self.scenario.work.hours_per_meeting):
                    break
                v = self._present(lambda: self.random.randrange(n))  # noqa: B023
                if self.role[v] != E.CLIENT or self.cstate[v] != E.HIDDEN:
                    continue
                kind = self._kind(peer["kind"])
                if self.random.random() < (
                    self.world.loc_online[self.locality[v]]
                    * self._mistrust_kept(v, kind.service_likeness)
                ):
                    self._contact(v, i, o.online_trust * self._subgroup_trust(peer["node"], v))

    def _engagement(self) -> None:
        o = self.scenario.outreach
        ow = self.scenario.outreach_workers
        for v in range(len(self.role)):
            if self.cstate[v] != E.CONTACTED or self.role[v] != E.CLIENT:
                continue
            i = self.peer_of[v]
            engaged = False
            p = o.p_engage_per_week * self.trust[v] * self._stigma_factor(v)
            if (
                self.follow[v]
                and i >= 0
                and self.peers[i]["status"] == E.ACTIVE
                and self._spend(self.peers[i], self.scenario.work.hours_per_meeting)
            ):
                self.follow[v] = 0  # the peer meets the referred friend
                self.peers[i]["pending"] -= 1
            if self.follow[v]:
                pass  # not met yet: cannot engage this week
            elif i >= 0 and self.peers[i]["status"] == E.ACTIVE:
                peer = self.peers[i]
                p *= self._mistrust_kept(v, self._kind(peer["kind"]).service_likeness)
                if self._has_room(peer) and self.random.random() < p:
                    engaged = True
                    peer["caseload"] += 1
                    peer["need"] += self._need(v)
                    peer["successes"] += 1
                    self.ekind[v] = peer["kind"]
                    if self.random.random() < o.p_referrer:
                        self.coupons[v] = o.referral_coupons
            elif i == E.TEAM and ow.count > 0:
                cap = ow.count * ow.caseload_cap
                p *= self._mistrust_kept(v, 1.0)
                if (cap == 0 or self.team["caseload"] < cap) and self.random.random() < p:
                    engaged = True
                    self.team["caseload"] += 1
                    self.team["need"] += self._need(v)
                    self.ekind[v] = E.WORKER
            if engaged:
                self.cstate[v] = E.ENGAGED
                self.ever[v] |= E.EVER_ENGAGED
                self.since[v] = self.week
            elif self.random.random() < o.p_lose_contact_per_week:
                if self.follow[v]:
                    self.follow[v] = 0
                    self.peers[i]["pending"] -= 1
                self.cstate[v] = E.HIDDEN
                self.peer_of[v] = -1

    def _supporter(self, v: int) -> dict | None:
        """The working peer who supports client ``v``, if any."""
        i = self.peer_of[v]
        if i >= 0 and self.peers[i]["status"] == E.ACTIVE:
            return self.peers[i]
        return None

    def _release(self, v: int) -> None:
        """Client ``v`` leaves their peer's (or the team's) caseload."""
        i = self.peer_of[v]
        if i >= 0:
            self.peers[i]["caseload"] -= 1
            self.peers[i]["need"] -= self._need(v)
        elif i == E.TEAM:
            self.team["caseload"] -= 1
            self.team["need"] -= self._need(v)

    def _has_room(self, peer: dict) -> bool:
        """Whether a peer is under their caseload cap (their kind's, tailored; 0: none)."""
        cap = self._kind(peer["kind"]).caseload_cap
        if cap > 0:
            cap = max(1, math.ceil(cap * self._tailor(peer)))
        return cap == 0 or peer["caseload"] < cap

    def _receiver(self, v: int, giver: int, kind: int | None, hours: float) -> int:
        """The peer who takes client ``v`` on from peer ``giver``, or -1 if none can.

        A working peer other than the giver (of ``kind``, if given), under their caseload cap,
        whose caseload's follow-up with this client fits in their weekly hours (as tailored),
        with ``hours`` left this week; those of the client's locality first, then one at random.
        """
        per_client = self.scenario.work.hours_per_client_week
        room = [
            j
            for j, peer in enumerate(self.peers)
            if j != giver
            and peer["status"] == E.ACTIVE
            and (kind is None or peer["kind"] == kind)
            and peer["hours_left"] >= hours
            and self._has_room(peer)
            and (peer["need"] + self._need(v)) * per_client
            <= self._kind(peer["kind"]).hours_per_week * self._tailor(peer)
        ]
        local = [j for j in room if self.locality[self.peers[j]["node"]] == self.locality[v]]
        choices = local or room
        return self.random.choice(choices) if choices else -1

    def _take_on(self, v: int, j: int) -> None:
        """Engaged client ``v`` moves to peer ``j``'s caseload, trusting them as the rule says."""
        self._release(v)
        peer = self.peers[j]
        base = self._kind(peer["kind"]).trust * self._subgroup_trust(v, peer["node"])
        vouching = self.scenario.outreach.handoff_vouching
        self.trust[v] = base + vouching * self.trust[v] * (1.0 - base)
        self.peer_of[v] = j
        peer["caseload"] += 1
        peer["need"] += self._need(v)
        self.totals["handed_off"] += 1

    def _handoff(self) -> None:
        hours = self.scenario.work.hours_per_meeting
        givers = []
        for i, peer in enumerate(self.peers):
            p = self._kind(peer["kind"]).p_handoff
            if peer["status"] != E.ACTIVE or peer["caseload"] <= 0 or p <= 0:
                continue
            if self.random.random() >= p:
                continue
            mine = [
                v
                for v in range(len(self.role))
                if self.peer_of[v] == i and self.cstate[v] == E.ENGAGED and self.role[v] == E.CLIENT
            ]
            givers.append((i, self.random.choice(mine)))
        for i, v in givers:
            j = self._receiver(v, i, E.CLOSE, hours)
            if j >= 0:
                self._spend(self.peers[j], hours)
                self._take_on(v, j)
                self._encounter(v)  # the new peer meets the client

    def _peer_stops(self, peer: dict) -> None:
        """A peer stopped working: each engaged client is lost, taken on, or waits."""
        i = self.peers.index(peer)
        lost = self.scenario.outreach.p_client_lost_when_peer_stops
        for v in range(len(self.role)):
            if self.peer_of[v] != i or self.cstate[v] != E.ENGAGED or self.role[v] != E.CLIENT:
                continue
            if self.random.random() < lost:
                self._release(v)
                self.cstate[v] = E.HIDDEN
                self.coupons[v] = 0
                self.peer_of[v] = -1
                continue
            j = self._receiver(v, i, None, 0.0)
            if j >= 0:
                self._take_on(v, j)

    def _linkage(self) -> None:
        s = self.scenario
        sv, wk, ow = s.services, s.work, s.outreach_workers
        hours = self.professional_hours  # what the plan left of the professionals' hours
        mirror_kept = 1.0
        for kind in _KINDS:
            if any(p["kind"] == kind and p["status"] == E.ACTIVE for p in self.peers):
                mirror_kept *= 1.0 - self._kind(kind).mirror_effect
        askers = []
        for v in range(len(self.role)):
            if self.role[v] != E.CLIENT:
                continue
            peer = self._supporter(v)
            kind = self._kind(peer["kind"]) if peer else None
            if self.cstate[v] == E.ENGAGED:
                if self.random.random() < sv.p_dropout_engaged_per_week:
                    self._release(v)
                    self.cstate[v] = E.HIDDEN
                    self.coupons[v] = 0
                    self.peer_of[v] = -1
                    continue
                p = sv.p_seek_appointment_per_week + (kind.interpreter_boost if kind else 0.0)
                if sv.professionals > 0 and self.random.random() < p:
                    askers.append(v)
            elif self.cstate[v] in (E.LINKED, E.RETAINED):
                p = sv.p_dropout_linked_per_week * mirror_kept
                if kind:
                    p *= 1.0 - kind.retention_boost
                if self.random.random() < p:
                    self.cstate[v] = E.HIDDEN
                    self.coupons[v] = 0
                    self.peer_of[v] = -1
                elif (
                    self.cstate[v] == E.LINKED and self.week - self.since[v] >= sv.weeks_to_retained
                ):
                    self.cstate[v] = E.RETAINED
                    self.ever[v] |= E.EVER_RETAINED
        self.random.shuffle(askers)  # no one always books first
        for v in askers:
            peer = self._supporter(v)
            kind = self._kind(peer["kind"]) if peer else None
            if hours["left"] + 1e-9 >= sv.hours_per_appointment:
                self._professional(sv.hours_per_appointment)
                self.totals["appointments"] += 1
                if peer and self._spend(peer, wk.hours_per_accompaniment):
                    p = sv.p_attend * self._attend_kept(v, True) + kind.attendance_boost
                    self.totals["accompaniments"] += 1
                    self._encounter(v)
                elif self.peer_of[v] == E.TEAM and self.team["hours"] >= wk.hours_per_accompaniment:
                    self.team["hours"] -= wk.hours_per_accompaniment
                    p = sv.p_attend * self._attend_kept(v, False) + ow.attendance_boost
                    self.totals["accompaniments"] += 1
                    self._encounter(v)
                else:
                    p = sv.p_attend * self._attend_kept(v, False)
            elif (
                hours["left"] + 1e-9 >= wk.hours_per_house_call
                and peer
                and kind.joins_house_calls
                and self._spend(peer, wk.hours_per_house_call)
            ):
                self._professional(wk.hours_per_house_call)
                p = sv.p_link_house_call * self._attend_kept(v, True)
                self._encounter(v)
            else:
                self.totals["appointments_waiting"] += 1  # may ask again in a later week
                continue
            if self.random.random() < p:
                self.cstate[v] = E.LINKED
                self.ever[v] |= E.EVER_LINKED
                self.since[v] = self.week
                self._release(v)
                if self.peer_of[v] >= 0:
                    self.peers[self.peer_of[v]]["successes"] += 1

    @staticmethod
    def _weekly_chance(per_year: float) -> float:
        return 1.0 if per_year >= 1.0 else 1.0 - (1.0 - per_year) ** (1.0 / 52.0)

    def _break_weeks(self, mean: float) -> int:
        """A geometric number of weeks (1, 2, ...) with the given mean."""
        weeks = 1
        while mean > 1.0 and self.random.random() >= 1.0 / mean:
            weeks += 1
        return weeks

    def _wellbeing(self) -> None:
        s = self.scenario
        w, wk, cr = s.wellbeing, s.work, s.careers
        meeting = self._team_meeting()
        working = sum(p["status"] == E.ACTIVE for p in self.peers)
        q = self._weekly_chance
        leave = (
            (E.LEFT_OTHER_WORK, q(cr.leave_other_work_per_year)),
            (E.LEFT_HEALTH_PRISON, q(cr.leave_health_per_year)),
            (E.LEFT_MOVING, q(cr.leave_moving_per_year)),
        )
        for peer in self.peers:
            if peer["status"] == E.WITHDRAWN:
                continue
            u, gone = self.random.random(), False
            for reason, chance in leave:  # reasons of their own
                if u < chance:
                    peer["status"], peer["left_reason"], gone = E.WITHDRAWN, reason, True
                    peer["left_week"] = self.week
                    break
                u -= chance
            if gone:
                self._peer_stops(peer)
                continue
            status = peer["status"]
            if peer["status"] == E.ACTIVE:
                kind = self._kind(peer["kind"])
                weight = peer["need"] / peer["caseload"] if peer["caseload"] > 0 else 1.0
                p_crisis = min(
                    1.0, w.p_crisis_per_client_week * (1.0 - kind.educator_effect) * weight
                )
                crises = sum(self.random.random() < p_crisis for _ in range(peer["caseload"]))
                peer["hours_worked"] += crises * wk.hours_per_crisis
                risk = w.pair_risk_factor if kind.works_in_pairs else 1.0
                stigma = self.world.loc_stigma[self.locality[peer["node"]]]
                demand = (
                    w.demand_per_hour * peer["hours_worked"]
                    + w.demand_per_client_week * peer["caseload"]
                    + w.crisis_cost * crises * risk
                    + kind.role_conflict_per_week
                    + w.stigma_demand_per_week * stigma
                )
                if self.random.random() < w.p_stigma_event_per_week * stigma:
                    demand += w.stigma_event_cost * risk
                    peer["label_until"] = self.week + w.stigma_trust_weeks
                known = peer["caseload"] + len(self.neighbours[peer["node"]])
                if self.random.random() < 1.0 - (1.0 - q(cr.overdose_deaths_per_year)) ** known:
                    demand += cr.bereavement_cost
                relapsed = self.random.random() < q(cr.relapse_per_year)
                if relapsed:
                    demand += cr.relapse_cost
                if self.random.random() < q(cr.housing_loss_per_year):
                    demand += cr.housing_loss_cost
                arrested = self.random.random() < q(cr.arrest_per_year)
                if arrested:
                    demand += cr.arrest_cost
                strain = self.random.lognormvariate(-0.5 * w.strain_sd**2, w.strain_sd)
                demand *= peer["vulnerability"] * strain
                gain = (
                    w.recovery_per_week
                    + w.meaning_gain * w.indirect_work_share
                    + w.direct_meaning_gain * peer["successes"]
                )
                if self._supervised(peer):
                    gain += w.supervision_gain
                if meeting:
                    gain += w.team_meeting_gain
                if working >= 2:
                    gain += w.peer_support_gain
                if kind.pay_per_hour > 0:
                    gain += w.compensation_gain * min(1.0, kind.pay_per_hour / w.fair_wage_per_hour)
                    self.totals["compensation"] += kind.pay_per_hour * peer["hours_worked"]
                self.totals["peer_hours"] += peer["hours_worked"]
                self.totals["peer_weeks"] += 1
                energy = peer["energy"] + gain * (1.0 - peer["energy"]) - demand
                peer["energy"] = min(1.0, max(0.0, energy))
                exhausted = peer["energy"] < w.exhaustion_threshold
                if exhausted:
                    peer["ever_exhausted"] = True
                    peer["exhausted_week"] = self.week
                if exhausted:  # one change of status a week, exhaustion first
                    peer["status"] = E.RESTING
                elif arrested and self.random.random() < cr.p_prison_after_arrest:
                    peer["status"], peer["left_reason"] = E.WITHDRAWN, E.LEFT_HEALTH_PRISON
                    peer["left_week"] = self.week
                elif relapsed and self.random.random() < cr.p_leave_after_relapse:
                    peer["status"], peer["left_reason"] = E.WITHDRAWN, E.LEFT_RELAPSE
                    peer["left_week"] = self.week
                elif relapsed:
                    peer["status"] = E.BREAK
                    peer["break_until"] = self.week + self._break_weeks(cr.relapse_break_weeks)
                elif self.random.random() < min(1.0, cr.breaks_per_year / 52.0):
                    peer["status"] = E.BREAK
                    peer["break_until"] = self.week + self._break_weeks(cr.break_weeks)
            elif peer["status"] == E.RESTING:
                peer["energy"] = min(
                    1.0, peer["energy"] + w.rest_recovery_per_week * (1.0 - peer["energy"])
                )
                if peer["energy"] >= w.return_threshold:
                    peer["status"] = E.ACTIVE
                elif self.random.random() < w.p_withdraw_per_rest_week:
                    peer["status"], peer["left_reason"] = E.WITHDRAWN, E.LEFT_EXHAUSTION
                    peer["left_week"] = self.week
            else:  # on a break
                peer["energy"] = min(
                    1.0, peer["energy"] + w.rest_recovery_per_week * (1.0 - peer["energy"])
                )
                if self.week >= peer["break_until"]:
                    peer["status"] = E.ACTIVE
            if peer["status"] not in (status, E.ACTIVE):
                self._peer_stops(peer)

    # ------------------------------------------------------------------ measures

    def cost(self) -> float:
        """Money spent so far, as :meth:`sim.model.OutreachModel.cost`."""
        return programme_cost(self.scenario.costs, self.totals)

    def _ever_all(self) -> list[int]:
        return [
            sum(1 for e in self.ever if e & flag)
            for flag in (E.EVER_CONTACTED, E.EVER_ENGAGED, E.EVER_LINKED, E.EVER_RETAINED)
        ]

    def _record(self) -> None:
        rec = self.weekly
        for name, value in zip(
            ("contacted", "engaged", "linked", "retained"), self._ever_all(), strict=True
        ):
            rec[name].append(value)
        clients = [s for s, r in zip(self.cstate, self.role, strict=True) if r == E.CLIENT]
        rec["engaged_now"].append(clients.count(E.ENGAGED))
        rec["linked_now"].append(clients.count(E.LINKED) + clients.count(E.RETAINED))
        for name, status in (
            ("peers_active", E.ACTIVE),
            ("peers_resting", E.RESTING),
            ("peers_on_break", E.BREAK),
            ("peers_withdrawn", E.WITHDRAWN),
        ):
            rec[name].append(sum(p["status"] == status for p in self.peers))
        rec["peers_exhausted_ever"].append(sum(p["ever_exhausted"] for p in self.peers))
        rec["appointments"].append(self.totals["appointments"])
        rec["supervisions"].append(self.totals["supervisions"])
        rec["cost"].append(self.cost())
        rec["population"].append(self.here.count(E.PRESENT))

    def _view(self) -> SimpleNamespace:
        """The state as :mod:`sim.model.metrics` reads an engine's model."""
        n = len(self.peers)
        column = {
            "ever_exhausted": bool,
            "status": np.int8,
            "kind": np.int8,
            "left_reason": np.int8,
            "joined": np.int32,
            "exhausted_week": np.int32,
            "left_week": np.int32,
        }
        book = np.zeros(E.N_BOOK, np.int64)
        book[E.B_CONTACTED : E.B_RETAINED + 1] = self._ever_all()
        return SimpleNamespace(
            ever=np.array(self.ever, np.int8),
            ever_before=np.array(self.ever_before, np.int8) if self._mark else None,
            role=np.array(self.role, np.int8),
            ekind=np.array(self.ekind, np.int8),
            first_met=np.array(self.first_met, np.int32),
            last_met=np.array(self.last_met, np.int32),
            book=book,
            world=self.world,
            week=self.week,
            start_week=self.start_week,
            _mark=self._mark,
            n_peers=n,
            **{
                f"p_{name}": np.array([p[name] for p in self.peers], dtype)
                for name, dtype in column.items()
            },
            weekly=self.weekly,
            totals=self.totals,
            cost=self.cost,
            scenario=self.scenario,
        )

    def metrics(self) -> dict[str, float]:
        """The metrics of :data:`sim.model.metrics.METRICS`, computed as for the engine."""
        return run_metrics(self._view())


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
