"""The event history of an ensemble as one Parquet file, written whole or not at all.

Replicates run in parallel threads, each streaming its events, a row group every few weeks, to
a part file of its own in a hidden temporary folder beside the target; when every replicate has
finished, the parts are copied row group by row group, in replicate order, into one hidden
temporary file, which is renamed over the target (as :mod:`sim.output.atomic` does for every
other output). The file is therefore the same whatever the number of workers, memory holds one
row group at a time, and an interrupted or failed run leaves neither the file nor a part of it.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sim.errors import UserInputError
from sim.model.events import EventRecorder, event_schema
from sim.output.atomic import atomic_path, check_writable, temp_folder_beside

__all__ = ["EventsFile", "check_events_path"]


def check_events_path(path: str | Path, what: str = "--events") -> None:
    """Fail before any work if pyarrow is missing or ``path`` cannot be written.

    Raises:
        UserInputError: one line naming the option, the path and what is wrong.
    """
    if importlib.util.find_spec("pyarrow") is None:
        raise UserInputError(
            f"{what} {path}: writing events needs pyarrow, which is not "
            "installed (pip install pyarrow, or the 'sweep' extra)"
        )
    check_writable(path, what)


class EventsFile:
    """A context that gathers replicates' events and writes them to ``path`` on success.

    Use :meth:`recorder` as the ``events`` argument of :func:`sim.ensemble.replicates.run_ensemble`.
    Leaving the context normally writes the file; leaving it by an exception (Ctrl-C included)
    removes every temporary part and writes nothing.

    Args:
        path: the Parquet file to write (replaced if it exists).
        what: the option that names it in messages.
        rows_per_group: rows per Parquet row group (whole weeks; see
            :class:`~sim.model.events.EventRecorder`).
    """

    def __init__(self, path: str | Path, what: str = "--events", rows_per_group: int = 1 << 14):
        self.path = Path(path)
        self.what = what
        self.rows_per_group = rows_per_group
        self._folder: Path | None = None
        self._parts: dict[int, Path] = {}

    def __enter__(self) -> EventsFile:
        check_events_path(self.path, self.what)
        self._folder = temp_folder_beside(self.path, self.what)
        return self

    def recorder(self, replicate: int) -> EventRecorder:
        """A recorder streaming replicate ``replicate``'s events to its part file."""
        part = self._folder / f"{int(replicate)}.parquet"
        self._parts[int(replicate)] = part
        return EventRecorder(replicate, part, self.rows_per_group)

    def __exit__(self, kind, value, traceback) -> None:
        try:
            if kind is None:
                self._join()
        finally:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)

    def _join(self) -> None:
        """Copy the parts, in replicate order, into the target through a temporary file."""
        import pyarrow.parquet as pq

        with (
            atomic_path(self.path, self.what) as tmp,
            pq.ParquetWriter(tmp, event_schema()) as writer,
        ):
            for replicate in sorted(self._parts):
                part = pq.ParquetFile(self._parts[replicate])
                for group in range(part.num_row_groups):
                    writer.write_table(part.read_row_group(group))
