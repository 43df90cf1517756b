"""The weekly dynamics of peer outreach as numba kernels over the model's state arrays.

One call of :func:`week` advances one replicate by one week through the phases of
:mod:`sim.model.reference` (the plain-Python executable specification, which says in words what
each phase does): outreach contacts through ties, chain referral, online contacts, engagement,
linkage to services and retention, and peer well-being. Every random number comes from
:mod:`sim.streams`, hashed on (process key, week, actor, target), so a replicate's results do not
depend on the thread that runs it. The kernel releases the GIL, so replicates run in parallel
threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim.streams import subkey, uniform

# Client states.
HIDDEN, CONTACTED, ENGAGED, LINKED, RETAINED = 0, 1, 2, 3, 4
# Bit flags of what ever happened to a client.
EVER_CONTACTED, EVER_ENGAGED, EVER_LINKED, EVER_RETAINED = 1, 2, 4, 8
# Roles of a person.
CLIENT, CLOSE, DISTANT = 0, 1, 2
# Peer status.
ACTIVE, RESTING, WITHDRAWN = 0, 1, 2

# Index of each parameter in the float parameter vector (see ``sim.model.kernel_params``).
(F_P_ENGAGE, F_HOP_TRUST, F_SUBGROUP_TRUST, F_STIGMA_EFFECT, F_P_REFERRER, F_P_REFER,
 F_ONLINE_RATE, F_ONLINE_TRUST, F_P_LOSE, F_APPOINTMENTS, F_SUPERVISIONS, F_P_SEEK, F_P_ATTEND,
 F_P_DROP_ENGAGED, F_P_DROP_LINKED, F_DEMAND, F_P_CRISIS, F_CRISIS_COST, F_P_STIGMA,
 F_STIGMA_COST, F_RECOVERY, F_SUP_GAIN, F_TEAM_GAIN, F_PEER_SUPPORT_GAIN, F_COMP_GAIN,
 F_INDIRECT, F_MEANING_GAIN, F_EXHAUSTION, F_RETURN, F_REST_RECOVERY, F_P_WITHDRAW,
 F_LABEL_FACTOR) = range(32)
N_FLOAT = 32
# Index of each integer parameter.
(I_COUPONS, I_WEEKS_RETAINED, I_SUP_EVERY, I_TEAM_EVERY, I_LABEL_WEEKS, I_PROFESSIONALS) = range(6)
N_INT = 6
# Per-kind parameters: rows CLOSE and DISTANT (row 0 unused) of a (3, N_KIND) array.
K_P_CONTACT, K_HOPS, K_TRUST, K_BOOST, K_CAP, K_COMPENSATION = range(6)
N_KIND = 6
# Process keys.
KEY_CONTACT, KEY_REFER, KEY_ONLINE, KEY_ENGAGE, KEY_LINK, KEY_WELLBEING = range(6)
N_KEYS = 6
# Weekly counters written by the kernel.
(C_NEW_CONTACTS, C_NEW_ENGAGED, C_NEW_LINKED, C_APPOINTMENTS, C_SUPERVISIONS, C_TEAM_MEETINGS,
 C_NEW_EXHAUSTED, C_WITHDRAWN, C_PEER_WEEKS_PAID, C_REFERRALS, C_ONLINE_CONTACTS,
 C_COMPENSATION, C_NOW_ENGAGED, C_NOW_LINKED, C_ACTIVE, C_RESTING) = range(16)
N_COUNTERS = 16
# The running book of a replicate, kept across weeks: how many clients are in contact (listed
# in ``reached``) and how many persons were ever contacted, engaged, linked, retained.
B_LEN, B_CONTACTED, B_ENGAGED, B_LINKED, B_RETAINED = range(5)
N_BOOK = 5
# Classes of ego-network entries: 3 x (steps away - 1) + subgroups in which peer and client
# differ (0-2); entries of one class share their contact weight.
N_EGO_CLASSES = 9


@njit(cache=True, inline="always")
def _subgroup_trust(gender, age, a, b, factor):
    """Trust kept between persons a and b: ``factor`` per subgroup in which they differ."""
    t = 1.0
    if gender[a] != gender[b]:
        t *= factor
    if age[a] != age[b]:
        t *= factor
    return t


@njit(cache=True, inline="always")
def _mark(ever, v, flag, book, slot):
    """Record that ``v`` reached a step of the path, counting each person once."""
    if ever[v] & flag == 0:
        ever[v] |= flag
        book[slot] += 1


@njit(cache=True, inline="always")
def _leave(v, reached, reached_pos, book):
    """Take ``v`` off the list of clients in contact (the last one takes its place)."""
    k = reached_pos[v]
    last = book[B_LEN] - 1
    u = reached[last]
    reached[k] = u
    reached_pos[u] = k
    reached_pos[v] = -1
    book[B_LEN] = last


@njit(cache=True, inline="always")
def _contact(v, w, i, t, cstate, ever, since, peer_of, trust, reached, reached_pos, book):
    """Hidden client ``v`` is contacted in week ``w`` on behalf of peer ``i``, with trust ``t``."""
    cstate[v] = CONTACTED
    _mark(ever, v, EVER_CONTACTED, book, B_CONTACTED)
    since[v] = w
    peer_of[v] = i
    trust[v] = t
    k = book[B_LEN]
    reached[k] = v
    reached_pos[v] = k
    book[B_LEN] = k + 1


@njit(cache=True, nogil=True, error_model="numpy")
def week(w, indptr, indices, locality, gender, age, loc_stigma, loc_online,
         role, cstate, ever, peer_of, trust, since, coupons, ekind, reached, reached_pos, book,
         p_node, p_kind, p_status, p_energy, p_caseload, p_ever_exhausted, p_label_until,
         ego_class_ptr, ego_nodes, fpar, ipar, kpar, keys, counters):
    """Advance one replicate by week ``w``; see :mod:`sim.model.reference` for the rules.

    Arrays over persons: ``locality``, ``gender``, ``age``, ``role``, ``cstate``, ``ever``,
    ``peer_of``, ``trust``, ``since``, ``coupons``, ``ekind`` (kind of the engaging peer),
    and ``reached_pos`` (place in ``reached``, the list of clients in contact, or -1); ``book``
    holds the list's length and the running tallies of who was ever reached.
    Arrays over peers: ``p_*``, and their ego networks in CSR form over (peer, class):
    entries ``ego_class_ptr[i * N_EGO_CLASSES + c]`` up to the next one of ``ego_nodes``.
    ``counters`` receives this week's event counts.
    """
    n = role.shape[0]
    n_peers = p_node.shape[0]
    counters[:] = 0
    effort = 1.0 - fpar[F_INDIRECT]
    stigma_effect = fpar[F_STIGMA_EFFECT]

    # 1. Outreach through ties: each working peer tries the hidden clients of its ego network
    # (everyone within reach, listed once per peer by ``ego_network`` and grouped by class:
    # steps away x subgroups in which peer and client differ). Within a class every entry has
    # the same chance p, so the entries tried successfully are found by an exponential clock:
    # with hazard h = -log(1 - p) per entry, an Exp(1) draw E passes floor(E / h) failures,
    # and what is left of E carries over to the next class (memorylessness). This draws the
    # same Bernoulli trials as trying every entry, at a cost proportional to the successes.
    kc = subkey(keys[KEY_CONTACT], w)
    class_weight = np.empty(N_EGO_CLASSES)
    for c in range(N_EGO_CLASSES):
        class_weight[c] = fpar[F_HOP_TRUST] ** (c // 3) * fpar[F_SUBGROUP_TRUST] ** (c % 3)
    # Hazards by kind, label (0: not labelled, 1: labelled a snitch) and class.
    hazard = np.zeros((3, 2, N_EGO_CLASSES))
    for kind in (CLOSE, DISTANT):
        for lab in range(2):
            base = kpar[kind, K_P_CONTACT] * effort * (fpar[F_LABEL_FACTOR] if lab else 1.0)
            for c in range(N_EGO_CLASSES):
                p = base * class_weight[c]
                hazard[kind, lab, c] = -math.log1p(-p) if p < 1.0 else math.inf
    for i in range(n_peers):
        if p_status[i] != ACTIVE:
            continue
        kind = p_kind[i]
        lab = 1 if p_label_until[i] > w else 0
        label = fpar[F_LABEL_FACTOR] if lab else 1.0
        kgap = subkey(kc, i)
        kaccept = subkey(kgap, 1)
        clock = -math.log1p(-uniform(kgap, 0))
        j = 1
        for c in range(N_EGO_CLASSES):
            lo = ego_class_ptr[i * N_EGO_CLASSES + c]
            hi = ego_class_ptr[i * N_EGO_CLASSES + c + 1]
            h = hazard[kind, lab, c]
            if lo == hi or h == 0.0:
                continue
            pos = lo
            while True:
                skip = clock / h if h < math.inf else 0.0
                if skip >= hi - pos:
                    clock -= (hi - pos) * h
                    break
                pos += int(skip)
                v = ego_nodes[pos]
                if role[v] == CLIENT and cstate[v] == HIDDEN and (
                        uniform(kaccept, pos) < 1.0 - stigma_effect * loc_stigma[locality[v]]):
                    _contact(v, w, i, kpar[kind, K_TRUST] * label * class_weight[c],
                             cstate, ever, since, peer_of, trust, reached, reached_pos, book)
                    counters[C_NEW_CONTACTS] += 1
                pos += 1
                clock = -math.log1p(-uniform(kgap, j))
                j += 1

    # 2. Chain referral: engaged clients with coupons refer hidden friends to their peer.
    kr = subkey(keys[KEY_REFER], w)
    for k in range(book[B_LEN]):  # those added now are only contacted, so they refer no one
        v = reached[k]
        if coupons[v] <= 0 or cstate[v] < ENGAGED or role[v] != CLIENT:
            continue
        i = peer_of[v]
        if i < 0 or p_status[i] != ACTIVE:
            continue
        kind = p_kind[i]
        kv = subkey(kr, v)
        for a in range(indptr[v], indptr[v + 1]):
            if coupons[v] <= 0:
                break
            u = indices[a]
            if role[u] != CLIENT or cstate[u] != HIDDEN:
                continue
            if uniform(kv, u) < fpar[F_P_REFER]:
                coupons[v] -= 1
                _contact(u, w, i, kpar[kind, K_TRUST] * fpar[F_HOP_TRUST] * _subgroup_trust(
                    gender, age, p_node[i], u, fpar[F_SUBGROUP_TRUST]),
                    cstate, ever, since, peer_of, trust, reached, reached_pos, book)
                counters[C_REFERRALS] += 1

    # 3. Online activity reaches clients with online access, without a tie.
    if fpar[F_ONLINE_RATE] > 0.0:
        ko = subkey(keys[KEY_ONLINE], w)
        lam = fpar[F_ONLINE_RATE] * effort
        for i in range(n_peers):
            if p_status[i] != ACTIVE:
                continue
            kp = subkey(ko, i)
            # Poisson number of attempts by inversion.
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
                if role[v] != CLIENT or cstate[v] != HIDDEN:
                    continue
                if uniform(kp, 2 * j + 2) < loc_online[locality[v]]:
                    _contact(v, w, i, fpar[F_ONLINE_TRUST] * _subgroup_trust(
                        gender, age, p_node[i], v, fpar[F_SUBGROUP_TRUST]),
                        cstate, ever, since, peer_of, trust, reached, reached_pos, book)
                    counters[C_ONLINE_CONTACTS] += 1
                    counters[C_NEW_CONTACTS] += 1

    # 4. Engagement of contacted clients, within the peer's caseload cap; or lost contact.
    # Clients in contact are listed in ``reached``; walking it backwards lets a client leave
    # (swapped out for the last one, already seen) without skipping anyone.
    ke = subkey(keys[KEY_ENGAGE], w)
    ke_engage, ke_lose, ke_refer = subkey(ke, 1), subkey(ke, 2), subkey(ke, 3)
    for k in range(book[B_LEN] - 1, -1, -1):
        v = reached[k]
        if cstate[v] != CONTACTED or role[v] != CLIENT:
            continue
        i = peer_of[v]
        engaged = False
        if i >= 0 and p_status[i] == ACTIVE:
            cap = int(kpar[p_kind[i], K_CAP])
            if cap == 0 or p_caseload[i] < cap:
                p = (fpar[F_P_ENGAGE] * trust[v]
                     * (1.0 - stigma_effect * loc_stigma[locality[v]]))
                if uniform(ke_engage, v) < p:
                    engaged = True
                    cstate[v] = ENGAGED
                    _mark(ever, v, EVER_ENGAGED, book, B_ENGAGED)
                    since[v] = w
                    p_caseload[i] += 1
                    ekind[v] = p_kind[i]
                    if uniform(ke_refer, v) < fpar[F_P_REFERRER]:
                        coupons[v] = ipar[I_COUPONS]
                    counters[C_NEW_ENGAGED] += 1
        if not engaged and uniform(ke_lose, v) < fpar[F_P_LOSE]:
            cstate[v] = HIDDEN
            peer_of[v] = -1
            _leave(v, reached, reached_pos, book)

    # 5. Drop-out and retention, then linkage: the engaged who ask for an appointment get the
    # week's slots in a rotation from a random first one, so no one always books first.
    kl = subkey(keys[KEY_LINK], w)
    kl_seek, kl_attend = subkey(kl, 1), subkey(kl, 2)
    kl_drop, kl_slots = subkey(kl, 3), subkey(kl, 4)
    slots = int(fpar[F_APPOINTMENTS] + uniform(kl_slots, 0))
    seekers = np.empty(book[B_LEN], np.int32)
    n_seekers = 0
    now_engaged = now_linked = 0
    for k in range(book[B_LEN] - 1, -1, -1):
        v = reached[k]
        if role[v] != CLIENT:
            continue
        s = cstate[v]
        if s == ENGAGED:
            if uniform(kl_drop, v) < fpar[F_P_DROP_ENGAGED]:
                cstate[v] = HIDDEN
                coupons[v] = 0
                if peer_of[v] >= 0:
                    p_caseload[peer_of[v]] -= 1
                peer_of[v] = -1
                _leave(v, reached, reached_pos, book)
                continue
            now_engaged += 1
            if slots > 0 and uniform(kl_seek, v) < fpar[F_P_SEEK]:
                seekers[n_seekers] = v
                n_seekers += 1
        elif s == LINKED or s == RETAINED:
            if uniform(kl_drop, v) < fpar[F_P_DROP_LINKED]:
                cstate[v] = HIDDEN
                coupons[v] = 0
                peer_of[v] = -1
                _leave(v, reached, reached_pos, book)
                continue
            now_linked += 1
            if s == LINKED and w - since[v] >= ipar[I_WEEKS_RETAINED]:
                cstate[v] = RETAINED
                _mark(ever, v, EVER_RETAINED, book, B_RETAINED)
    start = int(uniform(kl_slots, 1) * n_seekers)
    for step in range(min(slots, n_seekers)):
        v = seekers[(start + step) % n_seekers]
        i = peer_of[v]
        counters[C_APPOINTMENTS] += 1
        p = fpar[F_P_ATTEND]
        if i >= 0 and p_status[i] == ACTIVE:
            p += kpar[p_kind[i], K_BOOST]
        if uniform(kl_attend, v) < p:
            cstate[v] = LINKED
            _mark(ever, v, EVER_LINKED, book, B_LINKED)
            since[v] = w
            if i >= 0:
                p_caseload[i] -= 1
            counters[C_NEW_LINKED] += 1
            now_engaged -= 1
            now_linked += 1
    counters[C_NOW_ENGAGED] = now_engaged
    counters[C_NOW_LINKED] = now_linked

    # 6. Peer well-being: job demands drain energy, resources restore it (saturating).
    kw = subkey(keys[KEY_WELLBEING], w)
    sup_every = ipar[I_SUP_EVERY]
    team_every = ipar[I_TEAM_EVERY]
    sup_left = int(fpar[F_SUPERVISIONS])
    team_meeting = team_every > 0 and w % team_every == 0 and ipar[I_PROFESSIONALS] > 0
    working = 0
    for i in range(n_peers):
        if p_status[i] == ACTIVE:
            working += 1
    if team_meeting and working > 0:
        counters[C_TEAM_MEETINGS] += 1
    for i in range(n_peers):
        kp = subkey(kw, i)
        if p_status[i] == ACTIVE:
            kind = p_kind[i]
            load = p_caseload[i]
            crises = 0
            for j in range(load):
                if uniform(kp, j + 16) < fpar[F_P_CRISIS]:
                    crises += 1
            demand = fpar[F_DEMAND] * load + fpar[F_CRISIS_COST] * crises
            if uniform(kp, 0) < fpar[F_P_STIGMA] * loc_stigma[locality[p_node[i]]]:
                demand += fpar[F_STIGMA_COST]
                p_label_until[i] = w + ipar[I_LABEL_WEEKS]
            gain = fpar[F_RECOVERY] + fpar[F_MEANING_GAIN] * fpar[F_INDIRECT]
            if sup_every > 0 and (w + i) % sup_every == 0 and sup_left > 0:
                sup_left -= 1
                gain += fpar[F_SUP_GAIN]
                counters[C_SUPERVISIONS] += 1
            if team_meeting:
                gain += fpar[F_TEAM_GAIN]
            if working >= 2:
                gain += fpar[F_PEER_SUPPORT_GAIN]
            if kpar[kind, K_COMPENSATION] > 0.0:
                gain += fpar[F_COMP_GAIN]
                counters[C_COMPENSATION] += int(kpar[kind, K_COMPENSATION] * 100.0)
            counters[C_PEER_WEEKS_PAID] += 1
            e = p_energy[i] + gain * (1.0 - p_energy[i]) - demand
            p_energy[i] = min(1.0, max(0.0, e))
            if p_energy[i] < fpar[F_EXHAUSTION]:
                p_status[i] = RESTING
                if not p_ever_exhausted[i]:
                    counters[C_NEW_EXHAUSTED] += 1
                p_ever_exhausted[i] = True
        elif p_status[i] == RESTING:
            p_energy[i] = min(1.0, p_energy[i] + fpar[F_REST_RECOVERY] * (1.0 - p_energy[i]))
            if p_energy[i] >= fpar[F_RETURN]:
                p_status[i] = ACTIVE
            elif uniform(kp, 1) < fpar[F_P_WITHDRAW]:
                p_status[i] = WITHDRAWN
                counters[C_WITHDRAWN] += 1
        if p_status[i] == ACTIVE:
            counters[C_ACTIVE] += 1
        elif p_status[i] == RESTING:
            counters[C_RESTING] += 1


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
