"""The weekly dynamics of peer outreach as numba phase functions over the model's state.

One call of :func:`week` advances one replicate by one week through the phases of
:mod:`sim.model.reference` (the plain-Python executable specification, which says in words what
each phase does), each a function of its own, tested against the same phase of the reference:

1. :func:`outreach`: contacts through ties, within each peer's ego network;
2. :func:`referral`: chain referral by engaged clients with coupons;
3. :func:`online`: online contacts without a tie;
4. :func:`engagement`: engagement within the caseload cap, or lost contact;
5. :func:`linkage`: drop-out, appointments and retention;
6. :func:`wellbeing`: job demands and resources, exhaustion, rest and withdrawal.

Each phase takes the named structures of :mod:`sim.model.state`. Every random number comes from
:mod:`sim.streams`, hashed on (process key, week, person): a peer's draws are keyed by the
person who is the peer (and their kind), a client's by the client, never by a row or a place in
a list, so one more peer of one kind leaves the draws of every other peer unchanged (common
random numbers) and no result depends on the thread that runs it. The kernel releases the GIL,
so replicates run in parallel threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.model.state import (
    ACTIVE,
    B_CONTACTED,
    B_ENGAGED,
    B_LEN,
    B_LINKED,
    B_RETAINED,
    C_ACTIVE,
    C_APPOINTMENTS,
    C_COMPENSATION,
    C_NEW_CONTACTS,
    C_NEW_ENGAGED,
    C_NEW_EXHAUSTED,
    C_NEW_LINKED,
    C_NOW_ENGAGED,
    C_NOW_LINKED,
    C_ONLINE_CONTACTS,
    C_PEER_WEEKS_PAID,
    C_REFERRALS,
    C_RESTING,
    C_SUPERVISIONS,
    C_TEAM_MEETINGS,
    C_WITHDRAWN,
    CLIENT,
    CLOSE,
    CONTACTED,
    DISTANT,
    ENGAGED,
    EVER_CONTACTED,
    EVER_ENGAGED,
    EVER_LINKED,
    EVER_RETAINED,
    HIDDEN,
    LINKED,
    N_EGO_CLASSES,
    RESTING,
    RETAINED,
    WITHDRAWN,
)
from sim.streams import subkey, uniform

__all__ = ["engagement", "ego_network", "ego_networks", "linkage", "online", "outreach",
           "referral", "week", "wellbeing"]


@njit(cache=True, inline="always")
def _peer_key(key, w, peer, kind):
    """The key of one peer's draws in week ``w``: by (process, week, peer kind, person)."""
    return subkey(subkey(subkey(key, w), kind), peer)


@njit(cache=True, inline="always")
def _subgroup_trust(world, a, b, factor):
    """Trust kept between persons a and b: ``factor`` per subgroup in which they differ."""
    t = 1.0
    if world.gender[a] != world.gender[b]:
        t *= factor
    if world.age[a] != world.age[b]:
        t *= factor
    return t


@njit(cache=True, inline="always")
def _stigma_kept(world, par, v):
    """The share of contact and engagement that local stigma leaves for client ``v``."""
    return 1.0 - par.stigma_effect * world.loc_stigma[world.locality[v]]


@njit(cache=True, inline="always")
def _mark(ever, v, flag, book, slot):
    """Record that ``v`` reached a step of the path, counting each person once."""
    if ever[v] & flag == 0:
        ever[v] |= flag
        book[slot] += 1


@njit(cache=True, inline="always")
def _leave(c, v):
    """Take ``v`` off the list of clients in contact (the last one takes its place)."""
    k = c.reached_pos[v]
    last = c.book[B_LEN] - 1
    u = c.reached[last]
    c.reached[k] = u
    c.reached_pos[u] = k
    c.reached_pos[v] = -1
    c.book[B_LEN] = last


@njit(cache=True, inline="always")
def _contact(c, v, w, i, t):
    """Hidden client ``v`` is contacted in week ``w`` on behalf of peer row ``i``, trust ``t``."""
    c.cstate[v] = CONTACTED
    _mark(c.ever, v, EVER_CONTACTED, c.book, B_CONTACTED)
    c.since[v] = w
    c.peer_of[v] = i
    c.trust[v] = t
    k = c.book[B_LEN]
    c.reached[k] = v
    c.reached_pos[v] = k
    c.book[B_LEN] = k + 1


