"""The weekly dynamics of peer outreach as numba phase functions over the model's state.

One call of :func:`week` advances one replicate by one week through the phases of
:mod:`sim.model.reference` (the plain-Python executable specification, which says in words what
each phase does), each a function of its own, tested against the same phase of the reference:

0. :func:`population`: people stop using, die, go to prison or move away, come back from
   prison, and dormant people enter, keeping the population near its size;
1. :func:`plan`: the professionals' side: their hours for the programme, coordinating peers,
   supervision by need, assessing new peers, and each peer's hours, fixed commitments and
   caseload first;
2. :func:`linkage`: drop-out and retention, then appointments and house calls within the
   professionals' hours left, with accompaniment where the peer has the hours;
3. :func:`handoff`: a peer brings an engaged client to a close peer with room, who supports
   and can accompany them from then on;
4. :func:`online`: online contacts without a tie, one meeting's hours each;
5. :func:`outreach`: street contacts within each peer's reach and at each locality's service
   site, whose visitors its peers share, as many meetings as the hours left allow, and the
   outreach workers' meetings;
6. :func:`referral`: chain referral by engaged clients with coupons;
7. :func:`engagement`: engagement within the (tailored) caseload cap, or lost contact;
8. :func:`wellbeing`: the week worked and life as job demands and resources; exhaustion,
   rest, breaks and leaving (the engaged clients of a peer who stops working are taken on
   by another peer with room, or lost).

Each phase takes the named structures of :mod:`sim.model.state`. Every random number comes from
:mod:`sim.streams`, hashed on (process key, week, person): a peer's draws are keyed by the
person who is the peer (and their kind), a client's by the client, never by a row or a place in
a list, so one more peer of one kind leaves the draws of every other peer unchanged (common
random numbers) and no result depends on the thread that runs it. The kernel releases the GIL,
so replicates run in parallel threads.

When the model records its event history, each change of a client's or a peer's state is
also appended to ``c.events`` (:class:`~sim.model.events.EventLog`) by :func:`_log`; with the
log off that is one test of a flag and nothing else, and no random draw depends on it.

Every meeting of a client with a peer (a first contact by any way, meeting a client in
contact again on the street or at a site, an accompaniment or a house call, a hand-off's
meeting) is an *encounter* (:func:`_encounter`): counted, and the week of the client's first
and latest encounter kept, from which a period's clients seen and the share new are counted.
The weekly follow-up of a caseload is work in hours, not counted as encounters.

The small helpers the phases call for every client, meeting or peer are compiled without
numba's reference counting (``_nrt=False``: they index arrays but never allocate); with it,
each call that is handed an array or a named tuple pays atomic reference-count updates that
cost many times the helper's own work. numba inlines them into their callers
(``inline="always"``) rather than compiling each on its own: compiled apart, each was compiled
and cached once per caller's argument types, and once per constant it was handed (the event
log's ``_log`` fourteen times), a third of a first run's compiling; LLVM inlined them anyway,
so the same arithmetic runs. The phases and :func:`week` itself allocate nothing either (a
phase's work space is ``c.scratch``), so they are compiled the same way: handing the named
tuples from phase to phase costs nothing. The phases stay functions of their own (inlined
into :func:`week`, they compiled slower), which :mod:`sim.ensemble.compiling` compiles in two
processes on a first run.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model.events import (
    EV_CONTACT,
    EV_COUPONS_GIVEN,
    EV_DIED,
    EV_DROPOUT_ENGAGED,
    EV_DROPOUT_LINKED,
    EV_ENGAGED,
    EV_ENTERED,
    EV_HANDED_OFF,
    EV_IMPRISONED,
    EV_LINKED,
    EV_LOST_CONTACT,
    EV_LOST_WITH_PEER,
    EV_MOVED_AWAY,
    EV_PEER_BACK,
    EV_PEER_BREAK,
    EV_PEER_EXHAUSTED,
    EV_PEER_LEFT_RELAPSE,
    EV_PEER_RECRUITED,
    EV_PEER_RETURNED,
    EV_PEER_WITHDRAWN,
    EV_REFERRED,
    EV_RELEASED,
    EV_RETAINED,
    EV_STOPPED,
    L_EVENT,
    L_PEER,
    L_PERSON,
    L_RECRUITER,
    L_WAVE,
    L_WEEK,
)
from sim.model.recruitment.draws import normal, start_energy, vulnerability
from sim.model.state import (
    ABSENT,
    ACTIVE,
    AWAY,
    B_CONTACTED,
    B_ENGAGED,
    B_FRESH,
    B_HOLDERS,
    B_LEN,
    B_LINKED,
    B_PRESENT,
    B_RETAINED,
    B_SIZE,
    BREAK,
    C_ACCOMPANIED,
    C_ACTIVE,
    C_APPOINTMENTS,
    C_APPOINTMENTS_WAITING,
    C_COMPENSATION,
    C_ENCOUNTERS,
    C_ENTERED,
    C_EXITED,
    C_HANDED_OFF,
    C_HOUSE_CALLS,
    C_LEFT,
    C_LIFE_EVENTS,
    C_NEW_CONTACTS,
    C_NEW_ENGAGED,
    C_NEW_EXHAUSTED,
    C_NEW_LINKED,
    C_NOW_ENGAGED,
    C_NOW_LINKED,
    C_ON_BREAK,
    C_ONLINE_CONTACTS,
    C_PEER_CENTIHOURS,
    C_PEER_WEEKS_PAID,
    C_PRESENT,
    C_PROFESSIONAL_CENTIHOURS,
    C_REFERRALS,
    C_RESTING,
    C_SITE_ENCOUNTERS,
    C_SITE_VISITS,
    C_SUPERVISIONS,
    C_SUPERVISIONS_LATE,
    C_TEAM_MEETINGS,
    C_WITHDRAWN,
    CLIENT,
    CLOSE,
    CONTACTED,
    DEAD,
    DISTANT,
    DORMANT,
    ENGAGED,
    EVER_CONTACTED,
    EVER_ENGAGED,
    EVER_LINKED,
    EVER_PRESENT,
    EVER_RETAINED,
    HIDDEN,
    LEFT_EXHAUSTION,
    LEFT_HEALTH_PRISON,
    LEFT_MOVING,
    LEFT_OTHER_WORK,
    LEFT_RELAPSE,
    LINKED,
    N_EGO_CLASSES,
    PRESENT,
    RESTING,
    RETAINED,
    T_PROFESSIONAL_LEFT,
    T_PROFESSIONAL_USED,
    TEAM,
    WITHDRAWN,
    WORKER,
)
from sim.streams import subkey, uniform

#: Draws a meeting (or a site visit, or an online or outreach workers' contact) takes at most
#: to find someone in the population when it falls on someone who is not (dormant, in prison,
#: dead): a bound on the work, not a mechanism (with a third of the world away, eight draws
#: all miss with chance 0.33^8, 1 in 7,000).
MEETING_DRAWS = 8

__all__ = [
    "add_ego_networks",
    "engagement",
    "ego_network",
    "ego_networks",
    "handoff",
    "linkage",
    "online",
    "outreach",
    "plan",
    "population",
    "referral",
    "week",
    "wellbeing",
]


@njit(cache=True, _nrt=False, inline="always")
def _peer_key(key, w, peer, kind):
    """The key of one peer's draws in week ``w``: by (process, week, peer kind, person)."""
    return subkey(subkey(subkey(key, w), kind), peer)


@njit(cache=True, _nrt=False, inline="always")
def _subgroup_trust(world, a, b, factor):
    """Trust kept between persons a and b: ``factor`` per subgroup in which they differ."""
    t = 1.0
    if world.gender[a] != world.gender[b]:
        t *= factor
    if world.age[a] != world.age[b]:
        t *= factor
    return t


@njit(cache=True, _nrt=False, inline="always")
def _mistrust_kept(par, world, v, likeness):
    """The share of a chance that client ``v``'s mistrust of professionals leaves.

    ``likeness``: how far the other party is seen as the services (professionals 1, a close
    peer at a site partly).
    """
    return 1.0 - par.mistrust_barrier * likeness * world.mistrust[v]


@njit(cache=True, _nrt=False, inline="always")
def _attend_kept(par, world, v, bridged):
    """The share of the chance to attend (or be linked on a house call) that mistrust leaves.

    A peer who accompanies the client (``bridged``) removes ``accompaniment_bridge`` of it.
    """
    barrier = par.mistrust_barrier * world.mistrust[v]
    if bridged:
        barrier *= 1.0 - par.accompaniment_bridge
    return 1.0 - barrier


@njit(cache=True, _nrt=False, inline="always")
def _need(world, par, v):
    """Client ``v``'s weight in a caseload: 1 plus ``problem_load`` per problem area."""
    return 1.0 + par.problem_load * world.problems[v]


@njit(cache=True, _nrt=False, inline="always")
def _stigma_kept(effect, stigma):
    """The share of contact and engagement that local ``stigma`` leaves."""
    return 1.0 - effect * stigma


@njit(cache=True, _nrt=False, inline="always")
def _log(c, w, code, person, peer, recruiter, wave):
    """Append an event to the history, if it is recorded (see :mod:`sim.model.events`).

    ``peer`` is a peer row (``TEAM`` for the outreach workers, -1 for none); ``recruiter`` and
    ``wave`` are -1 where there is none. The log has room for any week (its capacity bounds a
    week's events); past it nothing is written and the recorder reports the overflow.
    """
    log = c.events
    k = log.count[0]
    if k < log.rows.shape[0]:
        row = log.rows
        row[k, L_WEEK] = w
        row[k, L_EVENT] = code
        row[k, L_PERSON] = person
        row[k, L_PEER] = peer
        row[k, L_RECRUITER] = recruiter
        row[k, L_WAVE] = wave
    log.count[0] = k + 1


