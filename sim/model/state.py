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
  class; and the outreach workers' team (caseload and hours).
- :class:`Params`: every parameter of the weekly dynamics, by name; per-kind ones are arrays
  indexed by :data:`CLOSE` / :data:`DISTANT`.
- :class:`Keys`: the 64-bit key of each random process (see :mod:`sim.streams`).

Nothing here imports numba, so reading the codes costs nothing.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.model.events import NO_EVENTS, EventLog

__all__ = [
    "ClientArrays", "Keys", "Params", "PeerArrays", "WorldArrays", "kernel_params", "make_keys",
    "salaried_hours_per_week",
]

# Client states, in the order of the path.
HIDDEN, CONTACTED, ENGAGED, LINKED, RETAINED = 0, 1, 2, 3, 4
# Bit flags of what ever happened to a person.
EVER_CONTACTED, EVER_ENGAGED, EVER_LINKED, EVER_RETAINED = 1, 2, 4, 8
# Roles of a person; a peer's kind is its role. WORKER marks (in ``ekind``) a client engaged by
# the professional outreach workers, who are not persons of the graph.
CLIENT, CLOSE, DISTANT, WORKER = 0, 1, 2, 3
#: ``peer_of`` of a client supported by the outreach workers' team (not a peer row).
TEAM = -2
#: The peer kinds by code, with the name of their scenario section.
KIND_SECTIONS = {CLOSE: "close_peers", DISTANT: "distant_peers"}
# Peer status.
ACTIVE, RESTING, WITHDRAWN = 0, 1, 2
# Weekly counters written by the kernel (a plain int64 array: an output, read by index).
(C_NEW_CONTACTS, C_NEW_ENGAGED, C_NEW_LINKED, C_APPOINTMENTS, C_SUPERVISIONS, C_TEAM_MEETINGS,
 C_NEW_EXHAUSTED, C_WITHDRAWN, C_PEER_WEEKS_PAID, C_REFERRALS, C_ONLINE_CONTACTS,
 C_COMPENSATION, C_NOW_ENGAGED, C_NOW_LINKED, C_ACTIVE, C_RESTING, C_HOUSE_CALLS,
 C_ACCOMPANIED, C_PEER_CENTIHOURS) = range(19)
N_COUNTERS = 19
# The running book of a replicate, kept across weeks: how many clients are in contact (listed
# in ``reached``), how many persons were ever contacted, engaged, linked, retained, and how many
# are contacted but not yet engaged (listed in ``fresh``, so engagement looks at them alone)
# and how many hold coupons (listed in ``holders``, so referral looks at them alone).
B_LEN, B_CONTACTED, B_ENGAGED, B_LINKED, B_RETAINED, B_FRESH, B_HOLDERS = range(7)
N_BOOK = 7
# Classes of ego-network entries: 3 x (steps away - 1) + subgroups in which peer and client
# differ (0-2); entries of one class share their contact weight.
N_EGO_CLASSES = 9


class WorldArrays(NamedTuple):
    """The graph and person attributes, as the kernel reads them."""

    indptr: np.ndarray       # int64, CSR row pointers
    indices: np.ndarray      # int32, CSR neighbours
    locality: np.ndarray     # int32 per person
    gender: np.ndarray       # int8 per person
    age: np.ndarray          # int8 per person (age band)
    loc_stigma: np.ndarray   # float64 per locality
    loc_online: np.ndarray   # float64 per locality
    mistrust: np.ndarray     # float64 per person: mistrust of professionals, 0 to 1
    problems: np.ndarray     # int8 per person: problem areas
    orbit_nodes: np.ndarray  # int32: the persons in the service orbit (whom a site sees)


