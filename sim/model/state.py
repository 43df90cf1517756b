"""The model's state codes and the named structures the weekly kernel is handed.

The kernel (:mod:`sim.model.kernel`) takes no long list of positional arrays: it takes a few
named tuples, each built here by name from the model's arrays or the scenario, so two arrays of
the same type cannot be swapped without a name saying so. Numba compiles a named tuple's fields
with their own types (Lam, Pitrou & Seibert 2015, "Numba: a LLVM-based Python JIT compiler").

- :class:`WorldArrays`: the graph (CSR) and each person's attributes; fixed for a replicate.
- :class:`ClientArrays`: one row per person: client state, who supports them, trust, coupons,
  who referred them and in which wave, and the lists of clients in contact; and the buffer
  the kernel writes the event history to (:class:`~sim.model.events.EventLog`).
- :class:`PeerArrays`: one row per peer (recruitment order): person, kind, status, energy,
  caseload, the week's hours, and the ego networks (everyone within reach) in CSR form by
  class; and the outreach workers' team (caseload and hours). The rows live in a
  :class:`PeerFrame`, which declares each peer column once.
- :class:`Params`: every parameter of the weekly dynamics under its scenario key's name
  (``services.p_attend`` is ``par.p_attend``), filled by :func:`kernel_params` from the keys
  marked ``kernel=True``; per-kind ones are arrays indexed by :data:`CLOSE` / :data:`DISTANT`.
- :class:`Keys`: the 64-bit key of each random process (see :mod:`sim.streams`).

Nothing here imports numba, so reading the codes costs nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from sim.model.events import NO_EVENTS, EventLog
from sim.model.scenario import Scenario

__all__ = [
    "DERIVED_FROM",
    "OUTSIDE_KERNEL",
    "ClientArrays",
    "Keys",
    "Params",
    "PeerArrays",
    "PeerFrame",
    "Vacancy",
    "WorldArrays",
    "derived_params",
    "kernel_field_name",
    "kernel_keys",
    "kernel_params",
    "make_keys",
    "programme_hours_per_week",
    "salaried_hours_per_week",
]

# Client states, in the order of the path.
HIDDEN, CONTACTED, ENGAGED, LINKED, RETAINED = 0, 1, 2, 3, 4
# Bit flags of what ever happened to a person.
EVER_CONTACTED, EVER_ENGAGED, EVER_LINKED, EVER_RETAINED = 1, 2, 4, 8
# In the population at some time of the measured period (set at its start and on entering).
EVER_PRESENT = 16
EVER_PATH = EVER_CONTACTED | EVER_ENGAGED | EVER_LINKED | EVER_RETAINED
# Roles of a person; a peer's kind is its role. WORKER marks (in ``ekind``) a client engaged by
# the professional outreach workers, who are not persons of the graph. ABSENT is a person who
# is not a peer and not in the population this week (``here`` says where they are): every
# rule that looks for clients (``role == CLIENT``) passes them by.
CLIENT, CLOSE, DISTANT, WORKER, ABSENT = 0, 1, 2, 3, 4
# Where a person is (``here``): in the population, dormant (not using, or moved away: may come
# back), in prison (back in week ``away_until``), or dead.
PRESENT, DORMANT, AWAY, DEAD = 0, 1, 2, 3
#: ``peer_of`` of a client supported by the outreach workers' team (not a peer row).
TEAM = -2
#: The peer kinds by code, with the name of their scenario section.
KIND_SECTIONS = {CLOSE: "close_peers", DISTANT: "distant_peers"}
# Peer status. An enrolled peer is ACTIVE (works this week), RESTING (after exhaustion) or on
# a BREAK; WITHDRAWN is a peer who left the programme, for the reason in ``left_reason``.
ACTIVE, RESTING, WITHDRAWN, BREAK = 0, 1, 2, 3
# Why a peer left (``left_reason``); STAYING while enrolled. POLICY: let go by a change of
# policy (fewer posts).
STAYING, LEFT_EXHAUSTION, LEFT_RELAPSE, LEFT_OTHER_WORK, LEFT_HEALTH_PRISON, LEFT_MOVING = range(6)
LEFT_POLICY = 6
#: Reasons for leaving by code, as results name them.
LEAVING_REASONS = {
    LEFT_EXHAUSTION: "exhaustion",
    LEFT_RELAPSE: "relapse",
    LEFT_OTHER_WORK: "other_work",
    LEFT_HEALTH_PRISON: "health_or_prison",
    LEFT_MOVING: "moving",
    LEFT_POLICY: "policy",
}
# Weekly counters written by the kernel (a plain int64 array: an output, read by index).
(
    C_NEW_CONTACTS,
    C_NEW_ENGAGED,
    C_NEW_LINKED,
    C_APPOINTMENTS,
    C_SUPERVISIONS,
    C_TEAM_MEETINGS,
    C_NEW_EXHAUSTED,
    C_WITHDRAWN,
    C_PEER_WEEKS_PAID,
    C_REFERRALS,
    C_ONLINE_CONTACTS,
    C_COMPENSATION,
    C_NOW_ENGAGED,
    C_NOW_LINKED,
    C_ACTIVE,
    C_RESTING,
    C_HOUSE_CALLS,
    C_ACCOMPANIED,
    C_PEER_CENTIHOURS,
    C_ON_BREAK,
    C_LEFT,
    C_LIFE_EVENTS,
    C_PROFESSIONAL_CENTIHOURS,
    C_APPOINTMENTS_WAITING,
    C_SUPERVISIONS_LATE,
    C_HANDED_OFF,
    C_SITE_VISITS,
    C_SITE_ENCOUNTERS,
    C_ENCOUNTERS,
    C_ENTERED,
    C_EXITED,
    C_PRESENT,
) = range(32)
N_COUNTERS = 32
# The professionals' hours this week, in ``PeerArrays.team`` after the outreach workers' three
# entries: the programme's hours left, and those used for its tasks.
T_PROFESSIONAL_LEFT, T_PROFESSIONAL_USED = 3, 4
TEAM_LEN = 5
# The running book of a replicate, kept across weeks: how many clients are in contact (listed
# in ``reached``), how many persons were ever contacted, engaged, linked, retained, and how many
# are contacted but not yet engaged (listed in ``fresh``, so engagement looks at them alone)
# and how many hold coupons (listed in ``holders``, so referral looks at them alone); how many
# persons are in the population, and its size at the start, which entries keep it near.
B_LEN, B_CONTACTED, B_ENGAGED, B_LINKED, B_RETAINED, B_FRESH, B_HOLDERS = range(7)
B_PRESENT, B_SIZE = 7, 8
N_BOOK = 9
# Classes of ego-network entries: 3 x (steps away - 1) + subgroups in which peer and client
# differ (0-2); entries of one class share their contact weight.
N_EGO_CLASSES = 9


class WorldArrays(NamedTuple):
    """The graph and person attributes, as the kernel reads them."""

    indptr: np.ndarray  # int64, CSR row pointers
    indices: np.ndarray  # int32, CSR neighbours
    locality: np.ndarray  # int32 per person
    gender: np.ndarray  # int8 per person
    age: np.ndarray  # int8 per person (age band)
    loc_stigma: np.ndarray  # float64 per locality
    loc_online: np.ndarray  # float64 per locality
    mistrust: np.ndarray  # float64 per person: mistrust of professionals, 0 to 1
    problems: np.ndarray  # int8 per person: problem areas
    site_visits: np.ndarray  # float64 per locality: mean visits a week to its site (0: none)
    site_open_hours: np.ndarray  # float64 per locality: hours a week its site is open
    site_orbit_ptr: np.ndarray  # int64: locality L's orbit is site_orbit_nodes[ptr[L]:ptr[L+1]]
    site_orbit_nodes: np.ndarray  # int32: the service orbit by locality (who visit its site)
    site_orbit_cum: np.ndarray  # float64: running sum of their visiting rates, by locality


class ClientArrays(NamedTuple):
    """One row per person (peers included: their ``role`` says so)."""

    role: np.ndarray  # int8: CLIENT, CLOSE, DISTANT or ABSENT
    here: np.ndarray  # int8: PRESENT, DORMANT, AWAY or DEAD
    away_until: np.ndarray  # int32: week a person in prison comes back
    first_met: np.ndarray  # int32: week of the person's first encounter ever, or -1
    last_met: np.ndarray  # int32: week of their latest encounter, or -1
    cstate: np.ndarray  # int8: HIDDEN .. RETAINED
    ever: np.ndarray  # int8: EVER_* flags
    peer_of: np.ndarray  # int32: peer row supporting the client, or -1
    trust: np.ndarray  # float64: trust in that peer
    since: np.ndarray  # int32: week the client entered its state
    coupons: np.ndarray  # int32: referrals left
    ekind: np.ndarray  # int8: kind of the peer who engaged the client
    referrer: np.ndarray  # int32: the friend whose coupon brought the client, or -1
    wave: np.ndarray  # int32: referral steps from a peer's own contact (0: direct)
    follow: np.ndarray  # int8: 1 for a referred contact the peer has not yet met
    reached: np.ndarray  # int32: clients in contact, the first book[B_LEN] entries
    reached_pos: np.ndarray  # int32: place in ``reached``, or -1
    fresh: np.ndarray  # int32: clients contacted, not yet engaged: first book[B_FRESH]
    fresh_pos: np.ndarray  # int32: place in ``fresh``, or -1
    holders: np.ndarray  # int32: clients holding coupons, the first book[B_HOLDERS]
    holders_pos: np.ndarray  # int32: place in ``holders``, or -1
    scratch: np.ndarray  # int32: work space of a phase (holds nothing between phases)
    book: np.ndarray  # int64[N_BOOK]: list length and running tallies
    events: EventLog = NO_EVENTS  # the event history's buffer (sim.model.events), off by default


class PeerArrays(NamedTuple):
    """One row per peer ever recruited, in recruitment order (rows in use only)."""

    node: np.ndarray  # int32: the person
    kind: np.ndarray  # int8: CLOSE or DISTANT
    status: np.ndarray  # int8: ACTIVE, RESTING, BREAK or WITHDRAWN
    energy: np.ndarray  # float64 in [0, 1]
    vulnerability: np.ndarray  # float64: lasting factor on the peer's demands (mean 1)
    judged: np.ndarray  # float64: energy as the professionals judge it this week
    break_until: np.ndarray  # int32: week a peer on a break comes back
    left_reason: np.ndarray  # int8: STAYING, or why the peer left (LEFT_*)
    caseload: np.ndarray  # int32: engaged clients supported
    need: np.ndarray  # float64: the caseload weighted by each client's problems
    pending: np.ndarray  # int32: referred contacts waiting for the peer's first meeting
    ever_exhausted: np.ndarray  # bool
    exhausted_week: np.ndarray  # int32: week the peer was last exhausted, or -1
    left_week: np.ndarray  # int32: week the peer left, or -1
    label_until: np.ndarray  # int32: week a snitch label wears off
    joined: np.ndarray  # int32: week the peer was recruited
    strength: np.ndarray  # float64: energy when last assessed by a professional
    last_supervised: np.ndarray  # int32: week of the last supervision (or of joining)
    hours_left: np.ndarray  # float64: hours of this week's budget not yet used
    hours_worked: np.ndarray  # float64: hours worked this week
    successes: np.ndarray  # int32: clients the peer engaged or saw linked this week
    site_meetings: np.ndarray  # int32: this week's meetings at the site not yet held
    site_next: np.ndarray  # float64: when the peer's next site meeting takes a visitor
    team: np.ndarray  # float64[TEAM_LEN]: outreach workers' caseload, hours left, need; the
    # professionals' programme hours left and used this week
    ego_class_ptr: np.ndarray  # int64: entries of (peer i, class c) start at [i * 9 + c]
    ego_nodes: np.ndarray  # int32: persons within reach, by peer and class


@dataclass
class Vacancy:
    """A peer post of one kind to fill from ``due_week`` on (recruitment or replacement)."""

    kind: int
    due_week: int


class PeerFrame:
    """The peers' rows: each column declared once (:attr:`COLUMNS`), grown and viewed together.

    One row per peer ever recruited, in recruitment order; the first :attr:`count` rows are in
    use, the rest is room for recruits. Each column is an attribute (``frame.energy``) holding
    the whole buffer; :meth:`grow` rebinds every column at once (so a holder of an old buffer
    must ask again), :meth:`kernel_arrays` gives the rows as the kernel takes them.
    """

    #: ``(name, dtype, default)`` of each column; all but ``replaced`` are kernel fields of
    #: :class:`PeerArrays` (see its comments).
    COLUMNS = (
        ("node", np.int32, 0),
        ("kind", np.int8, 0),
        ("status", np.int8, 0),
        ("energy", np.float64, 0.0),
        ("vulnerability", np.float64, 1.0),
        ("judged", np.float64, 1.0),
        ("break_until", np.int32, 0),
        ("left_reason", np.int8, 0),
        ("caseload", np.int32, 0),
        ("need", np.float64, 0.0),
        ("pending", np.int32, 0),
        ("ever_exhausted", np.bool_, False),
        ("exhausted_week", np.int32, -1),
        ("left_week", np.int32, -1),
        ("label_until", np.int32, 0),
        ("joined", np.int32, 0),
        ("replaced", np.bool_, False),  # a peer who left, already replaced or let go (Python)
        ("strength", np.float64, 1.0),
        ("last_supervised", np.int32, 0),
        ("hours_left", np.float64, 0.0),
        ("hours_worked", np.float64, 0.0),
        ("successes", np.int32, 0),
        ("site_meetings", np.int32, 0),
        ("site_next", np.float64, 0.0),
    )
    NAMES = tuple(name for name, _, _ in COLUMNS)

    def __init__(self, capacity: int):
        self.count = 0
        self.capacity = 0
        for name, dtype, default in self.COLUMNS:
            setattr(self, name, np.full(capacity, default, dtype))
        self.capacity = capacity

    def grow(self, more: int) -> bool:
        """Make room for ``more`` rows after those in use, doubling; whether buffers moved."""
        if self.count + more <= self.capacity:
            return False
        size = max(1, self.capacity)
        while self.count + more > size:
            size *= 2
        for name, dtype, default in self.COLUMNS:
            bigger = np.full(size, default, dtype)
            bigger[: self.capacity] = getattr(self, name)
            setattr(self, name, bigger)
        self.capacity = size
        return True

    def kernel_arrays(
        self, n: int, team: np.ndarray, ego_class_ptr: np.ndarray, ego_nodes: np.ndarray
    ) -> PeerArrays:
        """The first ``n`` rows (views) with the team and ego networks, as :class:`PeerArrays`."""
        rows = {name: getattr(self, name)[:n] for name in PeerArrays._fields if name in self.NAMES}
        return PeerArrays(**rows, team=team, ego_class_ptr=ego_class_ptr, ego_nodes=ego_nodes)


class Params(NamedTuple):
    """Every parameter of the weekly dynamics, under its scenario key's name.

    A field is a scenario key marked ``kernel=True`` in :mod:`sim.model.scenario`, named by one
    rule (:func:`kernel_field_name`): a peer kind's key (``close_peers`` / ``distant_peers``)
    is an array indexed by :data:`CLOSE` / :data:`DISTANT` (index 0 unused) named as the key;
    any other key is named as the key, or ``section_key`` where a peer kind declares the same
    key (``outreach_workers.trust`` is ``outreach_workers_trust``). The last fields are
    derived from several keys by :func:`derived_params`. ``tests/model/test_declared.py`` checks
    that these fields are exactly the schema's and that the kernel reads every one.
    """

    # clients
    problem_load: float
    # per peer kind, float64 / int64 / bool arrays of 3
    hours_per_week: np.ndarray  # weekly hours before tailoring
    caseload_cap: np.ndarray  # 0: no cap
    p_contact_per_meeting: np.ndarray  # per meeting with a hidden person
    site_share: np.ndarray  # share of meetings at a fixed site
    trust: np.ndarray
    service_likeness: np.ndarray  # share of the mistrust barrier on the kind
    attendance_boost: np.ndarray
    retention_boost: np.ndarray
    interpreter_boost: np.ndarray
    joins_house_calls: np.ndarray
    works_in_pairs: np.ndarray
    role_conflict_per_week: np.ndarray  # energy a week
    mirror_effect: np.ndarray
    educator_effect: np.ndarray
    pay_per_hour: np.ndarray  # pay an hour worked
    p_handoff: np.ndarray  # chance a week to bring an engaged client to a close peer
    # outreach_workers (prefixed: a peer kind declares the same keys)
    outreach_workers_count: int
    outreach_workers_hours_per_week: float
    outreach_workers_p_contact_per_meeting: float
    outreach_workers_trust: float
    outreach_workers_caseload_cap: int
    outreach_workers_attendance_boost: float
    # work (hours)
    hours_per_meeting: float
    hours_per_client_week: float
    hours_per_accompaniment: float
    hours_per_house_call: float
    hours_per_crisis: float
    hours_per_supervision: float
    hours_per_team_meeting: float
    training_weeks: int
    training_hours_per_week: float
    # outreach
    p_engage_per_week: float
    subgroup_trust: float
    stigma_effect: float
    referral_coupons: int
    p_referrer: float
    p_refer_per_tie_week: float
    online_contacts_per_peer_week: float
    online_trust: float
    p_lose_contact_per_week: float
    handoff_vouching: float
    p_client_lost_when_peer_stops: float
    # services
    professionals: int
    coordination_hours_per_peer_week: float  # professional hours per enrolled peer
    hours_per_linked_client_week: float  # professional hours per client in services
    hours_per_assessment: float  # professional hours per new peer
    hours_per_appointment: float  # professional hours per appointment
    p_link_house_call: float
    tailoring: float
    p_seek_appointment_per_week: float
    p_attend: float
    mistrust_barrier: float
    accompaniment_bridge: float
    weeks_to_retained: int
    p_dropout_engaged_per_week: float
    p_dropout_linked_per_week: float
    # wellbeing
    strain_sd: float  # log-sd of the week's strain
    demand_per_hour: float
    demand_per_client_week: float
    p_crisis_per_client_week: float
    crisis_cost: float
    p_stigma_event_per_week: float
    stigma_event_cost: float
    stigma_demand_per_week: float
    stigma_trust_weeks: int
    label_trust_factor: float
    recovery_per_week: float
    supervision_every_weeks: int
    supervision_gain: float
    team_meeting_every_weeks: int
    team_meeting_gain: float
    peer_support_gain: float
    compensation_gain: float
    fair_wage_per_hour: float
    indirect_work_share: float
    meaning_gain: float
    direct_meaning_gain: float
    pair_risk_factor: float
    exhaustion_threshold: float
    return_threshold: float
    rest_recovery_per_week: float
    p_withdraw_per_rest_week: float
    assessment_error_sd: float
    # turnover (the population's flows, chances a year)
    stop_per_year: float
    deaths_per_year: float
    prison_per_year: float
    prison_weeks: float
    move_away_per_year: float
    # careers (chances a year)
    overdose_deaths_per_year: float
    bereavement_cost: float
    relapse_per_year: float
    relapse_cost: float
    relapse_break_weeks: float
    p_leave_after_relapse: float
    housing_loss_per_year: float
    housing_loss_cost: float
    arrest_per_year: float
    arrest_cost: float
    p_prison_after_arrest: float
    breaks_per_year: float
    break_weeks: float
    leave_other_work_per_year: float
    leave_health_per_year: float
    leave_moving_per_year: float
    # derived (derived_params)
    class_weight: np.ndarray  # float64[N_EGO_CLASSES]: hop_trust^steps x subgroup_trust^differ
    programme_hours_per_week: float  # the professionals' hours for the peer programme
    supervision_by_need: bool


class Keys(NamedTuple):
    """The 64-bit key of each random process of a replicate."""

    contact: np.uint64
    refer: np.uint64
    online: np.uint64
    engage: np.uint64
    link: np.uint64
    wellbeing: np.uint64
    site: np.uint64
    population: np.uint64


def make_keys(seeds: np.ndarray) -> Keys:
    """:class:`Keys` from ``len(Keys._fields)`` 64-bit seeds."""
    return Keys(*(np.uint64(s) for s in seeds))


def salaried_hours_per_week(scenario) -> float:
    """Hours a week the programme pays its professionals and outreach workers (full time)."""
    sv = scenario.services
    return (sv.professionals + scenario.outreach_workers.count) * sv.professional_hours_per_week


def programme_hours_per_week(scenario) -> float:
    """The professionals' hours a week for the peer programme, their outside work left out."""
    sv = scenario.services
    return float(sv.professionals * sv.professional_hours_per_week * (1.0 - sv.outside_work_share))