@njit(cache=True, _nrt=False, inline="always")
def _log_client(c, w, code, v):
    """Log an event of client ``v``, with their peer, recruiter and wave as they are now."""
    if c.events.on:
        _log(c, w, code, v, c.peer_of[v], c.referrer[v], c.wave[v])


@njit(cache=True, _nrt=False, inline="always")
def _log_peer(c, p, w, code, i):
    """Log an event of peer row ``i`` (the peer is both the person and the peer)."""
    if c.events.on:
        _log(c, w, code, p.node[i], i, -1, -1)


@njit(cache=True, _nrt=False, inline="always")
def _mark(ever, v, flag, book, slot):
    """Record that ``v`` reached a step of the path, counting each person once."""
    if ever[v] & flag == 0:
        ever[v] |= flag
        book[slot] += 1


@njit(cache=True, _nrt=False, inline="always")
def _push(items, pos, book, slot, v):
    """Append ``v`` to a list of persons (``items``; ``pos``: places; ``book[slot]``: length)."""
    k = book[slot]
    items[k] = v
    pos[v] = k
    book[slot] = k + 1


@njit(cache=True, _nrt=False, inline="always")
def _pull(items, pos, book, slot, v):
    """Take ``v`` off a list of persons (see :func:`_push`); the last one takes its place."""
    k = pos[v]
    last = book[slot] - 1
    u = items[last]
    items[k] = u
    pos[u] = k
    pos[v] = -1
    book[slot] = last


@njit(cache=True, _nrt=False, inline="always")
def _leave(c, v):
    """Take ``v`` off the list of clients in contact."""
    _pull(c.reached, c.reached_pos, c.book, B_LEN, v)


@njit(cache=True, _nrt=False, inline="always")
def _unfresh(c, v):
    """Take ``v`` off the list of the contacted, not yet engaged."""
    _pull(c.fresh, c.fresh_pos, c.book, B_FRESH, v)


@njit(cache=True, _nrt=False, inline="always")
def _hold(c, v, coupons):
    """Client ``v`` gets ``coupons`` and joins the list of holders (if any were given)."""
    c.coupons[v] = coupons
    if coupons > 0 and c.holders_pos[v] < 0:
        _push(c.holders, c.holders_pos, c.book, B_HOLDERS, v)


@njit(cache=True, _nrt=False, inline="always")
def _unhold(c, v):
    """Client ``v`` has no coupons left and leaves the list of holders."""
    c.coupons[v] = 0
    if c.holders_pos[v] >= 0:
        _pull(c.holders, c.holders_pos, c.book, B_HOLDERS, v)


@njit(cache=True, _nrt=False, inline="always")
def _encounter(c, v, w, counters):
    """Client ``v`` meets a peer (or the outreach workers) in week ``w``: one encounter."""
    counters[C_ENCOUNTERS] += 1
    if c.first_met[v] < 0:
        c.first_met[v] = w
    c.last_met[v] = w


@njit(cache=True, _nrt=False, inline="always")
def _contact(c, v, w, i, t, referrer, wave, counters):
    """Hidden client ``v`` is contacted in week ``w`` on behalf of peer row ``i``, trust ``t``.

    ``referrer``: the friend whose coupon brought ``v`` (-1: a direct contact); ``wave``:
    referral steps from a peer's own contact (0: direct). The meeting is an encounter.
    """
    _encounter(c, v, w, counters)
    c.cstate[v] = CONTACTED
    _mark(c.ever, v, EVER_CONTACTED, c.book, B_CONTACTED)
    c.since[v] = w
    c.peer_of[v] = i
    c.trust[v] = t
    c.referrer[v] = referrer
    c.wave[v] = wave
    c.follow[v] = 0
    _push(c.reached, c.reached_pos, c.book, B_LEN, v)
    _push(c.fresh, c.fresh_pos, c.book, B_FRESH, v)
    _log_client(c, w, EV_CONTACT, v)


@njit(cache=True, _nrt=False, inline="always")
def _tailor(professionals, tailoring, strength):
    """The share of its kind's hours and caseload cap a peer of assessed ``strength`` is given."""
    if professionals > 0:
        return 1.0 - tailoring * (1.0 - strength)
    return 1.0


@njit(cache=True)
def tailored_hours(par, kind, strength):
    """Each peer's weekly hours as :func:`plan` gives them, before commitments and the caseload.

    Their kind's ``hours_per_week`` times the share :func:`_tailor` gives their assessed
    ``strength`` (``kind`` and ``strength`` are peer columns).
    """
    out = np.empty(kind.shape[0])
    for i in range(kind.shape[0]):
        out[i] = par.hours_per_week[kind[i]] * _tailor(
            par.professionals, par.tailoring, strength[i]
        )
    return out


@njit(cache=True, _nrt=False, inline="always")
def _supervised(w, last_supervised, joined):
    """Whether a peer had supervision in week ``w`` (joining is not a supervision)."""
    if last_supervised != w:
        return False
    return joined < w


@njit(cache=True, _nrt=False, inline="always")
def _team_meeting(w, par):
    return (
        par.team_meeting_every_weeks > 0
        and w % par.team_meeting_every_weeks == 0
        and par.professionals > 0
    )


@njit(cache=True, _nrt=False, inline="always")
def _due_order(p, par, i):
    """Peer row ``i``'s place in the queue for scarce supervision: need or turn.

    Need is the energy as the professionals judge it (``p.judged``), not the true one. The
    person breaks ties, so no two peers share a place.
    """
    first = p.judged[i] if par.supervision_by_need else float(p.last_supervised[i])
    return first + p.node[i] * 1e-12


@njit(cache=True, _nrt=False, inline="always")
def _first_due(due, m, k, p, par):
    """Move the ``k`` peers of ``due[:m]`` first in the queue (:func:`_due_order`) to ``due[:k]``.

    One pass keeping the best ``k`` in order: a full sort of everyone due, when a few hours
    go round many peers, cost most of the phase. The places differ, so these are the first
    ``k`` of a sort of all of them.
    """
    for j in range(m):
        v = due[j]
        x = _due_order(p, par, v)
        if j >= k and x >= _due_order(p, par, due[k - 1]):
            continue
        pos = min(j, k - 1)
        if j >= k:
            due[j] = due[k - 1]  # the one pushed out takes v's place (kept a permutation)
        while pos > 0 and _due_order(p, par, due[pos - 1]) > x:
            due[pos] = due[pos - 1]
            pos -= 1
        due[pos] = v


@njit(cache=True, _nrt=False, inline="always")
def _professional_hours(p, hours):
    """Take up to ``hours`` of the professionals' hours left this week; the hours taken."""
    took = min(hours, p.team[T_PROFESSIONAL_LEFT])
    p.team[T_PROFESSIONAL_LEFT] -= took
    p.team[T_PROFESSIONAL_USED] += took
    return took


@njit(cache=True, nogil=True, _nrt=False)
def plan(w, world, c, p, par, keys, counters):
    """Phase 1: the professionals' side and each working peer's hours for the week.

    The professionals have ``programme_hours_per_week`` for the programme (their outside work
    left out), spent in this order: ``coordination_hours_per_peer_week`` for each enrolled peer
    (as far as they go); ``hours_per_linked_client_week`` for each client in services (linked
    or retained); a supervision (``hours_per_supervision``) for each peer who is due
    (``supervision_every_weeks`` weeks since the last) while the hours last, when they do not
    last for everyone the most strained first (lowest judged energy, then person), or with
    ``supervision_order = 'turn'`` those waiting longest first; the others wait for a later
    week (``C_SUPERVISIONS_LATE`` counts them). A supervision is also an assessment: the peer's
    strength is their energy as judged then. Then each peer who joined this week is assessed
    (``hours_per_assessment``) while the hours last; one the hours do not reach starts
    unassessed (strength 1, as without professionals). What is left goes to appointments and
    house calls (:func:`linkage`). The professionals judge a working peer's energy with a
    normal error of sd ``assessment_error_sd`` (within [0, 1]). A peer's hours are their
    kind's, tailored to that strength; supervision, a team meeting, training (new peers,
    shortened by educators), indirect work and following up the caseload come first, and what
    does not fit waits. A client's follow-up takes ``hours_per_client_week`` for each unit of
    their need (1 plus ``problem_load`` per problem area).
    """
    n = p.node.shape[0]
    working = 0
    enrolled = 0
    p.team[T_PROFESSIONAL_LEFT] = par.programme_hours_per_week if par.professionals > 0 else 0.0
    p.team[T_PROFESSIONAL_USED] = 0.0
    for i in range(n):
        p.hours_left[i] = 0.0
        p.hours_worked[i] = 0.0
        p.successes[i] = 0
        if p.status[i] != WITHDRAWN:
            enrolled += 1
        if p.status[i] == ACTIVE:
            working += 1
            if par.assessment_error_sd > 0.0:
                kp = _peer_key(keys.wellbeing, w, p.node[i], p.kind[i])
                judged = p.energy[i] + par.assessment_error_sd * normal(kp, 20)
                p.judged[i] = min(1.0, max(0.0, judged))
            else:
                p.judged[i] = p.energy[i]
    _professional_hours(p, enrolled * par.coordination_hours_per_peer_week)
    if par.hours_per_linked_client_week > 0.0:  # the clients in services come next
        in_services = 0
        for k in range(c.book[B_LEN]):
            v = c.reached[k]
            if c.role[v] == CLIENT and (c.cstate[v] == LINKED or c.cstate[v] == RETAINED):
                in_services += 1
        _professional_hours(p, in_services * par.hours_per_linked_client_week)
    if par.supervision_every_weeks > 0 and par.professionals > 0:
        due = c.scratch  # a peer is a person: room for every peer
        m = 0
        for i in range(n):
            if p.status[i] == ACTIVE and w - p.last_supervised[i] >= par.supervision_every_weeks:
                due[m] = i
                m += 1
        if par.hours_per_supervision > 0.0:
            held = int(p.team[T_PROFESSIONAL_LEFT] / par.hours_per_supervision + 1e-9)
        else:
            held = m
        held = min(m, held)
        if m > held > 0:  # not enough hours for everyone due: by need or by turn
            _first_due(due, m, held, p, par)
        for j in range(held):
            i = due[j]
            p.last_supervised[i] = w
            p.strength[i] = p.judged[i]
            counters[C_SUPERVISIONS] += 1
        _professional_hours(p, held * par.hours_per_supervision)
        counters[C_SUPERVISIONS_LATE] += m - held
    if par.professionals > 0:
        new = c.scratch  # the week's new peers, by person (not by row: common random numbers)
        k = 0
        for i in range(n):
            if p.status[i] == ACTIVE and p.joined[i] == w:
                pos = k
                while pos > 0 and p.node[new[pos - 1]] > p.node[i]:
                    new[pos] = new[pos - 1]
                    pos -= 1
                new[pos] = i
                k += 1
        for j in range(k):
            if p.team[T_PROFESSIONAL_LEFT] + 1e-9 >= par.hours_per_assessment:
                _professional_hours(p, par.hours_per_assessment)
            else:
                p.strength[new[j]] = 1.0  # not assessed: their kind's hours until supervised
    meeting = _team_meeting(w, par)
    if meeting and working > 0:
        counters[C_TEAM_MEETINGS] += 1
    educator = 0.0  # the strongest educator effect among experienced working peers
    for i in range(n):
        if (
            p.status[i] == ACTIVE
            and w - p.joined[i] >= par.training_weeks
            and par.educator_effect[p.kind[i]] > educator
        ):
            educator = par.educator_effect[p.kind[i]]
    training = par.training_weeks * (1.0 - educator)
    for i in range(n):
        if p.status[i] != ACTIVE:
            continue
        budget = par.hours_per_week[p.kind[i]] * _tailor(
            par.professionals, par.tailoring, p.strength[i]
        )
        need = par.indirect_work_share * budget + p.need[i] * par.hours_per_client_week
        if _supervised(w, p.last_supervised[i], p.joined[i]):
            need += par.hours_per_supervision
        if meeting:
            need += par.hours_per_team_meeting
        if w - p.joined[i] < training:
            need += par.training_hours_per_week
        used = min(budget, need)
        p.hours_worked[i] = used
        p.hours_left[i] = budget - used
    if par.outreach_workers_count > 0:
        team = (
            par.outreach_workers_count * par.outreach_workers_hours_per_week
            - p.team[2] * par.hours_per_client_week
        )
        p.team[1] = max(0.0, team)
    else:
        p.team[1] = 0.0