class ClientArrays(NamedTuple):
    """One row per person (peers included: their ``role`` says so)."""

    role: np.ndarray         # int8: CLIENT, CLOSE or DISTANT
    cstate: np.ndarray       # int8: HIDDEN .. RETAINED
    ever: np.ndarray         # int8: EVER_* flags
    peer_of: np.ndarray      # int32: peer row supporting the client, or -1
    trust: np.ndarray        # float64: trust in that peer
    since: np.ndarray        # int32: week the client entered its state
    coupons: np.ndarray      # int32: referrals left
    ekind: np.ndarray        # int8: kind of the peer who engaged the client
    referrer: np.ndarray     # int32: the friend whose coupon brought the client, or -1
    wave: np.ndarray         # int32: referral steps from a peer's own contact (0: direct)
    follow: np.ndarray       # int8: 1 for a referred contact the peer has not yet met
    reached: np.ndarray      # int32: clients in contact, the first book[B_LEN] entries
    reached_pos: np.ndarray  # int32: place in ``reached``, or -1
    fresh: np.ndarray        # int32: clients contacted, not yet engaged: first book[B_FRESH]
    fresh_pos: np.ndarray    # int32: place in ``fresh``, or -1
    holders: np.ndarray      # int32: clients holding coupons, the first book[B_HOLDERS]
    holders_pos: np.ndarray  # int32: place in ``holders``, or -1
    scratch: np.ndarray      # int32: work space of a phase (holds nothing between phases)
    book: np.ndarray         # int64[N_BOOK]: list length and running tallies
    events: EventLog = NO_EVENTS  # the event history's buffer (sim.model.events), off by default


class PeerArrays(NamedTuple):
    """One row per peer ever recruited, in recruitment order (rows in use only)."""

    node: np.ndarray            # int32: the person
    kind: np.ndarray            # int8: CLOSE or DISTANT
    status: np.ndarray          # int8: ACTIVE, RESTING or WITHDRAWN
    energy: np.ndarray          # float64 in [0, 1]
    caseload: np.ndarray        # int32: engaged clients supported
    need: np.ndarray            # float64: the caseload weighted by each client's problems
    pending: np.ndarray         # int32: referred contacts waiting for the peer's first meeting
    ever_exhausted: np.ndarray  # bool
    label_until: np.ndarray     # int32: week a snitch label wears off
    joined: np.ndarray          # int32: week the peer was recruited
    strength: np.ndarray        # float64: energy when last assessed by a professional
    last_supervised: np.ndarray  # int32: week of the last supervision (or of joining)
    hours_left: np.ndarray      # float64: hours of this week's budget not yet used
    hours_worked: np.ndarray    # float64: hours worked this week
    successes: np.ndarray       # int32: clients the peer engaged or saw linked this week
    team: np.ndarray            # float64[3]: outreach workers' caseload, hours left, need
    ego_class_ptr: np.ndarray   # int64: entries of (peer i, class c) start at [i * 9 + c]
    ego_nodes: np.ndarray       # int32: persons within reach, by peer and class