#: The array dtype of a peer kind's key, by the key's declared type.
_DTYPES = {float: np.float64, int: np.int64, bool: np.bool_}

#: The scenario keys each derived field of :class:`Params` is computed from.
DERIVED_FROM = MappingProxyType(
    {
        "class_weight": ("outreach.hop_trust", "outreach.subgroup_trust"),
        "programme_hours_per_week": (
            "services.professionals",
            "services.professional_hours_per_week",
            "services.outside_work_share",
        ),
        "supervision_by_need": ("services.supervision_order",),
    }
)


#: Scenario keys the weekly kernel does not read (``fnmatch`` patterns of dotted keys, ``N``
#: for a locality's index), each with the modules that use it and what for. With the keys
#: marked ``kernel=True`` and :data:`DERIVED_FROM`, these cover every key of
#: :func:`sim.model.scenario.describe_parameters` once (``tests/model/test_declared.py``).
OUTSIDE_KERNEL = MappingProxyType(
    {
        "name": (
            ("sim.ensemble.compare", "sim.output.reports"),
            "labels of tables, plots and reports",
        ),
        "description": (("sim.output.comparison",), "the line under a scenario's label"),
        "run.*": (
            ("sim.ensemble.replicates", "sim.model.outreach", "sim.model.world"),
            "weeks, replicates, seeds and worlds of a run",
        ),
        "population.*": (
            ("sim.model.world",),
            "the world's people, subgroups and localities; a locality's stigma, online access "
            "and site reach the kernel as per-locality arrays of WorldArrays",
        ),
        "network.*": (("sim.model.world", "sim.graphs.generators"), "the world's graph"),
        "clients.depth_*": (("sim.model.world",), "each person's depth and ties"),
        "clients.orbit_share_by_depth": (("sim.model.world",), "who is in the service orbit"),
        "clients.mistrust_*": (("sim.model.world",), "each person's mistrust of professionals"),
        "clients.problems_by_depth": (("sim.model.world",), "each person's problem areas"),
        "clients.high_mistrust_at": (("sim.model.metrics",), "results split by mistrust"),
        "*_peers.count": (("sim.model.outreach",), "the posts to fill (vacancies)"),
        "*_peers.recruitment": (("sim.model.recruitment.policies",), "whom a post is filled with"),
        "*_peers.age_band_shares": (("sim.model.recruitment.policies",), "the age mix of recruits"),
        "*_peers.promote_after_weeks": (
            ("sim.model.recruitment.policies",),
            "recruits from engaged clients",
        ),
        "*_peers.influence_pool": (("sim.model.recruitment.influence",), "recruits by influence"),
        "*_peers.reach_hops": (
            ("sim.model.outreach",),
            "each peer's ego network, listed at joining",
        ),
        "wellbeing.energy_start*": (("sim.model.outreach",), "a recruit's energy (kernel.admit)"),
        "wellbeing.vulnerability_sd": (
            ("sim.model.outreach",),
            "a recruit's lasting vulnerability (kernel.admit)",
        ),
        "policy.*": (("sim.model.outreach",), "replacing peers who leave"),
        "costs.*": (("sim.model.metrics",), "the programme's cost"),
    }
)


