"""The ``influence`` recruitment policy: peers chosen where the network carries outreach.

The chooser is :func:`sim.cascade.influence.greedy_influence` (greedy with CELF lazy evaluation
on the contact-propagation core, or on worlds of 20,000 persons or more greedy coverage of
reverse-reachable sets sized by IMM; ``(1 - 1/e - eps)`` of the best reach; see that module). This
module turns a scenario into its tie probabilities, says who may be chosen, and keeps each
kind's picks as a queue.

**Tie probabilities** (a declared assumption: the network's upper bound, free of hours,
caseloads, burnout and services; :func:`tie_probabilities`):

- *Contact* (a peer reaches a person, arc ``u -> v``): ``p_contact_per_meeting`` of the kind
  times the share of contact ``v``'s local stigma leaves, ``1 - outreach.stigma_effect x
  stigma``, times the share ``v``'s mistrust of professionals leaves, ``1 -
  services.mistrust_barrier x service_likeness x mistrust``, as one meeting with ``v`` would
  give in the model's outreach phase; every person within reach is assumed met (no limit of
  hours). A peer reaches ``reach_hops`` steps, a
  friend's friend through the friend, each step with this chance. Meetings at a fixed site
  (``site_share``) do not depend on who the peer is and are left out.
- *Referral* (a reached person ``u`` passes the contact on to each tie): the chance that
  ``u`` engages before losing contact, ``q / (q + l - q l)`` with the weekly engagement
  ``q = p_engage_per_week x trust x stigma kept x mistrust kept`` at the kind's ``trust``
  (before social distance lowers it, an upper bound) and the weekly loss
  ``l = p_lose_contact_per_week``; times ``p_referrer`` (``u`` refers at all); times the
  chance a given tie is referred, ``min(1 - (1 - p_refer_per_tie_week) ^ weeks,
  referral_coupons / degree(u))`` (tried weekly over the run, at most the coupons spread over
  the ties). A peer's own ties also get this chance besides the contact (a small excess that
  keeps the objective submodular).

**Who may be chosen** (``influence_pool`` of the kind): ``"all"`` (every client),
``"engaged"`` (clients engaged for ``promote_after_weeks``, as ``from_engaged``), a person
attribute's name (persons whose value is true or non-zero, such as ``in_orbit``, the service
orbit) or
``NAME=LABEL`` (persons whose attribute has that label or value).

**Queues and common random numbers.** For ``all`` and attribute pools the greedy order is
computed once per replicate and kind, without regard to the other kind, each pick conditioned
on the kind's picks before it (with an age-band mix, recruit ``i`` comes from the band any
policy would draw for it: :func:`slot_bands`), and walked like the ``degree`` queue: a person
the other kind took is skipped. One more peer of one kind therefore leaves the other kind's picks as
they were, unless it takes one of them. The ``engaged`` pool changes week by week, so it is
chosen afresh at each recruitment, counting the reach of the kind's peers already working.
The draws come from the kind's ``influence/<kind>`` stream.
"""

from __future__ import annotations

import numpy as np

from sim.cascade.influence import DEFAULT_SAMPLES, greedy_influence
from sim.errors import UserInputError
from sim.model import state as S
from sim.model.recruitment.queues import walk
from sim.model.scenario import PeerKind, Scenario

__all__ = ["choose", "eligible_pool", "slot_bands", "take", "tie_probabilities"]

#: Pools every scenario has; any other ``influence_pool`` names a person attribute.
FIXED_POOLS = ("all", "engaged")


