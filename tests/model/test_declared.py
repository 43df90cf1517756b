"""Parameters and peer columns declared once: from the scenario key to the kernel, by one name.

The kernel's :class:`~sim.model.state.Params` are the scenario keys marked ``kernel=True``
under their own names plus a few derived values; every field is read by the kernel; every
scenario key reaches the kernel or is listed, with where it is used, in
:data:`~sim.model.state.OUTSIDE_KERNEL`. The peers' rows are one
:class:`~sim.model.state.PeerFrame`.
"""

from __future__ import annotations

import ast
import dataclasses
import fnmatch
import importlib.util
import typing
from pathlib import Path

import numpy as np
import pytest

from sim.model import kernel as K
from sim.model import state as S
from sim.model.outreach import OutreachModel
from sim.model.scenario import (
    PeerKind,
    Scenario,
    describe_parameters,
    scenario_from_dict,
)

ROOT = Path(__file__).resolve().parents[2]
KINDS = tuple(S.KIND_SECTIONS.values())


def _scenario_keys() -> list[str]:
    return [row[0] for row in describe_parameters()]


def _kernel_dotted() -> dict[str, str]:
    """Dotted scenario key -> Params field, both peer kinds listed."""
    out = {}
    for name, section, key, _ in S.kernel_keys():
        for sec in KINDS if section in KINDS else (section,):
            out[f"{sec}.{key}"] = name
    return out


# --------------------------------------------------------------------------- Params


def test_params_fields_are_the_marked_keys_and_the_derived_values():
    declared = [name for name, *_ in S.kernel_keys()]
    assert len(declared) == len(set(declared)), "two keys map to one field"
    assert set(S.DERIVED_FROM).isdisjoint(declared)
    assert sorted(S.Params._fields) == sorted(declared + list(S.DERIVED_FROM))


def test_params_annotations_follow_the_declared_types():
    hints = typing.get_type_hints(S.Params)
    for name, section, _, kind in S.kernel_keys():
        assert hints[name] is (np.ndarray if section in KINDS else kind), name


def test_field_names_follow_the_one_rule():
    # The field is the key, prefixed by its section only where a peer kind has the same key.
    peer_keys = {f.name for f in dataclasses.fields(PeerKind)}
    for name, section, key, _ in S.kernel_keys():
        if section in KINDS or key not in peer_keys:
            assert name == key
        else:
            assert name == f"{section}_{key}"
    assert (
        S.kernel_field_name("outreach_workers", "hours_per_week")
        == "outreach_workers_hours_per_week"
    )
    assert S.kernel_field_name("close_peers", "hours_per_week") == "hours_per_week"


def test_kernel_params_read_each_key_typed_as_declared():
    s = Scenario().replace(
        {
            "close_peers.hours_per_week": 11.5,
            "distant_peers.caseload_cap": 7,
            "distant_peers.works_in_pairs": True,
            "outreach_workers.caseload_cap": 9,
            "wellbeing.meaning_gain": 0.07,
        }
    )
    par = S.kernel_params(s)
    for name, section, key, kind in S.kernel_keys():
        value = getattr(par, name)
        if section in KINDS:
            assert value.dtype == np.dtype(S._DTYPES[kind]) and value.shape == (3,), name
            for code, sec in S.KIND_SECTIONS.items():
                assert value[code] == getattr(getattr(s, sec), key), f"{sec}.{key}"
        else:
            assert type(value) is kind, name
            assert value == getattr(getattr(s, section), key), f"{section}.{key}"
    assert par.hours_per_week[S.CLOSE] == 11.5
    assert par.caseload_cap[S.DISTANT] == 7 and par.works_in_pairs[S.DISTANT]
    assert par.outreach_workers_caseload_cap == 9 and par.meaning_gain == 0.07


def test_derived_values():
    s = Scenario().replace(
        {
            "services.professionals": 4,
            "services.professional_hours_per_week": 20.0,
            "services.outside_work_share": 0.25,
            "services.supervision_order": "turn",
            "outreach.hop_trust": 0.5,
            "outreach.subgroup_trust": 0.8,
            "close_peers.pay_per_hour": 7.5,
            "wellbeing.fair_wage_per_hour": 10.0,
        }
    )
    par = S.kernel_params(s)
    assert par.programme_hours_per_week == 60.0
    assert par.supervision_by_need is False
    assert par.class_weight[0] == 1.0 and par.class_weight[3 + 2] == pytest.approx(0.5 * 0.64)
    assert par.pay_per_hour[S.CLOSE] == 7.5 and par.fair_wage_per_hour == 10.0


def test_the_kernel_reads_every_field():
    # Every Params field appears as ``par.FIELD`` in the kernel's source, and nothing else does.
    tree = ast.parse((ROOT / "sim" / "model" / "kernel.py").read_text())
    read = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "par"
    }
    assert read == set(S.Params._fields)


# --------------------------------------------------------------------------- scenario keys


def _module_source(name: str) -> str:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin, name
    return Path(spec.origin).read_text()