def _sections() -> list[tuple[str, type]]:
    """``(name, class)`` of each section of the scenario, in declaration order."""
    hints = typing.get_type_hints(Scenario)
    return [
        (f.name, hints[f.name]) for f in dataclasses.fields(Scenario) if f.metadata.get("section")
    ]


def kernel_field_name(section: str, key: str) -> str:
    """The :class:`Params` field of a scenario key the kernel reads (``section.key``).

    The rule: a peer kind's key is named as the key (one array for both kinds); another
    section's key is named as the key unless a peer kind declares the same key, when it is
    prefixed by its section: ``outreach_workers.hours_per_week`` is
    ``outreach_workers_hours_per_week``, ``outreach.hop_trust`` is ``hop_trust``.
    """
    if section in KIND_SECTIONS.values():
        return key
    shared = {
        f.name for name, cls in _sections() if name != section for f in dataclasses.fields(cls)
    }
    return f"{section}_{key}" if key in shared else key


@functools.cache
def kernel_keys() -> tuple[tuple[str, str, str, type], ...]:
    """Every scenario key marked ``kernel=True``: ``(field, section, key, python type)``.

    A peer kind's key is listed once, under the first kind's section.
    """
    out, kinds_done = [], False
    for name, cls in _sections():
        if name in KIND_SECTIONS.values():
            if kinds_done:
                continue
            kinds_done = True
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.metadata.get("kernel"):
                out.append((kernel_field_name(name, f.name), name, f.name, hints[f.name]))
    return tuple(out)


