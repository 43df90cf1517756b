"""A respondent-driven sampling survey simulated on a scenario's world.

The survey follows the design of Heckathorn (1997, "Respondent-driven sampling: a new approach
to the study of hidden populations", Social Problems 44:174): seed respondents start chains;
each respondent is given ``coupons`` coupons; each coupon goes to a tie of the respondent not
yet in the sample and is redeemed with probability ``p_redeem``; a redeemed coupon brings its
holder into the sample one wave after the recruiter. Chains stop at ``sample_size``
respondents or when they die out. Respondents are served in the order they arrived (first in,
first out), as at a survey site.

Everything known about each person is kept: the world's attributes (subgroups, locality, any
column of a user's nodes file and the client attributes the world carries) and what the
scenario's model did to them in one run (:func:`survey_population`): whether the programme
contacted, engaged and linked them, and their trust in their peer. Those linked are the
service's records, the list the multiplier method and capture-recapture count on.

The population is open (``[turnover]``): people stop using, die, go to prison and move, and
the world's dormant people enter. The survey happens at the end of the model run (the
programme's history and its measured weeks), and it sees the population of that week alone
(:func:`present_population`): only people present then can be seeds, be recruited or be
counted; the graph it walks is the one induced on them (the ties of those absent have
ended); and the truth it is checked against (the population's size, each attribute's share,
the service's records among them) is theirs. A person keeps their identifier across runs and
surveys: a graph file's id, else their index in the world (not their row among those present,
which changes with who is present).

Assumptions, each an option of :class:`SurveyDesign`:

- A coupon goes to a tie chosen uniformly among those not yet in the sample, or with a
  preference (differential recruitment; Tomas & Gile 2011, "The effect of differential
  recruitment, non-response and non-recruitment on estimators for respondent-driven
  sampling", Electronic Journal of Statistics 5:899): weight ``strength`` to the power of the
  number of subgroups (gender, age band) recruiter and tie share, or of a person attribute
  scaled to [0, 1] over the population (``trust``, ``mistrust``, ``depth``, ...), or
  ``strength`` for a tie with a given label of a category attribute.
- A respondent reports their degree with a multiplicative log-normal error of spread
  ``degree_noise`` (mean one) and, with ``degree_heaping`` above 1, rounded to a multiple of
  it (heaping on round numbers); both as studied by Lu et al. (2012, "The sensitivity of
  respondent-driven sampling", JRSS A 175:191). At least 1: a respondent knows their
  recruiter.

Random numbers come from the named streams ``survey-seeds``, ``survey-coupons`` and
``survey-degrees`` of (seed, replicate), so the same seed gives the same sample and
replicates are independent.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from sim.errors import UserInputError

__all__ = [
    "MODEL_ATTRIBUTES",
    "SEED_SOURCES",
    "Population",
    "Sample",
    "SurveyDesign",
    "chain_referral",
    "induced_subgraph",
    "present_population",
    "random_walk",
    "recruit_weights",
    "report_degrees",
    "survey",
    "survey_population",
]

#: Where seed respondents come from: anyone, those the programme engaged, those it linked.
SEED_SOURCES = ("random", "engaged", "service")

#: Attributes a model run gives each person (beside the world's own).
MODEL_ATTRIBUTES = ("role", "contacted", "engaged", "linked", "trust")


@dataclass(frozen=True)
class SurveyDesign:
    """How the survey recruits and what respondents report.

    Attributes:
        n_seeds: seed respondents (persons, 1 or more). Assumption: 10, within the 5-15 seeds
            RDS surveys usually start from.
        coupons: coupons per respondent (1 or more); 3, as in peer-driven intervention
            (Broadhead et al. 1998) and most RDS surveys.
        p_redeem: probability that a coupon is redeemed (0 to 1). Assumption: 0.5, so that
            ``coupons * p_redeem`` = 1.5 > 1 and chains can reach the target sample.
        sample_size: the target sample (respondents, seeds included); 500, a usual RDS sample.
        seed_from: ``random`` (anyone), ``engaged`` (persons the programme engaged) or
            ``service`` (persons it linked to a service).
        recruit_by: ``uniform``; ``subgroup`` (ties sharing gender and age band); a person
            attribute (numbers, scaled to [0, 1]); or ``NAME=LABEL`` of a category attribute.
        recruit_strength: the preference's weight (positive; 1 is no preference, below 1 an
            aversion).
        degree_noise: spread (log scale) of the multiplicative error of reported degrees
            (0 to 3; 0 is exact).
        degree_heaping: reported degrees are rounded to a multiple of this (1 or more; 1 is no
            heaping).
    """

    n_seeds: int = 10
    coupons: int = 3
    p_redeem: float = 0.5
    sample_size: int = 500
    seed_from: str = "random"
    recruit_by: str = "uniform"
    recruit_strength: float = 2.0
    degree_noise: float = 0.0
    degree_heaping: int = 1

    def problems(self) -> list[str]:
        """What is wrong with the design, one line each, naming the option; empty if valid."""
        out = []
        if self.n_seeds < 1:
            out.append(f"--n-seeds {self.n_seeds}: must be 1 or more")
        if self.coupons < 1:
            out.append(f"--coupons {self.coupons}: must be 1 or more (coupons per respondent)")
        if not 0.0 <= self.p_redeem <= 1.0 or math.isnan(self.p_redeem):
            out.append(f"--p-redeem {self.p_redeem:g}: must be a probability in [0, 1]")
        if self.sample_size < 1:
            out.append(f"--sample-size {self.sample_size}: must be 1 or more")
        elif self.n_seeds > self.sample_size:
            out.append(
                f"--n-seeds {self.n_seeds}: must be at most --sample-size "
                f"{self.sample_size} (seeds are respondents)"
            )
        if self.seed_from not in SEED_SOURCES:
            out.append(f"--seed-from {self.seed_from}: must be one of {', '.join(SEED_SOURCES)}")
        if not self.recruit_strength > 0 or math.isinf(self.recruit_strength):
            out.append(
                f"--recruit-strength {self.recruit_strength:g}: must be a positive "
                "number (1: no preference)"
            )
        if not 0.0 <= self.degree_noise <= 3.0:
            out.append(
                f"--degree-noise {self.degree_noise:g}: must be in [0, 3] (spread of "
                "the log of the reporting error)"
            )
        if self.degree_heaping < 1:
            out.append(f"--degree-heaping {self.degree_heaping}: must be 1 or more")
        return out

    def to_dict(self) -> dict:
        """The design as plain values (for ``survey.json``)."""
        return asdict(self)


@dataclass
class Population:
    """The surveyed population: the graph, every person's attributes, and the service list.

    Persons are numbered ``0 .. n - 1`` among those surveyed; ``person`` maps them back to
    the world.

    Attributes:
        indptr: CSR row pointers of the graph among the persons surveyed.
        indices: CSR neighbours.
        attributes: ``name -> (values, labels)``; ``labels`` names a category attribute's
            codes, None for a number.
        ids: each person's identifier as written (a graph file's ids, else the person's
            index in the world).
        engaged: persons the programme engaged in the model run (bool per person).
        linked: persons it linked to a service: the service's records (bool per person).
        person: each person's index in the world (None: the same as their number here).
        week: the week of the survey (the weeks the model ran before it, history included).
        people_in_world: persons in the world, those absent at the survey's week included
            (None: unknown).
    """

    indptr: np.ndarray
    indices: np.ndarray
    attributes: dict[str, tuple[np.ndarray, tuple | None]]
    ids: list[str]
    engaged: np.ndarray
    linked: np.ndarray
    person: np.ndarray | None = None
    week: int = 0
    people_in_world: int | None = None

    @property
    def n(self) -> int:
        """Number of persons."""
        return int(self.indptr.shape[0] - 1)

    def degree(self) -> np.ndarray:
        """Ties of each person."""
        return np.diff(self.indptr)


@dataclass
class Sample:
    """One survey's respondents in the order they entered the sample.

    Attributes:
        node: each respondent's person index.
        recruiter: the row (in this sample) of each respondent's recruiter, -1 for a seed.
        wave: 0 for a seed, the recruiter's wave plus one otherwise.
        seed: the row of the seed whose chain the respondent belongs to.
        reported: each respondent's reported degree (set by :func:`survey`), or None.
    """

    node: np.ndarray
    recruiter: np.ndarray
    wave: np.ndarray
    seed: np.ndarray
    reported: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Number of respondents."""
        return int(self.node.shape[0])


