"""The weekly dynamics of peer outreach as numba kernels over the model's state arrays.

One call of :func:`week` advances one replicate by one week through the phases of
:mod:`sim.reference.weekly` (the plain-Python executable specification, which says in words what
each phase does): outreach contacts through ties, chain referral, online contacts, engagement,
linkage to services and retention, and peer well-being. Every random number comes from
:mod:`sim._random`, hashed on (process key, week, actor, target), so a replicate's results do not
depend on the thread that runs it. The kernel releases the GIL, so replicates run in parallel
threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from sim._random import subkey, uniform

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
 C_COMPENSATION) = range(12)
N_COUNTERS = 12


@njit(cache=True, inline="always")
def _subgroup_trust(gender, age, a, b, factor):
    """Trust kept between persons a and b: ``factor`` per subgroup in which they differ."""
    t = 1.0
    if gender[a] != gender[b]:
        t *= factor
    if age[a] != age[b]:
        t *= factor
    return t


@njit(cache=True, nogil=True)
def week(w, indptr, indices, locality, gender, age, loc_stigma, loc_online,
         role, cstate, ever, peer_of, trust, since, coupons, ekind,
         p_node, p_kind, p_status, p_energy, p_caseload, p_ever_exhausted, p_label_until,
         fpar, ipar, kpar, keys, stamp, queue, hop, counters):
    """Advance one replicate by week ``w``; see :mod:`sim.reference.weekly` for the rules.

    Arrays over persons: ``locality``, ``gender``, ``age``, ``role``, ``cstate``, ``ever``,
    ``peer_of``, ``trust``, ``since``, ``coupons``, ``ekind`` (kind of the engaging peer)
    and the work arrays ``stamp``, ``queue`` and ``hop``. Arrays over peers: ``p_*``.
    ``counters`` receives this week's event counts.
    """
    n = role.shape[0]
    n_peers = p_node.shape[0]
    counters[:] = 0
    effort = 1.0 - fpar[F_INDIRECT]
    stigma_effect = fpar[F_STIGMA_EFFECT]

    # 1. Outreach through ties: a breadth-first walk from each working peer, up to its reach.
    kc = subkey(keys[KEY_CONTACT], w)
    for i in range(n_peers):
        if p_status[i] != ACTIVE:
            continue
        kind = p_kind[i]
        src = p_node[i]
        hops = int(kpar[kind, K_HOPS])
        base = kpar[kind, K_P_CONTACT] * effort
        label = fpar[F_LABEL_FACTOR] if p_label_until[i] > w else 1.0
        kpeer = subkey(kc, i)
        visit = w * n_peers + i + 1
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
            distance_trust = fpar[F_HOP_TRUST] ** (h - 1)
            for a in range(indptr[u], indptr[u + 1]):
                v = indices[a]
                if stamp[v] == visit:
                    continue
                stamp[v] = visit
                hop[v] = h
                queue[tail] = v
                tail += 1
                if role[v] != CLIENT or cstate[v] != HIDDEN:
                    continue
                similar = _subgroup_trust(gender, age, src, v, fpar[F_SUBGROUP_TRUST])
                p = (base * distance_trust * label * similar
                     * (1.0 - stigma_effect * loc_stigma[locality[v]]))
                if uniform(kpeer, v) < p:
                    cstate[v] = CONTACTED
                    ever[v] |= EVER_CONTACTED
                    since[v] = w
                    peer_of[v] = i
                    trust[v] = kpar[kind, K_TRUST] * distance_trust * label * similar
                    counters[C_NEW_CONTACTS] += 1

    # 2. Chain referral: engaged clients with coupons refer hidden friends to their peer.
    kr = subkey(keys[KEY_REFER], w)
    for v in range(n):
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
                cstate[u] = CONTACTED
                ever[u] |= EVER_CONTACTED
                since[u] = w
                peer_of[u] = i
                trust[u] = (kpar[kind, K_TRUST] * fpar[F_HOP_TRUST]
                            * _subgroup_trust(gender, age, p_node[i], u, fpar[F_SUBGROUP_TRUST]))
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
                    cstate[v] = CONTACTED
                    ever[v] |= EVER_CONTACTED
                    since[v] = w
                    peer_of[v] = i
                    trust[v] = fpar[F_ONLINE_TRUST] * _subgroup_trust(
                        gender, age, p_node[i], v, fpar[F_SUBGROUP_TRUST])
                    counters[C_ONLINE_CONTACTS] += 1
                    counters[C_NEW_CONTACTS] += 1

    # 4. Engagement of contacted clients, within the peer's caseload cap; or lost contact.
    ke = subkey(keys[KEY_ENGAGE], w)
    ke_engage, ke_lose, ke_refer = subkey(ke, 1), subkey(ke, 2), subkey(ke, 3)
    for v in range(n):
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
                    ever[v] |= EVER_ENGAGED
                    since[v] = w
                    p_caseload[i] += 1
                    ekind[v] = p_kind[i]
                    if uniform(ke_refer, v) < fpar[F_P_REFERRER]:
                        coupons[v] = ipar[I_COUPONS]
                    counters[C_NEW_ENGAGED] += 1
        if not engaged and uniform(ke_lose, v) < fpar[F_P_LOSE]:
            cstate[v] = HIDDEN
            peer_of[v] = -1

    # 5. Linkage: engaged clients book appointments while slots last; retention after that.
    kl = subkey(keys[KEY_LINK], w)
    kl_seek, kl_attend = subkey(kl, 1), subkey(kl, 2)
    kl_drop, kl_slots = subkey(kl, 3), subkey(kl, 4)
    slots = int(fpar[F_APPOINTMENTS] + uniform(kl_slots, 0))
    start = int(uniform(kl_slots, 1) * n)  # a random first client, so no one always books first
    for step in range(n):
        v = start + step
        if v >= n:
            v -= n
        if role[v] != CLIENT:
            continue
        s = cstate[v]
        if s == ENGAGED:
            i = peer_of[v]
            if uniform(kl_drop, v) < fpar[F_P_DROP_ENGAGED]:
                cstate[v] = HIDDEN
                coupons[v] = 0
                if i >= 0:
                    p_caseload[i] -= 1
                peer_of[v] = -1
                continue
            if slots > 0 and uniform(kl_seek, v) < fpar[F_P_SEEK]:
                slots -= 1
                counters[C_APPOINTMENTS] += 1
                p = fpar[F_P_ATTEND]
                if i >= 0 and p_status[i] == ACTIVE:
                    p += kpar[p_kind[i], K_BOOST]
                if uniform(kl_attend, v) < p:
                    cstate[v] = LINKED
                    ever[v] |= EVER_LINKED
                    since[v] = w
                    if i >= 0:
                        p_caseload[i] -= 1
                    counters[C_NEW_LINKED] += 1
        elif s == LINKED or s == RETAINED:
            if uniform(kl_drop, v) < fpar[F_P_DROP_LINKED]:
                cstate[v] = HIDDEN
                coupons[v] = 0
                peer_of[v] = -1
            elif s == LINKED and w - since[v] >= ipar[I_WEEKS_RETAINED]:
                cstate[v] = RETAINED
                ever[v] |= EVER_RETAINED

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


@njit(cache=True, nogil=True)
def state_counts(role, cstate, ever, out_now, out_ever):
    """Count clients by current state and by what ever happened to them (one pass)."""
    out_now[:] = 0
    out_ever[:] = 0
    for v in range(role.shape[0]):
        if role[v] != CLIENT:
            continue
        out_now[cstate[v]] += 1
        e = ever[v]
        for b in range(4):
            if e & (1 << b):
                out_ever[b] += 1


def empty_work_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The per-person work arrays of :func:`week` (stamp, queue, hop)."""
    return np.zeros(n, np.int64), np.zeros(n, np.int32), np.zeros(n, np.int32)