def derived_params(s) -> dict[str, Any]:
    """The kernel's values that combine several keys (:data:`DERIVED_FROM` names them).

    - ``class_weight``: the contact weight of each ego-network class, ``hop_trust`` per step
      beyond the first times ``subgroup_trust`` per subgroup in which peer and client differ;
    - ``programme_hours_per_week``: the professionals' weekly hours for the peer programme,
      ``professionals x professional_hours_per_week x (1 - outside_work_share)``;
    - ``supervision_by_need``: ``supervision_order == "need"``.
    """
    o, sv = s.outreach, s.services
    return {
        "class_weight": np.array(
            [o.hop_trust ** (cl // 3) * o.subgroup_trust ** (cl % 3) for cl in range(N_EGO_CLASSES)]
        ),
        "programme_hours_per_week": programme_hours_per_week(s),
        "supervision_by_need": sv.supervision_order == "need",
    }


def kernel_params(s) -> Params:
    """The scenario's weekly dynamics as :class:`Params` (every value typed as the kernel wants).

    Walks the schema: each key marked ``kernel=True`` is read under its field's name
    (:func:`kernel_keys`) and typed by its declaration (a peer kind's as an array indexed by
    kind), then :func:`derived_params` adds the values computed from several keys.
    """
    values: dict[str, Any] = {}
    for name, section, key, kind in kernel_keys():
        if section in KIND_SECTIONS.values():
            arr: np.ndarray = np.zeros(3, _DTYPES[kind])
            for code, sec in KIND_SECTIONS.items():
                arr[code] = getattr(getattr(s, sec), key)
            values[name] = arr
        else:
            values[name] = kind(getattr(getattr(s, section), key))
    return Params(**values, **derived_params(s))