@njit(cache=True, _nrt=False, inline="always")
def _accompany(p, i, hours):
    """Peer row ``i`` spends ``hours`` if it has them; whether it did."""
    if p.hours_left[i] >= hours:
        p.hours_left[i] -= hours
        p.hours_worked[i] += hours
        return True
    return False


@njit(cache=True, _nrt=False, inline="always")
def _to_services(world, c, p, par, v, w, i, counters):
    """Client ``v`` (supported by peer row ``i``, or the team) is linked to services."""
    c.cstate[v] = LINKED
    _mark(c.ever, v, EVER_LINKED, c.book, B_LINKED)
    c.since[v] = w
    _log_client(c, w, EV_LINKED, v)
    _release(world, p, par, v, i)
    if i >= 0:
        p.successes[i] += 1
    counters[C_NEW_LINKED] += 1


@njit(cache=True, _nrt=False, inline="always")
def _release(world, p, par, v, i):
    """Client ``v`` leaves the caseload of peer row ``i`` (or of the team)."""
    if i >= 0:
        p.caseload[i] -= 1
        p.need[i] -= _need(world, par, v)
    elif i == TEAM:
        p.team[0] -= 1
        p.team[2] -= _need(world, par, v)


@njit(cache=True, nogil=True, _nrt=False)
def linkage(w, world, c, p, par, keys, counters):
    """Phase 2: drop-out and retention, then appointments and house calls.

    Clients asking for an appointment are served in a rotation from a random first one, so no
    one always books first, within the professionals' hours :func:`plan` left: an office
    appointment (``hours_per_appointment``) while the hours last (attended with ``p_attend``
    less the client's mistrust barrier, plus the peer's ``attendance_boost`` if the peer has
    the hours to accompany them, which also bridges most of the barrier), else a house call
    (``hours_per_house_call`` of the professional's hours and the peer's) if the professionals
    have those hours and the client's peer joins house calls and has the hours. An asker
    neither can be held for waits: they may ask again in a later week
    (``C_APPOINTMENTS_WAITING`` counts them). Linked clients' drop-out falls with their working
    peer's ``retention_boost`` and, programme-wide, with the ``mirror_effect`` of each kind
    that has a working peer.
    """
    kl = subkey(keys.link, w)
    kl_seek, kl_attend = subkey(kl, 1), subkey(kl, 2)
    kl_drop, kl_order = subkey(kl, 3), subkey(kl, 4)
    asking = par.professionals > 0
    mirror_kept = 1.0
    for kind in (CLOSE, DISTANT):
        for i in range(p.node.shape[0]):
            if p.kind[i] == kind and p.status[i] == ACTIVE:
                mirror_kept *= 1.0 - par.mirror_effect[kind]
                break
    seekers = c.scratch  # the askers, in its first n_seekers places
    n_seekers = 0
    now_engaged = now_linked = 0
    for k in range(c.book[B_LEN] - 1, -1, -1):
        v = c.reached[k]
        if c.role[v] != CLIENT:
            continue
        s = c.cstate[v]
        i = c.peer_of[v]
        works = i >= 0 and p.status[i] == ACTIVE
        if s == ENGAGED:
            if uniform(kl_drop, v) < par.p_dropout_engaged_per_week:
                _log_client(c, w, EV_DROPOUT_ENGAGED, v)
                c.cstate[v] = HIDDEN
                _unhold(c, v)
                _release(world, p, par, v, i)
                c.peer_of[v] = -1
                _leave(c, v)
                continue
            now_engaged += 1
            q = par.p_seek_appointment_per_week + (
                par.interpreter_boost[p.kind[i]] if works else 0.0
            )
            if asking and uniform(kl_seek, v) < q:
                seekers[n_seekers] = v
                n_seekers += 1
        elif s == LINKED or s == RETAINED:
            q = par.p_dropout_linked_per_week * mirror_kept
            if works:
                q *= 1.0 - par.retention_boost[p.kind[i]]
            if uniform(kl_drop, v) < q:
                _log_client(c, w, EV_DROPOUT_LINKED, v)
                c.cstate[v] = HIDDEN
                _unhold(c, v)
                c.peer_of[v] = -1
                _leave(c, v)
                continue
            now_linked += 1
            if s == LINKED and w - c.since[v] >= par.weeks_to_retained:
                c.cstate[v] = RETAINED
                _mark(c.ever, v, EVER_RETAINED, c.book, B_RETAINED)
                _log_client(c, w, EV_RETAINED, v)
    start = int(uniform(kl_order, 1) * n_seekers)
    for step in range(n_seekers):
        v = seekers[(start + step) % n_seekers]
        i = c.peer_of[v]
        works = i >= 0 and p.status[i] == ACTIVE
        if p.team[T_PROFESSIONAL_LEFT] + 1e-9 >= par.hours_per_appointment:
            _professional_hours(p, par.hours_per_appointment)
            counters[C_APPOINTMENTS] += 1
            if works and _accompany(p, i, par.hours_per_accompaniment):
                q = (
                    par.p_attend * _attend_kept(par, world, v, True)
                    + par.attendance_boost[p.kind[i]]
                )
                counters[C_ACCOMPANIED] += 1
                _encounter(c, v, w, counters)
            elif i == TEAM and p.team[1] >= par.hours_per_accompaniment:
                # A professional's company does not bridge mistrust of professionals.
                p.team[1] -= par.hours_per_accompaniment
                q = (
                    par.p_attend * _attend_kept(par, world, v, False)
                    + par.outreach_workers_attendance_boost
                )
                counters[C_ACCOMPANIED] += 1
                _encounter(c, v, w, counters)
            else:
                q = par.p_attend * _attend_kept(par, world, v, False)
            linked = uniform(kl_attend, v) < q
        elif (
            p.team[T_PROFESSIONAL_LEFT] + 1e-9 >= par.hours_per_house_call
            and works
            and par.joins_house_calls[p.kind[i]]
            and _accompany(p, i, par.hours_per_house_call)
        ):
            _professional_hours(p, par.hours_per_house_call)
            counters[C_HOUSE_CALLS] += 1
            _encounter(c, v, w, counters)
            linked = uniform(kl_attend, v) < par.p_link_house_call * _attend_kept(
                par, world, v, True
            )
        else:
            counters[C_APPOINTMENTS_WAITING] += 1
            continue
        if linked:
            _to_services(world, c, p, par, v, w, i, counters)
            now_engaged -= 1
            now_linked += 1
    counters[C_NOW_ENGAGED] = now_engaged
    counters[C_NOW_LINKED] = now_linked
    counters[C_PROFESSIONAL_CENTIHOURS] = int(p.team[T_PROFESSIONAL_USED] * 100.0 + 0.5)


@njit(cache=True, nogil=True, _nrt=False)
def online(w, world, c, p, par, keys, counters):
    """Phase 3: online activity reaches clients with online access, without a tie.

    A working peer makes a Poisson number of attempts a week, each taking one meeting's hours
    while the week's hours last.
    """
    if par.online_contacts_per_peer_week <= 0.0:
        return
    lam = par.online_contacts_per_peer_week
    for i in range(p.node.shape[0]):
        if p.status[i] != ACTIVE:
            continue
        kp = _peer_key(keys.online, w, p.node[i], p.kind[i])
        for j in range(_poisson(lam, kp)):  # attempts: uniform(kp, 0) is the count's draw
            if not _accompany(p, i, par.hours_per_meeting):
                break
            v = _anyone(c, kp, j)
            if c.role[v] != CLIENT or c.cstate[v] != HIDDEN:
                continue
            if uniform(kp, 2 * j + 2) < (
                world.loc_online[world.locality[v]]
                * _mistrust_kept(par, world, v, par.service_likeness[p.kind[i]])
            ):
                _contact(
                    c,
                    v,
                    w,
                    i,
                    par.online_trust * _subgroup_trust(world, p.node[i], v, par.subgroup_trust),
                    -1,
                    0,
                    counters,
                )
                counters[C_ONLINE_CONTACTS] += 1
                counters[C_NEW_CONTACTS] += 1