class Params(NamedTuple):
    """Every parameter of the weekly dynamics, by name (see :mod:`sim.model.scenario`)."""

    # outreach
    p_engage: float
    hop_trust: float
    subgroup_trust: float
    class_weight: np.ndarray  # float64[N_EGO_CLASSES]: hop_trust^steps x subgroup_trust^differ
    stigma_effect: float
    p_referrer: float
    p_refer: float
    referral_coupons: int
    online_rate: float
    online_trust: float
    p_lose: float
    # clients
    problem_load: float
    mistrust_barrier: float
    accompaniment_bridge: float
    # outreach workers
    workers: int
    worker_hours: float
    worker_p_contact: float
    worker_trust: float
    worker_cap: int
    worker_attendance_boost: float
    # work (hours)
    hours_per_meeting: float
    hours_per_client: float
    hours_per_accompaniment: float
    hours_per_house_call: float
    hours_per_crisis: float
    hours_per_supervision: float
    hours_per_team_meeting: float
    training_weeks: int
    training_hours: float
    # services
    professionals: int
    house_call_slots: float
    supervision_by_need: bool
    p_link_house_call: float
    tailoring: float
    appointment_slots: float
    supervision_slots: float
    p_seek: float
    p_attend: float
    p_drop_engaged: float
    p_drop_linked: float
    weeks_to_retained: int
    # well-being
    demand_per_hour: float
    demand_per_client: float
    p_crisis: float
    crisis_cost: float
    p_stigma_event: float
    stigma_event_cost: float
    label_weeks: int
    label_trust_factor: float
    recovery: float
    supervision_every: int
    supervision_gain: float
    team_meeting_every: int
    team_meeting_gain: float
    peer_support_gain: float
    compensation_gain: float
    indirect_share: float
    meaning_gain: float
    direct_meaning_gain: float
    pair_risk_factor: float
    exhaustion_threshold: float
    return_threshold: float
    rest_recovery: float
    p_withdraw: float
    # per peer kind, indexed by CLOSE and DISTANT (index 0 unused)
    hours: np.ndarray            # float64[3], weekly hours before tailoring
    p_contact: np.ndarray        # float64[3], per meeting with a hidden person
    site_share: np.ndarray       # float64[3], share of meetings at a fixed site
    kind_trust: np.ndarray       # float64[3]
    service_likeness: np.ndarray  # float64[3], share of the mistrust barrier on the kind
    attendance_boost: np.ndarray  # float64[3]
    retention_boost: np.ndarray  # float64[3]
    interpreter_boost: np.ndarray  # float64[3]
    house_calls: np.ndarray      # bool[3], joins house calls
    pairs: np.ndarray            # bool[3], works in pairs
    role_conflict: np.ndarray    # float64[3], energy a week
    mirror: np.ndarray           # float64[3]
    educator: np.ndarray         # float64[3]
    caseload_cap: np.ndarray     # int64[3], 0: no cap
    compensation: np.ndarray     # float64[3], pay per working week
    pay_ratio: np.ndarray        # float64[3], pay / fair pay for the kind's hours, at most 1


class Keys(NamedTuple):
    """The 64-bit key of each random process of a replicate."""

    contact: np.uint64
    refer: np.uint64
    online: np.uint64
    engage: np.uint64
    link: np.uint64
    wellbeing: np.uint64


def make_keys(seeds: np.ndarray) -> Keys:
    """:class:`Keys` from ``len(Keys._fields)`` 64-bit seeds."""
    return Keys(*(np.uint64(s) for s in seeds))


def _per_kind(scenario, attr: str, dtype) -> np.ndarray:
    out = np.zeros(3, dtype)
    for kind, section in KIND_SECTIONS.items():
        out[kind] = getattr(getattr(scenario, section), attr)
    return out


def salaried_hours_per_week(scenario) -> float:
    """Hours a week the programme pays its professionals and outreach workers (full time)."""
    sv = scenario.services
    return (sv.professionals + scenario.outreach_workers.count) * sv.professional_hours_per_week


def _pay_ratios(s) -> np.ndarray:
    """Each kind's pay as a share of a fair wage for its hours, at most 1 (dose response)."""
    out = np.zeros(3)
    for kind, section in KIND_SECTIONS.items():
        pk = getattr(s, section)
        fair = pk.hours_per_week * s.wellbeing.fair_wage_per_hour
        pay = pk.compensation_per_week
        out[kind] = min(1.0, pay / fair) if fair > 0 else float(pay > 0)
    return out


