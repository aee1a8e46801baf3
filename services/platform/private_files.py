"""The data folder (`FOLLOWUP_DATA_DIR`: the SQLite database and its write-ahead log, the mail
outbox, the embedded Redis files, lock files) names people and cases: it is its owner's alone,
files 0600 and directories 0700, while a file the user names with `-o FILE` gets the mode any
other tool's output would (docs/contract.md, section 11, "Safe outputs, mail and logs")."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_UMASK = 0o077
_user_umask: int | None = None  # the umask the process started with, for the user's files


def keep_private() -> None:
    """From now on this process, and every process it starts (embedded Redis, workers),
    creates files 0600 and directories 0700. The `followup` command calls it first."""
    global _user_umask
    previous = os.umask(PRIVATE_UMASK)
    if _user_umask is None:
        _user_umask = previous


def make_data_dir(path: Path) -> None:
    """Create the data folder 0700 if it is missing; one that exists is left as it is."""
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return
    path.chmod(0o700)  # whatever the umask of a caller that did not call keep_private


def write_user_file(path: Path, content: str | bytes) -> None:
    """Write a file the user asked for by name: a new one gets the mode their own umask
    gives, an existing one keeps its mode."""
    data = content.encode() if isinstance(content, str) else content
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
    else:
        umask = _user_umask if _user_umask is not None else _current_umask()
        os.fchmod(handle, 0o666 & ~umask)
    with os.fdopen(handle, "wb") as out:
        out.write(data)


def _current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