@njit(cache=True, _nrt=False, inline="always")
def _anyone(c, key, j):
    """Attempt ``j``'s person: whom online work and the outreach workers meet.

    Drawn uniformly from the whole world by ``uniform(key, 2j + 1)``, again (with the draws of
    ``subkey(key, t)``) while not in the population, up to :data:`MEETING_DRAWS` times.
    """
    n = c.here.shape[0]
    v = int(uniform(key, 2 * j + 1) * n)
    t = 1
    while c.here[v] != PRESENT and t < MEETING_DRAWS:
        v = int(uniform(subkey(key, t), 2 * j + 1) * n)
        t += 1
    return v


@njit(cache=True, _nrt=False, inline="always")
def _meetings(hours, per_meeting, u):
    """Meetings that fit in ``hours``, rounded up or down at random so their mean is exact."""
    return int(hours / per_meeting + u)


@njit(cache=True, _nrt=False, inline="always")
def _poisson(mean, key):
    """A Poisson count of ``mean`` from the draws ``uniform(key, 0), uniform(key, 1), ...``.

    By inversion (Knuth), in parts of mean at most 400 (a sum of Poisson counts is Poisson),
    so that ``exp(-mean)`` of a part stays far from underflow.
    """
    parts = int(math.ceil(mean / 400.0))
    total = 0
    for q in range(parts):
        part = mean / parts
        x = uniform(key, q)
        term = math.exp(-part)
        cdf = term
        k = 0
        while x > cdf and k < 100000:
            k += 1
            term *= part / k
            cdf += term
        total += k
    return total


@njit(cache=True, _nrt=False, inline="always")
def _reach_weight(p, par, i):
    """The total contact weight of everyone within peer row ``i``'s reach (0: no one)."""
    cw = par.class_weight
    first = i * N_EGO_CLASSES  # this peer's classes start at ego_class_ptr[first]
    total = 0.0
    for cl in range(N_EGO_CLASSES):
        total += (p.ego_class_ptr[first + cl + 1] - p.ego_class_ptr[first + cl]) * cw[cl]
    return total


@njit(cache=True, _nrt=False, inline="always")
def _site_capacity(world, loc, per_meeting):
    """Meetings a peer can hold at locality ``loc``'s site in a week.

    As many as fit in its opening hours; 0 with no site there, or no one to visit it.
    """
    if world.site_visits[loc] <= 0.0:
        return 0
    if world.site_orbit_ptr[loc + 1] == world.site_orbit_ptr[loc]:
        return 0
    return int(world.site_open_hours[loc] / per_meeting)


@njit(cache=True, _nrt=False, inline="always")
def _contact_chance(world, par, v, kind, label):
    """The chance that a peer of ``kind`` who meets hidden client ``v`` makes a first contact."""
    return (
        par.p_contact_per_meeting[kind]
        * label
        * _stigma_kept(par.stigma_effect, world.loc_stigma[world.locality[v]])
        * _mistrust_kept(par, world, v, par.service_likeness[kind])
    )


@njit(cache=True, _nrt=False, inline="always")
def _street_meeting(w, world, c, p, par, counters, i, total, kpick, kaccept, j, label):
    """Meeting ``j`` of peer row ``i`` with someone within reach (``total``: their weight).

    The person is drawn by :func:`_within_reach`, again (with the draws of ``subkey(kpick,
    t)``) while they are not in the population, up to :data:`MEETING_DRAWS` times. A client
    in contact is met again (an encounter); a hidden client becomes a contact by
    ``uniform(subkey(kaccept, v), j)``.
    """
    cw = par.class_weight
    kind = p.kind[i]
    key = kpick
    t = 1
    while True:  # one call in a loop: the draw is inlined (and compiled) once
        v, cl = _within_reach(p, par, i, total, key, j)
        if c.here[v] == PRESENT or t >= MEETING_DRAWS:
            break
        key = subkey(kpick, t)  # someone in the population instead
        t += 1
    if c.role[v] != CLIENT:
        return  # a fellow peer, or no one in the population
    if c.cstate[v] != HIDDEN:
        _encounter(c, v, w, counters)  # a client the programme knows
    elif uniform(subkey(kaccept, v), j) < _contact_chance(world, par, v, kind, label):
        _contact(c, v, w, i, par.trust[kind] * label * cw[cl], -1, 0, counters)
        counters[C_NEW_CONTACTS] += 1


@njit(cache=True, _nrt=False, inline="always")
def _within_reach(p, par, i, total, key, j):
    """Meeting ``j``'s person within peer row ``i``'s reach, and their ego-network class.

    Drawn by class with the class's contact weight (``uniform(key, 2j + 1)``; ``total``: the
    weight of everyone in reach) and uniformly within it (``uniform(key, 2j + 2)``).
    """
    cw = par.class_weight
    first = i * N_EGO_CLASSES
    r = uniform(key, 2 * j + 1) * total
    cl = 0
    lo = p.ego_class_ptr[first]
    hi = p.ego_class_ptr[first + 1]
    while cl < N_EGO_CLASSES - 1 and r >= (hi - lo) * cw[cl]:
        r -= (hi - lo) * cw[cl]
        cl += 1
        lo, hi = hi, p.ego_class_ptr[first + cl + 1]
    while hi == lo:  # r at the very top after rounding: the last class with entries
        cl -= 1
        lo = p.ego_class_ptr[first + cl]
        hi = p.ego_class_ptr[first + cl + 1]
    return p.ego_nodes[lo + int(uniform(key, 2 * j + 2) * (hi - lo))], cl


@njit(cache=True, _nrt=False, inline="always")
def _not_worked(p, i, meetings, per_meeting):
    """Peer row ``i``'s ``meetings`` found no one: their hours go back, not worked."""
    hours = min(p.hours_worked[i], meetings * per_meeting)
    p.hours_worked[i] -= hours
    p.hours_left[i] += hours


@njit(cache=True, _nrt=False, inline="always")
def _by_rate(cum, lo, hi, u):
    """The place in ``[lo, hi)`` drawn by ``u`` with chance in proportion to its rate.

    ``cum`` holds the running sum of the rates from ``lo``: the first place whose sum exceeds
    ``u`` times the total, found by bisection.
    """
    target = u * cum[hi - 1]
    while lo < hi - 1:
        mid = (lo + hi - 1) // 2
        if cum[mid] > target:
            hi = mid + 1
        else:
            lo = mid + 1
    return lo


@njit(cache=True, _nrt=False, inline="always")
def _next_site_meeting(p, i, key):
    """Advance peer row ``i``'s clock to when its next site meeting takes a visitor.

    The peer's ``m`` meetings left each wait an exponential time; the first of them ends after
    an exponential time of rate ``m`` (drawn by ``uniform(key, m)``, so each step has its own
    draw). The peer whose clock is first takes the next visitor: a visitor goes to a peer with
    chance in proportion to the meetings they have left, as if each meeting were a ball drawn
    from an urn, and the order depends on each peer's own draws, not on rows.
    """
    m = p.site_meetings[i]
    if m <= 0:
        p.site_next[i] = math.inf
    else:
        p.site_next[i] += -math.log(1.0 - uniform(key, m)) / m


