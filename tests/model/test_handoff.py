"""The hand-off between the two kinds of peer, the clients of a peer who stops, and referral.

Three mechanisms (Osis: distant peers find, close peers at the site accompany):

- a peer brings one of their engaged clients to a close peer with room (``p_handoff``), who
  spends a meeting's hours on it and supports the client from then on;
- when a peer stops working, each engaged client is lost with
  ``p_client_lost_when_peer_stops`` or taken on by a working peer with room;
- a coupon brings the friend to the referrer's peer at the referrer's trust (times the
  subgroup factor), with no ``hop_trust`` step.

Phase tests run one phase from a model's state and check the rule exactly; directional tests
are paired runs on common random numbers (see :mod:`tests.paired`), the mean paired difference
beyond ``Z = 3`` standard errors in the direction the mechanism names.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from tests.paired import REPS, Z, small_baseline
from tests.paired import values as _values
from tests.paired import z as _z


def _state(weeks: int = 8, **overrides):
    """A small baseline model ``weeks`` in, with the plan and linkage of the next week done."""
    model = OutreachModel(small_baseline(77, **overrides), 0)
    model.run(weeks)
    c, p = model.client_arrays(), model.peer_arrays()
    counters = np.zeros(S.N_COUNTERS, np.int64)
    for name in ("plan", "linkage"):
        K.PHASES[name](model.week, model.world_arrays(), c, p, model._params, model._keys, counters)
    return model, c, p, counters


def _caseloads(c, p):
    engaged = (c.cstate == S.ENGAGED) & (c.role == S.CLIENT) & (c.peer_of >= 0)
    return np.bincount(c.peer_of[engaged], minlength=p.node.size)


def test_every_distant_peer_hands_one_client_to_a_close_peer_with_room():
    model, c, p, counters = _state(**{"distant_peers.p_handoff": 1.0})
    before_peer, before_trust = c.peer_of.copy(), c.trust.copy()
    before_left = p.hours_left.copy()
    givers = np.flatnonzero((p.kind == S.DISTANT) & (p.status == S.ACTIVE) & (p.caseload > 0))
    assert givers.size > 0
    K.handoff(model.week, model.world_arrays(), c, p, model._params, model._keys, counters)
    moved = np.flatnonzero(c.peer_of != before_peer)
    par, world = model._params, model.world_arrays()
    # One client at most from each giver; each to a working close peer, charged a meeting.
    assert 0 < moved.size <= givers.size == len(set(before_peer[moved]) | set(givers))
    assert set(before_peer[moved]) <= set(givers)
    assert counters[S.C_HANDED_OFF] == moved.size
    receivers = c.peer_of[moved]
    assert (p.kind[receivers] == S.CLOSE).all() and (p.status[receivers] == S.ACTIVE).all()
    spent = np.bincount(receivers, minlength=p.node.size) * par.hours_per_meeting
    assert np.allclose(before_left - p.hours_left, spent)
    assert np.array_equal(p.caseload, _caseloads(c, p))
    for v in moved:
        j = c.peer_of[v]
        differ = int(world.gender[v] != world.gender[p.node[j]]) + int(
            world.age[v] != world.age[p.node[j]]
        )
        base = par.trust[S.CLOSE] * par.subgroup_trust**differ
        assert math.isclose(
            c.trust[v], base + par.handoff_vouching * before_trust[v] * (1.0 - base)
        )


def test_no_handoff_without_the_chance_or_without_close_peers():
    for overrides in ({"distant_peers.p_handoff": 0.0}, {"close_peers.count": 0}):
        model, c, p, counters = _state(**overrides)
        before = c.peer_of.copy()
        K.handoff(model.week, model.world_arrays(), c, p, model._params, model._keys, counters)
        assert np.array_equal(c.peer_of, before) and counters[S.C_HANDED_OFF] == 0


def test_the_receiver_is_of_the_clients_locality_when_one_has_room():
    model, c, p, counters = _state(**{"distant_peers.p_handoff": 1.0})
    world = model.world_arrays()
    before = c.peer_of.copy()
    # Close peers with a meeting's hours for every giver keep room through the phase (no cap
    # in the baseline).
    hours = model._params.hours_per_meeting * np.sum(p.kind == S.DISTANT)
    roomy = (p.kind == S.CLOSE) & (p.status == S.ACTIVE) & (p.hours_left >= hours)
    assert roomy.any()
    close_here = {int(loc) for loc in world.locality[p.node[roomy]]}
    K.handoff(model.week, world, c, p, model._params, model._keys, counters)
    moved = np.flatnonzero(c.peer_of != before)
    assert moved.size > 0
    for v in moved:
        if world.locality[v] in close_here:
            assert world.locality[p.node[c.peer_of[v]]] == world.locality[v]


def test_clients_of_a_peer_who_stops_are_lost_or_taken_on():
    for lost in (0.0, 1.0):
        model, c, p, counters = _state(**{"outreach.p_client_lost_when_peer_stops": lost})
        i = int(np.argmax(np.where(p.status == S.ACTIVE, p.caseload, -1)))
        mine = np.flatnonzero((c.peer_of == i) & (c.cstate == S.ENGAGED))
        assert mine.size > 0
        now_engaged = counters[S.C_NOW_ENGAGED]
        p.status[i] = S.BREAK
        K._peer_stops(model.world_arrays(), c, p, model._params, model._keys, 5, i, counters)
        if lost == 1.0:
            assert (c.cstate[mine] == S.HIDDEN).all() and (c.peer_of[mine] == -1).all()
            assert counters[S.C_NOW_ENGAGED] == now_engaged - mine.size
        else:  # no caseload cap in the baseline: everyone finds a working peer
            assert (c.cstate[mine] == S.ENGAGED).all()
            assert (p.status[c.peer_of[mine]] == S.ACTIVE).all()
            assert counters[S.C_HANDED_OFF] == mine.size
        assert p.caseload[i] == 0
        assert np.array_equal(p.caseload, _caseloads(c, p))


def test_a_full_caseload_keeps_the_client_waiting():
    # Caps of one, all reached: nobody has room, so the clients wait for their peer.
    model, c, p, counters = _state(
        **{
            "close_peers.caseload_cap": 1,
            "distant_peers.caseload_cap": 1,
            "outreach.p_client_lost_when_peer_stops": 0.0,
        }
    )
    working = p.status == S.ACTIVE
    p.caseload[working] = np.maximum(p.caseload[working], 1)
    i = int(np.argmax(np.where(working, p.caseload, -1)))
    before = c.peer_of.copy()
    K._peer_stops(model.world_arrays(), c, p, model._params, model._keys, 5, i, counters)
    assert np.array_equal(c.peer_of, before)


def test_handoff_links_more_distant_peers_clients():
    # The close peer who takes the client on accompanies them to appointments (attendance
    # and the mistrust bridge), so more of the clients distant peers engaged are linked, and
    # more people outside the service orbit (whom distant peers find). The close peers' room
    # bounds the hand-offs, so the contrast is small: twice the usual replicates.
    on = small_baseline(31)
    off = small_baseline(31, **{"distant_peers.p_handoff": 0.0})
    reps = 2 * REPS
    assert _z(_values(on, "clients_handed_off") - _values(off, "clients_handed_off")) > Z
    for metric in ("linked_share_distant", "clients_linked_outside_orbit"):
        assert _z(_values(on, metric, reps) - _values(off, metric, reps)) > Z, metric


def test_losing_clients_when_peers_stop_lowers_engagement():
    keep = small_baseline(32, **{"outreach.p_client_lost_when_peer_stops": 0.0})
    lose = small_baseline(32, **{"outreach.p_client_lost_when_peer_stops": 1.0})
    assert _z(_values(keep, "clients_linked") - _values(lose, "clients_linked")) > Z


def _engaged_share(ev: pd.DataFrame) -> tuple[float, float, int, int]:
    """Shares of peers' direct and referred contacts that engage before anything else."""
    steps = ev[ev.event.isin(("contact", "engaged", "lost_contact", "peer_recruited"))]
    steps = steps.assign(after=steps.groupby("person").event.shift(-1))
    contacts = steps[(steps.event == "contact") & (steps.peer != -1)]
    contacts = contacts[contacts.week < ev.week.max() - 8]  # time to engage
    referred = contacts.recruiter.notna()
    engaged = contacts.after == "engaged"
    n_ref, n_dir = int(referred.sum()), int((~referred).sum())
    return engaged[referred].mean(), engaged[~referred].mean(), n_ref, n_dir


