"""The world a replicate runs in: the social graph and who lives where.

Built once per (scenario population, network and clients settings, root seed, world index) and
cached in the process, so scenarios compared on the same seed share the very same graph (common
random numbers) and a graph file is read once. The world index is the replicate (below
``run.shared_world_from`` people), 0 for every replicate (from that size on), or, with
``run.worlds = N``, the replicate modulo N (replicates then share N worlds). The cache keeps
recent worlds up to :data:`WORLD_CACHE_BYTES` (always the latest); threads asking for a world
another thread is building wait for it rather than build it twice. :func:`world_stats` counts
builds and reuses, so the output can say when a world was shared.
"""

from __future__ import annotations

import functools
import json
import math
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sim.graphs.csr import CSRGraph
from sim.model.scenario import Scenario, scenario_to_dict

__all__ = [
    "FILE_ORBIT_LABELS",
    "ORBIT_LABELS",
    "SITE_KEYS",
    "WORLD_CACHE_BYTES",
    "WORLD_SECTIONS",
    "Sites",
    "World",
    "build_world",
    "site_arrays",
    "world_count",
    "world_index",
    "persons_in_world",
    "world_persons",
    "world_problems",
    "world_size",
    "world_stats",
]

#: Scenario sections whose settings shape the world (the graph and who lives where): scenarios
#: that agree on them, and on the seed, share each world.
WORLD_SECTIONS = ("population", "network", "clients")
#: A locality's keys that describe its service site: they shape the weekly dynamics, not the
#: world, so they are left out of the key that shares worlds.
SITE_KEYS = ("site_visits_per_week", "site_open_hours_per_week", "site_visit_cv")

#: Labels of ``in_orbit`` codes 0 and 1 in results, and in surveys of a generated world.
ORBIT_LABELS = ("outside orbit", "in orbit")
#: Labels of ``in_orbit`` codes 0 and 1 in a graph file's nodes (which may also give the codes);
#: a survey of a world whose file gave ``in_orbit`` names them so, as the file did.
FILE_ORBIT_LABELS = ("no", "yes")
#: Most problem areas a person can have (housing, mental health, physical health, income,
#: justice).
MAX_PROBLEMS = 5
#: Memory the process's cache of built worlds may hold, in bytes; the latest world is always
#: kept, whatever its size.
WORLD_CACHE_BYTES = 2 * 2**30


@dataclass(frozen=True, eq=False)
class World:
    """The social graph of the hidden population with each person's attributes.

    Attributes:
        graph: the CSR graph; nodes are persons ``0 .. n - 1``.
        locality: locality of each person, an index into ``population.localities``
            (``int32``).
        gender: gender of each person, an index into ``population.subgroups.gender.names``
            (``int8``).
        age_band: age band of each person, an index into
            ``population.subgroups.age_band.names`` (``int8``).
        loc_stigma: stigma of each locality (``float64``).
        loc_online: online access of each locality (``float64``).
        depth: depth in the drug-using subculture, an index into ``clients.depth_names``
            (``int8``).
        in_orbit: 1 for a person in the service orbit (used a service in the past year), else
            0 (``int8``).
        mistrust: mistrust of professionals, 0 to 1 (``float64``).
        problems: number of problem areas, 0 to 5 (``int8``).
        orbit_nodes: the persons in the orbit, ascending (``int32``): whom a service site sees.
        ids: original identifiers when the graph came from a file, else None.
        orbit_labels: the names of ``in_orbit``'s codes in a survey: the file's own
            (:data:`FILE_ORBIT_LABELS`) when a graph file gave it, else :data:`ORBIT_LABELS`.
    """

    graph: CSRGraph
    locality: np.ndarray
    gender: np.ndarray
    age_band: np.ndarray
    loc_stigma: np.ndarray
    loc_online: np.ndarray
    depth: np.ndarray
    in_orbit: np.ndarray
    mistrust: np.ndarray
    problems: np.ndarray
    orbit_nodes: np.ndarray
    ids: tuple[str, ...] | None = None
    orbit_labels: tuple[str, str] = ORBIT_LABELS

    @property
    def n(self) -> int:
        """Number of persons."""
        return self.graph.n_nodes

    def person_attributes(self, scenario: Scenario) -> dict[str, tuple[np.ndarray, tuple | None]]:
        """Every attribute of each person, by name: ``(values, labels)``.

        ``labels`` names the codes of a category attribute (``values`` indexes it) and is None
        for a number. Besides the model's own attributes, any extra column of a graph file's
        nodes (kept by the loader) is included under its own name; a column named like a
        model attribute is the model's.

        Args:
            scenario: the scenario the world was built for, whose names label the codes.
        """
        pop = scenario.population
        out: dict[str, tuple[np.ndarray, tuple | None]] = {
            "gender": (self.gender, tuple(pop.subgroups["gender"].names)),
            "age_band": (self.age_band, tuple(pop.subgroups["age_band"].names)),
            "locality": (self.locality, tuple(loc.name for loc in pop.localities)),
            "depth": (self.depth, tuple(scenario.clients.depth_names)),
            "in_orbit": (self.in_orbit, self.orbit_labels),
            "mistrust": (self.mistrust, None),
            "problems": (self.problems, None),
        }
        for name, values in self.graph.node_attrs.items():
            out.setdefault(name, _labelled(np.asarray(values)))
        return out