def kernel_params(s) -> Params:
    """The scenario's weekly dynamics as :class:`Params` (every value typed as the kernel wants)."""
    o, sv, w, wk, ow = s.outreach, s.services, s.wellbeing, s.work, s.outreach_workers
    f, i = float, int
    return Params(
        p_engage=f(o.p_engage_per_week), hop_trust=f(o.hop_trust),
        subgroup_trust=f(o.subgroup_trust),
        class_weight=np.array([o.hop_trust ** (cl // 3) * o.subgroup_trust ** (cl % 3)
                               for cl in range(N_EGO_CLASSES)]), stigma_effect=f(o.stigma_effect),
        p_referrer=f(o.p_referrer), p_refer=f(o.p_refer_per_tie_week),
        referral_coupons=i(o.referral_coupons), online_rate=f(o.online_contacts_per_peer_week),
        online_trust=f(o.online_trust), p_lose=f(o.p_lose_contact_per_week),
        problem_load=f(s.clients.problem_load), mistrust_barrier=f(sv.mistrust_barrier),
        accompaniment_bridge=f(sv.accompaniment_bridge),
        workers=i(ow.count), worker_hours=f(ow.hours_per_week),
        worker_p_contact=f(ow.p_contact_per_meeting), worker_trust=f(ow.trust),
        worker_cap=i(ow.caseload_cap), worker_attendance_boost=f(ow.attendance_boost),
        hours_per_meeting=f(wk.hours_per_meeting), hours_per_client=f(wk.hours_per_client_week),
        hours_per_accompaniment=f(wk.hours_per_accompaniment),
        hours_per_house_call=f(wk.hours_per_house_call), hours_per_crisis=f(wk.hours_per_crisis),
        hours_per_supervision=f(wk.hours_per_supervision),
        hours_per_team_meeting=f(wk.hours_per_team_meeting), training_weeks=i(wk.training_weeks),
        training_hours=f(wk.training_hours_per_week),
        professionals=i(sv.professionals),
        house_call_slots=f(sv.professionals * sv.house_calls_per_professional_week),
        p_link_house_call=f(sv.p_link_house_call), tailoring=f(sv.tailoring),
        supervision_by_need=sv.supervision_order == "need",
        appointment_slots=f(sv.professionals * sv.appointments_per_professional_week),
        supervision_slots=f(sv.professionals * sv.supervision_per_professional_week),
        p_seek=f(sv.p_seek_appointment_per_week), p_attend=f(sv.p_attend),
        p_drop_engaged=f(sv.p_dropout_engaged_per_week),
        p_drop_linked=f(sv.p_dropout_linked_per_week), weeks_to_retained=i(sv.weeks_to_retained),
        demand_per_hour=f(w.demand_per_hour), demand_per_client=f(w.demand_per_client_week),
        p_crisis=f(w.p_crisis_per_client_week),
        crisis_cost=f(w.crisis_cost), p_stigma_event=f(w.p_stigma_event_per_week),
        stigma_event_cost=f(w.stigma_event_cost), label_weeks=i(w.stigma_trust_weeks),
        label_trust_factor=f(w.label_trust_factor), recovery=f(w.recovery_per_week),
        supervision_every=i(w.supervision_every_weeks), supervision_gain=f(w.supervision_gain),
        team_meeting_every=i(w.team_meeting_every_weeks),
        team_meeting_gain=f(w.team_meeting_gain), peer_support_gain=f(w.peer_support_gain),
        compensation_gain=f(w.compensation_gain), indirect_share=f(w.indirect_work_share),
        meaning_gain=f(w.meaning_gain), direct_meaning_gain=f(w.direct_meaning_gain),
        pair_risk_factor=f(w.pair_risk_factor), exhaustion_threshold=f(w.exhaustion_threshold),
        return_threshold=f(w.return_threshold), rest_recovery=f(w.rest_recovery_per_week),
        p_withdraw=f(w.p_withdraw_per_rest_week),
        hours=_per_kind(s, "hours_per_week", np.float64),
        p_contact=_per_kind(s, "p_contact_per_meeting", np.float64),
        site_share=_per_kind(s, "site_share", np.float64),
        kind_trust=_per_kind(s, "trust", np.float64),
        service_likeness=_per_kind(s, "service_likeness", np.float64),
        attendance_boost=_per_kind(s, "attendance_boost", np.float64),
        retention_boost=_per_kind(s, "retention_boost", np.float64),
        interpreter_boost=_per_kind(s, "interpreter_boost", np.float64),
        house_calls=_per_kind(s, "joins_house_calls", np.bool_),
        pairs=_per_kind(s, "works_in_pairs", np.bool_),
        role_conflict=_per_kind(s, "role_conflict_per_week", np.float64),
        mirror=_per_kind(s, "mirror_effect", np.float64),
        educator=_per_kind(s, "educator_effect", np.float64),
        caseload_cap=_per_kind(s, "caseload_cap", np.int64),
        compensation=_per_kind(s, "compensation_per_week", np.float64),
        pay_ratio=_pay_ratios(s),
    )