def tie_probabilities(scenario: Scenario, world, kind: int) -> tuple[np.ndarray, int, np.ndarray]:
    """The contact and referral probabilities of one peer kind (see the module's docstring).

    Args:
        scenario: the scenario.
        world: its world (graph, localities).
        kind: ``sim.model.state.CLOSE`` or ``DISTANT``.

    Returns:
        ``(contact, hops, refer)``: per-arc contact probabilities in CSR order, the kind's
        ``reach_hops``, per-person referral probabilities.
    """
    pk: PeerKind = getattr(scenario, S.KIND_SECTIONS[kind])
    out = scenario.outreach
    g = world.graph
    kept = 1.0 - out.stigma_effect * world.loc_stigma[world.locality]  # per person
    kept = kept * (1.0 - scenario.services.mistrust_barrier * pk.service_likeness * world.mistrust)
    contact = pk.p_contact_per_meeting * kept[g.indices]
    q = out.p_engage_per_week * pk.trust * kept
    lose = out.p_lose_contact_per_week
    denominator = q + lose - q * lose
    engage = np.divide(q, denominator, out=np.zeros_like(q), where=denominator > 0)
    degree = np.maximum(g.degree(), 1)
    per_tie = np.minimum(
        1.0 - (1.0 - out.p_refer_per_tie_week) ** scenario.run.weeks, out.referral_coupons / degree
    )
    refer = np.clip(engage * out.p_referrer * per_tie, 0.0, 1.0)
    return np.clip(contact, 0.0, 1.0), int(pk.reach_hops), refer


def _attribute_pool(spec: str, model, where: str) -> np.ndarray:
    """Persons selected by an attribute pool ``NAME`` or ``NAME=LABEL``."""
    name, _, label = spec.partition("=")
    name, label = name.strip(), label.strip()
    attributes = model.world.person_attributes(model.scenario)
    if name not in attributes:
        allowed = ", ".join(repr(p) for p in (*FIXED_POOLS, *sorted(attributes)))
        raise UserInputError(
            f"{where} = {spec!r}: no such person attribute; allowed: {allowed}, or NAME=LABEL"
        )
    values, labels = attributes[name]
    values = np.asarray(values)
    if not label:
        if values.dtype.kind in "biuf":
            return np.flatnonzero(values != 0)
        return np.flatnonzero(np.isin(np.char.lower(values.astype(str)), ["1", "true", "yes"]))
    if labels is not None:
        if label not in labels:
            raise UserInputError(
                f"{where} = {spec!r}: {name} has no label {label!r}; its "
                f"labels: {', '.join(labels)}"
            )
        return np.flatnonzero(values == labels.index(label))
    return np.flatnonzero(values.astype(str) == label)


def eligible_pool(model, pk: PeerKind, kind: int) -> np.ndarray | None:
    """The persons a kind's influence policy may choose now; None for everyone.

    Raises:
        UserInputError: an attribute pool that names no person attribute, or no label of it.
    """
    spec = pk.influence_pool
    if spec == "all":
        return None
    if spec == "engaged":
        eligible = (
            (model.role == S.CLIENT)
            & (model.cstate >= S.ENGAGED)
            & (model.week - model.since >= pk.promote_after_weeks)
        )
        return np.flatnonzero(eligible)
    return _attribute_pool(spec, model, f"{S.KIND_SECTIONS[kind]}.influence_pool")


def choose(
    model,
    kind: int,
    k: int,
    candidates: np.ndarray | None,
    streams,
    seeded: np.ndarray | None = None,
    slots: np.ndarray | None = None,
) -> np.ndarray:
    """The greedy influence order of up to ``k`` persons for one kind, on its stream.

    With ``slots``, pick ``i`` comes from age band ``slots[i]`` (``k`` is then ignored).
    """
    cache = streams.influence_cache
    # Computed once per scenario: a policy changed mid-run (the workshop page) recomputes.
    if cache.get("probabilities_for") is not model.scenario:
        cache["probabilities"] = tie_probabilities(model.scenario, model.world, kind)
        cache["probabilities_for"] = model.scenario
    contact, hops, refer = cache["probabilities"]
    picks = greedy_influence(
        model.world.graph,
        contact,
        hops,
        refer,
        k,
        candidates=candidates,
        seeded=seeded,
        samples=DEFAULT_SAMPLES,
        key=int(streams.influence_key),
        groups=None if slots is None else model.world.age_band,
        slots=slots,
    )
    return picks.nodes


