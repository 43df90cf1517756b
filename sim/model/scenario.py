"""Scenario files: everything a planner or researcher sets, validated into a frozen object.

A scenario is a TOML file whose tables mirror the sections below. Every parameter is declared
once, here, with its default, its allowed range and a one-line description; units are in the
names (``..._per_week``, ``weeks``). Loading checks every key and value and reports each problem
as one line naming the file, the dotted key, the bad value and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sim.errors import UserInputError

__all__ = [
    "CLOSED_POPULATION",
    "RECRUITMENT_POLICIES",
    "NETWORK_GENERATORS",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_overrides",
    "scenario_from_dict",
    "scenario_problems",
    "scenario_to_dict",
]

RECRUITMENT_POLICIES = (
    "random",
    "degree",
    "nomination",
    "from_engaged",
    "cover_subgroups",
    "influence",
)
NETWORK_GENERATORS = ("community", "configuration", "small_world", "file")

#: Overrides (dotted keys, as ``--set``) that close the population: no dormant people in the
#: world, and no one stops, dies, goes to prison or moves away.
CLOSED_POPULATION = MappingProxyType(
    {
        "population.dormant_per_person": 0.0,
        "turnover.stop_per_year": 0.0,
        "turnover.deaths_per_year": 0.0,
        "turnover.prison_per_year": 0.0,
        "turnover.move_away_per_year": 0.0,
    }
)


#: Keys of earlier versions that no longer exist, with what replaced them (section class, key).
REMOVED_KEYS = {
    (
        "PeerKind",
        "p_contact_per_tie_week",
    ): "removed in 0.3: contacts now follow a peer's hours; set hours_per_week and "
    "p_contact_per_meeting",
    (
        "PeerKind",
        "compensation_per_week",
    ): "removed in 0.4: peers are paid by the hour; set pay_per_hour (currency an hour "
    "worked, crises included)",
    (
        "Services",
        "appointments_per_professional_week",
    ): "removed in 0.4: professionals share their hours; set services.hours_per_appointment "
    "(hours each) and services.professional_hours_per_week",
    (
        "Services",
        "supervision_per_professional_week",
    ): "removed in 0.4: professionals share their hours; a supervision takes "
    "work.hours_per_supervision of a professional's hours",
    (
        "Services",
        "house_calls_per_professional_week",
    ): "removed in 0.4: professionals share their hours; a house call takes "
    "work.hours_per_house_call of a professional's hours",
    (
        "Costs",
        "hours_per_appointment",
    ): "removed in 0.3: professionals are salaried (services.professional_hours_per_week "
    "at costs.professional_hour)",
    (
        "Costs",
        "hours_per_supervision",
    ): "removed in 0.3: professionals are salaried; a peer's supervision hours are "
    "work.hours_per_supervision",
    (
        "Costs",
        "hours_per_team_meeting",
    ): "removed in 0.3: professionals are salaried; a peer's meeting hours are "
    "work.hours_per_team_meeting",
}


class ScenarioError(UserInputError):
    """A scenario file or override that does not validate; ``problems`` lists every one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


def param(
    default: Any,
    lo: float | None = None,
    hi: float | None = None,
    *,
    doc: str,
    choices: tuple[str, ...] | None = None,
    integer: bool = False,
    lo_open: bool = False,
    kernel: bool = False,
) -> Any:
    """Declare a scenario parameter with its default, range and description.

    ``kernel=True`` marks a key the weekly kernel reads as it is: it becomes a field of
    :class:`sim.model.state.Params` under the key's own name (see
    :func:`sim.model.state.kernel_params` for the naming rule).
    """
    meta = {
        "lo": lo,
        "hi": hi,
        "doc": doc,
        "choices": choices,
        "integer": integer,
        "lo_open": lo_open,
        "kernel": kernel,
    }
    if isinstance(default, (list, tuple, dict)):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


def section(cls: type) -> Any:
    """Declare a nested section with all its defaults."""
    return field(default_factory=cls, metadata={"section": True})


@dataclass(frozen=True)
class RunSettings:
    """How long and how often to run."""

    weeks: int = param(
        52,
        1,
        520,
        integer=True,
        doc="weeks measured per run (beyond 52, results are also given year by year)",
    )
    history_weeks: int = param(
        0,
        0,
        1040,
        integer=True,
        doc="weeks the programme ran before the measured weeks: its clients, peers, trust "
        "and the population's comings and goings carry over, its own results are not "
        "reported (0: the programme starts with the measured weeks)",
    )
    replicates: int = param(20, 1, 100_000, integer=True, doc="independent runs summarised")
    seed: int = param(1, 0, 2**63 - 1, integer=True, doc="root seed of every random stream")
    worlds: int = param(
        0,
        0,
        100_000,
        integer=True,
        doc="distinct worlds (graph and people) the replicates live in: 0, "
        "automatic (a new world for every replicate below "
        "run.shared_world_from people, one world shared by all from it); "
        "N, replicate r lives in world r mod N, so the question is about "
        "these N networks and each is built once",
    )
    shared_world_from: int = param(
        50_000,
        10,
        10_000_000_000,
        integer=True,
        doc="people from which the replicates share one world when "
        "run.worlds is 0: a programme's peers reach a few "
        "thousand of them, from different places in each "
        "replicate, and a world this large varies little in "
        "make-up from one draw to the next (stated "
        "assumption; see the README's worlds at scale)",
    )


@dataclass(frozen=True)
class Subgroup:
    """One subgroup attribute of the population (for example gender)."""

    names: tuple[str, ...] = param((), doc="labels of the categories")
    shares: tuple[float, ...] = param((), 0.0, 1.0, doc="population share of each category")


@dataclass(frozen=True)
class Locality:
    """A town or city district with its own size, stigma and online access."""

    name: str = param("city", doc="label")
    share: float = param(1.0, 0.0, 1.0, lo_open=True, doc="share of the population living here")
    stigma: float = param(0.2, 0.0, 1.0, doc="stigma of drug use here (0 none, 1 heavy)")
    online_access: float = param(0.5, 0.0, 1.0, doc="share of clients here reachable online")
    service_access: float = param(
        1.0,
        0.0,
        1.0,
        doc="chance a person here is in the service orbit, relative to "
        "clients.orbit_share_by_depth (1: services as in the "
        "city; fewer services in a small town)",
    )
    site_visits_per_week: float = param(
        59.0,
        0.0,
        1_000_000.0,
        doc="visits a week to the locality's service site (a needle exchange) by people of its "
        "service orbit; 0: no site here (59: the Helsinki Street Clinic's ~4,900 encounters a "
        "year, ~94 a week, for ~8,000 hidden people, scaled to 5,000 people; assumption: "
        "visits in proportion to people x service_access)",
    )
    site_open_hours_per_week: float = param(
        20.0,
        0.0,
        168.0,
        doc="hours a week the site is open: a peer's site meetings in a week fit in them "
        "(assumption: weekday afternoons)",
    )
    site_visit_cv: float = param(
        1.3,
        0.0,
        10.0,
        doc="spread (coefficient of variation) of how often the orbit's people visit the site, "
        "each person's rate drawn from a gamma distribution of mean 1 (0: all alike; 1.3: "
        "the Street Clinic's 2,066 clients for 4,900 encounters a year, 2.4 visits each, at "
        "the helsinki_street_clinic scenario's footfall; fitted)",
    )