def _labelled(values: np.ndarray) -> tuple[np.ndarray, tuple | None]:
    """An extra column as ``(values, labels)``: a text column as codes into its sorted labels.

    Numbers stay numbers (labels None); a column of labels (kept as text by the graph loader)
    becomes a category whose labels are the file's own words, so they come back as written.
    """
    if values.dtype.kind not in "US":
        return values, None
    labels, codes = np.unique(values.astype(str), return_inverse=True)
    return codes.astype(np.int64), tuple(str(x) for x in labels)


def _draw_categories(rng: np.random.Generator, n: int, shares) -> np.ndarray:
    return rng.choice(len(shares), size=n, p=np.asarray(shares) / np.sum(shares)).astype(np.int8)


def _file_stamp(path: str) -> tuple[int, int] | None:
    """Modification time and size of a file, None if it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _file_labels(pop: dict, clients: dict) -> tuple:
    """The scenario's names of each category attribute a graph file may give, in code order."""
    from sim.graphs.graph_files import Labels

    return (
        ("depth", Labels(tuple(clients["depth_names"]), "clients.depth_names")),
        (
            "in_orbit",
            Labels(
                FILE_ORBIT_LABELS, "in_orbit (0 or no: outside the service orbit, 1 or yes: in it)"
            ),
        ),
        (
            "problems",
            Labels(
                tuple(str(k) for k in range(MAX_PROBLEMS + 1)),
                f"problems (whole numbers of problem areas, 0 to {MAX_PROBLEMS})",
            ),
        ),
        (
            "gender",
            Labels(tuple(pop["subgroups"]["gender"]["names"]), "population.subgroups.gender.names"),
        ),
        (
            "age_band",
            Labels(
                tuple(pop["subgroups"]["age_band"]["names"]), "population.subgroups.age_band.names"
            ),
        ),
        (
            "locality",
            Labels(tuple(loc["name"] for loc in pop["localities"]), "population.localities.name"),
        ),
    )


def _load_file_graph(path: str, nodes_path: str, labels: tuple):
    # The stamps make the cache forget a file that changed or went away since it was read.
    stamps = (_file_stamp(path), _file_stamp(nodes_path) if nodes_path else None)
    return _load_file_graph_cached(path, nodes_path, labels, stamps)


@functools.lru_cache(maxsize=4)
def _load_file_graph_cached(path: str, nodes_path: str, labels: tuple, stamps):
    from sim.graphs.graph_files import load_graph

    # Labels are matched to the scenario's names, so a file's "F" is the scenario's "F"
    # whatever order the labels appear in; the loader refuses labels the scenario lacks.
    return load_graph(path, nodes_path or None, labels=dict(labels))