@njit(cache=True, nogil=True)
def outreach(w, world, c, p, par, keys, counters):
    """Phase 1: each working peer tries the hidden clients of its ego network.

    The ego network (everyone within reach, listed once per peer by :func:`ego_network`) is
    grouped by class: steps away x subgroups in which peer and client differ. Within a class
    every entry has the same chance q, so the entries tried successfully are found by an
    exponential clock: with hazard h = -log(1 - q) per entry, an Exp(1) draw E passes
    floor(E / h) failures, and what is left of E carries over to the next class
    (memorylessness). This draws the same Bernoulli trials as trying every entry, at a cost
    proportional to the successes. A tried client who is hidden accepts with the share local
    stigma leaves; the acceptance draw is keyed by the client.
    """
    effort = 1.0 - par.indirect_share
    class_weight = np.empty(N_EGO_CLASSES)
    for cl in range(N_EGO_CLASSES):
        class_weight[cl] = par.hop_trust ** (cl // 3) * par.subgroup_trust ** (cl % 3)
    # Hazards by kind, label (0: not labelled, 1: labelled a snitch) and class.
    hazard = np.zeros((3, 2, N_EGO_CLASSES))
    for kind in (CLOSE, DISTANT):
        for lab in range(2):
            base = par.p_contact[kind] * effort * (par.label_trust_factor if lab else 1.0)
            for cl in range(N_EGO_CLASSES):
                q = base * class_weight[cl]
                hazard[kind, lab, cl] = -math.log1p(-q) if q < 1.0 else math.inf
    for i in range(p.node.shape[0]):
        if p.status[i] != ACTIVE:
            continue
        kind = p.kind[i]
        lab = 1 if p.label_until[i] > w else 0
        label = par.label_trust_factor if lab else 1.0
        kgap = _peer_key(keys.contact, w, p.node[i], kind)
        kaccept = subkey(kgap, 1)
        clock = -math.log1p(-uniform(kgap, 0))
        j = 1
        for cl in range(N_EGO_CLASSES):
            lo = p.ego_class_ptr[i * N_EGO_CLASSES + cl]
            hi = p.ego_class_ptr[i * N_EGO_CLASSES + cl + 1]
            h = hazard[kind, lab, cl]
            if lo == hi or h == 0.0:
                continue
            pos = lo
            while True:
                skip = clock / h if h < math.inf else 0.0
                if skip >= hi - pos:
                    clock -= (hi - pos) * h
                    break
                pos += int(skip)
                v = p.ego_nodes[pos]
                if (c.role[v] == CLIENT and c.cstate[v] == HIDDEN
                        and uniform(kaccept, v) < _stigma_kept(world, par, v)):
                    _contact(c, v, w, i, par.kind_trust[kind] * label * class_weight[cl])
                    counters[C_NEW_CONTACTS] += 1
                pos += 1
                clock = -math.log1p(-uniform(kgap, j))
                j += 1


@njit(cache=True, nogil=True)
def referral(w, world, c, p, par, keys, counters):
    """Phase 2: engaged clients with coupons refer hidden friends to their working peer."""
    kr = subkey(keys.refer, w)
    for k in range(c.book[B_LEN]):  # those added now are only contacted, so they refer no one
        v = c.reached[k]
        if c.coupons[v] <= 0 or c.cstate[v] < ENGAGED or c.role[v] != CLIENT:
            continue
        i = c.peer_of[v]
        if i < 0 or p.status[i] != ACTIVE:
            continue
        kind = p.kind[i]
        kv = subkey(kr, v)
        for a in range(world.indptr[v], world.indptr[v + 1]):
            if c.coupons[v] <= 0:
                break
            u = world.indices[a]
            if c.role[u] != CLIENT or c.cstate[u] != HIDDEN:
                continue
            if uniform(kv, u) < par.p_refer:
                c.coupons[v] -= 1
                t = par.kind_trust[kind] * par.hop_trust * _subgroup_trust(
                    world, p.node[i], u, par.subgroup_trust)
                _contact(c, u, w, i, t)
                counters[C_REFERRALS] += 1


@njit(cache=True, nogil=True)
def online(w, world, c, p, par, keys, counters):
    """Phase 3: online activity reaches clients with online access, without a tie."""
    if par.online_rate <= 0.0:
        return
    n = c.role.shape[0]
    lam = par.online_rate * (1.0 - par.indirect_share)
    for i in range(p.node.shape[0]):
        if p.status[i] != ACTIVE:
            continue
        kp = _peer_key(keys.online, w, p.node[i], p.kind[i])
        # Poisson number of attempts by inversion (Knuth).
        x = uniform(kp, 0)
        term = math.exp(-lam)
        cdf = term
        attempts = 0
        while x > cdf and attempts < 10000:
            attempts += 1
            term *= lam / attempts
            cdf += term
        for j in range(attempts):
            v = int(uniform(kp, 2 * j + 1) * n)
            if c.role[v] != CLIENT or c.cstate[v] != HIDDEN:
                continue
            if uniform(kp, 2 * j + 2) < world.loc_online[world.locality[v]]:
                _contact(c, v, w, i, par.online_trust * _subgroup_trust(
                    world, p.node[i], v, par.subgroup_trust))
                counters[C_ONLINE_CONTACTS] += 1
                counters[C_NEW_CONTACTS] += 1


@njit(cache=True, nogil=True)
def engagement(w, world, c, p, par, keys, counters):
    """Phase 4: contacted clients engage within their peer's caseload cap, or lose contact.

    Clients in contact are listed in ``reached``; walking it backwards lets a client leave
    (swapped out for the last one, already seen) without skipping anyone.
    """
    ke = subkey(keys.engage, w)
    ke_engage, ke_lose, ke_refer = subkey(ke, 1), subkey(ke, 2), subkey(ke, 3)
    for k in range(c.book[B_LEN] - 1, -1, -1):
        v = c.reached[k]
        if c.cstate[v] != CONTACTED or c.role[v] != CLIENT:
            continue
        i = c.peer_of[v]
        engaged = False
        if i >= 0 and p.status[i] == ACTIVE:
            cap = par.caseload_cap[p.kind[i]]
            if cap == 0 or p.caseload[i] < cap:
                if uniform(ke_engage, v) < par.p_engage * c.trust[v] * _stigma_kept(world, par, v):
                    engaged = True
                    c.cstate[v] = ENGAGED
                    _mark(c.ever, v, EVER_ENGAGED, c.book, B_ENGAGED)
                    c.since[v] = w
                    p.caseload[i] += 1
                    c.ekind[v] = p.kind[i]
                    if uniform(ke_refer, v) < par.p_referrer:
                        c.coupons[v] = par.referral_coupons
                    counters[C_NEW_ENGAGED] += 1
        if not engaged and uniform(ke_lose, v) < par.p_lose:
            c.cstate[v] = HIDDEN
            c.peer_of[v] = -1
            _leave(c, v)


@njit(cache=True, nogil=True)
def linkage(w, world, c, p, par, keys, counters):
    """Phase 5: drop-out and retention, then appointments.

    The engaged who ask for an appointment get the week's slots in a rotation from a random
    first one, so no one always books first.
    """
    kl = subkey(keys.link, w)
    kl_seek, kl_attend = subkey(kl, 1), subkey(kl, 2)
    kl_drop, kl_slots = subkey(kl, 3), subkey(kl, 4)
    slots = int(par.appointment_slots + uniform(kl_slots, 0))
    seekers = np.empty(c.book[B_LEN], np.int32)
    n_seekers = 0
    now_engaged = now_linked = 0
    for k in range(c.book[B_LEN] - 1, -1, -1):
        v = c.reached[k]
        if c.role[v] != CLIENT:
            continue
        s = c.cstate[v]
        if s == ENGAGED:
            if uniform(kl_drop, v) < par.p_drop_engaged:
                c.cstate[v] = HIDDEN
                c.coupons[v] = 0
                if c.peer_of[v] >= 0:
                    p.caseload[c.peer_of[v]] -= 1
                c.peer_of[v] = -1
                _leave(c, v)
                continue
            now_engaged += 1
            if slots > 0 and uniform(kl_seek, v) < par.p_seek:
                seekers[n_seekers] = v
                n_seekers += 1
        elif s == LINKED or s == RETAINED:
            if uniform(kl_drop, v) < par.p_drop_linked:
                c.cstate[v] = HIDDEN
                c.coupons[v] = 0
                c.peer_of[v] = -1
                _leave(c, v)
                continue
            now_linked += 1
            if s == LINKED and w - c.since[v] >= par.weeks_to_retained:
                c.cstate[v] = RETAINED
                _mark(c.ever, v, EVER_RETAINED, c.book, B_RETAINED)
    start = int(uniform(kl_slots, 1) * n_seekers)
    for step in range(min(slots, n_seekers)):
        v = seekers[(start + step) % n_seekers]
        i = c.peer_of[v]
        counters[C_APPOINTMENTS] += 1
        q = par.p_attend
        if i >= 0 and p.status[i] == ACTIVE:
            q += par.attendance_boost[p.kind[i]]
        if uniform(kl_attend, v) < q:
            c.cstate[v] = LINKED
            _mark(c.ever, v, EVER_LINKED, c.book, B_LINKED)
            c.since[v] = w
            if i >= 0:
                p.caseload[i] -= 1
            counters[C_NEW_LINKED] += 1
            now_engaged -= 1
            now_linked += 1
    counters[C_NOW_ENGAGED] = now_engaged
    counters[C_NOW_LINKED] = now_linked


@njit(cache=True, nogil=True)
def wellbeing(w, world, c, p, par, keys, counters):
    """Phase 6: job demands drain a working peer's energy, resources restore it (saturating).

    Supervision is due for a peer every ``supervision_every`` weeks, in a turn set by the
    person (not the row), while the week's supervision slots last.
    """
    sup_every = par.supervision_every
    sup_left = int(par.supervision_slots)
    team_meeting = (par.team_meeting_every > 0 and w % par.team_meeting_every == 0
                    and par.professionals > 0)
    n_peers = p.node.shape[0]
    working = 0
    for i in range(n_peers):
        if p.status[i] == ACTIVE:
            working += 1
    if team_meeting and working > 0:
        counters[C_TEAM_MEETINGS] += 1
    for i in range(n_peers):
        kind = p.kind[i]
        kp = _peer_key(keys.wellbeing, w, p.node[i], kind)
        if p.status[i] == ACTIVE:
            load = p.caseload[i]
            crises = 0
            for j in range(load):
                if uniform(kp, j + 16) < par.p_crisis:
                    crises += 1
            demand = par.demand_per_client * load + par.crisis_cost * crises
            if uniform(kp, 0) < par.p_stigma_event * world.loc_stigma[world.locality[p.node[i]]]:
                demand += par.stigma_event_cost
                p.label_until[i] = w + par.label_weeks
            gain = par.recovery + par.meaning_gain * par.indirect_share
            if sup_every > 0 and (w + p.node[i]) % sup_every == 0 and sup_left > 0:
                sup_left -= 1
                gain += par.supervision_gain
                counters[C_SUPERVISIONS] += 1
            if team_meeting:
                gain += par.team_meeting_gain
            if working >= 2:
                gain += par.peer_support_gain
            if par.compensation[kind] > 0.0:
                gain += par.compensation_gain
                counters[C_COMPENSATION] += int(par.compensation[kind] * 100.0)
            counters[C_PEER_WEEKS_PAID] += 1
            e = p.energy[i] + gain * (1.0 - p.energy[i]) - demand
            p.energy[i] = min(1.0, max(0.0, e))
            if p.energy[i] < par.exhaustion_threshold:
                p.status[i] = RESTING
                if not p.ever_exhausted[i]:
                    counters[C_NEW_EXHAUSTED] += 1
                p.ever_exhausted[i] = True
        elif p.status[i] == RESTING:
            p.energy[i] = min(1.0, p.energy[i] + par.rest_recovery * (1.0 - p.energy[i]))
            if p.energy[i] >= par.return_threshold:
                p.status[i] = ACTIVE
            elif uniform(kp, 1) < par.p_withdraw:
                p.status[i] = WITHDRAWN
                counters[C_WITHDRAWN] += 1
        if p.status[i] == ACTIVE:
            counters[C_ACTIVE] += 1
        elif p.status[i] == RESTING:
            counters[C_RESTING] += 1


@njit(cache=True, nogil=True)
def week(w, world, c, p, par, keys, counters):
    """Advance one replicate by week ``w``: the six phases in order.

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
    outreach(w, world, c, p, par, keys, counters)
    referral(w, world, c, p, par, keys, counters)
    online(w, world, c, p, par, keys, counters)
    engagement(w, world, c, p, par, keys, counters)
    linkage(w, world, c, p, par, keys, counters)
    wellbeing(w, world, c, p, par, keys, counters)


#: The phases in weekly order, by name (for tests and the reference).
PHASES = {"outreach": outreach, "referral": referral, "online": online,
          "engagement": engagement, "linkage": linkage, "wellbeing": wellbeing}


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
        ego, cnt = ego_network(indptr, indices, srcs[j], hops, gender, age, stamp, queue, hop,
                               first_visit + j)
        m = ego.shape[0]
        while used + m > nodes.shape[0]:
            nodes = np.concatenate((nodes, np.zeros(nodes.shape[0], np.int32)))
        nodes[used:used + m] = ego
        counts[j] = cnt
        used += m
    return counts, nodes[:used]


def empty_work_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-person work arrays of :func:`ego_network` (stamp, queue, hop)."""
    return np.zeros(n, np.int64), np.zeros(n, np.int32), np.zeros(n, np.int32)