def _default_subgroups() -> Mapping[str, Subgroup]:
    # Read-only, so a frozen scenario cannot be changed through it.
    return MappingProxyType(
        {
            "gender": Subgroup(("man", "woman"), (0.7, 0.3)),
            "age_band": Subgroup(("under 30", "30-44", "45 and over"), (0.3, 0.45, 0.25)),
        }
    )


@dataclass(frozen=True)
class Population:
    """The hidden population: size, subgroups and localities."""

    size: int = param(5000, 10, 10_000_000, integer=True, doc="people in the hidden population")
    dormant_per_person: float = param(
        0.5,
        0.0,
        5.0,
        doc="people of the world not in the population at the start, per person in it: "
        "those who will start (or resume) using or move in, who join the population as "
        "others leave it ([turnover]). A generated world has size x (1 + this) people, its "
        "ties scaled so that people present have network.mean_degree ties among themselves; "
        "a graph file's people are all present at the start (assumption)",
    )
    subgroups: Mapping[str, Subgroup] = field(
        default_factory=_default_subgroups,
        metadata={"doc": "subgroup attributes: gender and age_band, each with names and shares"},
    )
    localities: tuple[Locality, ...] = field(
        default_factory=lambda: (Locality(),),
        metadata={
            "doc": "localities, each with name, share, stigma, online_access, service_access "
            "and its service site's visits and opening hours"
        },
    )


@dataclass(frozen=True)
class Network:
    """The social graph of the hidden population."""

    generator: str = param(
        "community", choices=NETWORK_GENERATORS, doc="how the graph is made, or 'file' to load one"
    )
    mean_degree: float = param(
        13.8,
        1.0,
        200.0,
        doc="mean number of ties per person (13.8: median about 10 at "
        "degree_sigma 0.8, Avery et al. 2021)",
    )
    degree_sigma: float = param(0.8, 0.0, 3.0, doc="spread of log-normal degrees (community)")
    community_size: int = param(50, 2, 100_000, integer=True, doc="people per community")
    homophily: float = param(0.5, 0.0, 1.0, doc="preference for ties within one's subgroups")
    p_cross_community: float = param(0.1, 0.0, 1.0, doc="share of ties to other communities")
    p_cross_locality: float = param(0.02, 0.0, 1.0, doc="share of ties to other localities")
    rewire: float = param(0.1, 0.0, 1.0, doc="rewiring probability (small_world)")
    file: str = param("", doc="edge-list CSV or GraphML (generator = 'file')")
    nodes_file: str = param("", doc="optional node-attribute CSV (generator = 'file')")


@dataclass(frozen=True)
class Clients:
    """Who the clients are beyond gender and age: the service orbit, the subculture, mistrust.

    The seed's hidden population is defined by what differs: people with heavy use who do not
    use the services they are entitled to (outside the *service orbit*: no needle exchange,
    substitution or health service in the past year), *deep* in the drug-using subculture,
    with *many problems* at once and *mistrust of professionals*. Each person's attributes are
    drawn per replicate from the ``clients`` stream: depth by ``depth_shares`` (the community
    generator also mixes ties by depth, as by gender and age, and gives deeper people more
    ties); the orbit with chance ``orbit_share_by_depth[depth] x service_access`` of their
    locality; mistrust from a Beta distribution with the orbit's mean; problem areas (of five:
    housing, mental health, physical health, income, justice) from a Binomial(5, mean / 5)
    with the depth's mean.
    """

    depth_names: tuple[str, ...] = param(
        ("edge", "middle", "deep"),
        doc="labels of the bands of depth in the drug-using subculture, shallowest first",
    )
    depth_shares: tuple[float, ...] = param(
        (0.4, 0.35, 0.25), 0.0, 1.0, doc="population share of each depth band (assumption)"
    )
    depth_degree_factors: tuple[float, ...] = param(
        (0.7, 1.0, 1.5),
        0.01,
        100.0,
        doc="relative number of ties of each depth band (community generator; assumption: "
        "the deeply involved form the dense core, Rothenberg & Muth 2007)",
    )
    orbit_share_by_depth: tuple[float, ...] = param(
        (0.8, 0.5, 0.2),
        0.0,
        1.0,
        doc="share of each depth band in the service orbit (used a needle exchange, "
        "substitution or health service in the past year); about half overall "
        "(assumption; in Western Europe most people who inject drugs use needle "
        "exchanges and about half are in substitution treatment, Larney et al. 2017)",
    )
    mistrust_in_orbit: float = param(
        0.3,
        0.0,
        1.0,
        doc="mean mistrust of professionals in the orbit (0 none, 1 total; assumption)",
    )
    mistrust_outside_orbit: float = param(
        0.6,
        0.0,
        1.0,
        doc="mean mistrust of professionals outside the "
        "orbit (assumption: mistrust keeps people away)",
    )
    mistrust_concentration: float = param(
        6.0,
        0.1,
        1000.0,
        doc="concentration of the Beta distribution of "
        "mistrust around its mean (larger: less spread)",
    )
    high_mistrust_at: float = param(
        0.5,
        0.0,
        1.0,
        doc="mistrust at or above which a client counts as 'high mistrust' in the results",
    )
    problems_by_depth: tuple[float, ...] = param(
        (1.0, 2.0, 3.0),
        0.0,
        5.0,
        doc="mean number of problem areas (of 5) in each depth band (assumption; 45% of "
        "needle-exchange clients had two or three kinds of vulnerability, Treloar et al. "
        "2016)",
    )
    problem_load: float = param(
        0.25,
        0.0,
        5.0,
        kernel=True,
        doc="extra share of a client's weekly follow-up hours and "
        "chance of a crisis for each problem area (assumption)",
    )