@njit(cache=True, nogil=True, _nrt=False)
def outreach(w, world, c, p, par, keys, counters):
    """Phase 4: street and site contacts, one meeting at a time, as the week's hours left allow.

    A working peer with hours left meets ``hours_left / hours_per_meeting`` people (half as
    many in pairs: each meeting takes both peers' time), rounded at random, after keeping a
    meeting's hours for each referred contact waiting to be met. A ``site_share`` of the
    meetings (all, if no one is within reach) are at the service site of the peer's locality,
    as many as fit in its opening hours; the others are with someone within reach, drawn by
    class with the class's contact weight (closer and more similar people are met more often)
    and uniformly within a class.

    Each site has a footfall: a Poisson number of visits a week (``site_visits``), each by a
    person of its locality's service orbit drawn in proportion to their visiting rate
    (``site_orbit_cum``), keyed by (week, locality, visit), so the visitors do not depend on
    the peers and come back over the weeks, some often. The peers at a
    site share its visitors: each visit in turn is met by one of them with chance in
    proportion to the site meetings they have left (:func:`_next_site_meeting`), and a
    visitor met once this week is not met again (``c.scratch`` holds ``-(w + 1)`` under each
    visitor met). A peer's site meetings that find no visitor go to their ties, or, with no
    one within reach, are not worked (their hours go back).

    A hidden client met becomes a contact with chance ``p_contact_per_meeting x label x stigma
    kept x mistrust kept`` (the kind's ``service_likeness`` of the barrier), drawn by (client,
    meeting) or, at a site, by visit; trust is the kind's (times the class's weight for a tie).
    The outreach workers then meet people of the whole population at random with their team's
    hours left, and bear the whole barrier.
    """
    effect, loc_stigma, locality = par.stigma_effect, world.loc_stigma, world.locality
    n_peers = p.node.shape[0]
    # Street meetings, and the meetings each peer holds at its site.
    for i in range(n_peers):
        p.site_meetings[i] = 0
        if p.status[i] != ACTIVE or p.hours_left[i] <= 0.0:
            continue
        kind = p.kind[i]
        total = _reach_weight(p, par, i)
        site = par.site_share[kind]
        if total <= 0.0 and site <= 0.0:
            continue  # no one within reach: the hours are not worked
        per_meeting = par.hours_per_meeting * (2.0 if par.works_in_pairs[kind] else 1.0)
        capacity = _site_capacity(world, locality[p.node[i]], per_meeting)
        kgap = _peer_key(keys.contact, w, p.node[i], kind)
        kaccept = subkey(kgap, 1)
        ksite = subkey(kgap, 2)
        # Hours for the referred contacts waiting to be met are kept for the engagement phase.
        keep = min(p.hours_left[i], p.pending[i] * par.hours_per_meeting)
        street = p.hours_left[i] - keep
        tries = _meetings(street, per_meeting, uniform(kgap, 0))
        p.hours_worked[i] += street
        p.hours_left[i] = keep
        label = par.label_trust_factor if p.label_until[i] > w else 1.0
        at_site = 0
        idle = 0
        for j in range(tries):
            if total <= 0.0 or (site > 0.0 and uniform(ksite, 3 * j) < site):
                if at_site < capacity:
                    at_site += 1
                    continue
                if total <= 0.0:
                    idle += 1
                    continue
            _street_meeting(w, world, c, p, par, counters, i, total, kgap, kaccept, j, label)
        if idle > 0:
            _not_worked(p, i, idle, per_meeting)
        p.site_meetings[i] = at_site
    # Each site's visitors, shared by the peers there.
    ksites = subkey(keys.site, 0)
    kpeers = subkey(keys.site, 1)
    met = -(w + 1)
    for loc in range(world.site_visits.shape[0]):
        lo = world.site_orbit_ptr[loc]
        size = world.site_orbit_ptr[loc + 1] - lo
        if world.site_visits[loc] <= 0.0 or size == 0:
            continue
        ks = subkey(subkey(ksites, w), loc)
        visits = _poisson(world.site_visits[loc], subkey(ks, 0))
        counters[C_SITE_VISITS] += visits
        meetings = 0
        for i in range(n_peers):
            p.site_next[i] = math.inf  # not at this site
            if p.site_meetings[i] > 0 and locality[p.node[i]] == loc:
                meetings += p.site_meetings[i]
                p.site_next[i] = 0.0
                _next_site_meeting(p, i, _peer_key(kpeers, w, p.node[i], p.kind[i]))
        kvisitor = subkey(ks, 1)
        kaccept = subkey(ks, 2)
        for k in range(visits):
            if meetings <= 0:
                break  # the peers' site meetings are used up: the rest come and go unmet
            key = kvisitor
            t = 1
            while True:  # a visitor in the population
                u = uniform(key, k)
                v = world.site_orbit_nodes[_by_rate(world.site_orbit_cum, lo, lo + size, u)]
                if c.here[v] == PRESENT or t >= MEETING_DRAWS:
                    break
                key = subkey(kvisitor, t)
                t += 1
            if c.role[v] != CLIENT or c.scratch[v] == met:
                continue
            best = 0
            for i in range(1, n_peers):
                if p.site_next[i] < p.site_next[best]:
                    best = i
            p.site_meetings[best] -= 1
            meetings -= 1
            _next_site_meeting(p, best, _peer_key(kpeers, w, p.node[best], p.kind[best]))
            c.scratch[v] = met
            counters[C_SITE_ENCOUNTERS] += 1
            kind = p.kind[best]
            label = par.label_trust_factor if p.label_until[best] > w else 1.0
            if c.cstate[v] != HIDDEN:
                _encounter(c, v, w, counters)
            elif uniform(kaccept, k) < _contact_chance(world, par, v, kind, label):
                _contact(c, v, w, best, par.trust[kind] * label, -1, 0, counters)
                counters[C_NEW_CONTACTS] += 1
    # Site meetings that found no visitor: with the peer's ties, or not worked.
    for i in range(n_peers):
        unmet = p.site_meetings[i]
        if unmet <= 0:
            continue
        p.site_meetings[i] = 0
        kind = p.kind[i]
        total = _reach_weight(p, par, i)
        if total <= 0.0:
            pairs = 2.0 if par.works_in_pairs[kind] else 1.0
            _not_worked(p, i, unmet, par.hours_per_meeting * pairs)
            continue
        kgap = _peer_key(keys.contact, w, p.node[i], kind)
        label = par.label_trust_factor if p.label_until[i] > w else 1.0
        kpick, kaccept = subkey(kgap, 3), subkey(kgap, 4)
        for j in range(unmet):
            _street_meeting(w, world, c, p, par, counters, i, total, kpick, kaccept, j, label)
    if par.outreach_workers_count > 0 and p.team[1] > 0.0:
        kw = _peer_key(keys.contact, w, 0, WORKER)
        tries = _meetings(p.team[1], par.hours_per_meeting, uniform(kw, 0))
        p.team[1] = 0.0
        for j in range(tries):
            v = _anyone(c, kw, j)
            if (
                c.role[v] == CLIENT
                and c.cstate[v] == HIDDEN
                and uniform(kw, 2 * j + 2)
                < par.outreach_workers_p_contact_per_meeting
                * _stigma_kept(effect, loc_stigma[locality[v]])
                * _mistrust_kept(par, world, v, 1.0)
            ):
                _contact(c, v, w, TEAM, par.outreach_workers_trust, -1, 0, counters)
                counters[C_NEW_CONTACTS] += 1


@njit(cache=True, nogil=True, _nrt=False)
def referral(w, world, c, p, par, keys, counters):
    """Phase 5: engaged clients with coupons refer hidden friends to their working peer.

    The redeemed coupon brings the friend to the referrer's peer: the friend's trust is the
    referrer's own trust in that peer, times ``subgroup_trust`` for each subgroup in which the
    two friends differ (the friend comes on a friend's word, so no ``hop_trust`` step is
    lost). The friend comes with the coupon, so the peer meets them at once: a meeting's
    hours, from the week's hours left or beyond them (as a crisis is), and the friend can
    engage in this week's engagement phase.
    Only the holders of coupons are looked at (listed apart); walking the list backwards lets
    a holder whose last coupon goes leave it without skipping anyone.
    """
    kr = subkey(keys.refer, w)
    for k in range(c.book[B_HOLDERS] - 1, -1, -1):
        v = c.holders[k]
        if c.coupons[v] <= 0 or c.cstate[v] < ENGAGED or c.role[v] != CLIENT:
            continue
        i = c.peer_of[v]
        if i < 0 or p.status[i] != ACTIVE:
            continue
        kv = subkey(kr, v)
        for a in range(world.indptr[v], world.indptr[v + 1]):
            if c.coupons[v] <= 0:
                break
            u = world.indices[a]
            if c.role[u] != CLIENT or c.cstate[u] != HIDDEN:
                continue
            if uniform(kv, u) < par.p_refer_per_tie_week:
                c.coupons[v] -= 1
                t = c.trust[v] * _subgroup_trust(world, v, u, par.subgroup_trust)
                if c.events.on:
                    _log(c, w, EV_REFERRED, u, i, v, c.wave[v] + 1)
                _contact(c, u, w, i, t, v, c.wave[v] + 1, counters)
                spent = min(p.hours_left[i], par.hours_per_meeting)
                p.hours_left[i] -= spent
                p.hours_worked[i] += par.hours_per_meeting
                counters[C_REFERRALS] += 1
        if c.coupons[v] <= 0:
            _unhold(c, v)


@njit(cache=True, nogil=True, _nrt=False)
def engagement(w, world, c, p, par, keys, counters):
    """Phase 6: contacted clients engage within their peer's caseload cap, or lose contact.

    A contact marked as waiting to be met (``follow``; referral no longer marks any, as the
    coupon brings the friend) is met for one meeting's hours of the peer; until then they
    cannot engage, and may be lost. A peer's cap is their
    kind's, tailored to their assessed strength (at least one client); the outreach workers'
    team has ``workers x caseload_cap``. Mistrust lowers engagement with professionals (the
    whole barrier) and with a peer by the kind's ``service_likeness``. Clients in contact
    are listed in ``reached``; walking it backwards lets a client leave (swapped out for the
    last one, already seen) without skipping anyone. Only the contacted are looked at: they
    are listed apart, in ``fresh``, left on engaging or losing contact.
    """
    ke = subkey(keys.engage, w)
    ke_engage, ke_lose, ke_refer = subkey(ke, 1), subkey(ke, 2), subkey(ke, 3)
    effect, loc_stigma, locality = par.stigma_effect, world.loc_stigma, world.locality
    for k in range(c.book[B_FRESH] - 1, -1, -1):
        v = c.fresh[k]
        i = c.peer_of[v]
        engaged = given = False
        q = par.p_engage_per_week * c.trust[v] * _stigma_kept(effect, loc_stigma[locality[v]])
        if (
            c.follow[v] == 1
            and i >= 0
            and p.status[i] == ACTIVE
            and _accompany(p, i, par.hours_per_meeting)
        ):
            c.follow[v] = 0  # the peer meets the referred friend
            p.pending[i] -= 1
        if c.follow[v] == 1:
            pass  # not met yet: cannot engage this week
        elif i >= 0 and p.status[i] == ACTIVE:
            q *= _mistrust_kept(par, world, v, par.service_likeness[p.kind[i]])
            if _has_room(par, p, i):
                if uniform(ke_engage, v) < q:
                    engaged = True
                    p.caseload[i] += 1
                    p.need[i] += _need(world, par, v)
                    p.successes[i] += 1
                    c.ekind[v] = p.kind[i]
                    if uniform(ke_refer, v) < par.p_referrer:
                        _hold(c, v, par.referral_coupons)
                        given = par.referral_coupons > 0
        elif i == TEAM and par.outreach_workers_count > 0:
            cap = par.outreach_workers_count * par.outreach_workers_caseload_cap
            q *= _mistrust_kept(par, world, v, 1.0)
            if cap == 0 or p.team[0] < cap:
                if uniform(ke_engage, v) < q:
                    engaged = True
                    p.team[0] += 1
                    p.team[2] += _need(world, par, v)
                    c.ekind[v] = WORKER
        if engaged:
            _unfresh(c, v)
            c.cstate[v] = ENGAGED
            _mark(c.ever, v, EVER_ENGAGED, c.book, B_ENGAGED)
            c.since[v] = w
            counters[C_NEW_ENGAGED] += 1
            counters[C_NOW_ENGAGED] += 1
            _log_client(c, w, EV_ENGAGED, v)
            if given:
                _log_client(c, w, EV_COUPONS_GIVEN, v)
        elif uniform(ke_lose, v) < par.p_lose_contact_per_week:
            _log_client(c, w, EV_LOST_CONTACT, v)
            if c.follow[v] == 1:
                c.follow[v] = 0
                p.pending[i] -= 1
            c.cstate[v] = HIDDEN
            c.peer_of[v] = -1
            _unfresh(c, v)
            _leave(c, v)