def test_every_scenario_key_reaches_the_model_or_is_listed_once():
    kernel = _kernel_dotted()
    derived = {key for keys in S.DERIVED_FROM.values() for key in keys}
    keys = _scenario_keys()
    assert derived <= set(keys), derived - set(keys)
    unused_patterns = set(S.OUTSIDE_KERNEL)
    for key in keys:
        patterns = [p for p in S.OUTSIDE_KERNEL if fnmatch.fnmatchcase(key, p)]
        unused_patterns -= set(patterns)
        reaches = key in kernel or key in derived  # both for a kind's hours and pay
        assert reaches != bool(patterns), f"{key}: reaches the kernel {reaches}, {patterns}"
        assert len(patterns) <= 1, f"{key}: listed under {patterns}"
    assert not unused_patterns, f"OUTSIDE_KERNEL lists no key under {unused_patterns}"


def test_keys_outside_the_kernel_are_used_where_listed():
    for key in _scenario_keys():
        for pattern, (modules, why) in S.OUTSIDE_KERNEL.items():
            if not fnmatch.fnmatchcase(key, pattern):
                continue
            assert why
            leaf = key.rsplit(".", 1)[-1]
            sources = [_module_source(m) for m in modules]
            assert any(leaf in src for src in sources), f"{key}: not in {modules}"


def test_kernel_keys_are_exactly_those_marked():
    marked = set()
    for f in dataclasses.fields(Scenario):
        if f.metadata.get("section"):
            cls = type(getattr(Scenario(), f.name))
            marked |= {
                f"{f.name}.{g.name}" for g in dataclasses.fields(cls) if g.metadata.get("kernel")
            }
    assert marked == set(_kernel_dotted())


# --------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("kind", KINDS)
def test_a_peer_kind_table_keeps_its_kinds_defaults(kind):
    # A [close_peers] table that leaves a key out gets the close peers' default, the one
    # `outreach params` lists (12 hours), not the defaults of a peer in general (10 hours).
    shipped = getattr(Scenario(), kind)
    partial = getattr(scenario_from_dict({kind: {"count": 3}}), kind)
    assert partial == dataclasses.replace(shipped, count=3)
    assert getattr(scenario_from_dict({kind: {}}), kind) == shipped
    listed = dict((row[0], row[1]) for row in describe_parameters())
    assert float(listed[f"{kind}.hours_per_week"]) == shipped.hours_per_week


def test_close_peers_hours_default_agrees():
    assert Scenario().close_peers.hours_per_week == 12.0
    assert scenario_from_dict({"close_peers": {"trust": 0.5}}).close_peers.hours_per_week == 12.0


# --------------------------------------------------------------------------- peer frame


def test_peer_frame_grows_keeping_rows_and_defaults():
    frame = S.PeerFrame(2)
    frame.energy[:2] = (0.3, 0.4)
    frame.count = 2
    assert not frame.grow(0)
    assert frame.grow(3)
    assert frame.capacity == 8
    for name, dtype, default in S.PeerFrame.COLUMNS:
        column = getattr(frame, name)
        assert column.dtype == np.dtype(dtype) and column.size == 8
        assert np.all(column[2:] == default)
    assert list(frame.energy[:2]) == [0.3, 0.4]


def test_peer_frame_columns_are_the_kernels_peer_rows():
    per_row = set(S.PeerArrays._fields) - {"team", "ego_class_ptr", "ego_nodes"}
    assert per_row <= set(S.PeerFrame.NAMES)
    frame = S.PeerFrame(4)
    frame.count = 3
    view = frame.kernel_arrays(
        3, np.zeros(S.TEAM_LEN), np.zeros(1, np.int64), np.zeros(0, np.int32)
    )
    for name in per_row:
        column = getattr(view, name)
        assert column.size == 3 and np.shares_memory(column, getattr(frame, name))


def test_model_rows_live_in_the_frame():
    s = Scenario().replace(
        {"population.size": 400, "close_peers.count": 3, "distant_peers.count": 2, "run.weeks": 2}
    )
    model = OutreachModel(s, 0)
    model.run()
    assert model.n_peers == model.peers.count == 5
    assert model.p_energy is model.peers.energy
    assert model.peer_agents[0].energy == model.peers.energy[0]
    grown = model.peers.capacity
    model.set_policy({"close_peers.count": grown + 3})
    model.step()
    assert model.peers.count == grown + 5 and model.peers.capacity > grown
    assert model.peer_arrays().energy.size == model.peers.count


# --------------------------------------------------------------------------- hours


@pytest.mark.parametrize("professionals", [3, 0])
def test_available_hours_are_the_plans_budget(professionals):
    s = Scenario().replace(
        {"population.size": 600, "services.tailoring": 1.0, "services.professionals": professionals}
    )
    model = OutreachModel(s, 0)
    p = model.peer_arrays()
    p.strength[:] = np.linspace(0.2, 1.0, p.strength.size)
    p.caseload[:] = 0
    available = model.available_hours()
    counters = np.zeros(S.N_COUNTERS, np.int64)
    K.plan(1, model.world_arrays(), model.client_arrays(), p, model._params, model._keys, counters)
    assert np.allclose(p.hours_left + p.hours_worked, available, rtol=1e-12, atol=0)
    if professionals == 0:
        hours = np.where(
            p.kind == S.CLOSE, s.close_peers.hours_per_week, s.distant_peers.hours_per_week
        )
        assert np.array_equal(available, hours)