@dataclass(frozen=True)
class PeerKind:
    """One kind of peer: how many, how recruited, how long and how they work.

    Each peer's week is a time budget (``hours_per_week``, tailored by the professionals to the
    peer's strength): fixed commitments and the caseload come first, then accompaniments and
    house calls, then online and street contacts, one meeting at a time (see ``[work]``). The
    roles of the seed are the mechanisms below: *finder* (hours, ``p_contact_per_meeting``),
    *bridge-builder* (``reach_hops``), *companion / enabler* (``attendance_boost``,
    ``retention_boost``), *interpreter* (``interpreter_boost``), *bodyguard*
    (``works_in_pairs``), *mirror* (``mirror_effect``), *educator* (``educator_effect``).
    """

    count: int = param(10, 0, 100_000, integer=True, doc="peers of this kind at the start")
    recruitment: str = param(
        "random", choices=RECRUITMENT_POLICIES, doc="how peers are chosen from the population"
    )
    age_band_shares: tuple[float, ...] = param(
        (), 0.0, 1.0, doc="age-band mix of recruits (empty: as in the population)"
    )
    hours_per_week: float = param(
        10.0,
        0.0,
        80.0,
        kernel=True,
        doc="weekly working hours of a peer of this kind, before the "
        "professionals tailor them (assumption: part-time, MIPA)",
    )
    caseload_cap: int = param(
        0,
        0,
        10_000,
        integer=True,
        kernel=True,
        doc="most clients a peer supports at once (0: no cap)",
    )
    p_contact_per_meeting: float = param(
        0.5,
        0.0,
        1.0,
        kernel=True,
        doc="chance a meeting with a hidden person in reach becomes a first contact (finder)",
    )
    site_share: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="share of meetings held at the service site of the peer's locality (a needle "
        "exchange), with its visitors, not through the peer's ties",
    )
    reach_hops: int = param(
        1,
        1,
        3,
        integer=True,
        doc="how far in the network a peer reaches (1: own ties; bridge-builder)",
    )
    trust: float = param(0.6, 0.0, 1.0, kernel=True, doc="how far clients trust this kind of peer")
    service_likeness: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="share of the mistrust barrier against professionals "
        "that falls on this kind (a peer at a service site is "
        "partly seen as the services; assumption)",
    )
    attendance_boost: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="added chance an engaged client attends when the peer "
        "has the hours to accompany them (companion)",
    )
    retention_boost: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="share by which a linked client's drop-out falls while "
        "their peer works (companion: staying in services)",
    )
    interpreter_boost: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="added weekly chance an engaged client asks for an "
        "appointment (interpreter with authorities, benefits)",
    )
    joins_house_calls: bool = param(
        False, kernel=True, doc="goes on house calls with a professional"
    )
    works_in_pairs: bool = param(
        False,
        kernel=True,
        doc="works the street in pairs (bodyguard): crises and stigma "
        "events cost less, each meeting takes two peers' time",
    )
    role_conflict_per_week: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="energy a working week costs through role conflict "
        "(colleague and client; working close to drug use)",
    )
    mirror_effect: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="share by which linked clients' drop-out falls, programme-"
        "wide, while peers of this kind work (mirror: professionals "
        "tailor their work)",
    )
    educator_effect: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="share of new peers' training weeks saved while an "
        "experienced peer of this kind works, and of their own "
        "clients' crises avoided (educator)",
    )
    pay_per_hour: float = param(
        8.0,
        0.0,
        1e4,
        kernel=True,
        doc="pay an hour worked, crises included (currency an hour); it "
        "protects in proportion to pay over wellbeing.fair_wage_per_hour",
    )
    p_handoff: float = param(
        0.0,
        0.0,
        1.0,
        kernel=True,
        doc="chance a week that a working peer of this kind brings one of their engaged "
        "clients to a close peer with room, who then supports and can accompany them "
        "(distant peers find, close peers at the site accompany: Osis; the weekly chance is "
        "an assumption)",
    )
    promote_after_weeks: int = param(
        8,
        1,
        520,
        integer=True,
        doc="weeks engaged before a client can become a peer (recruitment = 'from_engaged')",
    )
    influence_pool: str = param(
        "all",
        doc="whom recruitment = 'influence' may choose: 'all' clients, "
        "'engaged' clients (as from_engaged), or those with a person "
        "attribute true (its name, e.g. 'in_orbit') or of one label "
        "('NAME=LABEL'); persons, no unit",
    )


def _close_default() -> PeerKind:
    return PeerKind(
        count=10,
        hours_per_week=12.0,
        p_contact_per_meeting=0.4,
        site_share=0.5,
        reach_hops=1,
        trust=0.45,
        service_likeness=0.5,
        attendance_boost=0.35,
        retention_boost=0.3,
        interpreter_boost=0.05,
        joins_house_calls=True,
        role_conflict_per_week=0.005,
        mirror_effect=0.2,
        educator_effect=0.3,
    )


def _distant_default() -> PeerKind:
    return PeerKind(
        count=10,
        hours_per_week=8.0,
        p_contact_per_meeting=0.6,
        reach_hops=2,
        trust=0.7,
        attendance_boost=0.05,
        interpreter_boost=0.02,
        role_conflict_per_week=0.02,
        educator_effect=0.1,
        pay_per_hour=7.5,
        p_handoff=0.25,
    )


@dataclass(frozen=True)
class OutreachWorkers:
    """Salaried professional outreach workers who contact clients themselves (no peers needed).

    They are not members of the hidden population: they meet people in the area at random,
    without a tie, and are trusted less (mistrust of professionals, seed). Clients they engage
    get no coupons (coupons are a peer programme's device).
    """

    count: int = param(0, 0, 10_000, integer=True, kernel=True, doc="outreach workers in the team")
    hours_per_week: float = param(
        25.0,
        0.0,
        80.0,
        kernel=True,
        doc="client-facing hours of a worker a week (the rest is office work; assumption)",
    )
    p_contact_per_meeting: float = param(
        0.3,
        0.0,
        1.0,
        kernel=True,
        doc="chance a meeting with a hidden person becomes a first contact (assumption)",
    )
    trust: float = param(
        0.25,
        0.0,
        1.0,
        kernel=True,
        doc="how far clients trust a professional (assumption: mistrust of professionals, seed)",
    )
    caseload_cap: int = param(
        25,
        0,
        10_000,
        integer=True,
        kernel=True,
        doc="most clients a worker supports at once (0: no cap)",
    )
    attendance_boost: float = param(
        0.15,
        0.0,
        1.0,
        kernel=True,
        doc="added chance an engaged client attends when a worker accompanies them",
    )


@dataclass(frozen=True)
class Work:
    """How long each part of a working week takes (hours), for peers and outreach workers."""

    hours_per_meeting: float = param(
        0.25,
        0.01,
        40.0,
        kernel=True,
        doc="hours one street or online meeting takes (an Osis "
        "street pair met about 20 people a round)",
    )
    hours_per_client_week: float = param(
        0.5,
        0.0,
        40.0,
        kernel=True,
        doc="hours a week following up one client of the caseload (calls, listening; assumption)",
    )
    hours_per_accompaniment: float = param(
        2.0,
        0.0,
        40.0,
        kernel=True,
        doc="hours to accompany a client to an appointment "
        "(escorting, Masese et al. 2022; assumption)",
    )
    hours_per_house_call: float = param(
        2.0,
        0.0,
        40.0,
        kernel=True,
        doc="hours a house call takes the peer and the professional alike, travel included",
    )
    hours_per_crisis: float = param(
        2.0,
        0.0,
        40.0,
        kernel=True,
        doc="unplanned hours a client's crisis takes, beyond the "
        "budget if need be (Masese et al. 2022)",
    )
    hours_per_supervision: float = param(
        1.0,
        0.0,
        40.0,
        kernel=True,
        doc="hours a supervision takes the peer and the professional alike (one to one)",
    )
    hours_per_team_meeting: float = param(
        1.5, 0.0, 40.0, kernel=True, doc="hours a team meeting takes"
    )
    training_weeks: int = param(
        4,
        0,
        104,
        integer=True,
        kernel=True,
        doc="weeks of induction for a new peer (before educators)",
    )
    training_hours_per_week: float = param(
        3.0, 0.0, 40.0, kernel=True, doc="hours a week a new peer spends in training"
    )