@njit(cache=True, _nrt=False, inline="always")
def _has_room(par, p, i):
    """Whether peer row ``i`` is under their caseload cap.

    The cap is their kind's, tailored to their assessed strength (at least one client; 0: no
    cap).
    """
    cap = par.caseload_cap[p.kind[i]]
    if cap > 0:
        share = _tailor(par.professionals, par.tailoring, p.strength[i])
        cap = max(1, int(math.ceil(cap * share)))
    return cap == 0 or p.caseload[i] < cap


@njit(cache=True, _nrt=False, inline="always")
def _receiver(world, p, par, v, giver, kind, key, hours):
    """The peer row who takes client ``v`` on from peer row ``giver``, or -1 if none can.

    Among the working peers other than ``giver`` (of ``kind`` only, if ``kind >= 0``) with
    room (under their caseload cap, the follow-up of their caseload with this client within
    their weekly hours as tailored, and ``hours`` of this week left), those of the client's
    locality come first; among them, the one with the smallest draw ``uniform(key,
    person)``: the choice is keyed by the client (``key``) and the persons who are peers,
    never by rows.
    """
    best = -1
    best_u = 2.0
    best_local = False
    here = world.locality[v]
    follow_up = _need(world, par, v) * par.hours_per_client_week
    for j in range(p.node.shape[0]):
        if j == giver or p.status[j] != ACTIVE or (kind >= 0 and p.kind[j] != kind):
            continue
        if p.hours_left[j] < hours or not _has_room(par, p, j):
            continue
        week = par.hours_per_week[p.kind[j]] * _tailor(
            par.professionals, par.tailoring, p.strength[j]
        )
        if p.need[j] * par.hours_per_client_week + follow_up > week:
            continue
        local = world.locality[p.node[j]] == here
        if best_local and not local:
            continue
        u = uniform(key, p.node[j])
        if (local and not best_local) or u < best_u:
            best, best_u, best_local = j, u, local
    return best


@njit(cache=True, _nrt=False, inline="always")
def _take_on(world, c, p, par, v, j, w, counters):
    """Engaged client ``v`` moves from their peer's caseload to peer row ``j``'s.

    Trust in the new peer: ``b + handoff_vouching x old trust x (1 - b)``, with ``b`` the new
    peer's kind's trust times the subgroup factor between the client and the new peer.
    """
    _release(world, p, par, v, c.peer_of[v])
    base = par.trust[p.kind[j]] * _subgroup_trust(world, v, p.node[j], par.subgroup_trust)
    c.trust[v] = base + par.handoff_vouching * c.trust[v] * (1.0 - base)
    c.peer_of[v] = j
    p.caseload[j] += 1
    p.need[j] += _need(world, par, v)
    counters[C_HANDED_OFF] += 1
    _log_client(c, w, EV_HANDED_OFF, v)


@njit(cache=True, nogil=True, _nrt=False)
def handoff(w, world, c, p, par, keys, counters):
    """Phase 3: a peer brings one of their engaged clients to a close peer, who takes them on.

    A working peer with engaged clients hands one off with their kind's ``p_handoff`` a week
    (a draw keyed by the person who is the peer and their kind); the client is the one of
    their engaged clients with the smallest draw keyed by the client. The receiver is a
    working close peer with room (:func:`_receiver`: under the caseload cap, the caseload's
    follow-up within their weekly hours, and a meeting's hours left this week; of the
    client's locality first, by a draw keyed by the client), who
    spends ``hours_per_meeting`` on the meeting and supports the client from then on
    (accompaniment included); without one the client stays. Trust: :func:`_take_on`.
    Peers hand off in row order, each to whoever still has room.
    """
    wants = False
    for kind in (CLOSE, DISTANT):
        if par.p_handoff[kind] > 0.0:
            wants = True
    if not wants:
        return
    kh = subkey(subkey(keys.engage, w), 4)
    k_pick, k_recv = subkey(kh, 3), subkey(kh, 4)
    pick = c.scratch  # by peer row: -1 not handing off, -2 handing off, else the client
    n = p.node.shape[0]
    givers = 0
    for i in range(n):
        pick[i] = -1
        kind = p.kind[i]
        if p.status[i] != ACTIVE or p.caseload[i] <= 0 or par.p_handoff[kind] <= 0.0:
            continue
        if uniform(subkey(subkey(kh, kind), p.node[i]), 0) < par.p_handoff[kind]:
            pick[i] = -2
            givers += 1
    if givers == 0:
        return
    for k in range(c.book[B_LEN]):
        v = c.reached[k]
        i = c.peer_of[v]
        if i < 0 or pick[i] == -1 or c.role[v] != CLIENT or c.cstate[v] != ENGAGED:
            continue
        if pick[i] == -2 or uniform(k_pick, v) < uniform(k_pick, pick[i]):
            pick[i] = v
    for i in range(n):
        v = pick[i]
        if v < 0:
            continue
        j = _receiver(world, p, par, v, i, CLOSE, subkey(k_recv, v), par.hours_per_meeting)
        if j >= 0:
            _accompany(p, j, par.hours_per_meeting)
            _take_on(world, c, p, par, v, j, w, counters)
            _encounter(c, v, w, counters)  # the new peer meets the client


# Compiled apart, not inlined: called only when a peer stops (rarely), and inlined it made the
# well-being phase a tenth slower to compile.
@njit(cache=True, nogil=True, _nrt=False)
def _peer_stops(world, c, p, par, keys, w, i, counters):
    """Peer row ``i`` has stopped working: each of their engaged clients is lost or taken on.

    A client is lost (back to hidden) with ``p_client_lost_when_peer_stops``; otherwise a
    working peer of any kind with room takes them on (:func:`_receiver`, no hours this week:
    the week's are spent, and the follow-up counts from next week's plan); if none
    has room the client waits for their peer. Draws keyed by the client.
    """
    if p.caseload[i] <= 0:
        return
    # Keyed by the peer who stops too: a client handed on to a peer who stops later in the
    # same week faces the chance of being lost again, on a draw of its own.
    ks = subkey(subkey(subkey(keys.engage, w), 5), p.node[i])
    k_lost, k_recv = subkey(ks, 1), subkey(ks, 2)
    for k in range(c.book[B_LEN] - 1, -1, -1):  # backwards: a lost client leaves the list
        v = c.reached[k]
        if c.peer_of[v] != i or c.cstate[v] != ENGAGED or c.role[v] != CLIENT:
            continue
        if uniform(k_lost, v) < par.p_client_lost_when_peer_stops:
            _log_client(c, w, EV_LOST_WITH_PEER, v)
            c.cstate[v] = HIDDEN
            _unhold(c, v)
            _release(world, p, par, v, i)
            c.peer_of[v] = -1
            _leave(c, v)
            counters[C_NOW_ENGAGED] -= 1
            continue
        j = _receiver(world, p, par, v, i, -1, subkey(k_recv, v), 0.0)
        if j >= 0:
            _take_on(world, c, p, par, v, j, w, counters)


@njit(cache=True, _nrt=False, inline="always")
def _binomial(n, q, u):
    """A Binomial(n, q) draw by inversion of one uniform ``u`` (one draw, however large n)."""
    if n <= 0 or q <= 0.0:
        return 0
    if q >= 1.0:
        return n
    pk = (1.0 - q) ** n
    cdf = pk
    k = 0
    while u > cdf and k < n:
        pk *= (n - k) / (k + 1) * q / (1.0 - q)
        k += 1
        cdf += pk
    return k


@njit(cache=True, _nrt=False, inline="always")
def _weekly(per_year):
    """A chance a week from a chance a year: ``1 - (1 - rate)^(1/52)``."""
    if per_year >= 1.0:
        return 1.0
    return 1.0 - (1.0 - per_year) ** (1.0 / 52.0)


@njit(cache=True, _nrt=False, inline="always")
def _geometric(mean, u):
    """Weeks of a break: geometric on 1, 2, ... with mean ``mean``, by inversion of ``u``."""
    if mean <= 1.0:
        return 1
    return 1 + int(math.log(max(u, 1e-300)) / math.log(1.0 - 1.0 / mean))


@njit(cache=True, _nrt=False, inline="always")
def _peer_leaves(c, p, w, i, reason, counters):
    """Peer row ``i`` leaves the programme for ``reason`` (``LEFT_*``)."""
    p.status[i] = WITHDRAWN
    p.left_reason[i] = reason
    p.left_week[i] = w
    counters[C_LEFT] += 1
    code = EV_PEER_WITHDRAWN
    if reason == LEFT_EXHAUSTION:
        counters[C_WITHDRAWN] += 1
    else:  # the reasons' events are in the reasons' order (one log call: compiled once)
        code = EV_PEER_LEFT_RELAPSE + reason - LEFT_RELAPSE
    _log_peer(c, p, w, code, i)


@njit(cache=True, _nrt=False, inline="always")
def _take_break(c, p, w, i, until):
    p.status[i] = BREAK
    p.break_until[i] = until
    _log_peer(c, p, w, EV_PEER_BREAK, i)