class _WorldCache:
    """Built worlds by (settings key, world index), least recently used dropped first.

    One lock guards the table; a world being built is marked by an event, so other threads
    asking for it wait and then share it. Counts of builds, reuses and build seconds are kept
    for :func:`world_stats`.
    """

    def __init__(self, build, budget: int):
        self._build = build
        self.budget = budget
        self._worlds: OrderedDict[tuple[str, int], tuple[World, int]] = OrderedDict()
        self._building: dict[tuple[str, int], threading.Event] = {}
        self._lock = threading.Lock()
        self.builds = 0
        self.reuses = 0
        self.build_seconds = 0.0

    def __call__(self, key: str, index: int) -> World:
        item = (key, index)
        while True:
            with self._lock:
                if item in self._worlds:
                    self._worlds.move_to_end(item)
                    self.reuses += 1
                    return self._worlds[item][0]
                waiting = self._building.get(item)
                if waiting is None:
                    done = self._building[item] = threading.Event()
                    break
            waiting.wait()  # another thread builds it; then look again
        try:
            start = time.perf_counter()
            world = self._build(key, index)
            seconds = time.perf_counter() - start
        except BaseException:
            with self._lock:
                del self._building[item]
            done.set()
            raise
        with self._lock:
            self.builds += 1
            self.build_seconds += seconds
            self._worlds[item] = (world, _world_bytes(world))
            while len(self._worlds) > 1 and sum(b for _, b in self._worlds.values()) > self.budget:
                self._worlds.popitem(last=False)
            del self._building[item]
        done.set()
        return world

    def clear(self) -> None:
        """Forget every world (the counts stay)."""
        with self._lock:
            self._worlds.clear()


def _world_bytes(world: World) -> int:
    arrays = [
        world.graph.indptr,
        world.graph.indices,
        *world.graph.node_attrs.values(),
        world.locality,
        world.gender,
        world.age_band,
        world.depth,
        world.in_orbit,
        world.mistrust,
        world.problems,
        world.orbit_nodes,
    ]
    if world.graph.weights is not None:
        arrays.append(world.graph.weights)
    return int(sum(np.asarray(a).nbytes for a in arrays))


def world_stats() -> dict[str, float]:
    """This process's world builds so far: ``built``, ``reused`` and ``build_seconds``."""
    c = _cached_world
    with c._lock:
        return {"built": c.builds, "reused": c.reuses, "build_seconds": c.build_seconds}


def _make_world(key: str, replicate: int) -> World:
    # Imported here: the streams bring numba, which `outreach validate` (world_problems) lacks.
    from sim.streams import stream

    settings = json.loads(key)
    pop, net, seed = settings["population"], settings["network"], settings["seed"]
    cl = settings["clients"]
    # The world holds the population and its dormant people, who enter as others leave; ties
    # are scaled so that the people present at a time have the network's mean degree among
    # themselves (a random share 1 / (1 + dormant) of everyone's ties), and communities the
    # people of community_size present.
    scale = 1.0 + pop["dormant_per_person"]
    n = persons_in_world(pop["size"], pop["dormant_per_person"])
    rng = stream(seed, replicate, "network")
    loc_shares = [loc["share"] for loc in pop["localities"]]
    subgroup_shares = {k: v["shares"] for k, v in pop["subgroups"].items()}
    ids = None
    from sim.graphs import generators as networks

    if net["generator"] == "community":
        # Ties mix by depth in the subculture as by gender and age, and deeper people have
        # more of them.
        graph = networks.community_graph(
            n,
            rng,
            mean_degree=net["mean_degree"] * scale,
            degree_sigma=net["degree_sigma"],
            community_size=max(2, int(round(net["community_size"] * scale))),
            locality_shares=loc_shares,
            subgroup_shares={**subgroup_shares, "depth": cl["depth_shares"]},
            homophily=net["homophily"],
            p_cross_community=net["p_cross_community"],
            p_cross_locality=net["p_cross_locality"],
            degree_factors={"depth": cl["depth_degree_factors"]},
        )
    elif net["generator"] == "configuration":
        mu = np.log(net["mean_degree"] * scale) - net["degree_sigma"] ** 2 / 2
        degrees = np.maximum(1, np.round(rng.lognormal(mu, net["degree_sigma"], n))).astype(int)
        if degrees.sum() % 2:
            degrees[0] += 1
        graph = networks.configuration_graph(degrees, rng)
    elif net["generator"] == "small_world":
        k = max(2, int(round(net["mean_degree"] * scale / 2)) * 2)
        graph = networks.small_world_graph(n, k, net["rewire"], rng)
    else:
        graph, id_list = _load_file_graph(net["file"], net["nodes_file"], _file_labels(pop, cl))
        ids = tuple(id_list)
        n = graph.n_nodes
    # From a file, gender, age_band and locality are codes into the scenario's names (the
    # loader checked every label and code); anything the file does not give is drawn.
    attrs = dict(graph.node_attrs)
    arng = stream(seed, replicate, "attributes")
    locality = (
        np.asarray(attrs["locality"], dtype=np.int32)
        if "locality" in attrs
        else _draw_categories(arng, n, loc_shares).astype(np.int32)
    )
    gender = (
        np.asarray(attrs["gender"], dtype=np.int8)
        if "gender" in attrs
        else _draw_categories(arng, n, subgroup_shares["gender"])
    )
    age_band = (
        np.asarray(attrs["age_band"], dtype=np.int8)
        if "age_band" in attrs
        else _draw_categories(arng, n, subgroup_shares["age_band"])
    )
    depth, in_orbit, mistrust, problems = _client_attributes(
        stream(seed, replicate, "clients"),
        n,
        cl,
        np.array([loc["service_access"] for loc in pop["localities"]])[locality],
        attrs,
        net.get("nodes_file") or net.get("file") or "",
    )
    return World(
        graph=graph,
        locality=np.ascontiguousarray(locality),
        gender=np.ascontiguousarray(gender),
        age_band=np.ascontiguousarray(age_band),
        loc_stigma=np.array([loc["stigma"] for loc in pop["localities"]], dtype=np.float64),
        loc_online=np.array([loc["online_access"] for loc in pop["localities"]], dtype=np.float64),
        depth=depth,
        in_orbit=in_orbit,
        mistrust=mistrust,
        problems=problems,
        orbit_nodes=np.flatnonzero(in_orbit).astype(np.int32),
        ids=ids,
        orbit_labels=FILE_ORBIT_LABELS if "in_orbit" in attrs else ORBIT_LABELS,
    )


