"""The event history of a run: one row per thing that happened to a client or a peer.

The weekly kernel (:mod:`sim.model.kernel`) appends each event, as it happens, to an
:class:`EventLog` (a preallocated ``int32`` table and a count) handed to it inside
:class:`~sim.model.state.ClientArrays`; with the log off (:data:`NO_EVENTS`) it writes nothing
and draws nothing more, so a run gives the same numbers with and without its history. After
each week an :class:`EventRecorder` takes the week's rows, turns peer rows into persons, and
keeps them in memory or streams them to a Parquet file, a row group every
``rows_per_group`` rows or so (whole weeks), never holding a whole run twice.

The event types, one table (:data:`EVENT_TYPES`; a row's ``event`` is the code's name):

=====  =================  ==================================================================
code   name               what happened to ``person``
=====  =================  ==================================================================
0      ``contact``        a hidden client was contacted (any way: street, site, online,
                          outreach workers, or a friend's coupon, then ``recruiter`` is set)
1      ``referred``       a coupon was redeemed: ``recruiter``'s friend ``person`` was
                          referred to ``recruiter``'s peer (the ``contact`` row follows)
2      ``engaged``        the client engaged with their peer (or the outreach workers)
3      ``coupons_given``  the engaged client got referral coupons
4      ``linked``         the client attended a service appointment (or a house call)
5      ``retained``       the linked client was still in contact with services after
                          ``services.weeks_to_retained`` weeks
6      ``dropout_engaged``  an engaged client dropped out (back to hidden)
7      ``dropout_linked``   a linked or retained client dropped out (back to hidden)
8      ``lost_contact``   a contacted client, not yet engaged, lost contact (back to hidden)
9      ``peer_recruited`` the person became a peer (a client who does leaves every caseload)
10     ``peer_exhausted`` the peer's energy fell below the exhaustion threshold: rests
11     ``peer_returned``  the resting peer recovered and works again
12     ``peer_withdrawn`` the peer withdrew (while resting, or by a change of policy)
13     ``peer_break``     the peer took a break (after a relapse too)
14     ``peer_back``      the peer came back from a break
15     ``peer_left_relapse``  the peer left after a relapse
16     ``peer_left_other_work``  the peer left for other work or study
17     ``peer_left_health_or_prison``  the peer left for their health, or went to prison
18     ``peer_left_moving``  the peer moved away
19     ``handed_off``     the engaged client was taken on by another peer, named in ``peer``:
                          brought by their peer to a close peer (``p_handoff``), or taken on
                          when their peer stopped working; the old peer is the ``peer`` of
                          the person's previous row (their peer until then)
20     ``lost_with_peer`` the engaged client was lost (back to hidden) when their peer, named
                          in ``peer``, stopped working (rests, a break, leaving)
21     ``entered``        a dormant person entered the population (started or resumed
                          using, moved in): a hidden client, their history kept
22     ``released``       the person came back from prison
23     ``stopped``        the person stopped using (dormant; may come back)
24     ``died``           the person died
25     ``imprisoned``     the person went to prison
26     ``moved_away``     the person moved out of the area (dormant; may come back)
=====  =================  ==================================================================

A client who leaves the population (``stopped``, ``died``, ``imprisoned``, ``moved_away``)
is out of contact with the programme from then on: hidden, supported by no one, no coupons;
these rows name no peer. A peer's presence follows the same flows (their rows are there too),
but their work is their career's.

The columns (:data:`EVENT_COLUMNS`): ``replicate``, ``week`` (0 is the first week; peers
recruited before the first week are in week 0), ``event``, ``person`` (the person, a graph
node), ``peer`` (the person who is the client's peer at the event, :data:`TEAM_PEER` for the
professional outreach workers' team, empty for none; a peer's own events name the peer
there too), ``recruiter`` (the friend whose coupon brought the client,
:attr:`~sim.model.state.ClientArrays.referrer`; empty for a direct contact and for peers) and
``wave`` (referral steps from a peer's own contact, 0 for a direct one,
:attr:`~sim.model.state.ClientArrays.wave`; empty for a peer's events). Events of a week are
in the order they happened: the phases of the week in order, and within a phase the
kernel's order.

Relations with the model's tallies (tested in ``tests/model/test_events.py``): a week's ``contact``
rows are its new contacts plus its referrals; the persons whose first ``contact`` row falls in
a week are the increase of the weekly ``contacted`` series (likewise ``engaged`` and
``linked`` rows and their series, ``retained`` rows and theirs); ``referred`` rows are the
model's referral total; ``peer_recruited`` rows are ``peers_recruited``; the peers with a
``peer_exhausted`` row are the peers ever exhausted.

Example, in a notebook::

    from sim.model.outreach import OutreachModel
    from sim.model.scenario import load_scenario

    model = OutreachModel(load_scenario("scenarios/baseline.toml"), 0, events=True)
    model.run()
    ev = model.events()                                    # a pandas DataFrame
    ev[ev.event == "linked"].groupby("peer").size()        # clients linked, by peer
    tree = ev[ev.event == "referred"][["recruiter", "person", "wave"]]  # who referred whom
    close = model.peer_nodes("close")
    ev[ev.peer.isin(close)].event.value_counts()           # what the close peers did

and a file written by ``outreach run --events``: ``read_events(path, replicate=0)``.

Nothing here imports numba; pyarrow is imported only to write or read Parquet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "EVENT_COLUMNS",
    "EVENT_NAMES",
    "EVENT_TYPES",
    "NO_EVENTS",
    "TEAM_PEER",
    "EventLog",
    "EventRecorder",
    "event_schema",
    "new_log",
    "read_events",
]

#: The event types: (code, name, meaning). The code is the row's place here.
EVENT_TYPES: tuple[tuple[int, str, str], ...] = (
    (0, "contact", "a hidden client was contacted (by a coupon too: recruiter set)"),
    (1, "referred", "a coupon was redeemed: recruiter's friend was referred to their peer"),
    (2, "engaged", "the client engaged with their peer or the outreach workers"),
    (3, "coupons_given", "the engaged client got referral coupons"),
    (4, "linked", "the client attended a service appointment or a house call"),
    (5, "retained", "the linked client stayed in contact with services long enough"),
    (6, "dropout_engaged", "an engaged client dropped out"),
    (7, "dropout_linked", "a linked or retained client dropped out"),
    (8, "lost_contact", "a contacted client, not yet engaged, lost contact"),
    (9, "peer_recruited", "the person became a peer"),
    (10, "peer_exhausted", "the peer was exhausted and rests"),
    (11, "peer_returned", "the resting peer works again"),
    (12, "peer_withdrawn", "the peer withdrew"),
    (13, "peer_break", "the peer took a break"),
    (14, "peer_back", "the peer came back from a break"),
    (15, "peer_left_relapse", "the peer left after a relapse"),
    (16, "peer_left_other_work", "the peer left for other work or study"),
    (17, "peer_left_health_or_prison", "the peer left for their health or went to prison"),
    (18, "peer_left_moving", "the peer moved away"),
    (19, "handed_off", "the engaged client was taken on by another peer (named in peer)"),
    (20, "lost_with_peer", "the engaged client was lost when their peer stopped working"),
    (21, "entered", "a dormant person entered the population (a hidden client)"),
    (22, "released", "the person came back from prison"),
    (23, "stopped", "the person stopped using (dormant)"),
    (24, "died", "the person died"),
    (25, "imprisoned", "the person went to prison"),
    (26, "moved_away", "the person moved out of the area (dormant)"),
)
# The codes by name, for the kernel (prefixed: the client states are ENGAGED, LINKED, ...).
(
    EV_CONTACT,
    EV_REFERRED,
    EV_ENGAGED,
    EV_COUPONS_GIVEN,
    EV_LINKED,
    EV_RETAINED,
    EV_DROPOUT_ENGAGED,
    EV_DROPOUT_LINKED,
    EV_LOST_CONTACT,
    EV_PEER_RECRUITED,
    EV_PEER_EXHAUSTED,
    EV_PEER_RETURNED,
    EV_PEER_WITHDRAWN,
    EV_PEER_BREAK,
    EV_PEER_BACK,
    EV_PEER_LEFT_RELAPSE,
    EV_PEER_LEFT_OTHER_WORK,
    EV_PEER_LEFT_HEALTH_OR_PRISON,
    EV_PEER_LEFT_MOVING,
    EV_HANDED_OFF,
    EV_LOST_WITH_PEER,
    EV_ENTERED,
    EV_RELEASED,
    EV_STOPPED,
    EV_DIED,
    EV_IMPRISONED,
    EV_MOVED_AWAY,
) = range(27)
#: Event names by code.
EVENT_NAMES: tuple[str, ...] = tuple(name for _, name, _ in EVENT_TYPES)
assert all(code == j for j, (code, _, _) in enumerate(EVENT_TYPES))
# The kernel names a peer's leaving by its reason's place (sim.model.state.LEFT_*): relapse,
# other work, health or prison, moving, in this order.
assert (EV_PEER_LEFT_OTHER_WORK, EV_PEER_LEFT_HEALTH_OR_PRISON, EV_PEER_LEFT_MOVING) == (
    EV_PEER_LEFT_RELAPSE + 1,
    EV_PEER_LEFT_RELAPSE + 2,
    EV_PEER_LEFT_RELAPSE + 3,
)

#: The columns of an event table, in order.
EVENT_COLUMNS = ("replicate", "week", "event", "person", "peer", "recruiter", "wave")
#: ``peer`` of an event of a client supported by the professional outreach workers' team.
TEAM_PEER = -1

# Columns of the kernel's log rows. The kernel writes a peer as its row (-2 for the outreach
# workers' team, -1 for none), and -1 for no recruiter and for no wave.
L_WEEK, L_EVENT, L_PERSON, L_PEER, L_RECRUITER, L_WAVE = range(6)
N_LOG_COLUMNS = 6
#: Events a person can have in one week at most: a drop-out, retention or linkage (one of
#: them); a contact, and a ``referred`` row with it; engagement and coupons, or lost contact;
#: a hand-off, and being taken on or lost when a peer stops (twice if the new peer stops
#: too, rarely more); leaving the population, or entering it. A peer has at most recruitment
#: and one change of status. The log holds a week's events.
MAX_EVENTS_PER_PERSON_WEEK = 8
_TEAM_ROW = -2  # sim.model.state.TEAM, the team's ``peer_of``
_NULL = np.iinfo(np.int32).min  # an empty cell, in the recorder's own tables


class EventLog(NamedTuple):
    """The kernel's event buffer: rows of ``N_LOG_COLUMNS`` int32 and their count.

    Attributes:
        on: whether the kernel writes events (False: it does no work for them).
        rows: int32 ``(capacity, N_LOG_COLUMNS)``: week, code, person, peer row, recruiter,
            wave.
        count: int64[1]: rows written since the recorder last took them.
    """

    on: bool
    rows: np.ndarray
    count: np.ndarray


#: The log of a run without events: the kernel checks ``on`` and writes nothing.
NO_EVENTS = EventLog(False, np.zeros((0, N_LOG_COLUMNS), np.int32), np.zeros(1, np.int64))


def new_log(n_persons: int) -> EventLog:
    """An empty log with room for any week of a world of ``n_persons`` persons.

    The capacity is :data:`MAX_EVENTS_PER_PERSON_WEEK` rows a person; memory is reserved but
    the operating system gives only the pages the kernel writes, a busy week's worth.
    """
    capacity = MAX_EVENTS_PER_PERSON_WEEK * n_persons + 16
    return EventLog(True, np.empty((capacity, N_LOG_COLUMNS), np.int32), np.zeros(1, np.int64))


def log_event(log: EventLog, week: int, code: int, person: int, peer_row: int) -> None:
    """Append a peer's event from Python (a change of policy between weeks)."""
    if not log.on:
        return
    k = int(log.count[0])
    if k >= log.rows.shape[0]:
        raise RuntimeError("event log full: more events in a week than any week can have")
    log.rows[k] = (week, code, person, peer_row, -1, -1)
    log.count[0] = k + 1