@dataclass(frozen=True)
class Outreach:
    """How contact, engagement and referral work."""

    p_engage_per_week: float = param(
        0.2, 0.0, 1.0, kernel=True, doc="chance a contacted client engages in a week, at full trust"
    )
    hop_trust: float = param(
        0.5,
        0.0,
        1.0,
        doc="trust kept per extra step of social distance, in street meetings beyond one's own "
        "ties (a coupon's friend comes on a friend's word and loses none)",
    )
    subgroup_trust: float = param(
        0.6,
        0.0,
        1.0,
        kernel=True,
        doc="trust kept for each subgroup in which peer and client differ",
    )
    stigma_effect: float = param(
        0.6, 0.0, 1.0, kernel=True, doc="how much local stigma lowers contact and engagement"
    )
    referral_coupons: int = param(
        3, 0, 100, integer=True, kernel=True, doc="referrals an engaged client can make"
    )
    p_referrer: float = param(
        0.1, 0.0, 1.0, kernel=True, doc="share of engaged clients who refer anyone at all"
    )
    p_refer_per_tie_week: float = param(
        0.15, 0.0, 1.0, kernel=True, doc="chance a referrer refers a hidden friend in a week"
    )
    online_contacts_per_peer_week: float = param(
        0.0,
        0.0,
        1000.0,
        kernel=True,
        doc="online contacts a working peer makes a week (0: no online activity)",
    )
    online_trust: float = param(0.4, 0.0, 1.0, kernel=True, doc="trust in a contact made online")
    p_lose_contact_per_week: float = param(
        0.05, 0.0, 1.0, kernel=True, doc="chance a contacted, unengaged client is lost"
    )
    handoff_vouching: float = param(
        0.5,
        0.0,
        1.0,
        kernel=True,
        doc="share of the way to full trust that the old peer's word brings a client handed "
        "to a new peer, times the client's trust in the old one: trust in the new peer is "
        "b + vouching x old trust x (1 - b), b the new kind's trust times the subgroup "
        "factor between client and new peer (assumption)",
    )
    p_client_lost_when_peer_stops: float = param(
        0.3,
        0.0,
        1.0,
        kernel=True,
        doc="chance an engaged client is lost (back to hidden) when their peer stops working "
        "(exhausted, a break, leaving); the others are taken on by a working peer with room, "
        "or wait for their peer (assumption)",
    )


@dataclass(frozen=True)
class Services:
    """Professionals, appointments and the client path after engagement.

    Each professional has ``professional_hours_per_week``, of which ``outside_work_share`` goes
    to work outside the peer programme. The rest is shared, in this order, by coordinating the
    enrolled peers, supervision (``work.hours_per_supervision`` each), assessing new peers,
    appointments (``hours_per_appointment``) and house calls (``work.hours_per_house_call``);
    what does not fit waits: a peer's supervision for a later week, an appointment until the
    client asks again.
    """

    professionals: int = param(
        3, 0, 10_000, integer=True, kernel=True, doc="professionals in the team"
    )
    professional_hours_per_week: float = param(
        37.5, 0.0, 80.0, doc="salaried hours of a professional a week (full time in Finland)"
    )
    outside_work_share: float = param(
        0.5,
        0.0,
        1.0,
        doc="share of a professional's hours that goes to work outside the peer programme "
        "(their own clients, office; assumption: the Street Clinic's professionals do more "
        "than back peers)",
    )
    coordination_hours_per_peer_week: float = param(
        0.5,
        0.0,
        40.0,
        kernel=True,
        doc="professional hours a week coordinating each enrolled peer (rota, check-in, pay; "
        "assumption); taken first",
    )
    hours_per_linked_client_week: float = param(
        0.25,
        0.0,
        40.0,
        kernel=True,
        doc="professional hours a week for each client in services (linked or retained): "
        "the service's own follow-up (assumption: about an hour a month); taken after "
        "coordinating peers, before supervision and new appointments",
    )
    hours_per_assessment: float = param(
        2.0,
        0.0,
        40.0,
        kernel=True,
        doc="professional hours assessing a new peer at induction (assumption); without "
        "them the peer starts unassessed",
    )
    hours_per_appointment: float = param(
        1.0,
        0.0,
        40.0,
        kernel=True,
        doc="professional hours an appointment takes, notes included (assumption)",
    )
    p_link_house_call: float = param(
        0.7,
        0.0,
        1.0,
        kernel=True,
        doc="chance a house call links the client to services "
        "(the service comes to them; assumption)",
    )
    supervision_order: str = param(
        "need",
        choices=("need", "turn"),
        doc="who gets scarce supervision hours first: the most "
        "strained peers ('need') or those waiting longest "
        "('turn')",
    )
    tailoring: float = param(
        0.5,
        0.0,
        1.0,
        kernel=True,
        doc="how far professionals tailor a peer's hours and caseload cap "
        "to the strength they assess (0: not at all, 1: in proportion)",
    )
    p_seek_appointment_per_week: float = param(
        0.25,
        0.0,
        1.0,
        kernel=True,
        doc="chance an engaged client asks for an appointment in a week",
    )
    p_attend: float = param(
        0.4,
        0.0,
        1.0,
        kernel=True,
        doc="chance a booked client without mistrust attends, unaccompanied",
    )
    mistrust_barrier: float = param(
        0.6,
        0.0,
        1.0,
        kernel=True,
        doc="share of a client's chance to attend, and to accept "
        "and engage with professionals, lost at full mistrust "
        "(mistrust of professionals, seed; assumption)",
    )
    accompaniment_bridge: float = param(
        0.75,
        0.0,
        1.0,
        kernel=True,
        doc="share of the mistrust barrier a peer removes by "
        "accompanying a client or joining a house call "
        "(enabler, interpreter; assumption)",
    )
    weeks_to_retained: int = param(
        12,
        1,
        520,
        integer=True,
        kernel=True,
        doc="weeks in contact with services that count as retained",
    )
    p_dropout_engaged_per_week: float = param(
        0.03, 0.0, 1.0, kernel=True, doc="chance an engaged client loses contact"
    )
    p_dropout_linked_per_week: float = param(
        0.03, 0.0, 1.0, kernel=True, doc="chance a linked client loses contact"
    )