def test_a_referred_friend_engages_about_as_often_as_a_direct_contact():
    # The coupon brings the friend to the peer on a friend's word: no trust lost per step.
    s = small_baseline(33, **{"outreach.p_referrer": 0.5, "run.weeks": 40})
    model = OutreachModel(s, 0, events=True)
    model.run()
    ref, direct, n_ref, n_dir = _engaged_share(model.events())
    assert n_ref > 100 and n_dir > 100
    se = math.sqrt(ref * (1 - ref) / n_ref + direct * (1 - direct) / n_dir)
    assert ref > 0.8 * direct - 3 * se, (ref, direct)


def test_the_receiver_is_chosen_by_persons_not_rows():
    # The same peers in another row order choose the same person for every client.
    model, c, p, _ = _state()
    world, par = model.world_arrays(), model._params
    order = np.random.default_rng(0).permutation(p.node.size)
    shuffled = p._replace(
        **{
            name: getattr(p, name)[order]
            for name in S.PeerFrame.NAMES
            if name in S.PeerArrays._fields
        }
    )
    clients = np.flatnonzero((c.cstate == S.ENGAGED) & (c.peer_of >= 0))[:50]
    assert clients.size > 0
    key = np.uint64(12345)
    chosen = 0
    for v in clients:
        i = int(c.peer_of[v])
        for kind in (S.CLOSE, -1):
            j = K._receiver(world, p, par, v, i, kind, key + np.uint64(v), 0.0)
            back = int(np.flatnonzero(order == i)[0])
            j2 = K._receiver(world, shuffled, par, v, back, kind, key + np.uint64(v), 0.0)
            assert (j == -1) == (j2 == -1)
            if j >= 0:
                assert p.node[j] == shuffled.node[j2]
                chosen += 1
    assert chosen > 0