def event_schema():
    """The Arrow schema of an event table (imports pyarrow)."""
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("replicate", pa.int32(), nullable=False),
            pa.field("week", pa.int32(), nullable=False),
            pa.field("event", pa.dictionary(pa.int8(), pa.string()), nullable=False),
            pa.field("person", pa.int32(), nullable=False),
            pa.field("peer", pa.int32()),
            pa.field("recruiter", pa.int32()),
            pa.field("wave", pa.int32()),
        ]
    )


class EventRecorder:
    """Collects the events of one replicate, in memory or streamed to a Parquet file.

    :class:`~sim.model.outreach.OutreachModel` hands it each week's log; a notebook reads the
    result with :meth:`frame` (pandas) or :meth:`table` (pyarrow).

    Args:
        replicate: the replicate's index (a column of every row).
        path: a Parquet file to stream the rows to (written as it goes: give a temporary
            name and rename it when the run has finished); None keeps them in memory.
        rows_per_group: rows gathered (whole weeks) before a Parquet row group is written.

    Raises:
        ModuleNotFoundError: ``path`` given and pyarrow is not installed.
    """

    def __init__(
        self, replicate: int = 0, path: str | Path | None = None, rows_per_group: int = 1 << 14
    ):
        self.replicate = int(replicate)
        self.path = None if path is None else Path(path)
        self.rows_per_group = int(rows_per_group)
        self.rows = 0  # rows taken so far
        # The kernel's rows as taken (in memory: all; to a file: those not yet written). Peer
        # rows become persons only when a table is made: a row's person never changes.
        self._chunks: list[np.ndarray] = []
        self._peer_nodes = np.zeros(0, np.int32)
        self._pending = 0
        self._writer = None
        self._closed = False
        if self.path is not None:
            import pyarrow.parquet as pq

            self._writer = pq.ParquetWriter(self.path, event_schema())

    # -------------------------------------------------------------- taking rows from the log

    def take(self, log: EventLog, peer_nodes: np.ndarray) -> None:
        """Move the log's rows here and empty the log.

        Args:
            log: the kernel's log.
            peer_nodes: the person of each peer row.

        Raises:
            RuntimeError: the log overflowed (more events than its capacity; a wrong bound).
        """
        k = int(log.count[0])
        if k == 0:
            return
        if k > log.rows.shape[0]:
            raise RuntimeError(f"event log overflowed: {k} events, room for {log.rows.shape[0]}")
        if self._closed:
            raise RuntimeError("event recorder already closed")
        self._chunks.append(log.rows[:k].copy())
        self._peer_nodes = peer_nodes
        log.count[0] = 0
        self.rows += k
        self._pending += k
        if self._writer is not None and self._pending >= self.rows_per_group:
            self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            self._writer.write_table(self._arrow(self._rows()), row_group_size=self._pending)
        self._chunks, self._pending = [], 0

    def close(self) -> None:
        """Write the rows not yet written and close the file (nothing to do in memory)."""
        if self._writer is not None and not self._closed:
            self._write_pending()
            self._writer.close()
        self._closed = True

    def abort(self) -> None:
        """Close the file without writing more (after an interruption); the caller removes it."""
        if self._writer is not None and not self._closed:
            self._writer.close()
        self._closed = True

    # -------------------------------------------------------------- the table

    def _rows(self) -> np.ndarray:
        """The rows taken (not yet written), with persons for peers and empty cells marked."""
        if not self._chunks:
            return np.empty((0, N_LOG_COLUMNS), np.int32)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        out = self._chunks[0].copy()
        rows = out[:, L_PEER].copy()
        mine = rows >= 0
        out[mine, L_PEER] = self._peer_nodes[rows[mine]]
        out[rows == _TEAM_ROW, L_PEER] = TEAM_PEER
        out[rows == -1, L_PEER] = _NULL
        for col in (L_RECRUITER, L_WAVE):
            out[out[:, col] < 0, col] = _NULL
        return out

    def _in_memory(self) -> np.ndarray:
        if self.path is not None:
            raise ValueError(
                f"the events were written to {self.path}; read that file "
                "(sim.model.events.read_events)"
            )
        return self._rows()

    def _arrow(self, rows: np.ndarray):
        import pyarrow as pa

        def nullable(col: np.ndarray):
            return pa.array(col, pa.int32(), mask=col == _NULL)

        events = pa.DictionaryArray.from_arrays(
            pa.array(rows[:, L_EVENT].astype(np.int8)), pa.array(EVENT_NAMES, pa.string())
        )
        columns = [
            pa.array(np.full(rows.shape[0], self.replicate, np.int32)),
            pa.array(rows[:, L_WEEK]),
            events,
            pa.array(rows[:, L_PERSON]),
            nullable(rows[:, L_PEER]),
            nullable(rows[:, L_RECRUITER]),
            nullable(rows[:, L_WAVE]),
        ]
        return pa.Table.from_arrays(columns, schema=event_schema())

    def table(self):
        """The events as a pyarrow Table (:func:`event_schema`); needs pyarrow."""
        return self._arrow(self._in_memory())

    def frame(self):
        """The events as a pandas DataFrame.

        ``event`` is categorical (every type a category, in code order); ``peer``,
        ``recruiter`` and ``wave`` are nullable integers (``<NA>`` where empty).
        """
        return _frame(self._in_memory(), self.replicate)


