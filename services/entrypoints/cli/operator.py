"""Who ran a command (docs/contract.md section 12): the operating-system account, recorded on
the audit trail beside what the command did (`ran_by` of an acknowledgement, the actor of a
report read)."""

from __future__ import annotations

import getpass
import os


def os_user() -> str:
    try:
        return f"os:{getpass.getuser()}"
    except (KeyError, OSError):  # no name for this uid (a container): the number will do
        return f"os-uid:{os.getuid()}"
