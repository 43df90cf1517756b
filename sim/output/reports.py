"""A report a planner can send on: one self-contained HTML file, or Markdown with PNG images.

The report is built once as a list of sections of plain blocks (paragraphs, lists, tables,
images) and then rendered to HTML (images inlined as base64, styles inline, so the one file
opens anywhere without the internet) or to Markdown (images as PNG files beside it).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim import __version__
from sim.ensemble.compare import Comparison
from sim.errors import UserInputError
from sim.model.metrics import KEY_METRICS, METRICS
from sim.model.scenario import describe_parameters
from sim.output.atomic import check_folder_writable as check_out_dir
from sim.output.atomic import write_folder_atomic
from sim.output.comparison import (
    YEARS_MARK,
    comparison_csv,
    comparison_rows,
    format_interval,
    format_signed,
    format_verdict,
    groups_comparison_rows,
    years_comparison_rows,
)
from sim.output.tables import WEEKS_PER_YEAR, format_number, history_line, population_size

__all__ = [
    "DEFAULT_QUESTION",
    "REPORT_FILES",
    "REPORT_FORMATS",
    "build_report",
    "check_out_dir",
    "existing_report",
    "write_report",
]

#: Every file a report may write into its folder, in either format.
REPORT_FILES = ("report.html", "report.md", "results.csv", "reach.png", "metrics.png")


def existing_report(out: str | Path) -> list[str]:
    """The report files already in the folder ``out`` (empty if none, or no such folder)."""
    out = Path(out)
    return [name for name in REPORT_FILES if (out / name).exists()] if out.is_dir() else []


DEFAULT_QUESTION = "Which of these programmes reaches more people, and at what cost to the peers?"
REPORT_FORMATS = ("html", "markdown")

#: What the model assumes, in words a planner can check against their own programme.
ASSUMPTIONS = (
    "The population is a social network of people with heavy drug use: people know a handful "
    "to a few dozen others (median about 10), a few know very many, and most ties are within "
    "one's own community, gender, age group and depth in the drug-using subculture; the "
    "deeply involved know more people.",
    "People differ beyond gender and age. About half are in the service orbit (they used a "
    "needle exchange, substitution or a health service in the past year): most of those at "
    "the edge of the subculture, few of the deeply involved, fewer where services are few. "
    "Those outside the orbit mistrust professionals more, and the deeper people are, the more "
    "problem areas they have (housing, mental and physical health, income, justice). These "
    "shares are assumptions a planner should set from their own records.",
    "Mistrust of professionals lowers a client's chance to accept contact, engage and attend "
    "an appointment with professionals (by up to 60% at full mistrust), and with a close peer "
    "by half as much, as a close peer at a service site is partly seen as the services; a "
    "peer who accompanies a client to an appointment, or joins a house call, removes most of "
    "that barrier. Each problem area adds a quarter to the hours a client's follow-up takes "
    "and to their chance of a crisis.",
    "Each peer has weekly hours (set per kind, then tailored by the professionals to the "
    "strength they assess). Supervision, team meetings, training of new peers, indirect work "
    "and following up their clients come first; then accompanying clients to appointments "
    "and house calls; the hours left go to meeting people, about a quarter of an hour each "
    "(an Osis street pair met some 20 people a round). What does not fit waits, so contacts "
    "follow the hours, not the size of a peer's network.",
    "Close peers hold half their meetings at their locality's site such as a needle exchange, "
    "sharing its visitors from the service orbit (so many a week: past them, more peers at a "
    "site add little), and the rest with their own acquaintances; they "
    "accompany clients, go on house calls, help with authorities and act as a mirror for "
    "the professionals. Distant peers live inside the drug-using scene and meet friends of "
    "friends; they find and first contact people, also outside the service orbit, but are "
    "weaker at linkage and carry more role conflict.",
    "The roles of the peers in the source documents are mechanisms: finder (meetings and "
    "their success), bridge-builder (how far a peer reaches), companion (attendance when "
    "accompanied, staying in services), interpreter (asking for appointments), bodyguard "
    "(pairs: crises and stigma events cost less, each meeting takes two peers), mirror "
    "(fewer drop-outs from services) and educator (shorter training for new peers, fewer "
    "crises among their clients). Their sizes are assumptions unless a source is named.",
    "Trust, and so contact and engagement, fall with social distance, with each way in which "
    "peer and client differ (gender, age group), and with local stigma.",
    "Engaged clients can refer friends with coupons, but most refer nobody; a few drive the "
    "referral chains. A referred friend trusts as much as the friend who passed the coupon, a "
    "step further, and becomes the peer's contact only when the peer has the hours to meet "
    "them; each redeemed coupon's reward is a cost.",
    "Online peer activity reaches clients with online access without a personal tie and without "
    "being seen, which matters where stigma is heavy.",
    "Professionals are salaried; a stated share of their hours goes to their own clients and "
    "office, and the rest is shared by coordinating peers, supervision, assessing new peers, "
    "appointments and house calls, in that order: what does not fit waits, and when "
    "supervision is scarce the most strained peers get it first. Salaried "
    "outreach workers, where a scenario has them, meet people at random in the area, are "
    "trusted less than peers and give no coupons. Clients can lose contact at every step of "
    "the path.",
    "Each peer has a stock of energy: the hours worked (crises add hours), clients, crises, "
    "being labelled a snitch (more often where stigma is heavy), the steady weight of working "
    "where one is known (heavier where stigma is), role conflict and life events (a client's "
    "or friend's overdose death, a relapse, losing housing, an arrest) drain it; supervision, "
    "team meetings, peer support, pay, meaningful indirect work and each client engaged or "
    "linked restore it. Peers differ for good: some are more vulnerable than others (a lasting "
    "factor on every demand, by default spread by half either way), and some weeks are harder "
    "than others. Pay is by the hour worked and protects in proportion to a fair wage, up to "
    "it: many hours with no pay carry the highest risk (MIPA). Professionals judge a peer's "
    "strain with some error, and supervise the most strained as they judge them first. An "
    "exhausted peer rests and then returns or withdraws. New peers start with somewhat "
    "different energy (by default within 0.1 of the mean).",
    "Peers have careers: they take breaks and come back, a relapse takes a peer out for some "
    "weeks or ends their work, an arrest may end in prison, and peers leave for other work, "
    "their health or a move at yearly rates that are assumptions (together about one peer in "
    "five a year, as at Osis, besides those who withdraw after exhaustion). A peer who leaves, "
    "for any reason, may be replaced after some weeks.",
    "The population comes and goes: each year some people stop using (5%), die (2.35%, "
    "overdose and every other cause, as among people who inject drugs worldwide), go to prison "
    "(5%, for half a year on average) or move away (4%); those who stop or move may come back, "
    "and people who never used before, or come back, enter so that the population stays near "
    "its size. Apart from the death rate these are assumptions. A client who leaves is out of "
    "contact with the programme; the same people come and go whatever the policy.",
    "Every meeting of a client with a peer is an encounter: a first contact, meeting a client "
    "again on the street or at the site, an accompaniment, a house call. A year's clients seen "
    "are those met at least once in it, and new those met then for the first time ever; the "
    "weekly follow-up of a peer's clients is counted as work, not as encounters. A programme "
    "may be run for a history of some weeks before the weeks measured, whose clients, peers "
    "and trust carry over.",
    "A peer labelled a snitch keeps, for some weeks, only part of their chance to contact "
    "people and of the trust they inspire (by default half): an assumption, as no study "
    "measures it.",
    "The burnout settings of the shipped scenarios are calibrated, over several random seeds, "
    "so that about one peer in three is exhausted at least once in a year, as in the MIPA "
    "study of Finnish peer workers, and so that weekly supervision and fair pay protect about "
    "as much as studies of burnout interventions and of paid peer workers report; how that "
    "share splits between close and distant peers follows from their weeks, and is reported, "
    "not fitted.",
    "Costs count peer pay, the salaries of professionals and outreach workers (full time, "
    "whether their hours are used or not) and referral rewards; premises, travel and "
    "management are not included.",
    "Each run draws a new network of people below 50,000 people (run.shared_world_from). "
    "From that size on the runs share one drawn network by default: each run's peers start "
    "in different places of it and reach a few thousand of its people, and a network this "
    "large varies little in make-up from one draw to the next.",
    "Numbers are model outcomes, not forecasts: they are most useful for comparing programmes "
    "under the same assumptions, less for their absolute size.",
)

HOW_TO_READ = (
    "Each scenario was run many times (replicates) with different random luck. A mean is the "
    "average over these runs; its 95% interval is where the expected outcome of that programme "
    "lies given the runs made. More replicates give narrower intervals.",
    "Every scenario was run on the same random numbers, replicate by replicate (common random "
    "numbers), so luck is shared and a difference between scenarios comes from their settings. "
    "The difference to the first scenario is computed run by run and has its own interval, "
    "usually much narrower than the scenarios' own intervals.",
    "A difference is distinguishable when its 95% interval excludes zero: the runs show a real "
    "difference in the model, not chance. When it includes zero, these runs cannot tell the "
    "programmes apart on that measure (more replicates may, or the difference is too small to "
    "matter).",
)


@dataclasses.dataclass
class Image:
    """An image block: a file name for Markdown and a function that draws the figure."""

    name: str
    alt: str
    draw: Callable[[], Any]


Block = tuple  # ("p", text) | ("ul", [text]) | ("table", header, rows) | ("img", Image)


def _docs() -> dict[str, str]:
    # Items of a list of tables are listed as "....N.key"; a setting names them by index.
    return {key.replace(".N.", "."): doc for key, _, _, doc in describe_parameters()}


def _meaning(key: str, docs: dict[str, str]) -> str:
    plain = ".".join(p for p in key.split(".") if not p.isdigit())
    return docs.get(plain, "")


def _value(v: Any) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v) if v else "(empty)"
    return str(v)


def build_report(
    comparison: Comparison, question: str = DEFAULT_QUESTION, command: str = ""
) -> tuple[str, list[tuple[str, list[Block]]]]:
    """The report's title and its sections, each a list of blocks.

    Args:
        comparison: the scenarios run on common random numbers.
        question: the question the report answers, in the planner's words.
        command: the command line that made it, to print at the end.
    """
    from sim.output import plots

    labels = comparison.labels
    run = comparison.run
    title = "Peer outreach: " + " vs ".join(labels)
    sections: list[tuple[str, list[Block]]] = []

    sections.append(("The question", [("p", question)]))

    blocks: list[Block] = [
        (
            "p",
            f"Each scenario was run {run.replicates} times for {run.weeks} weeks with root seed "
            f"{run.seed}, on the same random numbers replicate by replicate."
            + _history_sentence(comparison),
        )
    ]
    blocks.append(
        (
            "table",
            ("scenario", "what it is", "people", "file"),
            [
                (
                    label,
                    s.description or "-",
                    f"{population_size(s):,}",
                    Path(s.source).name if s.source else "-",
                )
                for label, s in zip(labels, comparison.scenarios, strict=True)
            ],
        )
    )
    sections.append(("The scenarios", blocks))

    if len(labels) > 1:
        docs = _docs()
        differing = comparison.settings_that_differ()
        if differing:
            rows = [
                (key, _meaning(key, docs), *(_value(v) for v in values))
                for key, values in differing.items()
            ]
            blocks = [("table", ("setting", "meaning", *labels), rows)]
        else:
            blocks = [
                ("p", "The scenarios have the same settings: every difference below is zero.")
            ]
        if comparison.world_keys():
            blocks.append(
                (
                    "p",
                    "Note: the scenarios' populations, networks or clients differ, so "
                    "the differences include the effect of a different world, not "
                    "only of a different policy.",
                )
            )
        sections.append(("How the scenarios differ", blocks))

    summaries = comparison.summaries()
    diffs = comparison.differences()
    key_rows = []
    for m in KEY_METRICS:
        for i, label in enumerate(labels):
            s = summaries[label][m]
            row = [
                METRICS[m].long_title if i == 0 else "",
                label,
                format_number(s["mean"]),
                format_interval(s),
            ]
            if i == 0:
                row += ["(reference)", ""] if len(labels) > 1 else []
            else:
                d = diffs[label][m]
                row += [
                    format_signed(d["mean"]) + " (" + format_interval(d, True) + ")",
                    format_verdict(d),
                ]
            key_rows.append(tuple(row))
    header = ("measure", "scenario", "mean", "95% interval")
    if len(labels) > 1:
        header += (f"difference to {labels[0]} (95% interval)", "distinguishable")
    blocks = [
        ("p", _summary_sentence(comparison)),
        ("table", header, key_rows),
        (
            "img",
            Image(
                "metrics.png",
                "Key measures of each scenario with 95% intervals",
                lambda: plots.metrics_figure(comparison),
            ),
        ),
        (
            "img",
            Image(
                "reach.png",
                "Clients contacted, engaged and linked week by week",
                lambda: plots.reach_figure(comparison),
            ),
        ),
    ]
    sections.append(("Results", blocks))

    if run.weeks > WEEKS_PER_YEAR:  # a single year is the Results above
        year_header, year_rows = years_comparison_rows(comparison, joined=True)
        said = (
            "Each year of the measured weeks on its own: each measure's mean over the runs, "
            "with its 95% interval in brackets."
        )
        if len(labels) > 1:
            said += " " + YEARS_MARK[0].upper() + YEARS_MARK[1:] + "."
        sections.append(("Year by year", [("p", said), ("table", year_header, year_rows)]))

    sections.append(
        (
            "Who is reached",
            [
                (
                    "p",
                    "Different peers reach different clients. For each kind of client, the share "
                    "of them each scenario contacted, engaged and linked to services. Outside the "
                    "service orbit are people who used no needle exchange, substitution or health "
                    "service in the past year; mistrust is of professionals (high from "
                    f"{comparison.scenarios[0].clients.high_mistrust_at:g}); depth is in the "
                    "drug-using subculture.",
                ),
                (
                    "table",
                    ("client type", "scenario", "people", "contacted", "engaged", "linked"),
                    groups_comparison_rows(comparison),
                ),
            ],
        )
    )

    sections.append(("How to read the numbers", [("ul", list(HOW_TO_READ))]))

    all_rows = comparison_rows(comparison)
    full_header = ("metric", "scenario", "mean", "95% interval")
    if len(labels) > 1:
        full_header += (f"difference to {labels[0]}", "95% interval", "distinguishable")
    else:
        all_rows = [r[:4] for r in all_rows]
    sections.append(
        (
            "Every measure",
            [
                ("table", full_header, all_rows),
                (
                    "table",
                    ("metric", "unit", "meaning"),
                    [(m.name, m.unit, m.meaning) for m in METRICS.values()],
                ),
                ("p", "The same numbers are in results.csv beside this report."),
            ],
        )
    )

    sections.append(("Assumptions in plain words", [("ul", list(ASSUMPTIONS))]))
    tail = f"Made by peer-outreach {__version__}"
    if command:
        tail += f" with: {command}"
    sections.append(
        ("About this report", [("p", tail + ".")] + [("p", "Note: " + n) for n in comparison.notes])
    )
    return title, sections


def _history_sentence(comparison: Comparison) -> str:
    """A sentence on the weeks the programmes ran before the measured ones ("" if none)."""
    line = history_line(comparison.history_weeks(), comparison.run.weeks)
    if not line:
        return ""
    said = line.removeprefix("history: ")
    return " " + said[0].upper() + said[1:] + "."


def _summary_sentence(comparison: Comparison) -> str:
    """A sentence per other scenario on reach and peer exhaustion against the first."""
    labels = comparison.labels
    if len(labels) == 1:
        s = comparison.summaries()[labels[0]]
        return (
            f"{labels[0]} contacted {format_number(s['clients_contacted']['mean'])} clients "
            f"and linked {format_number(s['clients_linked']['mean'])} to services on "
            f"average; {format_number(100 * s['peers_exhausted_fraction']['mean'])}% of its "
            f"peers were exhausted at least once."
        )
    diffs = comparison.differences()
    parts = []
    for label in labels[1:]:
        said = []
        for m, what in (
            ("clients_contacted", "clients contacted"),
            ("clients_linked", "clients linked"),
            ("peers_exhausted_fraction", "share of peers exhausted"),
        ):
            d = diffs[label][m]
            if not d["distinguishable"]:
                said.append(f"no distinguishable difference in {what}")
                continue
            amount = (
                f"{abs(100 * d['mean']):.1f} percentage points"
                if m.endswith("fraction")
                else format_number(abs(d["mean"]))
            )
            if m.endswith("fraction"):
                way = "more" if d["mean"] > 0 else "fewer"
                said.append(f"{amount} {way} of its peers exhausted at least once")
            else:
                said.append(f"{amount} {'more' if d['mean'] > 0 else 'fewer'} {what}")
        parts.append(f"Compared with {labels[0]}, {label} has " + "; ".join(said) + ".")
    return " ".join(parts)


# --------------------------------------------------------------------------- rendering

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 1.6em; color: #1f4e79; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eef3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.first td { border-top: 2px solid #999; }
img { max-width: 100%; border: 1px solid #ddd; margin: .6em 0; }
.yes { font-weight: bold; color: #1a7f37; }
"""


