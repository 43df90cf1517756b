"""The documentation site: generated reference pages, the ODD elements, the front-door README.

The reference is generated at build time (``docs/_hooks/reference.py``), so these tests check
the generator's output against the code it reads: every key ``outreach params`` lists is on
the parameter page, every command on the CLI page. The slow test builds the whole site with
MkDocs (warnings as errors) into a temporary folder and checks the built pages, the API's
docstrings included; it needs the ``docs`` extra and is skipped without it, except in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT

DOCS = ROOT / "docs"

ODD_ELEMENTS = {
    "purpose.md": "Purpose and patterns",
    "entities.md": "Entities, state variables and scales",
    "process.md": "Process overview and scheduling",
    "design-concepts.md": "Design concepts",
    "initialization.md": "Initialization",
    "input-data.md": "Input data",
    "submodels.md": "Submodels",
}


def _hook():
    spec = importlib.util.spec_from_file_location("docs_reference", DOCS / "_hooks/reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _listed_keys(stdout: str) -> list[str]:
    """The dotted keys of ``outreach params`` output: each key's line starts in column 0."""
    return [m.group(1) for m in re.finditer(r"^([a-z_][\w.]*)\s+= ", stdout, re.MULTILINE)]


def _pages() -> dict[Path, str]:
    return {p: p.read_text(encoding="utf-8") for p in DOCS.rglob("*.md")}


def test_every_key_outreach_params_lists_is_on_the_parameter_page(cli):
    result = cli("params")
    assert result.returncode == 0, result.stderr
    keys = _listed_keys(result.stdout)
    assert len(keys) > 100  # the whole schema, not one section
    page = _hook().expand((DOCS / "reference/parameters.md").read_text(encoding="utf-8"))
    missing = [k for k in keys if f"<code>{k}</code>" not in page.replace("<wbr>", "")]
    assert not missing, f"keys of outreach params missing from the parameter page: {missing}"


def test_every_marker_expands_and_the_model_pages_cover_every_section():
    hook = _hook()
    on_model_pages = ""
    for path, text in _pages().items():
        expanded = hook.expand(text)  # an unknown section raises
        assert hook.MARKER.search(expanded) is None, path
        if path.parent.name == "model" or path.name == "your-data.md":
            on_model_pages += expanded
    sections = {row[0].split(".")[0] for row in hook.parameter_rows()}
    sections -= {"name", "description"}  # a scenario's own labels, not the model's
    missing = [s for s in sorted(sections) if f"<code>{s}.<wbr>" not in on_model_pages]
    assert not missing, f"sections with no parameter table on the model pages: {missing}"


def test_every_metric_is_on_the_metrics_page():
    from sim.model.metrics import METRICS

    page = _hook().expand((DOCS / "reference/metrics.md").read_text(encoding="utf-8"))
    missing = [name for name in METRICS if f"`{name}`" not in page]
    assert not missing, f"metrics missing from the metrics page: {missing}"


def test_parameter_tables_give_unit_range_and_source():
    hook = _hook()
    table = hook.parameter_table("wellbeing")
    assert table.splitlines()[0] == "| key | default | allowed | unit | meaning | source |"
    assert hook.unit_of("close_peers.hours_per_week") == "hours per week"
    assert hook.unit_of("outreach.p_lose_contact_per_week") == "probability per week"
    assert hook.unit_of("wellbeing.supervision_every_weeks") == "weeks"
    assert "Mathers et al. 2013" in hook.source_of(
        "deaths a year (1.5% a year, Mathers et al. 2013)"
    )


def test_cli_page_has_every_command_and_subcommand():
    from sim.cli import build_parser

    text = _hook().cli_reference()
    parser = build_parser()
    for name, sub in _hook()._subcommands(parser):
        assert f"## outreach {name}\n" in text, name
        for child, _ in _hook()._subcommands(sub):
            assert f"outreach {name} {child}\n" in text, (name, child)
        for option in sub._option_string_actions:
            assert option in text, (name, option)


def test_the_odd_protocol_has_its_seven_elements_in_order():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    positions = [nav.index(f"model/{page}") for page in ODD_ELEMENTS]
    assert positions == sorted(positions)
    for page, title in ODD_ELEMENTS.items():
        first = (DOCS / "model" / page).read_text(encoding="utf-8").splitlines()[0]
        assert title in first, (page, first)


def test_readme_is_a_front_door_of_at_most_250_lines():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    # The two commands, as .ci/run and the quick start use them.
    assert 'pip install -e ".[test]" && python -m pytest' in readme
    assert "pip install -e . && outreach run scenarios/baseline.toml" in readme
    assert 'pip install -e ".[docs]" && mkdocs serve' in readme


@pytest.mark.slow
def test_built_site_has_every_parameter_and_the_api_docstrings(tmp_path, cli):
    if not all(importlib.util.find_spec(m) for m in ("mkdocs", "mkdocstrings", "mkdocs_jupyter")):
        if os.environ.get("CI"):
            pytest.fail("the docs extra is not installed: pip install -e '.[docs]'")
        pytest.skip("needs the docs extra: pip install -e '.[docs]'")
    site = tmp_path / "site"
    env = {**os.environ, "OUTREACH_DOCS_EXECUTE": "false", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    parameters = (site / "reference/parameters/index.html").read_text(encoding="utf-8")
    keys = _listed_keys(cli("params").stdout)
    parameters = parameters.replace("<wbr>", "")
    missing = [k for k in keys if f"<code>{k}</code>" not in parameters]
    assert not missing, f"keys missing from the built parameter page: {missing}"

    import html
    import inspect

    from sim.ensemble.replicates import run_ensemble
    from sim.model.outreach import OutreachModel

    api = html.unescape(re.sub(r"<[^>]+>", "", (site / "reference/api/index.html").read_text()))
    for obj in (OutreachModel, run_ensemble):
        summary = inspect.getdoc(obj).splitlines()[0].replace("``", "")
        assert summary in api, f"the API page lacks the docstring of {obj.__name__}"
    assert ">>> model = OutreachModel(scenario, replicate=0)" in api
    for page in ODD_ELEMENTS:
        assert (site / "model" / page.removesuffix(".md") / "index.html").exists(), page