@njit(cache=True, nogil=True, _nrt=False)
def wellbeing(w, world, c, p, par, keys, counters):
    """Phase 7: the week worked drains a peer's energy, resources restore it; careers move on.

    Demands (job demands-resources, Bakker & Demerouti 2007): the hours worked (crises add
    unplanned hours), the caseload, crises (fewer among an educator's clients), a stigma event
    (chance rising with local stigma; it labels the peer a snitch for some weeks) and the
    steady weight of local stigma, role conflict, and life events (a client's or friend's
    overdose death, a relapse, losing housing, an arrest); crises and stigma events cost less
    in pairs. The week's demands are multiplied by the peer's lasting vulnerability and by a
    random strain (lognormal, mean 1). Resources restore a share of the missing energy: rest,
    supervision, a team meeting, peer support, pay in proportion to a fair wage (dose
    response), indirect work and each client engaged or linked this week.

    Careers (``[careers]``): an enrolled peer (working, resting after exhaustion or on a break)
    leaves for other work, health or prison, or a move at yearly rates; a relapse takes a
    working peer out for a break, or ends their work; an arrest may end in prison; a working
    peer takes breaks; an exhausted peer rests, and returns or withdraws. At most one change of
    status a week. When a peer stops working (rests, a break, leaving), their engaged clients
    are taken on by another peer or lost (:func:`_peer_stops`).
    """
    meeting = _team_meeting(w, par)
    n_peers = p.node.shape[0]
    working = 0
    for i in range(n_peers):
        if p.status[i] == ACTIVE:
            working += 1
    q_other = _weekly(par.leave_other_work_per_year)
    q_health = q_other + _weekly(par.leave_health_per_year)
    q_leave = q_health + _weekly(par.leave_moving_per_year)
    q_death = _weekly(par.overdose_deaths_per_year)
    q_relapse = _weekly(par.relapse_per_year)
    q_housing = _weekly(par.housing_loss_per_year)
    q_arrest = _weekly(par.arrest_per_year)
    q_break = min(1.0, par.breaks_per_year / 52.0)
    for i in range(n_peers):
        kind = p.kind[i]
        status = p.status[i]
        if status == WITHDRAWN:
            continue
        kp = _peer_key(keys.wellbeing, w, p.node[i], kind)
        u = uniform(kp, 13)
        if u < q_leave:  # reasons of their own, one draw for the three
            reason = LEFT_MOVING
            if u < q_other:
                reason = LEFT_OTHER_WORK
            elif u < q_health:
                reason = LEFT_HEALTH_PRISON
            _peer_leaves(c, p, w, i, reason, counters)  # their clients: below, with the rest
        elif status == ACTIVE:
            v = p.node[i]
            load = p.caseload[i]
            # Clients with more problems have more crises: the chance scales with the mean need.
            weight = p.need[i] / load if load > 0 else 1.0
            crises = _binomial(
                load,
                min(1.0, par.p_crisis_per_client_week * (1.0 - par.educator_effect[kind]) * weight),
                uniform(kp, 16),
            )
            worked = p.hours_worked[i] + crises * par.hours_per_crisis
            p.hours_worked[i] = worked
            risk = par.pair_risk_factor if par.works_in_pairs[kind] else 1.0
            stigma = world.loc_stigma[world.locality[v]]
            demand = (
                par.demand_per_hour * worked
                + par.demand_per_client_week * load
                + par.crisis_cost * crises * risk
                + par.role_conflict_per_week[kind]
                + par.stigma_demand_per_week * stigma
            )
            if uniform(kp, 0) < par.p_stigma_event_per_week * stigma:
                demand += par.stigma_event_cost * risk
                p.label_until[i] = w + par.stigma_trust_weeks
            # Life events: a death among the clients and friends, a relapse, housing, arrest.
            known = load + world.indptr[v + 1] - world.indptr[v]
            if uniform(kp, 4) < 1.0 - (1.0 - q_death) ** known:
                demand += par.bereavement_cost
                counters[C_LIFE_EVENTS] += 1
            relapsed = uniform(kp, 5) < q_relapse
            if relapsed:
                demand += par.relapse_cost
                counters[C_LIFE_EVENTS] += 1
            if uniform(kp, 8) < q_housing:
                demand += par.housing_loss_cost
                counters[C_LIFE_EVENTS] += 1
            arrested = uniform(kp, 9) < q_arrest
            if arrested:
                demand += par.arrest_cost
                counters[C_LIFE_EVENTS] += 1
            sd = par.strain_sd
            strain = math.exp(sd * normal(kp, 2) - 0.5 * sd * sd) if sd > 0.0 else 1.0
            demand *= p.vulnerability[i] * strain
            gain = (
                par.recovery_per_week
                + par.meaning_gain * par.indirect_work_share
                + par.direct_meaning_gain * p.successes[i]
            )
            if _supervised(w, p.last_supervised[i], p.joined[i]):
                gain += par.supervision_gain
            if meeting:
                gain += par.team_meeting_gain
            if working >= 2:
                gain += par.peer_support_gain
            pay = par.pay_per_hour[kind]
            if pay > 0.0:
                gain += par.compensation_gain * min(1.0, pay / par.fair_wage_per_hour)
                counters[C_COMPENSATION] += int(round(worked * pay * 100.0))
            counters[C_PEER_WEEKS_PAID] += 1
            counters[C_PEER_CENTIHOURS] += int(round(worked * 100.0))
            e = p.energy[i] + gain * (1.0 - p.energy[i]) - demand
            p.energy[i] = min(1.0, max(0.0, e))
            exhausted = p.energy[i] < par.exhaustion_threshold
            if exhausted and not p.ever_exhausted[i]:
                counters[C_NEW_EXHAUSTED] += 1
            if exhausted:
                p.ever_exhausted[i] = True
                p.exhausted_week[i] = w
            # One change of status a week: exhaustion first (the peer rests, whatever else
            # happened), then prison, a relapse, a break.
            if exhausted:
                p.status[i] = RESTING
                _log_peer(c, p, w, EV_PEER_EXHAUSTED, i)
            elif arrested and uniform(kp, 10) < par.p_prison_after_arrest:
                _peer_leaves(c, p, w, i, LEFT_HEALTH_PRISON, counters)
            elif relapsed and uniform(kp, 6) < par.p_leave_after_relapse:
                _peer_leaves(c, p, w, i, LEFT_RELAPSE, counters)
            elif relapsed:
                _take_break(c, p, w, i, w + _geometric(par.relapse_break_weeks, uniform(kp, 7)))
            elif uniform(kp, 11) < q_break:
                _take_break(c, p, w, i, w + _geometric(par.break_weeks, uniform(kp, 12)))
        elif status == RESTING:
            p.energy[i] = min(1.0, p.energy[i] + par.rest_recovery_per_week * (1.0 - p.energy[i]))
            if p.energy[i] >= par.return_threshold:
                p.status[i] = ACTIVE
                _log_peer(c, p, w, EV_PEER_RETURNED, i)
            elif uniform(kp, 1) < par.p_withdraw_per_rest_week:
                _peer_leaves(c, p, w, i, LEFT_EXHAUSTION, counters)
        else:  # on a break: rests, and comes back when it ends
            p.energy[i] = min(1.0, p.energy[i] + par.rest_recovery_per_week * (1.0 - p.energy[i]))
            if w >= p.break_until[i]:
                p.status[i] = ACTIVE
                _log_peer(c, p, w, EV_PEER_BACK, i)
        if p.status[i] != status and p.status[i] != ACTIVE:
            _peer_stops(world, c, p, par, keys, w, i, counters)
        if p.status[i] == ACTIVE:
            counters[C_ACTIVE] += 1
        elif p.status[i] == RESTING:
            counters[C_RESTING] += 1
        elif p.status[i] == BREAK:
            counters[C_ON_BREAK] += 1


@njit(cache=True, _nrt=False, inline="always")
def _out_of_contact(world, c, p, par, v):
    """Client ``v``, in contact, leaves it: off the lists, out of their supporter's caseload."""
    i = c.peer_of[v]
    if c.cstate[v] == ENGAGED:
        _release(world, p, par, v, i)
    if c.follow[v] == 1 and i >= 0:
        p.pending[i] -= 1
    c.follow[v] = 0
    _leave(c, v)
    if c.fresh_pos[v] >= 0:
        _unfresh(c, v)


@njit(cache=True, _nrt=False, inline="always")
def _person_leaves(world, c, p, par, v, w, where, code, counters):
    """Person ``v`` leaves the population for ``where`` (DORMANT, AWAY or DEAD).

    A client is out of contact from then on: hidden, off every list, out of their peer's
    caseload (or the team's), and ABSENT, so that no rule looks for them. A peer's role and
    work do not change (their career is ``[careers]``'s).
    """
    c.here[v] = where
    counters[C_EXITED] += 1
    if c.role[v] == CLIENT:
        if c.reached_pos[v] >= 0:
            _out_of_contact(world, c, p, par, v)
            c.cstate[v] = HIDDEN
            c.peer_of[v] = -1
        _unhold(c, v)
        c.role[v] = ABSENT
    if c.events.on:
        _log(c, w, code, v, -1, -1, -1)


@njit(cache=True, _nrt=False, inline="always")
def _person_enters(c, v, w, code, counters):
    """Person ``v`` is in the population again: an absent client is a hidden client."""
    c.here[v] = PRESENT
    c.ever[v] |= EVER_PRESENT
    counters[C_ENTERED] += 1
    if c.role[v] == ABSENT:
        c.role[v] = CLIENT
    if c.events.on:
        _log(c, w, code, v, -1, -1, -1)