def _frame(rows: np.ndarray, replicate: int):
    import pandas as pd

    def nullable(col: np.ndarray):
        return pd.arrays.IntegerArray(col.copy(), col == _NULL)

    return pd.DataFrame(
        {
            "replicate": np.full(rows.shape[0], replicate, np.int32),
            "week": rows[:, L_WEEK].copy(),
            "event": pd.Categorical.from_codes(
                rows[:, L_EVENT].astype(np.int8), categories=list(EVENT_NAMES)
            ),
            "person": rows[:, L_PERSON].copy(),
            "peer": nullable(rows[:, L_PEER]),
            "recruiter": nullable(rows[:, L_RECRUITER]),
            "wave": nullable(rows[:, L_WAVE]),
        }
    )


def read_events(path: str | Path, **filters: Any):
    """An event file (``outreach run --events``) as a pandas DataFrame.

    The columns are typed as :meth:`EventRecorder.frame` makes them.

    Args:
        path: the Parquet file.
        **filters: column=value pairs kept (read row group by row group), for example
            ``replicate=0`` or ``event="linked"``.

    Returns:
        The rows, in the file's order.
    """
    import pandas as pd
    import pyarrow.parquet as pq

    where = [(name, "=", value) for name, value in filters.items()] or None
    table = pq.read_table(path, filters=where)
    frame = table.to_pandas(types_mapper={_int32(): pd.Int32Dtype()}.get)
    for name in ("replicate", "week", "person"):
        frame[name] = frame[name].astype(np.int32)
    frame["event"] = pd.Categorical(frame["event"].astype(str), categories=list(EVENT_NAMES))
    return frame


def _int32():
    import pyarrow as pa

    return pa.int32()
