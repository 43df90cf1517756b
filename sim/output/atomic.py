"""Every file the package writes goes through here, atomically.

A file is written to a hidden temporary file beside its target and renamed over it
(``os.replace``), so a reader sees the old file or the whole new one, never half of it, whatever
stops the writer. A folder of files (a report) is built in a hidden temporary folder and moved
in the same way. Each problem is one line naming the option (or what is written) and the path,
raised as :class:`~sim.errors.UserInputError`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from sim.errors import UserInputError

__all__ = [
    "atomic_path",
    "check_folder_writable",
    "check_writable",
    "temp_folder_beside",
    "write_bytes_atomic",
    "write_folder_atomic",
    "write_text_atomic",
]


def _parent(path: Path) -> Path:
    return path.parent if str(path.parent) else Path(".")


def _no_folder(what: str, path: Path, folder: Path) -> UserInputError:
    """The error for a missing folder, or a file where the folder or one above it should be."""
    for above in (folder, *folder.parents):
        if above.exists():
            if not above.is_dir():
                return UserInputError(f"{what} {path}: {above} is a file, not a folder")
            break
    return UserInputError(f"{what} {path}: folder {folder} does not exist")


def _shared_mode(base: int = 0o666) -> int:
    """``base`` less the process's umask: the mode ``open()`` would give a new file.

    ``tempfile`` makes its files private (0600) and its folders 0700; a written result is for
    sharing like any file the user makes, so it gets the mode the user's umask asks for.
    """
    # The umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return base & ~mask


def _cannot_write(what: str, path: Path, err: OSError) -> UserInputError:
    return UserInputError(f"{what} {path}: cannot write there ({err.strerror})")


def _temp_beside(path: Path, what: str) -> tuple[int, str]:
    """A new hidden temporary file in ``path``'s folder: (descriptor, name)."""
    folder = _parent(path)
    if not folder.is_dir():
        raise _no_folder(what, path, folder)
    if path.is_dir():
        raise UserInputError(f"{what} {path}: is a folder; give a file name")
    try:
        return tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise _cannot_write(what, path, err) from None


def check_writable(path: str | Path, what: str = "--json") -> None:
    """Fail early, before any work, if the file ``path`` cannot be written; leaves nothing behind.

    Args:
        path: the file to be written later.
        what: the option or thing that names it in a message (``--json``, ``--plot``).

    Raises:
        UserInputError: the folder does not exist or cannot be written, or ``path`` is a folder.
    """
    fd, tmp = _temp_beside(Path(path), what)
    os.close(fd)
    os.unlink(tmp)


def write_bytes_atomic(path: str | Path, data: bytes, what: str = "--json") -> None:
    """Write ``data`` to ``path`` through a temporary file beside it; never a half-written file.

    The data reach the disk (``fsync``) before the file gets its name, so even a crash of the
    machine leaves the old file or the whole new one.

    Args:
        path: the file to write (replaced if it exists).
        data: its whole content.
        what: the option or thing that names it in a message.

    Raises:
        UserInputError: the folder does not exist or cannot be written, or ``path`` is a folder.
    """
    with atomic_path(path, what) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_path(path: str | Path, what: str = "--json") -> Iterator[Path]:
    """A temporary file beside ``path`` for a writer that takes a file name.

    On leaving the block normally the file reaches the disk and takes ``path``'s name; on an
    exception (Ctrl-C included) it is removed, so ``path`` is whole or untouched.

    Raises:
        UserInputError: the folder does not exist or cannot be written, or ``path`` is a folder.
    """
    path = Path(path)
    fd, tmp = _temp_beside(path, what)
    os.close(fd)
    try:
        os.chmod(tmp, _shared_mode())
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(what, path, err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temp_folder_beside(path: str | Path, what: str = "--json") -> Path:
    """A new hidden folder beside ``path``, for parts of it written before it is joined.

    Raises:
        UserInputError: the folder cannot be made there.
    """
    path = Path(path)
    try:
        return Path(tempfile.mkdtemp(dir=_parent(path), prefix=f".{path.name}.parts."))
    except OSError as err:
        raise _cannot_write(what, path, err) from None


def write_text_atomic(path: str | Path, text: str, what: str = "--json") -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; see :func:`write_bytes_atomic`.

    Raises:
        UserInputError: the folder does not exist or cannot be written, or ``path`` is a folder.
    """
    write_bytes_atomic(path, text.encode("utf-8"), what)


def check_folder_writable(out: str | Path, what: str = "--out") -> None:
    """Fail before any work if the folder ``out`` cannot be made or written; leaves nothing.

    Args:
        out: a folder to write into, existing or to be made (its parent must exist).
        what: the option that names it in a message.

    Raises:
        UserInputError: the path is a file, its parent folder does not exist, or it cannot be
            written.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserInputError(f"{what} {out}: is a file, not a folder")
    target = out if out.is_dir() else _parent(out)
    if not target.is_dir():
        raise _no_folder(what, out, target)
    try:
        tempfile.TemporaryDirectory(dir=target).cleanup()
    except OSError as err:
        raise _cannot_write(what, out, err) from None


def write_folder_atomic(
    out: str | Path, files: Mapping[str, bytes], what: str = "--out"
) -> list[Path]:
    """Write ``files`` (name -> content) into the folder ``out``, made if missing.

    Everything is written into a hidden temporary folder first and moved in at the end: a new
    folder is renamed into place whole; into an existing one each file is renamed over its old
    version. A failure leaves no half-written file and removes the temporary folder.

    Args:
        out: the folder (its parent must exist).
        files: file names (no folders) and their contents.
        what: the option that names the folder in a message.

    Returns:
        The paths written, in the order of ``files``.

    Raises:
        UserInputError: the folder cannot be made or written.
    """
    out = Path(out)
    check_folder_writable(out, what)
    try:
        tmp = Path(
            tempfile.mkdtemp(
                dir=out if out.is_dir() else _parent(out), prefix=f".{out.name or 'out'}."
            )
        )
        tmp.chmod(_shared_mode(0o777))  # mkdtemp makes it private; results are for sharing
    except OSError as err:
        raise _cannot_write(what, out, err) from None
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)  # open() follows the umask
        if out.is_dir():
            for name in files:
                os.replace(tmp / name, out / name)
            tmp.rmdir()
        else:
            os.rename(tmp, out)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _cannot_write(what, out, err) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / name for name in files]