@njit(cache=True, nogil=True, _nrt=False)
def population(w, world, c, p, par, keys, counters):
    """Phase 0: people leave the population and enter it (``[turnover]``).

    A person in the population stops using, dies, goes to prison or moves away, each at its
    weekly chance ``1 - (1 - rate)^(1/52)``, one change at most (one draw, ``uniform(k, v)``,
    against the chances stacked in that order); a person in prison comes back in the week
    drawn when they went (geometric, mean ``prison_weeks``). Then each dormant person (those
    who stopped or moved, this week's too, and those who never yet used) enters with the chance
    that brings the population back to its size at the start, ``(size - present) / dormant``
    (at most 1). Every draw is keyed by (week, person) and nothing here depends on the
    programme, so every policy meets the same people (common random numbers). A client who
    leaves is out of contact (:func:`_person_leaves`); one who enters again is a hidden
    client with their history (``ever``, ``first_met``) kept.
    """
    kp = subkey(keys.population, w)
    k_leave, k_prison, k_enter = subkey(kp, 1), subkey(kp, 2), subkey(kp, 3)
    q_stop = _weekly(par.stop_per_year)
    q_die = q_stop + _weekly(par.deaths_per_year)
    q_prison = q_die + _weekly(par.prison_per_year)
    q_move = q_prison + _weekly(par.move_away_per_year)
    n = c.here.shape[0]
    present = 0
    dormant = 0
    for v in range(n):
        h = c.here[v]
        if h == PRESENT:
            u = uniform(k_leave, v)
            if u >= q_move:
                present += 1
                continue
            # One call for every way of leaving: inlined once, it compiles once.
            where, code = DORMANT, EV_MOVED_AWAY
            if u < q_stop:
                code = EV_STOPPED
            elif u < q_die:
                where, code = DEAD, EV_DIED
            elif u < q_prison:
                where, code = AWAY, EV_IMPRISONED
                c.away_until[v] = w + _geometric(par.prison_weeks, uniform(k_prison, v))
            _person_leaves(world, c, p, par, v, w, where, code, counters)
            if where == DORMANT:
                dormant += 1
        elif h == AWAY:
            if c.away_until[v] <= w:
                _person_enters(c, v, w, EV_RELEASED, counters)
                present += 1
        elif h == DORMANT:
            dormant += 1
    q_enter = 0.0
    if dormant > 0 and c.book[B_SIZE] > present:
        q_enter = min(1.0, (c.book[B_SIZE] - present) / dormant)
    if q_enter > 0.0:
        for v in range(n):
            if c.here[v] == DORMANT and uniform(k_enter, v) < q_enter:
                _person_enters(c, v, w, EV_ENTERED, counters)
                present += 1
    c.book[B_PRESENT] = present
    counters[C_PRESENT] = present


@njit(cache=True, nogil=True, _nrt=False)
def week(w, world, c, p, par, keys, counters):
    """Advance one replicate by week ``w``: the population's flows, then the eight phases.

    Args:
        w: the week (0, 1, ...).
        world: :class:`~sim.model.state.WorldArrays`.
        c: :class:`~sim.model.state.ClientArrays`, changed in place.
        p: :class:`~sim.model.state.PeerArrays` (rows in use), changed in place.
        par: :class:`~sim.model.state.Params`.
        keys: :class:`~sim.model.state.Keys`.
        counters: int64 array receiving this week's event counts (``C_*`` of
            :mod:`sim.model.state`).
    """
    counters[:] = 0
    population(w, world, c, p, par, keys, counters)
    plan(w, world, c, p, par, keys, counters)
    linkage(w, world, c, p, par, keys, counters)
    handoff(w, world, c, p, par, keys, counters)
    online(w, world, c, p, par, keys, counters)
    outreach(w, world, c, p, par, keys, counters)
    referral(w, world, c, p, par, keys, counters)
    engagement(w, world, c, p, par, keys, counters)
    wellbeing(w, world, c, p, par, keys, counters)


@njit(cache=True, nogil=True, _nrt=False)
def admit(world, c, p, par, first, nodes, kind, week, energy_key, mean, spread, vuln_sd, assessed):
    """Make persons ``nodes`` peers of ``kind`` in the peer rows from ``first`` on.

    ``p`` holds the model's whole peer arrays (capacity, not only the rows in use). A new
    peer's start energy is ``mean`` plus a uniform draw within ``+/- spread`` keyed by the
    person (``energy_key``), and a professional assesses it at induction (``assessed``); their
    lasting vulnerability is lognormal with log-sd ``vuln_sd``, keyed by the person too. A
    client who becomes a peer leaves their own peer's caseload and every list of clients.
    """
    for j in range(nodes.shape[0]):
        v = nodes[j]
        i = first + j
        p.node[i] = v
        p.kind[i] = kind
        p.status[i] = ACTIVE
        e = start_energy(energy_key, v, mean, spread)
        p.energy[i] = e
        p.vulnerability[i] = vulnerability(energy_key, v, vuln_sd)
        p.judged[i] = e
        p.left_reason[i] = 0
        p.left_week[i] = -1
        p.exhausted_week[i] = -1
        p.break_until[i] = 0
        p.joined[i] = week
        p.strength[i] = e if assessed else 1.0
        p.last_supervised[i] = week
        if c.reached_pos[v] >= 0:
            _out_of_contact(world, c, p, par, v)
        c.role[v] = kind
        _unhold(c, v)
        _log_peer(c, p, week, EV_PEER_RECRUITED, i)


#: The phases in weekly order, by name (for tests and the reference).
PHASES = {
    "population": population,
    "plan": plan,
    "linkage": linkage,
    "handoff": handoff,
    "online": online,
    "outreach": outreach,
    "referral": referral,
    "engagement": engagement,
    "wellbeing": wellbeing,
}


@njit(cache=True, nogil=True)
def ego_network(indptr, indices, src, hops, gender, age, stamp, queue, hop, visit):
    """Everyone within ``hops`` (at most 3) steps of ``src``, not ``src``, grouped by class.

    An entry's class is ``3 x (steps - 1) + the number of subgroups (gender, age band) in
    which the person and src differ``: entries of one class share the part of a contact's
    chance and trust that does not change from week to week. ``stamp``, ``queue`` and ``hop``
    are work arrays over persons; ``visit`` must differ from every value already in ``stamp``.
    Cost: the ties of everyone within ``hops - 1`` steps, plus a counting sort.

    Returns:
        ``(nodes, counts)``: the persons by class (breadth-first within one), and the number
        in each class.
    """
    stamp[src] = visit
    queue[0] = src
    hop[src] = 0
    head, tail = 0, 1
    while head < tail:
        u = queue[head]
        head += 1
        h = hop[u] + 1
        if h > hops:
            continue
        for a in range(indptr[u], indptr[u + 1]):
            v = indices[a]
            if stamp[v] != visit:
                stamp[v] = visit
                hop[v] = h
                queue[tail] = v
                tail += 1
    m = tail - 1
    cls = np.empty(m, np.int64)
    counts = np.zeros(N_EGO_CLASSES, np.int64)
    for j in range(m):
        v = queue[j + 1]
        cls[j] = 3 * (hop[v] - 1) + (gender[v] != gender[src]) + (age[v] != age[src])
        counts[cls[j]] += 1
    start = np.zeros(N_EGO_CLASSES, np.int64)
    for c in range(1, N_EGO_CLASSES):
        start[c] = start[c - 1] + counts[c - 1]
    nodes = np.empty(m, np.int32)
    for j in range(m):
        nodes[start[cls[j]]] = queue[j + 1]
        start[cls[j]] += 1
    return nodes, counts


@njit(cache=True, nogil=True)
def ego_networks(indptr, indices, srcs, hops, gender, age, stamp, queue, hop, first_visit):
    """:func:`ego_network` of each of ``srcs`` (visits numbered from ``first_visit``).

    Returns:
        ``(counts, nodes)``: class counts, shape ``(len(srcs), N_EGO_CLASSES)``, and all
        entries one peer after the other.
    """
    k = srcs.shape[0]
    counts = np.zeros((k, N_EGO_CLASSES), np.int64)
    nodes = np.zeros(1024, np.int32)
    used = 0
    for j in range(k):
        ego, cnt = ego_network(
            indptr, indices, srcs[j], hops, gender, age, stamp, queue, hop, first_visit + j
        )
        m = ego.shape[0]
        while used + m > nodes.shape[0]:
            nodes = np.concatenate((nodes, np.zeros(nodes.shape[0], np.int32)))
        nodes[used : used + m] = ego
        counts[j] = cnt
        used += m
    return counts, nodes[:used]


@njit(cache=True, nogil=True)
def add_ego_networks(
    indptr, indices, srcs, hops, gender, age, stamp, queue, hop, visit, class_ptr, nodes, first
):
    """:func:`ego_network` of each of ``srcs``, written after the ego networks already listed.

    Class ``c`` of the ``j``-th new peer runs from ``class_ptr[first + 9 j + c]`` (the first
    one's start must be set) in ``nodes``. Visits are numbered from ``visit``. Writing in
    place saves the copies and the Python around :func:`ego_networks` at every recruitment.

    Returns:
        ``(peers listed, next visit)``: fewer than ``len(srcs)`` when the next one's entries
        would not fit in ``nodes`` or ``class_ptr``; the caller grows them and lists the rest.
    """
    for j in range(srcs.shape[0]):
        at = first + j * N_EGO_CLASSES
        if at + N_EGO_CLASSES + 1 > class_ptr.shape[0]:
            return j, visit
        ego, counts = ego_network(
            indptr, indices, srcs[j], hops, gender, age, stamp, queue, hop, visit
        )
        visit += 1
        start = class_ptr[at]
        if start + ego.shape[0] > nodes.shape[0]:
            return j, visit
        nodes[start : start + ego.shape[0]] = ego
        for cl in range(N_EGO_CLASSES):
            class_ptr[at + cl + 1] = class_ptr[at + cl] + counts[cl]
    return srcs.shape[0], visit


def empty_work_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-person work arrays of :func:`ego_network` (stamp, queue, hop)."""
    return np.zeros(n, np.int64), np.zeros(n, np.int32), np.zeros(n, np.int32)
