"""The results store of a sweep: a manifest and a Parquet dataset written in chunks.

Layout of a sweep folder ``DIR``::

    DIR/manifest.json            the spec, the base scenario, the design's points, the package
                                 version, the creation time and the sweep's identity
    DIR/runs/part-00000.parquet  one row per run: point, replicate, seed, the point's
    DIR/runs/part-00001.parquet  parameters (one column per dotted key) and the metrics
    ...

Chunks are written to a hidden temporary file and renamed into place, so a reader never sees a
partial chunk, whatever kills the writer. The runs done are the union of all chunks,
deduplicated by (point, replicate): a run written twice (a retried task, a resumed sweep) counts
once. A lock file keeps two sweeps from writing one folder at once.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sim.errors import UserInputError

__all__ = ["MANIFEST", "Store", "sweep_identity"]

MANIFEST = "manifest.json"
RUNS = "runs"
_PART = re.compile(r"^part-(\d{5,})\.parquet$")


def sweep_identity(content: Mapping[str, Any]) -> str:
    """A hash of what determines a sweep's results (base scenario, design, seeds, metrics)."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _column_type(values: Iterable[Any]):
    import pyarrow as pa

    values = list(values)
    if all(isinstance(v, bool) for v in values):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.float64()
    return pa.string()


class Store:
    """A sweep folder: its manifest and its Parquet chunks.

    Use :meth:`create_or_resume` to start or continue a sweep, :meth:`open` to read one.
    """

    def __init__(self, folder: str | Path, manifest: dict[str, Any]):
        self.folder = Path(folder)
        self.manifest = manifest
        self._lock_fh = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, folder: str | Path) -> Store:
        """Open an existing sweep folder for reading.

        Raises:
            UserInputError: no sweep there, or an unreadable manifest.
        """
        folder = Path(folder)
        path = folder / MANIFEST
        if folder.exists() and not folder.is_dir():
            raise UserInputError(
                f"{folder}: is a file, not a sweep folder (give the --out "
                "folder of `outreach sweep SPEC --out DIR`)"
            )
        if not folder.is_dir():
            raise UserInputError(f"{folder}: no such sweep folder")
        if not path.is_file():
            raise UserInputError(
                f"{folder}: not a sweep folder (no {MANIFEST}); run "
                "`outreach sweep SPEC --out DIR` first"
            )
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise UserInputError(f"{path}: cannot be read as a sweep manifest ({err})") from None
        if not isinstance(manifest, dict) or "identity" not in manifest:
            raise UserInputError(f"{path}: not a sweep manifest (no identity)")
        return cls(folder, manifest)

    @classmethod
    def create_or_resume(cls, folder: str | Path, manifest: dict[str, Any]) -> tuple[Store, bool]:
        """Start a sweep in ``folder``, or resume the same sweep there.

        Args:
            folder: the sweep folder (created if missing; its parent must exist).
            manifest: the new sweep's manifest, with its ``identity``.

        Returns:
            The store, locked for writing, and whether it resumes an existing sweep.

        Raises:
            UserInputError: the folder holds a different sweep, is a file, cannot be created,
                or another sweep is writing there.
        """
        from sim.output.atomic import write_text_atomic

        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise UserInputError(f"--out {folder}: is a file; give a folder for the sweep")
        if (folder / MANIFEST).exists():
            old = cls.open(folder)
            if old.manifest["identity"] != manifest["identity"]:
                raise UserInputError(
                    f"--out {folder}: holds a different sweep ({old.manifest.get('name')!r}, "
                    f"created {old.manifest.get('created')}) than {manifest.get('spec_file')}; "
                    "give a new folder, or the same spec and base scenario to resume"
                )
            store, resumed = old, True
        else:
            if folder.exists() and any(p.name != ".lock" for p in folder.iterdir()):
                raise UserInputError(
                    f"--out {folder}: exists and is not empty, and holds no "
                    "sweep; give a new or empty folder"
                )
            try:
                folder.mkdir(exist_ok=True)
            except OSError as err:
                raise UserInputError(
                    f"--out {folder}: cannot create the folder ({err.strerror})"
                ) from None
            store, resumed = cls(folder, manifest), False
        store._lock()
        (folder / RUNS).mkdir(exist_ok=True)
        if not resumed:
            from sim.output.tables import dump_json

            write_text_atomic(folder / MANIFEST, dump_json(manifest), "--out")
        return store, resumed

    def _lock(self) -> None:
        """Hold ``DIR/.lock`` exclusively while this process writes the folder.

        The lock file is removed when the lock is released (:meth:`close`), so a finished
        sweep leaves no trace of it. A process that opened the file just before its removal
        would lock a file no longer in the folder; it therefore checks, once locked, that the
        file it holds is still the one in the folder, and tries again if not.
        """
        import fcntl
        import os

        path = self.folder / ".lock"
        for _ in range(100):
            fh = open(path, "a+")  # noqa: SIM115 (held open while writing)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                raise UserInputError(
                    f"--out {self.folder}: another sweep is writing to this "
                    "folder; wait for it or stop it"
                ) from None
            try:
                same = os.path.samestat(os.fstat(fh.fileno()), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                self._lock_fh = fh
                return
            fh.close()  # removed by the sweep that held it: lock the new file
        raise UserInputError(
            f"--out {self.folder}: cannot lock the folder (its .lock file "
            "keeps changing); is another sweep starting there?"
        )

    def close(self) -> None:
        """Release the write lock and remove the lock file."""
        if self._lock_fh is not None:
            # Removed while still held, so no other process can lock this file in between.
            try:
                (self.folder / ".lock").unlink()
            except OSError:  # already gone, or a read-only folder: the lock still ends
                pass
            self._lock_fh.close()
            self._lock_fh = None

    # ------------------------------------------------------------------ schema and chunks

    @property
    def keys(self) -> list[str]:
        """The varied dotted keys, in column order."""
        return list(self.manifest["design"]["keys"])

    @property
    def metrics(self) -> list[str]:
        """The metric columns."""
        return list(self.manifest["metrics"])

    @property
    def total_runs(self) -> int:
        """Points times replicates."""
        return len(self.manifest["design"]["points"]) * int(self.manifest["replicates"])

    def schema(self):
        """The Parquet schema of every chunk."""
        import pyarrow as pa

        points = self.manifest["design"]["points"]
        fields = [
            pa.field("point", pa.int64()),
            pa.field("replicate", pa.int64()),
            pa.field("seed", pa.int64()),
        ]
        for j, key in enumerate(self.keys):
            fields.append(pa.field(key, _column_type(p[j] for p in points)))
        fields += [pa.field(m, pa.float64()) for m in self.metrics]
        return pa.schema(fields)

    def chunk_paths(self) -> list[Path]:
        """The finished chunks, in write order."""
        runs = self.folder / RUNS
        if not runs.is_dir():
            return []
        return sorted(p for p in runs.iterdir() if _PART.match(p.name))

    def write_chunk(self, rows: list[Mapping[str, Any]]) -> Path | None:
        """Write rows as the next chunk, atomically (see :mod:`sim.output.atomic`).

        Returns:
            The chunk's path, or None when there were no rows.
        """
        if not rows:
            return None
        import pyarrow as pa
        import pyarrow.parquet as pq

        from sim.output.atomic import write_bytes_atomic

        existing = [int(_PART.match(p.name).group(1)) for p in self.chunk_paths()]
        number = max(existing, default=-1) + 1
        path = self.folder / RUNS / f"part-{number:05d}.parquet"
        table = pa.Table.from_pylist(list(rows), schema=self.schema())
        buf = pa.BufferOutputStream()
        pq.write_table(table, buf)
        write_bytes_atomic(path, buf.getvalue().to_pybytes(), "--out")
        return path

    # ------------------------------------------------------------------ reading

    def _read(self, columns: list[str] | None = None):
        import pyarrow as pa

        schema = self.schema()
        if columns is not None:
            schema = pa.schema([schema.field(c) for c in columns])
        tables = [self._read_chunk(p, columns, schema) for p in self.chunk_paths()]
        return pa.concat_tables(tables) if tables else schema.empty_table()

    def _read_chunk(self, path: Path, columns: list[str] | None, schema):
        """One chunk; a damaged one stops the command with one line saying what to do.

        Chunks are renamed into place only when whole, so a damaged one was broken outside
        the sweep (a full disk during a copy, a cut transfer). Its runs are not skipped
        silently: the user moves it aside, and a resumed sweep redoes exactly those runs.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            # A column the chunk lacks would be read as nulls: runs counted that hold nothing.
            present = set(pq.read_schema(path).names)
            missing = [name for name in schema.names if name not in present]
            if missing:
                raise pa.ArrowInvalid(f"no column {missing[0]!r}, written by another sweep?")
            return pq.read_table(path, columns=columns, schema=schema)
        except (pa.ArrowException, OSError) as err:
            # pyarrow's first sentence says what is wrong; the rest is advice that does not fit.
            detail = " ".join(str(err).split()).split(". ")[0] or type(err).__name__
            spec = self.manifest.get("spec_file") or "SPEC"
            raise UserInputError(
                f"{path}: damaged chunk, not readable as this sweep's Parquet ({detail}); "
                f"move it aside (mv {path} {path}.damaged) and run `outreach sweep {spec} "
                f"--out {self.folder}` again to redo its runs"
            ) from None

    def done(self) -> set[tuple[int, int]]:
        """The (point, replicate) pairs with a stored run."""
        table = self._read(["point", "replicate"])
        return set(
            zip(
                table.column("point").to_pylist(),
                table.column("replicate").to_pylist(),
                strict=True,
            )
        )

    def runs(self):
        """Every stored run, once each, sorted by point and replicate (a pandas DataFrame)."""
        df = self._read().to_pandas()
        df = df.drop_duplicates(["point", "replicate"], keep="first")
        return df.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)

    def status(self) -> dict[str, Any]:
        """Progress: runs done and to do, points complete, chunks and rows written."""
        table = self._read(["point", "replicate"])
        pairs = set(
            zip(
                table.column("point").to_pylist(),
                table.column("replicate").to_pylist(),
                strict=True,
            )
        )
        n_points = len(self.manifest["design"]["points"])
        reps = int(self.manifest["replicates"])
        per_point: dict[int, int] = {}
        for p, _ in pairs:
            per_point[p] = per_point.get(p, 0) + 1
        return {
            "name": self.manifest.get("name"),
            "design": self.manifest["design"]["kind"],
            "points": n_points,
            "replicates": reps,
            "runs_total": n_points * reps,
            "runs_done": len(pairs),
            "points_complete": sum(1 for c in per_point.values() if c >= reps),
            "chunks": len(self.chunk_paths()),
            "rows_written": table.num_rows,
            "duplicates": table.num_rows - len(pairs),
            "created": self.manifest.get("created"),
            "package_version": self.manifest.get("package_version"),
        }


def now_iso() -> str:
    """The current time, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


def manifest_for(spec, design) -> dict[str, Any]:
    """The manifest of a new sweep of ``spec`` over ``design``.

    Its ``identity`` hashes only what determines the results (the base scenario after
    ``[set]``, the design's points, replicates, root seed and metrics), so a renamed spec or an
    edited description resumes the same sweep, and any change that would alter a run does not.
    """
    import sim
    from sim.model.scenario import scenario_to_dict

    content = {
        "base_scenario": scenario_to_dict(spec.base),
        "design": design.to_dict(),
        "replicates": spec.replicates,
        "seed": spec.seed,
        "metrics": list(spec.metrics),
    }
    return {
        "format": 1,
        "name": spec.name,
        "description": spec.description,
        "spec_file": spec.source,
        "spec": spec.raw,
        "parameters": [
            {
                "key": p.key,
                "levels": None if p.levels is None else list(p.levels),
                "lo": p.lo,
                "hi": p.hi,
                "integer": p.integer,
            }
            for p in spec.parameters
        ],
        **content,
        "identity": sweep_identity(content),
        "package_version": sim.__version__,
        "created": now_iso(),
    }