_cached_world = _WorldCache(_make_world, WORLD_CACHE_BYTES)


def _client_attributes(
    rng: np.random.Generator, n: int, cl: dict, access: np.ndarray, given: dict, where: str
):
    """Depth, orbit, mistrust and problems of each person (see :class:`Clients`).

    What a graph file gives is kept (its labels were checked by the loader; a mistrust column
    must hold numbers from 0 to 1); the rest is drawn, each attribute from its own part of the
    ``clients`` stream, in a fixed order, so giving one attribute leaves the others' draws alone.
    """
    from sim.errors import UserInputError

    u = rng.random((4, n))  # depth, orbit, mistrust, problems: one uniform each
    shares = np.asarray(cl["depth_shares"], dtype=np.float64)
    if "depth" in given:
        depth = np.asarray(given["depth"], dtype=np.int8)
    else:
        cum = np.cumsum(shares / shares.sum())
        depth = np.minimum(np.searchsorted(cum, u[0], side="right"), len(shares) - 1)
        depth = depth.astype(np.int8)
    if "in_orbit" in given:
        in_orbit = np.asarray(given["in_orbit"], dtype=np.int8)
    else:
        p_orbit = np.asarray(cl["orbit_share_by_depth"])[depth] * access
        in_orbit = (u[1] < p_orbit).astype(np.int8)
    if "mistrust" in given:
        raw = np.asarray(given["mistrust"])
        if raw.dtype.kind in "US":  # labels the loader kept as text
            word = next(x for x in raw.tolist() if not _is_number(x))
            raise UserInputError(
                f"{where}: column 'mistrust' must hold numbers from 0 to 1 (found {word!r})"
            )
        mistrust = raw.astype(np.float64)
        if not np.all((mistrust >= 0.0) & (mistrust <= 1.0)):
            raise UserInputError(
                f"{where}: column 'mistrust' must hold numbers from 0 to 1 "
                f"(found {mistrust.min():g} to {mistrust.max():g})"
            )
    else:
        mean = np.where(in_orbit == 1, cl["mistrust_in_orbit"], cl["mistrust_outside_orbit"])
        mistrust = _beta_quantile(u[2], mean, cl["mistrust_concentration"])
    if "problems" in given:
        problems = np.asarray(given["problems"], dtype=np.int8)
    else:
        q = np.asarray(cl["problems_by_depth"], dtype=np.float64)[depth] / MAX_PROBLEMS
        problems = _binomial_quantile(u[3], q).astype(np.int8)
    return (
        np.ascontiguousarray(depth),
        np.ascontiguousarray(in_orbit),
        np.ascontiguousarray(mistrust),
        np.ascontiguousarray(problems),
    )


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


#: Points of the tabulated Beta quantile function (see :func:`_beta_quantile`).
_QUANTILE_POINTS = 1 << 14
#: Cells at each end of the table computed exactly instead.
_EXACT_CELLS = 64