@dataclass(frozen=True)
class Wellbeing:
    """Peer energy as a job demands-resources balance (Bakker & Demerouti 2007)."""

    energy_start: float = param(0.8, 0.0, 1.0, doc="mean energy of a new peer (0 to 1)")
    energy_start_spread: float = param(
        0.1,
        0.0,
        0.5,
        doc="a new peer's energy is energy_start plus a uniform "
        "draw within +/- this (assumption: peers differ)",
    )
    vulnerability_sd: float = param(
        0.5,
        0.0,
        2.0,
        doc="spread (sd of the logarithm) of a peer's lasting vulnerability, a factor on "
        "every demand drawn once per person, mean 1 (lognormal; assumption: personality "
        "and history explain much of who burns out, Alarcon 2011, Swider & Zimmerman 2010)",
    )
    strain_sd: float = param(
        0.4,
        0.0,
        2.0,
        kernel=True,
        doc="spread (sd of the logarithm) of the week-to-week strain, a factor on the "
        "week's demands, mean 1 (lognormal; assumption: weeks differ)",
    )
    demand_per_hour: float = param(
        0.00398, 0.0, 1.0, kernel=True, doc="energy an hour of work costs (long hours drain)"
    )
    demand_per_client_week: float = param(
        0.00265, 0.0, 1.0, kernel=True, doc="energy a client in the caseload costs a week"
    )
    p_crisis_per_client_week: float = param(
        0.02, 0.0, 1.0, kernel=True, doc="chance a client in the caseload has a crisis"
    )
    crisis_cost: float = param(0.05307, 0.0, 1.0, kernel=True, doc="energy a crisis costs")
    p_stigma_event_per_week: float = param(
        0.03,
        0.0,
        1.0,
        kernel=True,
        doc="chance a peer is labelled a snitch in a week, at full stigma",
    )
    stigma_event_cost: float = param(0.15, 0.0, 1.0, kernel=True, doc="energy a stigma event costs")
    stigma_demand_per_week: float = param(
        0.01,
        0.0,
        1.0,
        kernel=True,
        doc="energy a working week costs at full local stigma, for working where one "
        "is known (a steady demand besides the events; Mamdani et al. 2021; assumption)",
    )
    stigma_trust_weeks: int = param(
        8,
        0,
        520,
        integer=True,
        kernel=True,
        doc="weeks a labelled peer's contacts are trusted less",
    )
    label_trust_factor: float = param(
        0.5,
        0.0,
        1.0,
        kernel=True,
        doc="share of contact chance and trust a peer keeps while labelled a snitch (assumption)",
    )
    recovery_per_week: float = param(
        0.02, 0.0, 1.0, kernel=True, doc="energy restored a working week by rest outside work"
    )
    supervision_every_weeks: int = param(
        4, 0, 52, integer=True, kernel=True, doc="weeks between supervisions (0: none)"
    )
    supervision_gain: float = param(0.1, 0.0, 1.0, kernel=True, doc="energy a supervision restores")
    team_meeting_every_weeks: int = param(
        2, 0, 52, integer=True, kernel=True, doc="weeks between team meetings (0: none)"
    )
    team_meeting_gain: float = param(
        0.03, 0.0, 1.0, kernel=True, doc="energy a team meeting restores"
    )
    peer_support_gain: float = param(
        0.01, 0.0, 1.0, kernel=True, doc="energy restored a week by peer support, with company"
    )
    compensation_gain: float = param(
        0.03,
        0.0,
        1.0,
        kernel=True,
        doc="energy a week paid a fair wage restores (financial "
        "security); less pay restores less, in proportion",
    )
    fair_wage_per_hour: float = param(
        15.0,
        0.01,
        1e4,
        kernel=True,
        doc="hourly pay at which pay protects fully (currency; "
        "assumption: a Finnish entry-level wage)",
    )
    indirect_work_share: float = param(
        0.1, 0.0, 1.0, kernel=True, doc="share of time on indirect work (advocacy, training)"
    )
    meaning_gain: float = param(
        0.05, 0.0, 1.0, kernel=True, doc="energy a week of full-time indirect work restores"
    )
    direct_meaning_gain: float = param(
        0.01,
        0.0,
        1.0,
        kernel=True,
        doc="energy restored by each client a peer engages or "
        "sees linked that week (meaningful direct work)",
    )
    pair_risk_factor: float = param(
        0.5,
        0.0,
        1.0,
        kernel=True,
        doc="share of a crisis's and a stigma event's cost a peer "
        "bears when working in pairs (assumption)",
    )
    exhaustion_threshold: float = param(
        0.2, 0.0, 1.0, kernel=True, doc="energy below which a peer is exhausted and stops"
    )
    return_threshold: float = param(
        0.7, 0.0, 1.0, kernel=True, doc="energy at which a resting peer returns"
    )
    rest_recovery_per_week: float = param(
        0.06, 0.0, 1.0, kernel=True, doc="energy restored a resting week"
    )
    p_withdraw_per_rest_week: float = param(
        0.04, 0.0, 1.0, kernel=True, doc="chance a resting peer withdraws in a week"
    )
    assessment_error_sd: float = param(
        0.1,
        0.0,
        1.0,
        kernel=True,
        doc="sd of the professionals' error judging a peer's energy at a supervision; "
        "supervision by need goes by the judged strain (assumption)",
    )