def slot_bands(streams, shares, first: int, count: int) -> np.ndarray:
    """The age bands of a kind's recruits ``first .. first + count - 1`` (the kind's slots).

    The bands the kind's recruitment stream would draw for its recruits, as every policy draws
    them (``rng.choice`` with the kind's ``age_band_shares``): read from a copy of the stream
    as it was before the first draw, so the sequence is fixed for the replicate and its first
    ``c`` slots are the same whatever the count, and a policy compared with ``degree`` or
    ``random`` recruits the same age-band mix.
    """
    import copy

    cache = streams.influence_cache
    if "band_stream" not in cache:
        cache["band_stream"] = copy.deepcopy(streams.rng)
    rng = copy.deepcopy(cache["band_stream"])
    return rng.choice(len(shares), size=first + count, p=shares)[first:]


def take(model, pk: PeerKind, kind: int, count: int, streams) -> np.ndarray:
    """The next ``count`` recruits of a kind's fixed greedy queue (pools ``all`` or attribute).

    The queue is the kind's greedy sequence, each pick conditioned on all before it; with an
    age-band mix, pick ``i`` comes from the band of recruit ``i`` (:func:`slot_bands`), and the
    persons of each band are walked in the sequence's order. A person the other kind took is
    passed over (as the ``degree`` queue does), and the band's next in the sequence takes the
    place. The sequence runs a few slots past those in use and goes on (the greedy is kept)
    when a band's walk would run off its end.
    """
    state = streams.influence_cache.setdefault(
        "queue", {"slots_used": 0, "length": 0, "bands": {}, "done": set()}
    )
    shares = pk.age_band_shares
    first = state["slots_used"]
    bands = slot_bands(streams, shares, first, count) if shares else np.full(count, -1)
    state["slots_used"] = first + count
    pool = eligible_pool(model, pk, kind)
    chosen = []
    for band in np.unique(bands):
        want = int(np.sum(bands == band))
        while True:
            entry = state["bands"].setdefault(int(band), [np.zeros(0, np.int64), 0])
            ahead = int(np.sum(model.role[entry[0][entry[1] :]] == S.CLIENT))
            if ahead >= want or int(band) in state["done"]:
                break
            _lengthen(model, pk, kind, streams, state, pool)
        picked, entry[1] = walk(entry[0], entry[1], model.role, want)
        chosen.append(picked)
    return np.concatenate(chosen) if chosen else np.zeros(0, np.int64)


def _lengthen(model, pk: PeerKind, kind: int, streams, state: dict, pool) -> None:
    """Continue a kind's greedy sequence a few slots past those in use; split it by band.

    The greedy is kept between calls (:class:`~sim.cascade.influence.GreedyInfluence`), so
    the sequence goes on where it stopped, exactly as one longer run would have made it.
    """
    from sim.cascade.influence import GreedyInfluence

    shares = pk.age_band_shares
    if "greedy" not in state:
        contact, hops, refer = tie_probabilities(model.scenario, model.world, kind)
        state["greedy"] = GreedyInfluence(
            model.world.graph,
            contact,
            hops,
            refer,
            candidates=pool,
            samples=DEFAULT_SAMPLES,
            key=int(streams.influence_key),
            groups=model.world.age_band if shares else None,
        )
    greedy = state["greedy"]
    old = state["length"]
    # A few slots past those in use: picks cost many re-evaluations where reach overlaps, and
    # the greedy goes on cheaply when more are needed.
    length = max(old, state["slots_used"]) + 4
    slots = slot_bands(streams, shares, old, length - old) if shares else np.zeros(length - old)
    for group in slots:
        greedy.pick(int(group))
    persons = np.asarray(greedy.nodes, np.int64)
    everyone = np.arange(model.role.size) if pool is None else pool
    if shares:
        band = model.world.age_band[persons]
        sizes = np.bincount(model.world.age_band[everyone], minlength=len(shares))
        for b in range(len(shares)):
            state["bands"][b] = [persons[band == b], state["bands"].get(b, [None, 0])[1]]
            if np.sum(band == b) >= sizes[b]:
                state["done"].add(b)
    else:
        state["bands"][-1] = [persons, state["bands"].get(-1, [None, 0])[1]]
        if persons.size >= everyone.size:
            state["done"].add(-1)
    state["length"] = length