def _beta_quantile(u: np.ndarray, mean: np.ndarray, concentration: float) -> np.ndarray:
    """Beta(mean x k, (1 - mean) x k) by inversion of ``u``; a mean of 0 or 1 is that value.

    A person's mean is one of a few values (in the orbit or not), so each one's quantile
    function is tabulated once (scipy's ``betaincinv`` at Chebyshev-spaced probabilities, dense
    near 0 and 1 where the quantile is steep) and interpolated linearly, and the outermost
    cells are inverted exactly: within 1e-5 of the exact inverse, at a fraction of its cost
    (10 million people in seconds, not a minute). Many distinct means fall back to the exact
    inverse.
    """
    from scipy import special

    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), u.shape)
    out = mean.copy()
    inner = (mean > 0.0) & (mean < 1.0)
    values = np.unique(mean[inner])
    if values.size > 8:
        a, b = mean[inner] * concentration, (1.0 - mean[inner]) * concentration
        out[inner] = special.betaincinv(a, b, u[inner])
        return out
    for m in values.tolist():
        where = np.flatnonzero(mean == m)
        out[where] = _beta_table_lookup(u[where], m * concentration, (1.0 - m) * concentration)
    return out


@functools.lru_cache(maxsize=16)
def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy import special

    k = np.arange(_QUANTILE_POINTS + 1, dtype=np.float64)
    p = 0.5 * (1.0 - np.cos(np.pi * k / _QUANTILE_POINTS))
    p[0], p[-1] = 0.0, 1.0
    return p, special.betaincinv(a, b, p)


def _beta_table_lookup(u: np.ndarray, a: float, b: float) -> np.ndarray:
    p, q = _beta_table(a, b)
    # The cell of u among the Chebyshev points, from their closed form (then one fix-up).
    cell = np.floor(np.arccos(np.clip(1.0 - 2.0 * u, -1.0, 1.0)) * (_QUANTILE_POINTS / np.pi))
    cell = np.clip(cell.astype(np.int64), 0, _QUANTILE_POINTS - 1)
    cell -= p[cell] > u
    cell += p[np.minimum(cell + 1, _QUANTILE_POINTS)] <= u
    cell = np.clip(cell, 0, _QUANTILE_POINTS - 1)
    lo, hi = p[cell], p[cell + 1]
    t = np.clip((u - lo) / (hi - lo), 0.0, 1.0)
    out = q[cell] + t * (q[cell + 1] - q[cell])
    # The outermost cells, where the quantile is steepest, get the exact inverse (about one
    # person in a thousand).
    edge = np.flatnonzero((cell < _EXACT_CELLS) | (cell >= _QUANTILE_POINTS - _EXACT_CELLS))
    if edge.size:
        from scipy import special

        out[edge] = special.betaincinv(a, b, u[edge])
    return out