@dataclass(frozen=True)
class Careers:
    """Peers' lives and careers: life events, breaks, and leaving for reasons of their own.

    Every rate is a chance a year, applied weekly as ``1 - (1 - rate)^(1/52)``. A peer is
    *enrolled* from recruitment until they leave, and *active* in the weeks they work: an
    enrolled peer may rest after exhaustion, or take a break and come back. Life events are
    demands on a working peer's energy (see ``[wellbeing]``); a relapse also takes the peer
    out for a while, an arrest may end in prison. Leaving for other work, health or prison, or
    a move happens to enrolled peers at stated rates, as well as withdrawing after exhaustion.
    """

    overdose_deaths_per_year: float = param(
        0.015,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year that one person who uses drugs dies of an overdose: a peer "
        "loses a client or a friend (each client of the caseload and each tie) at this "
        "rate (people who inject drugs 1-2% a year, Mathers et al. 2013)",
    )
    bereavement_cost: float = param(
        0.1, 0.0, 1.0, kernel=True, doc="energy a client's or friend's death costs (assumption)"
    )
    relapse_per_year: float = param(
        0.1,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year a peer relapses (assumption: peers in recovery or on "
        "substitution, below the 40-60% a year after treatment, McLellan et al. 2000)",
    )
    relapse_cost: float = param(0.15, 0.0, 1.0, kernel=True, doc="energy a relapse costs")
    relapse_break_weeks: float = param(
        8.0,
        1.0,
        520.0,
        kernel=True,
        doc="mean weeks a relapse takes a peer out of work (geometric; assumption)",
    )
    p_leave_after_relapse: float = param(
        0.3, 0.0, 1.0, kernel=True, doc="chance a relapse ends the peer's work (assumption)"
    )
    housing_loss_per_year: float = param(
        0.05,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year a peer loses their housing (assumption)",
    )
    housing_loss_cost: float = param(
        0.15, 0.0, 1.0, kernel=True, doc="energy losing one's housing costs (assumption)"
    )
    arrest_per_year: float = param(
        0.04, 0.0, 1.0, kernel=True, doc="chance a year a peer is arrested (assumption)"
    )
    arrest_cost: float = param(0.1, 0.0, 1.0, kernel=True, doc="energy an arrest costs")
    p_prison_after_arrest: float = param(
        0.2,
        0.0,
        1.0,
        kernel=True,
        doc="chance an arrest ends in prison, and the peer leaves (health or prison)",
    )
    breaks_per_year: float = param(
        2.0,
        0.0,
        52.0,
        kernel=True,
        doc="breaks a working peer takes a year, besides exhaustion (assumption: peers "
        "work some weeks, MIPA)",
    )
    break_weeks: float = param(
        3.0, 1.0, 520.0, kernel=True, doc="mean weeks of a break (geometric; assumption)"
    )
    leave_other_work_per_year: float = param(
        0.06,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year an enrolled peer leaves for other work or study (assumption; "
        "with the other reasons and exhaustion about one peer in five a year: 15-20% "
        "intend to leave within a year, Lombardi et al. 2025; Osis: about 100 involved "
        "for 30 active)",
    )
    leave_health_per_year: float = param(
        0.03,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year an enrolled peer leaves for their health (assumption)",
    )
    leave_moving_per_year: float = param(
        0.03,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year an enrolled peer moves away (assumption)",
    )


@dataclass(frozen=True)
class Turnover:
    """The population's comings and goings: people stop using, die, go to prison, move.

    Every rate is a chance a year for a person in the population, applied weekly as ``1 - (1 -
    rate)^(1/52)`` (one change at most a week). Those who stop using or move away join the
    world's dormant people (``population.dormant_per_person``) and may come back; those who
    die do not; those in prison come back after a geometric number of weeks. Each week,
    dormant people enter (start or resume using, move in) with the chance that brings the
    population back to its size at the start. The population's flows are the same whatever the
    programme does, so two policies meet the same people (common random numbers). A peer's own
    life is their career's (``[careers]``): the flows do not take a peer out of the programme.
    """

    stop_per_year: float = param(
        0.05,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year that a person stops using (and may start again later): "
        "injecting careers last a median of about 16 years (Kimber et al. 2010, BMJ "
        "340:c3172; assumption)",
    )
    deaths_per_year: float = param(
        0.0235,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year that a person dies, overdose and every other cause: crude "
        "mortality of people who inject drugs 2.35 per 100 person-years, 1-2.4 across "
        "regions (Mathers et al. 2013, Bull WHO 91:102-123)",
    )
    prison_per_year: float = param(
        0.05,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year that a person goes to prison (assumption)",
    )
    prison_weeks: float = param(
        26.0,
        1.0,
        520.0,
        kernel=True,
        doc="mean weeks in prison (geometric; assumption)",
    )
    move_away_per_year: float = param(
        0.04,
        0.0,
        1.0,
        kernel=True,
        doc="chance a year that a person moves out of the programme's area (and may move "
        "back; assumption)",
    )


@dataclass(frozen=True)
class Policy:
    """Programme policies beyond the peer teams."""

    replace_withdrawn: bool = param(True, doc="recruit a new peer when one leaves (for any reason)")
    replacement_delay_weeks: int = param(
        4, 0, 520, integer=True, doc="weeks until a peer who left is replaced"
    )


@dataclass(frozen=True)
class Costs:
    """Prices for the cost per linked client.

    Professionals and outreach workers are salaried: their hours cost the same whether their
    hours are used or not. Peers are paid for the hours they work (``pay_per_hour``).
    """

    professional_hour: float = param(
        45.0,
        0.0,
        1e6,
        doc="cost of a salaried hour of a professional or outreach "
        "worker, employer's costs included",
    )
    reward_per_referral: float = param(
        0.0,
        0.0,
        1e6,
        doc="reward paid for each coupon redeemed (peer-driven "
        "intervention, Broadhead et al. 1998)",
    )


@dataclass(frozen=True)
class Scenario:
    """A whole scenario: the validated, frozen content of a scenario file."""

    name: str = param("scenario", doc="short name used in tables and plots")
    description: str = param("", doc="one line on what the scenario is")
    run: RunSettings = section(RunSettings)
    population: Population = section(Population)
    network: Network = section(Network)
    clients: Clients = section(Clients)
    turnover: Turnover = section(Turnover)
    close_peers: PeerKind = field(default_factory=_close_default, metadata={"section": True})
    distant_peers: PeerKind = field(default_factory=_distant_default, metadata={"section": True})
    outreach_workers: OutreachWorkers = section(OutreachWorkers)
    work: Work = section(Work)
    outreach: Outreach = section(Outreach)
    services: Services = section(Services)
    wellbeing: Wellbeing = section(Wellbeing)
    careers: Careers = section(Careers)
    policy: Policy = section(Policy)
    costs: Costs = section(Costs)
    source: str = field(default="", compare=False, metadata={"internal": True})

    def replace(self, overrides: Mapping[str, Any]) -> Scenario:
        """A copy with dotted-key overrides applied and validated again."""
        data = scenario_to_dict(self)
        for key, value in overrides.items():
            _set_dotted(data, key, value, self.source or "<scenario>")
        return scenario_from_dict(data, self.source or "<scenario>")


# --------------------------------------------------------------------------- validation


def _num(x: float) -> str:
    """A bound as written in a scenario file: whole numbers in full, others short."""
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _allowed(meta: Mapping[str, Any], kind: Any = None) -> str:
    """What a key allows, as messages and ``outreach params`` say it (``kind``: its type)."""
    if typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        if item is str:
            return "a list of text"
        return f"a list, each {_allowed(meta, item)}"
    if meta.get("choices"):
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    if kind is bool:
        return "true or false"
    if kind is str:
        return "text"
    noun = "an integer" if meta.get("integer") or kind is int else "a number"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"{noun} in {'(' if meta.get('lo_open') else '['}{_num(lo)}, {_num(hi)}]"
    if lo is not None:
        return f"{noun} of at least {_num(lo)}"
    return noun


def _check_number(value: Any, meta: Mapping[str, Any], where: str, problems: list[str]) -> Any:
    integer = meta.get("integer")
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or (isinstance(value, float) and math.isnan(value)):
        problems.append(f"{where} = {value!r}: must be {_allowed(meta)}")
        return None
    lo, hi = meta.get("lo"), meta.get("hi")
    below = lo is not None and (value <= lo if meta.get("lo_open") else value < lo)
    if below or (hi is not None and value > hi):
        problems.append(f"{where} = {value!r}: must be {_allowed(meta)}")
        return None
    return int(value) if integer else float(value)


def _check_value(
    value: Any, ftype: Any, meta: Mapping[str, Any], where: str, problems: list[str]
) -> Any:
    origin = typing.get_origin(ftype)
    if ftype is bool:
        if not isinstance(value, bool):
            problems.append(f"{where} = {value!r}: must be true or false")
            return None
        return value
    if ftype is str:
        if not isinstance(value, str):
            problems.append(f"{where} = {value!r}: must be a string")
            return None
        if meta.get("choices") and value not in meta["choices"]:
            problems.append(f"{where} = {value!r}: must be {_allowed(meta)}")
            return None
        return value
    if ftype in (int, float):
        return _check_number(value, meta, where, problems)
    if origin is tuple:
        (item_type, _) = typing.get_args(ftype)
        if not isinstance(value, (list, tuple)):
            problems.append(f"{where} = {value!r}: must be a list")
            return None
        items = []
        for i, item in enumerate(value):
            if isinstance(item_type, type) and dataclasses.is_dataclass(item_type):
                items.append(_build(item_type, item, f"{where}[{i}]", problems))
            else:
                items.append(_check_value(item, item_type, meta, f"{where}[{i}]", problems))
        return tuple(items)
    raise TypeError(f"unsupported parameter type {ftype!r} at {where}")  # a schema bug


def _build(cls: type, data: Any, where: str, problems: list[str], base: Any = None) -> Any:
    """Validate ``data`` (a TOML table) into a ``cls`` instance, collecting problems.

    A key left out takes its default in ``base`` (a section's own defaults, so that a
    ``[close_peers]`` table without ``hours_per_week`` gets close peers' 12, not a peer's 10),
    else the class's.
    """
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        problems.append(f"{where} = {data!r}: must be a table of keys")
        return cls() if base is None else base
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    prefix = f"{where}." if where else ""
    for key in data:
        if (cls.__name__, key) in REMOVED_KEYS:
            problems.append(f"{prefix}{key}: {REMOVED_KEYS[cls.__name__, key]}")
        elif key not in fields:
            problems.append(
                f"{prefix}{key}: unknown key; allowed here: " + ", ".join(sorted(fields))
            )
    kwargs: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in data:
            continue
        value, ftype, key = data[name], hints[name], f"{prefix}{name}"
        if f.metadata.get("section"):
            own = f.default_factory() if callable(f.default_factory) else None
            kwargs[name] = _build(ftype, value, key, problems, own)
        elif name == "subgroups":
            kwargs[name] = _build_subgroups(value, key, problems)
        else:
            checked = _check_value(value, ftype, f.metadata, key, problems)
            if checked is not None:
                kwargs[name] = checked
    return cls(**kwargs) if base is None else dataclasses.replace(base, **kwargs)


def _build_subgroups(data: Any, where: str, problems: list[str]) -> Mapping[str, Subgroup]:
    if not isinstance(data, Mapping):
        problems.append(f"{where} = {data!r}: must be a table of subgroups")
        return _default_subgroups()
    out = dict(_default_subgroups())
    for name, value in data.items():
        if name not in ("gender", "age_band"):
            problems.append(f"{where}.{name}: unknown subgroup; allowed here: age_band, gender")
            continue
        if isinstance(value, Mapping):
            # Keys not given keep the default subgroup's: shares alone relabel nothing.
            default = out[name]
            value = {"names": list(default.names), "shares": list(default.shares), **value}
        out[name] = _build(Subgroup, value, f"{where}.{name}", problems)
    return MappingProxyType(out)


def _shares_problem(shares: Iterable[float], where: str) -> str | None:
    shares = list(shares)
    if any(x is None for x in shares):  # a bad share, reported as such
        return None
    if shares and abs(sum(shares) - 1.0) > 1e-6:
        return f"{where} = {shares}: shares must add up to 1 (they add up to {sum(shares):g})"
    return None


def _consistency(s: Scenario) -> list[str]:
    """Problems that involve more than one key."""
    problems = []
    for name, sub in s.population.subgroups.items():
        where = f"population.subgroups.{name}"
        if not sub.names:
            problems.append(f"{where}.names = []: must name at least one category")
        elif len(sub.names) != len(sub.shares):
            # Named by its shares, the key most often changed alone; names not given are the
            # default subgroup's, shown so that the mismatch is plain.
            problems.append(
                f"{where}.shares = {list(sub.shares)}: must give one share per "
                f"name ({len(sub.names)} names, {len(sub.shares)} shares; "
                f"{where}.names = {list(sub.names)})"
            )
        elif (p := _shares_problem(sub.shares, f"{where}.shares")) is not None:
            problems.append(p)
    locs = s.population.localities
    if not locs:
        problems.append("population.localities: must list at least one locality")
    elif p := _shares_problem([loc.share for loc in locs], "population.localities.share"):
        problems.append(p)
    cl = s.clients
    n_depth = len(cl.depth_names)
    if n_depth == 0:
        problems.append("clients.depth_names: must name at least one depth band")
    for key in (
        "depth_shares",
        "depth_degree_factors",
        "orbit_share_by_depth",
        "problems_by_depth",
    ):
        values = getattr(cl, key)
        if n_depth and len(values) != n_depth:
            problems.append(
                f"clients.{key} = {list(values)}: must have one value per depth "
                f"band in clients.depth_names ({n_depth})"
            )
    if (p := _shares_problem(cl.depth_shares, "clients.depth_shares")) is not None:
        problems.append(p)
    n_bands = len(s.population.subgroups["age_band"].shares)
    for kind in ("close_peers", "distant_peers"):
        pk: PeerKind = getattr(s, kind)
        shares = pk.age_band_shares
        if shares and len(shares) != n_bands:
            problems.append(
                f"{kind}.age_band_shares = {list(shares)}: must have one share per "
                f"age band ({n_bands}) or be empty"
            )
        elif (p := _shares_problem(shares, f"{kind}.age_band_shares")) is not None:
            problems.append(p)
    total_peers = s.close_peers.count + s.distant_peers.count
    if total_peers > s.population.size // 2:
        problems.append(
            f"close_peers.count + distant_peers.count = {total_peers}: must be at "
            f"most half of population.size ({s.population.size // 2})"
        )
    w = s.wellbeing
    if w.return_threshold <= w.exhaustion_threshold:
        problems.append(
            f"wellbeing.return_threshold = {w.return_threshold:g}: must be above "
            f"wellbeing.exhaustion_threshold ({w.exhaustion_threshold:g})"
        )
    if s.network.generator == "file" and not s.network.file:
        problems.append(
            "network.file: must name an edge-list CSV or GraphML file when "
            "network.generator = 'file'"
        )
    return problems


def _validate(data: Mapping[str, Any], source: str) -> tuple[Scenario, list[str]]:
    """Build a scenario from ``data`` once, with every problem found (prefixed by ``source``).

    Problems between keys (shares, thresholds, peers against the population) are listed with
    the bad values in one pass. A bad value was left at its default to build the scenario, so
    a problem between keys that involves a bad key is dropped: it would be about the default.
    """
    problems: list[str] = []
    scenario = _build(Scenario, data, "", problems)
    cross = _consistency(scenario)
    if problems:
        bad = set()
        for problem in problems:
            key = re.split(r" = |: ", problem, maxsplit=1)[0]
            bad |= {re.sub(r"\[\d+\]", "", key), key.split("[")[0]}
        cross = [c for c in cross if c not in problems and not any(k and k in c for k in bad)]
    return scenario, [f"{source}: {p}" for p in problems + cross]


def scenario_problems(data: Mapping[str, Any], source: str = "<scenario>") -> list[str]:
    """Every problem of a scenario table, each as ``"SOURCE: key = value: what is allowed"``."""
    return _validate(data, source)[1]


def scenario_from_dict(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario table into a :class:`Scenario`.

    Raises:
        ScenarioError: listing every problem, the first in the message.
    """
    scenario, problems = _validate(data, source)
    if problems:
        raise ScenarioError(problems)
    return dataclasses.replace(scenario, source=source)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if not f.metadata.get("internal")
        }
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain tables and lists (TOML- and JSON-ready)."""
    return _plain(scenario)


def read_toml(path: str | Path, what: str = "scenario file") -> dict[str, Any]:
    """Read a TOML file: a scenario, a sweep spec, any table the package is given.

    Args:
        path: the file.
        what: what the file is, for messages (``"sweep spec file"``).

    Returns:
        The file's top-level table.

    Raises:
        UserInputError: one line naming the file: missing, a folder, not valid TOML, or
            unreadable.
    """
    path = Path(path)
    if not path.exists():
        raise UserInputError(f"{path}: no such {what}")
    if path.is_dir():
        raise UserInputError(f"{path}: is a folder, not a {what}")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise UserInputError(f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserInputError(f"{path}: cannot be read: {err}") from None


def parse_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """Parse ``--set`` arguments ``dotted.key=value``; values are TOML literals or bare text.

    Raises:
        UserInputError: a pair without ``=`` or with an empty key.
    """
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserInputError(
                f"--set {pair!r}: must be dotted.key=value, for example close_peers.count=12"
            )
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        out[key] = value
    return out


def _set_dotted(data: dict[str, Any], key: str, value: Any, source: str) -> None:
    """Set ``data[key]`` for a dotted key; list items are addressed by index (``a.0.b``).

    A list on the way that ``data`` lacks starts as the default list, so a key reaches into
    the items a scenario gets when its file says nothing: ``population.localities.0.stigma``
    sets the stigma of the default locality of a file without localities, as it does in a
    sweep (whose base scenario holds every default).
    """
    parts = key.split(".")
    node: Any = data
    defaults: Any = None  # the defaults at the same place as node, read once needed
    for i, part in enumerate(parts):
        where = ".".join(parts[: i + 1])
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise UserInputError(
                    f"{source}: --set {key}: {where} must be an index below {len(node)}"
                )
            if last:
                node[int(part)] = value
                return
            node = node[int(part)]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node:
                if defaults is None:
                    defaults = scenario_to_dict(Scenario())
                # A list's items are addressed by position, so they start as the default
                # items; a table starts empty, its missing keys defaulted by validation.
                default = _at(defaults, parts[: i + 1])
                node[part] = copy.deepcopy(default) if isinstance(default, list) else {}
            node = node[part]
        else:
            parent = ".".join(parts[:i])
            raise UserInputError(f"{source}: --set {key}: {parent} is a value, not a table")


def _at(tree: Any, parts: list[str]) -> Any:
    """The value at the dotted path ``parts`` of ``tree``, or None where there is none."""
    for part in parts:
        if isinstance(tree, dict) and part in tree:
            tree = tree[part]
        elif isinstance(tree, list) and part.isdigit() and int(part) < len(tree):
            tree = tree[int(part)]
        else:
            return None
    return tree


def load_scenario(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file.

    Args:
        path: the TOML file.
        overrides: dotted keys and values that replace the file's (``--set``).

    Returns:
        The validated scenario; ``source`` records the path.

    Raises:
        UserInputError: a missing or unreadable file, bad TOML, or any invalid key or value
            (a :class:`ScenarioError` listing them all).

    Examples:
        A shipped scenario, made small with overrides (dotted keys, as ``--set`` takes them):

        >>> from importlib.resources import files
        >>> from sim import load_scenario
        >>> path = files("sim.scenarios") / "baseline.toml"
        >>> scenario = load_scenario(path, {"population.size": 300, "run.weeks": 4})
        >>> scenario.population.size, scenario.run.weeks
        (300, 4)
        >>> load_scenario(path, {"run.weeks": 0})
        Traceback (most recent call last):
        ...
        sim.model.scenario.ScenarioError: ...run.weeks = 0: ...
    """
    path = Path(path)
    data = read_toml(path)
    for key, value in (overrides or {}).items():
        _set_dotted(data, key, value, str(path))
    scenario = scenario_from_dict(data, str(path))
    if scenario.network.generator == "file":
        base = path.parent
        net = scenario.network
        net = dataclasses.replace(
            net,
            file=str((base / net.file).resolve()) if net.file else "",
            nodes_file=str((base / net.nodes_file).resolve()) if net.nodes_file else "",
        )
        scenario = dataclasses.replace(scenario, network=net)
    return scenario


def describe_parameters() -> list[tuple[str, str, str, str]]:
    """Every scenario key as ``(dotted key, default, allowed, description)``, for docs and help.

    A list of tables (the localities) is listed as a whole and then by its items' keys, with
    ``N`` for the index; a table of subgroups by each subgroup's keys.
    """
    rows: list[tuple[str, str, str, str]] = []

    def walk(obj: Any, prefix: str) -> None:
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            if f.metadata.get("internal"):
                continue
            key, value, kind = prefix + f.name, getattr(obj, f.name), hints[f.name]
            if f.metadata.get("section"):
                walk(value, key + ".")
            elif isinstance(value, Mapping):  # subgroups: a table of tables
                for name, sub in value.items():
                    walk(sub, f"{key}.{name}.")
            elif _is_table_list(kind):
                rows.append((key, _literal(value), "a list of tables", f.metadata.get("doc", "")))
                walk(typing.get_args(kind)[0](), f"{key}.N.")
            else:
                rows.append(
                    (key, _literal(value), _allowed(f.metadata, kind), f.metadata.get("doc", ""))
                )

    walk(Scenario(), "")
    return rows


def _is_table_list(kind: Any) -> bool:
    args = typing.get_args(kind)
    return typing.get_origin(kind) is tuple and bool(args) and dataclasses.is_dataclass(args[0])


def _literal(value: Any) -> str:
    """A default as it would be written in a scenario file (TOML)."""
    if dataclasses.is_dataclass(value):
        return (
            "{"
            + ", ".join(
                f"{f.name} = {_literal(getattr(value, f.name))}" for f in dataclasses.fields(value)
            )
            + "}"
        )
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return _num(value) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return str(value)