def _is_num(text: str) -> bool:
    """A number, an interval ``a to b`` or ``a (b to c)``: right-aligned in tables.

    A number may be signed, and marked with a star (:data:`~sim.output.comparison.YEARS_MARK`).
    """
    number = r"[-+]?[\d,.]+\*?"
    return bool(re.fullmatch(rf"{number}( to {number}| \({number} to {number}\))?|-", text))


def _html_table(header: tuple, rows: list) -> str:
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>"]
    for row in rows:
        cls = ' class="first"' if row and row[0] else ""
        cells = []
        for cell in row:
            text = str(cell)
            css = "num" if _is_num(text) and text else ""
            if text.startswith("yes"):
                css = "yes"
            attr = f' class="{css}"' if css else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(title: str, sections: list[tuple[str, list[Block]]]) -> str:
    """The report as one HTML page with its images inlined."""
    from sim.output import plots

    body = [f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in sections:
        body.append(f"<h2>{html.escape(heading)}</h2>")
        for block in blocks:
            kind = block[0]
            if kind == "p":
                body.append(f"<p>{html.escape(block[1])}</p>")
            elif kind == "ul":
                body.append(
                    "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in block[1]) + "</ul>"
                )
            elif kind == "table":
                body.append(_html_table(block[1], block[2]))
            elif kind == "img":
                data = base64.b64encode(plots.figure_bytes(block[1].draw())).decode("ascii")
                body.append(
                    f'<img alt="{html.escape(block[1].alt)}" src="data:image/png;base64,{data}">'
                )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _md_cell(x: Any) -> str:
    # A star marks a distinguishable year; escaped, it never reads as emphasis.
    return str(x).replace("|", "\\|").replace("*", "\\*").replace("\n", " ")


def render_markdown(
    title: str, sections: list[tuple[str, list[Block]]], images: dict[str, bytes]
) -> str:
    """The report as Markdown; fills ``images`` with the PNG files it refers to."""
    from sim.output import plots

    out = [f"# {title}", ""]
    for heading, blocks in sections:
        out += [f"## {heading}", ""]
        for block in blocks:
            kind = block[0]
            if kind == "p":
                out += [block[1], ""]
            elif kind == "ul":
                out += [f"- {x}" for x in block[1]] + [""]
            elif kind == "table":
                header, rows = block[1], block[2]
                out.append("| " + " | ".join(_md_cell(h) for h in header) + " |")
                out.append("|" + "---|" * len(header))
                out += ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
                out.append("")
            elif kind == "img":
                images[block[1].name] = plots.figure_bytes(block[1].draw())
                out += [f"![{block[1].alt}]({block[1].name})", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- writing


def write_report(
    comparison: Comparison,
    out: str | Path,
    fmt: str = "html",
    question: str = DEFAULT_QUESTION,
    command: str = "",
) -> list[Path]:
    """Write the report into the folder ``out`` (made if missing); returns the files written.

    Everything is written into a temporary folder beside ``out`` first and moved in at the end,
    so a failure leaves no half-written report.

    Raises:
        UserInputError: an unknown format or a folder that cannot be written.
    """
    if fmt not in REPORT_FORMATS:
        raise UserInputError(f"--format {fmt!r}: must be one of " + ", ".join(REPORT_FORMATS))
    check_out_dir(out)
    title, sections = build_report(comparison, question, command)
    files: dict[str, bytes] = {"results.csv": comparison_csv(comparison).encode("utf-8")}
    if fmt == "html":
        files["report.html"] = render_html(title, sections).encode("utf-8")
    else:
        images: dict[str, bytes] = {}
        files["report.md"] = render_markdown(title, sections, images).encode("utf-8")
        files.update(images)
    return write_folder_atomic(out, files, "--out")