def _binomial_quantile(u: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Binomial(:data:`MAX_PROBLEMS`, q) by inversion of ``u``, elementwise.

    ``q`` takes one value per depth, so each value's distribution function is computed once
    and ``u`` looked up in it (the smallest k whose cumulative probability reaches ``u``).
    """
    from scipy import stats

    q = np.broadcast_to(np.asarray(q, dtype=np.float64), u.shape)
    out = np.empty(u.shape, dtype=np.float64)
    values = np.unique(q)
    if values.size > 64:
        return stats.binom.ppf(u, MAX_PROBLEMS, q)
    for v in values.tolist():
        where = np.flatnonzero(q == v)
        cdf = stats.binom.cdf(np.arange(MAX_PROBLEMS + 1), MAX_PROBLEMS, v)
        cdf[-1] = 1.0
        out[where] = np.searchsorted(cdf, u[where], side="left")
    return out


def _ring_degree(mean_degree: float) -> int:
    """Ties per person on the small-world ring: ``mean_degree`` rounded to an even number."""
    return max(2, int(round(mean_degree / 2)) * 2)


def _generator_problems(scenario: Scenario) -> list[str]:
    """Settings a generator cannot build a graph from, though each key is within its range."""
    n, net = scenario.population.size, scenario.network
    if net.generator == "file":
        return []
    # No one can have more ties than there are other people; the generators refuse it rather
    # than silently build a sparser graph than asked for.
    if net.mean_degree > n - 1:
        return [
            f"network.mean_degree = {net.mean_degree:g}: must be at most population.size "
            f"- 1 = {n - 1} (ties per person among {n:,} people); raise population.size "
            "or lower network.mean_degree"
        ]
    p_cross = net.p_cross_community + net.p_cross_locality
    if net.generator == "community" and p_cross > 1.0 + 1e-12:
        # Each of a person's ties goes to their community, another community or another
        # locality: the two shares leave the rest within the community.
        return [
            f"network.p_cross_community + network.p_cross_locality = "
            f"{net.p_cross_community:g} + {net.p_cross_locality:g} = {p_cross:g}: must be "
            "at most 1 (shares of each person's ties)"
        ]
    if net.generator == "small_world" and _ring_degree(net.mean_degree) > n - 2:
        return [
            f"network.mean_degree = {net.mean_degree:g}: the small-world ring gives each "
            f"person {_ring_degree(net.mean_degree)} ties, at most population.size - 2 = "
            f"{n - 2} allowed; lower network.mean_degree to {2 * ((n - 2) // 2)} or "
            "less"
        ]
    return []


def _file_graph(scenario: Scenario):
    """The scenario's graph file read by the loader runs use (and its cache)."""
    net = scenario.network
    data = scenario_to_dict(scenario)
    return _load_file_graph(
        net.file, net.nodes_file, _file_labels(data["population"], data["clients"])
    )


def world_problems(scenario: Scenario) -> list[str]:
    """What keeps the scenario's world from being built, one line each; empty when it can be.

    :func:`build_world` and ``outreach validate`` both ask this, so they agree on what is
    valid: a graph file and nodes file are read by the loader (and cache) runs use, a
    generator's settings are checked against ``population.size``, and the peer teams must fit
    in the graph a file holds (at most half of its people, as for a generated population).
    Each line starts with the scenario's file, except a graph file's own problems, which name
    that file.
    """
    where = f"{scenario.source}: " if scenario.source else ""
    problems = [where + p for p in _generator_problems(scenario)]
    if scenario.network.generator != "file" or problems:
        return problems
    from sim.errors import UserInputError

    try:
        graph, _ = _file_graph(scenario)
    except UserInputError as err:
        return [str(err)]
    n = graph.n_nodes
    peers = scenario.close_peers.count + scenario.distant_peers.count
    if peers > n // 2:
        problems.append(
            f"{where}close_peers.count + distant_peers.count = {scenario.close_peers.count} + "
            f"{scenario.distant_peers.count} = {peers}: the graph in {scenario.network.file} has "
            f"{n:,} people, so at most {n // 2} (half of them) can be peers"
        )
    return problems


def persons_in_world(size: int, dormant_per_person: float) -> int:
    """People in a generated world: the population and its dormant people."""
    return int(round(size * (1.0 + dormant_per_person)))


def world_size(scenario: Scenario) -> int:
    """The number of people in the scenario's population at the start.

    A graph file's, else ``population.size`` (the world also holds the dormant people:
    :func:`world_persons`).
    """
    if scenario.network.generator == "file":
        return _file_graph(scenario)[0].n_nodes
    return scenario.population.size


def world_persons(scenario: Scenario) -> int:
    """Everyone the scenario's world holds, for what memory and time scale with.

    A graph file's people, else the population and its dormant people
    (:func:`persons_in_world`).
    """
    if scenario.network.generator == "file":
        return _file_graph(scenario)[0].n_nodes
    pop = scenario.population
    return persons_in_world(pop.size, pop.dormant_per_person)


def world_count(scenario: Scenario) -> int:
    """How many distinct worlds the scenario's replicates live in (see :func:`world_index`)."""
    reps, worlds = scenario.run.replicates, scenario.run.worlds
    if worlds:
        return min(worlds, reps)
    return reps if world_size(scenario) < scenario.run.shared_world_from else 1


def world_index(scenario: Scenario, replicate: int) -> int:
    """Which world replicate ``replicate`` lives in.

    With ``run.worlds = N`` the replicate modulo N. With ``run.worlds = 0`` (automatic) the
    replicate itself below ``run.shared_world_from`` people, else world 0 for every replicate:
    building a large world costs many times a run of the model (about 0.3 s against 0.015 s at
    100,000 people), while the peers of each replicate, recruited from their own streams,
    start in different places of it and reach a few thousand of its people.
    """
    worlds = scenario.run.worlds
    if worlds:
        return int(replicate) % worlds
    return int(replicate) if world_size(scenario) < scenario.run.shared_world_from else 0


def build_world(scenario: Scenario, replicate: int) -> World:
    """The world of one replicate: graph from the generator or file, and attributes.

    Its random numbers come from the ``network``, ``attributes`` and ``clients`` streams of
    ``(scenario.run.seed, world_index(scenario, replicate))``, so any two scenarios that agree
    on the population, network and clients settings, the seed and ``run.worlds`` get the
    identical world, and with ``run.worlds = N`` replicates ``r`` and ``r + N`` share one.

    Raises:
        UserInputError: the first of :func:`world_problems`, one line.
    """
    problems = world_problems(scenario)
    if problems:
        from sim.errors import UserInputError

        raise UserInputError(problems[0])
    data = scenario_to_dict(scenario)
    net = scenario.network
    files = (
        [_file_stamp(net.file), _file_stamp(net.nodes_file) if net.nodes_file else None]
        if net.generator == "file"
        else None
    )
    # A locality's service site shapes the weekly dynamics, not the world: scenarios that
    # differ only in their sites share one world.
    for loc in data["population"]["localities"]:
        for site_key in SITE_KEYS:
            loc.pop(site_key, None)
    key = json.dumps(
        {**{s: data[s] for s in WORLD_SECTIONS}, "seed": scenario.run.seed, "files": files},
        sort_keys=True,
    )
    return _cached_world(key, world_index(scenario, replicate))


class Sites(NamedTuple):
    """Each locality's service site, as the weekly kernel reads it.

    Attributes:
        visits_per_week: mean visits a week to each locality's site (``float64``; 0: none).
        open_hours_per_week: hours a week each site is open (``float64``).
        orbit_ptr: the service-orbit persons of locality ``L`` (who visit its site) are
            ``orbit_nodes[orbit_ptr[L]:orbit_ptr[L + 1]]`` (``int64``).
        orbit_nodes: the persons of the service orbit by locality, ascending within each
            (``int32``).
        orbit_cum: the running sum of the visiting rates within each locality, in the order
            of ``orbit_nodes`` (``float64``): a visit is by person ``j`` of a locality with
            chance ``rate_j / sum of rates``.
    """

    visits_per_week: np.ndarray
    open_hours_per_week: np.ndarray
    orbit_ptr: np.ndarray
    orbit_nodes: np.ndarray
    orbit_cum: np.ndarray


def site_arrays(world: World, scenario: Scenario, replicate: int = 0) -> Sites:
    """The localities' service sites of ``scenario`` in ``world``: footfall and who comes.

    A site's visitors are the people of its locality's service orbit (those who used a
    service in the past year), each at a rate of their own: gamma-distributed with mean 1 and
    the locality's ``site_visit_cv`` (0: all alike), so some come often and many seldom. The
    rates are a trait of the person, drawn for the world (``world_index``) on a stream of
    their own, so they do not change the world or any other draw. A locality with no one in
    the orbit has a site nobody visits.
    """
    from sim.streams import stream

    locs = scenario.population.localities
    orbit = world.orbit_nodes
    where = world.locality[orbit]
    order = np.argsort(where, kind="stable")  # by locality, ascending within one
    ptr = np.zeros(len(locs) + 1, np.int64)
    np.cumsum(np.bincount(where, minlength=len(locs))[: len(locs)], out=ptr[1:])
    rng = stream(scenario.run.seed, world_index(scenario, replicate), "site-visitors")
    cum = np.zeros(orbit.size, np.float64)
    for loc_index, loc in enumerate(locs):
        lo, hi = ptr[loc_index], ptr[loc_index + 1]
        cv = loc.site_visit_cv
        rates = rng.gamma(1.0 / cv**2, cv**2, hi - lo) if cv > 0 else np.ones(hi - lo, np.float64)
        cum[lo:hi] = np.cumsum(rates)
    return Sites(
        visits_per_week=np.array([loc.site_visits_per_week for loc in locs], np.float64),
        open_hours_per_week=np.array([loc.site_open_hours_per_week for loc in locs], np.float64),
        orbit_ptr=ptr,
        orbit_nodes=np.ascontiguousarray(orbit[order], dtype=np.int32),
        orbit_cum=cum,
    )
