"""Small file systems for the tests that fill one up (a mail directory,
the spool): a tmpfs mounted over a directory of a jail, owned as that
directory must be, and unmounted afterwards."""

from __future__ import annotations

import os
import pathlib
import subprocess

import pytest


def mount_tmpfs(path: pathlib.Path, size: str, mode: int, uid: int = 0, gid: int = 0) -> None:
    """Mounts a tmpfs of `size` (e.g. "256k") over `path`; skips the test
    where mounting is not possible."""
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode={mode:o}", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    os.chown(path, uid, gid)


def unmount(path: pathlib.Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)