#: Labels of the ``role`` attribute (codes as :mod:`sim.model.state`: client, close, distant).
#: A person absent from the population (``ABSENT``) is never surveyed, so needs no label.
ROLE_LABELS = ("client", "close peer", "distant peer")


def _model_attributes(model, person: np.ndarray) -> dict[str, tuple[np.ndarray, tuple | None]]:
    """What the model run did to each of ``person`` (world indices), by attribute name."""
    from sim.model import state as E

    ever = model.ever[person]
    role = model.role[person].astype(np.int64)
    if role.size and int(role.max()) >= len(ROLE_LABELS):
        # Only a person absent from the population has a role beyond the labels (ABSENT);
        # the survey's persons are all present, so this is a broken invariant, not bad input.
        raise RuntimeError(
            f"a person present at week {model.week} has role code {int(role.max())}, "
            f"beyond the survey's labels {ROLE_LABELS}"
        )
    return {
        "role": (role, ROLE_LABELS),
        "contacted": ((ever & E.EVER_CONTACTED > 0).astype(np.int64), None),
        "engaged": ((ever & E.EVER_ENGAGED > 0).astype(np.int64), None),
        "linked": ((ever & E.EVER_LINKED > 0).astype(np.int64), None),
        "trust": (model.trust[person].copy(), None),
    }


def induced_subgraph(
    indptr: np.ndarray, indices: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The CSR graph induced on the persons ``keep`` (ascending), renumbered ``0 .. k - 1``.

    Person ``keep[j]`` becomes ``j``; a tie is kept when both ends are kept, in the order the
    graph held it. Cost: O(persons + ties) time and memory.

    Args:
        indptr: CSR row pointers.
        indices: CSR neighbours.
        keep: the persons kept, ascending and distinct.

    Returns:
        ``(indptr, indices)`` of the induced graph, in the input's dtypes.
    """
    n = indptr.shape[0] - 1
    new = np.full(n, -1, dtype=np.int64)
    new[keep] = np.arange(keep.shape[0])
    rows = np.repeat(new, np.diff(indptr))
    cols = new[indices]
    both = (rows >= 0) & (cols >= 0)
    counts = np.bincount(rows[both], minlength=keep.shape[0])
    out_ptr = np.zeros(keep.shape[0] + 1, dtype=indptr.dtype)
    np.cumsum(counts, out=out_ptr[1:])
    return out_ptr, cols[both].astype(indices.dtype)


def present_population(world, model, scenario) -> Population:
    """The persons in the population at the model's current week, as the survey sees them.

    Only persons present (``model.here == PRESENT``) are in it: their ties among themselves
    (those of absent persons have ended), their attributes, and what the model run did to
    them; the service's records are those of them it linked. Each keeps their identifier:
    a graph file's id, else their index in the world.

    Args:
        world: the model's world.
        model: the :class:`~sim.model.outreach.OutreachModel` run on it.
        scenario: the scenario, whose names label the attributes' codes.
    """
    from sim.model.state import PRESENT

    person = np.flatnonzero(model.here == PRESENT)
    indptr, indices = induced_subgraph(world.graph.indptr, world.graph.indices, person)
    attributes = {
        name: (np.asarray(values)[person], labels)
        for name, (values, labels) in world.person_attributes(scenario).items()
    }
    ran = _model_attributes(model, person)
    for name, value in ran.items():
        attributes.setdefault(name, value)
    # A graph file's attribute never shares a name with these (refused by
    # survey_population), so the service's records in sample.csv are the model's.
    if world.ids is not None:
        ids = [world.ids[i] for i in person.tolist()]
    else:
        ids = [str(i) for i in person.tolist()]
    return Population(
        indptr=indptr,
        indices=indices,
        attributes=attributes,
        ids=ids,
        engaged=ran["engaged"][0] > 0,
        linked=ran["linked"][0] > 0,
        person=person,
        week=int(model.week),
        people_in_world=int(world.n),
    )


def survey_population(
    scenario,
    *,
    stop: threading.Event | None = None,
    before_run: Callable[[Population], None] | None = None,
) -> Population:
    """The population at the end of one run of the scenario's model (replicate 0), as surveyed.

    The model runs on the scenario's world (replicate 0) as :meth:`OutreachModel.run
    <sim.model.outreach.OutreachModel.run>` does, the programme's history
    (``run.history_weeks``) and then its ``run.weeks``; the survey is taken at its end
    (:func:`present_population`), so who was engaged and linked (the service's records) come
    from the same people the survey samples, and the population is the one of that week.

    Args:
        scenario: the scenario.
        stop: when set, the model run stops (checked between weeks).
        before_run: called with the population as it is before the model runs (those
            present at the start, their model attributes all zero), to refuse a survey design
            before the run rather than after.

    Raises:
        UserInputError: the world cannot be built (a bad graph file).
        KeyboardInterrupt: ``stop`` was set.
    """
    from sim.model.outreach import OutreachModel
    from sim.model.world import build_world

    world = build_world(scenario, 0)
    net = scenario.network
    _check_attribute_names(world.person_attributes(scenario), net.nodes_file or net.file)
    model = OutreachModel(scenario, 0, world)
    if before_run is not None:
        before_run(present_population(world, model, scenario))
    for _ in range(scenario.run.history_weeks + scenario.run.weeks):
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        model.step()
    return present_population(world, model, scenario)


def _check_attribute_names(attributes: dict, where: str) -> None:
    """Refuse a graph file's attribute named like a column the survey itself writes.

    ``sample.csv`` has one column per name, so such an attribute would hide the survey's own
    column (a file's ``wave`` read back as the respondents' waves) or the model run's record
    (a file's ``linked`` taken for the service's records by ``estimate``).

    Raises:
        UserInputError: naming the attribute and the names taken.
    """
    from sim.rds.survey_files import FIXED_COLUMNS

    for name in attributes:
        for taken, what in (
            (FIXED_COLUMNS, "a column of the survey's sample.csv"),
            (MODEL_ATTRIBUTES, "what the survey records of the model run"),
        ):
            if name in taken:
                raise UserInputError(
                    f"{where}: node attribute {name!r} has the name of "
                    f"{what} ({', '.join(taken)}); rename it to survey this "
                    "graph"
                )


def recruit_weights(pop: Population, design: SurveyDesign) -> tuple[np.ndarray | None, str]:
    """Each person's weight as a coupon's recipient, and the kind of preference.

    Returns:
        ``(weights, kind)``: ``kind`` is ``uniform`` (weights None), ``subgroup`` (weights
        None: they depend on the recruiter, see :func:`chain_referral`) or ``person`` (one
        weight per person).

    Raises:
        UserInputError: ``recruit_by`` names no attribute, or a label the attribute lacks.
    """
    by, k = design.recruit_by, design.recruit_strength
    if by == "uniform":
        return None, "uniform"
    if by == "subgroup":
        return None, "subgroup"
    name, _, label = by.partition("=")
    if name not in pop.attributes:
        raise UserInputError(
            f"--recruit-by {by}: no such attribute (uniform, subgroup or one "
            f"of: {', '.join(pop.attributes)})"
        )
    values, labels = pop.attributes[name]
    if label:
        if labels is not None:
            if label not in labels:
                raise UserInputError(
                    f"--recruit-by {by}: {name} has no label {label!r} "
                    f"(labels: {', '.join(labels)})"
                )
            match = np.asarray(values) == labels.index(label)
        else:
            try:
                match = np.asarray(values, dtype=float) == float(label)
            except ValueError:
                raise UserInputError(
                    f"--recruit-by {by}: {name} is a number; give {name}=VALUE with a number"
                ) from None
        return np.where(match, k, 1.0), "person"
    if labels is not None:
        raise UserInputError(
            f"--recruit-by {by}: {name} is a category; name a label: "
            f"{', '.join(f'{name}={x}' for x in labels)}"
        )
    x = np.asarray(values, dtype=float)
    lo, hi = float(np.min(x)), float(np.max(x))
    scaled = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return np.power(k, scaled), "person"


def chain_referral(
    indptr: np.ndarray,
    indices: np.ndarray,
    seeds: np.ndarray,
    *,
    coupons: int,
    p_redeem: float,
    max_size: int | None,
    rng: np.random.Generator,
    weights: np.ndarray | None = None,
    subgroups: tuple[np.ndarray, ...] | None = None,
    strength: float = 1.0,
) -> Sample:
    """Recruit from seeds through coupons until ``max_size`` respondents or the chains die out.

    Each respondent, in arrival order, gives up to ``coupons`` coupons to distinct ties not in
    the sample, chosen uniformly, in proportion to ``weights`` of the ties, or (with
    ``subgroups``) in proportion to ``strength`` to the number of subgroups shared; each is
    redeemed with probability ``p_redeem``. Cost: O(sample size x degree).

    Args:
        indptr: CSR row pointers.
        indices: CSR neighbours.
        seeds: the seed persons (distinct).
        coupons: coupons per respondent.
        p_redeem: probability a coupon is redeemed.
        max_size: stop at this many respondents (None: until the chains die out).
        rng: the coupons' random stream.
        weights: a weight per person for being given a coupon, or None.
        subgroups: per-person codes of each subgroup, for homophilous recruitment.
        strength: the weight per shared subgroup.
    """
    limit = np.inf if max_size is None else max_size
    in_sample = np.zeros(indptr.shape[0] - 1, dtype=bool)
    node: list[int] = []
    recruiter: list[int] = []
    wave: list[int] = []
    seed: list[int] = []
    queue: deque[int] = deque()
    for s in seeds[: int(min(len(seeds), limit))]:
        s = int(s)
        in_sample[s] = True
        queue.append(len(node))
        node.append(s)
        recruiter.append(-1)
        wave.append(0)
        seed.append(len(node) - 1)
    while queue and len(node) < limit:
        row = queue.popleft()
        person = node[row]
        ties = np.unique(indices[indptr[person] : indptr[person + 1]])
        ties = ties[~in_sample[ties]]
        if ties.size == 0:
            continue
        k = min(coupons, ties.size)
        if weights is not None:
            w = weights[ties]
            chosen = rng.choice(ties, size=k, replace=False, p=w / w.sum())
        elif subgroups is not None:
            shared = sum((g[ties] == g[person]).astype(float) for g in subgroups)
            w = np.power(strength, shared)
            chosen = rng.choice(ties, size=k, replace=False, p=w / w.sum())
        else:
            chosen = rng.choice(ties, size=k, replace=False)
        redeemed = rng.random(k) < p_redeem
        for tie, ok in zip(chosen.tolist(), redeemed.tolist(), strict=True):
            if not ok or len(node) >= limit:
                continue
            in_sample[tie] = True
            queue.append(len(node))
            node.append(tie)
            recruiter.append(row)
            wave.append(wave[row] + 1)
            seed.append(seed[row])
    return Sample(
        node=np.asarray(node, dtype=np.int64),
        recruiter=np.asarray(recruiter, dtype=np.int64),
        wave=np.asarray(wave, dtype=np.int64),
        seed=np.asarray(seed, dtype=np.int64),
    )


def random_walk(
    indptr: np.ndarray, indices: np.ndarray, start: int, steps: int, rng: np.random.Generator
) -> np.ndarray:
    """A random walk with replacement: each respondent passes one coupon to a uniform tie.

    The recruitment process under which Volz & Heckathorn (2008) derive their estimator: a
    person's chance of being sampled tends to their degree over twice the ties. Returns the
    persons visited, ``start`` first (``steps + 1`` of them).
    """
    out = np.empty(steps + 1, dtype=np.int64)
    u = rng.random(steps)
    here = int(start)
    out[0] = here
    for t in range(steps):
        lo, hi = indptr[here], indptr[here + 1]
        here = int(indices[lo + int(u[t] * (hi - lo))])
        out[t + 1] = here
    return out


def report_degrees(
    true_degree: np.ndarray, noise: float, heaping: int, rng: np.random.Generator
) -> np.ndarray:
    """Degrees as respondents report them: log-normal error of mean one, heaping, at least 1."""
    d = true_degree.astype(float)
    if noise > 0:
        d = d * np.exp(rng.normal(-noise * noise / 2, noise, d.shape))
    d = np.rint(d)
    if heaping > 1:
        d = np.rint(d / heaping) * heaping
    return np.maximum(d, 1).astype(np.int64)


def _seed_pool(pop: Population, design: SurveyDesign) -> np.ndarray:
    if design.seed_from == "engaged":
        pool = np.flatnonzero(pop.engaged)
    elif design.seed_from == "service":
        pool = np.flatnonzero(pop.linked)
    else:
        pool = np.arange(pop.n)
    if pool.size < design.n_seeds:
        who = {
            "engaged": "persons the programme engaged",
            "service": "persons the programme linked to a service",
            "random": "persons",
        }[design.seed_from]
        raise UserInputError(
            f"--n-seeds {design.n_seeds}: the run has only {pool.size:,} "
            f"{who} to start from (--seed-from {design.seed_from}); lower "
            "--n-seeds or choose another --seed-from"
        )
    return pool


def check_design(pop: Population, design: SurveyDesign, *, seeds: bool = True) -> None:
    """Refuse a design the population cannot take, in one line.

    Args:
        pop: the population.
        design: the design.
        seeds: also check there are enough persons to seed from (False before the model
            has run, when no one is engaged or linked yet).

    Raises:
        UserInputError: the design's own problems, a sample larger than the population, too
            few persons to seed from, or a ``recruit_by`` the population lacks.
    """
    problems = design.problems()
    if problems:
        raise UserInputError(problems[0])
    if design.sample_size > pop.n:
        when = f" at the survey's week {pop.week}" if pop.week else ""
        raise UserInputError(
            f"--sample-size {design.sample_size:,}: must be at most the "
            f"population{when}, {pop.n:,} people"
        )
    if seeds:
        _seed_pool(pop, design)
    recruit_weights(pop, design)


def survey(pop: Population, design: SurveyDesign, seed: int, replicate: int) -> Sample:
    """One survey of the population: seeds, chains, and the reported degrees.

    Args:
        pop: the surveyed population (:func:`survey_population`).
        design: how the survey recruits and what respondents report.
        seed: root seed of the survey's random streams.
        replicate: the survey's index; with ``seed`` it fixes the survey's streams.

    Returns:
        The respondents in the order they entered the sample.

    Examples:
        A survey of 100 respondents from 5 seeds, on a small scenario's world after four
        weeks of its programme:

        >>> from importlib.resources import files
        >>> from sim import load_scenario
        >>> from sim.rds.survey import SurveyDesign, survey, survey_population
        >>> scenario = load_scenario(
        ...     files("sim.scenarios") / "baseline.toml",
        ...     {"population.size": 300, "run.weeks": 4},
        ... )
        >>> pop = survey_population(scenario)
        >>> sample = survey(pop, SurveyDesign(n_seeds=5, sample_size=100), seed=1, replicate=0)
        >>> sample.size <= 100, int((sample.wave == 0).sum())
        (True, 5)
        >>> bool((sample.recruiter[sample.wave > 0] >= 0).all())
        True
    """
    from sim.streams import stream

    check_design(pop, design)
    pool = _seed_pool(pop, design)
    seeds = stream(seed, replicate, "survey-seeds").choice(pool, size=design.n_seeds, replace=False)
    weights, kind = recruit_weights(pop, design)
    subgroups = None
    if kind == "subgroup":
        subgroups = tuple(np.asarray(pop.attributes[g][0]) for g in ("gender", "age_band"))
    sample = chain_referral(
        pop.indptr,
        pop.indices,
        seeds,
        coupons=design.coupons,
        p_redeem=design.p_redeem,
        max_size=design.sample_size,
        rng=stream(seed, replicate, "survey-coupons"),
        weights=weights,
        subgroups=subgroups,
        strength=design.recruit_strength,
    )
    true_degree = pop.degree()[sample.node]
    sample.reported = report_degrees(
        true_degree,
        design.degree_noise,
        design.degree_heaping,
        stream(seed, replicate, "survey-degrees"),
    )
    return sample


def run_replicates(
    pop: Population,
    design: SurveyDesign,
    seed: int,
    replicates: Sequence[int],
    write: Callable[[int, Sample], None],
    *,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Survey each replicate and hand it to ``write`` as it finishes.

    Raises:
        KeyboardInterrupt: ``stop`` was set; the replicates written so far stay written.
    """
    total = len(replicates)
    for done, r in enumerate(replicates, 1):
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        write(r, survey(pop, design, seed, r))
        if progress:
            progress(done, total)
