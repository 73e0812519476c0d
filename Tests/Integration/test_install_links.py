"""scripts/setup-jail --install-links: sendmail, /usr/lib/sendmail, mailq and
newaliases as symbolic links to the postern binary; another MTA's files are
refused unless --force, which keeps them as NAME.postern-saved. And: nothing
in an installation is set-uid or set-gid.

Every test works under a /tmp prefix (the `jail` fixture), never on /usr.
The binary linked to is a copy of POSTERN_BIN installed at PREFIX/usr/sbin/postern
(setup-jail's default under a prefix): setup-jail refuses a binary that is not
root's or sits under a directory others may write, which the build directory
may well be."""

from __future__ import annotations

import os
import pathlib
import shutil
import stat
import subprocess

import pytest

from conftest import read_manifest, run_setup_jail

LINKS = ("/usr/sbin/sendmail", "/usr/lib/sendmail", "/usr/bin/mailq", "/usr/bin/newaliases")
SAVED = ".postern-saved"
FAKE_MTA = b"#!/bin/sh\necho 'another MTA'\n"


def install_binary(j, postern_bin: pathlib.Path, where: str = "/usr/sbin/postern") -> pathlib.Path:
    """A copy of postern_bin at PREFIX+where, root:root 0755 (parents root 0755)."""
    dest = j.path(where)
    parent = dest.parent
    missing = []
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    for d in reversed(missing):
        d.mkdir(mode=0o755)
        os.chown(d, 0, 0)
        os.chmod(d, 0o755)
    shutil.copyfile(postern_bin, dest)
    os.chown(dest, 0, 0)
    os.chmod(dest, 0o755)
    return dest


def put_fake_mta(j, name: str = "/usr/sbin/sendmail") -> pathlib.Path:
    p = j.path(name)
    p.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    p.write_bytes(FAKE_MTA)
    os.chmod(p, 0o755)
    return p


def install_links(j, *args: str) -> subprocess.CompletedProcess:
    return j.setup("--install-links", *args)


def lsnap(p: pathlib.Path) -> tuple:
    st = os.lstat(p)
    target = os.readlink(p) if stat.S_ISLNK(st.st_mode) else None
    return (st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_mtime_ns, st.st_size, target)


def tree_snapshot(root: pathlib.Path) -> dict[str, tuple]:
    result = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] + dirnames + filenames:
            p = pathlib.Path(dirpath, name) if name else pathlib.Path(dirpath)
            result[str(p)] = lsnap(p)
    return result


def assert_links_to(j, binary: pathlib.Path) -> None:
    for name in LINKS:
        p = j.path(name)
        assert p.is_symlink(), f"{p} is not a symbolic link"
        assert os.readlink(p) == str(binary), f"{p} -> {os.readlink(p)}"
        assert os.path.samefile(p, binary)


def output(result: subprocess.CompletedProcess) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


@pytest.fixture
def installed(jail, postern_bin):
    """A fresh jail with the postern binary at PREFIX/usr/sbin/postern, no links yet."""
    j = jail()
    binary = install_binary(j, postern_bin)
    return j, binary


# ---------------------------------------------------------------- installing


def test_links_created(installed):
    j, binary = installed
    result = install_links(j)
    assert result.returncode == 0, output(result)
    assert_links_to(j, binary)
    for name in LINKS:
        assert f"setup-jail: {j.path(name)} -> {binary}" in result.stdout.splitlines()
    # The parents it needed (under a prefix: root's, 0755), like the manifest's.
    for d in ("/usr", "/usr/lib", "/usr/bin", "/usr/sbin"):
        st = os.lstat(j.path(d))
        assert stat.S_ISDIR(st.st_mode)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o755), d
    check = run_setup_jail(j.prefix, "--check", "--install-links")
    assert check.returncode == 0, output(check)
    assert check.stdout.strip().splitlines()[-1] == "setup-jail: OK"


def test_plain_setup_leaves_usr_alone(jail):
    """Without --install-links nothing is put in /usr (or PREFIX/usr)."""
    j = jail()
    assert not j.path("/usr").exists()
    assert j.check().returncode == 0


def test_idempotent(installed):
    j, binary = installed
    assert install_links(j).returncode == 0
    before = tree_snapshot(j.prefix)
    result = install_links(j)
    assert result.returncode == 0, output(result)
    assert result.stdout.strip().splitlines() == ["setup-jail: done, 0 change(s)"]
    assert tree_snapshot(j.prefix) == before
    assert_links_to(j, binary)


def test_link_to_postern_through_another_link_is_kept(installed):
    """/usr/lib/sendmail -> ../sbin/sendmail (Debian's way) is postern's once
    /usr/sbin/sendmail is: left as it is."""
    j, binary = installed
    lib = j.path("/usr/lib/sendmail")
    lib.parent.mkdir(mode=0o755, parents=True)
    os.symlink("../sbin/sendmail", lib)
    result = install_links(j)
    assert result.returncode == 0, output(result)
    assert os.readlink(lib) == "../sbin/sendmail"
    assert os.path.samefile(lib, binary)
    assert run_setup_jail(j.prefix, "--check", "--install-links").returncode == 0


def test_two_links_to_each_other_are_not_postern(installed):
    j, binary = installed
    sbin, lib = j.path("/usr/sbin/sendmail"), j.path("/usr/lib/sendmail")
    lib.parent.mkdir(mode=0o755, parents=True)
    os.symlink("../lib/sendmail", sbin)
    os.symlink("../sbin/sendmail", lib)
    result = install_links(j)
    assert result.returncode == 1, output(result)
    assert f"{sbin}: is a symbolic link to ../lib/sendmail" in result.stderr
    result = install_links(j, "--force")
    assert result.returncode == 0, output(result)
    assert os.readlink(sbin) == str(binary)
    assert os.readlink(f"{sbin}{SAVED}") == "../lib/sendmail"
    assert os.readlink(lib) == "../sbin/sendmail"  # now through postern's sendmail
    assert os.path.samefile(lib, binary)


def test_binary_option(jail, postern_bin):
    j = jail()
    binary = install_binary(j, postern_bin, "/opt/postern/bin/postern")
    result = install_links(j, "--binary", str(binary))
    assert result.returncode == 0, output(result)
    assert_links_to(j, binary)
    assert not j.path("/usr/sbin/postern").exists()
    assert run_setup_jail(j.prefix, "--check", "--install-links", "--binary", str(binary)).returncode == 0
    # Audited against the default binary instead, every link is a drift.
    check = run_setup_jail(j.prefix, "--check", "--install-links")
    assert check.returncode == 1
    for name in LINKS:
        assert f"{j.path(name)}: a symbolic link to {binary}, expected a symbolic link to " \
               f"{j.path('/usr/sbin/postern')}" in check.stdout.splitlines(), check.stdout


# ---------------------------------------------------------------- another MTA


def test_refuses_another_mtas_sendmail(installed):
    j, binary = installed
    fake = put_fake_mta(j)
    before = tree_snapshot(j.prefix)
    result = install_links(j)
    assert result.returncode != 0, output(result)
    assert result.returncode == 1, output(result)
    assert f"{fake}: is a regular file" in result.stderr
    assert "--force" in result.stderr
    assert "no link installed" in result.stderr
    # Untouched, and all or nothing: not one of the other links either. The
    # only change: the parents the other links need (root 0755, empty).
    assert fake.read_bytes() == FAKE_MTA
    after = tree_snapshot(j.prefix)
    new_dirs = {str(j.path("/usr/lib")), str(j.path("/usr/bin"))}
    assert set(after) - set(before) == new_dirs
    usr = str(j.path("/usr"))  # its mtime moved: the new directories are in it
    assert {k: v for k, v in after.items() if k not in new_dirs | {usr}} == \
           {k: v for k, v in before.items() if k != usr}
    for name in LINKS[1:]:
        assert not os.path.lexists(j.path(name)), name
    assert not os.path.lexists(f"{fake}{SAVED}")


def test_refuses_a_link_to_something_else(installed):
    j, binary = installed
    other = j.path("/usr/sbin/sendmail")
    other.parent.mkdir(mode=0o755, exist_ok=True)
    os.symlink("/etc/alternatives/sendmail", other)  # dangling here: still someone's
    result = install_links(j)
    assert result.returncode == 1, output(result)
    assert f"{other}: is a symbolic link to /etc/alternatives/sendmail" in result.stderr
    assert os.readlink(other) == "/etc/alternatives/sendmail"


def test_check_reports_another_mta(installed):
    j, binary = installed
    fake = put_fake_mta(j, "/usr/bin/mailq")
    result = run_setup_jail(j.prefix, "--check", "--install-links")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert f"{fake}: a regular file, expected a symbolic link to {binary}" in lines
    assert f"{j.path('/usr/sbin/sendmail')}: missing" in lines
    assert fake.read_bytes() == FAKE_MTA


def test_force_moves_it_aside(installed):
    j, binary = installed
    fake = put_fake_mta(j)
    inode = fake.stat().st_ino
    result = install_links(j, "--force")
    assert result.returncode == 0, output(result)
    saved = pathlib.Path(f"{fake}{SAVED}")
    assert f"setup-jail: moved {fake} (a regular file) aside to {saved}" in result.stdout.splitlines()
    assert saved.read_bytes() == FAKE_MTA
    assert saved.stat().st_ino == inode and stat.S_IMODE(saved.stat().st_mode) == 0o755
    assert_links_to(j, binary)
    # Then it is an ordinary installation: a rerun changes nothing.
    again = install_links(j, "--force")
    assert again.stdout.strip().splitlines() == ["setup-jail: done, 0 change(s)"], output(again)
    assert saved.read_bytes() == FAKE_MTA


def test_force_keeps_a_foreign_link_as_a_link(installed):
    j, binary = installed
    other = j.path("/usr/bin/newaliases")
    other.parent.mkdir(mode=0o755, parents=True)
    os.symlink("../sbin/sendmail.exim", other)
    result = install_links(j, "--force")
    assert result.returncode == 0, output(result)
    assert os.readlink(f"{other}{SAVED}") == "../sbin/sendmail.exim"
    assert_links_to(j, binary)


def test_force_never_overwrites_a_saved_file(installed):
    j, binary = installed
    fake = put_fake_mta(j)
    saved = pathlib.Path(f"{fake}{SAVED}")
    saved.write_bytes(b"saved earlier\n")
    result = install_links(j, "--force")
    assert result.returncode == 1, output(result)
    assert f"{saved} exists already" in result.stderr
    assert fake.read_bytes() == FAKE_MTA
    assert saved.read_bytes() == b"saved earlier\n"
    for name in LINKS[1:]:
        assert not os.path.lexists(j.path(name)), name


def test_force_never_replaces_a_directory(installed):
    j, binary = installed
    d = j.path("/usr/lib/sendmail")
    d.mkdir(mode=0o755, parents=True)
    result = install_links(j, "--force")
    assert result.returncode == 1, output(result)
    assert "is a directory" in result.stderr
    assert d.is_dir() and not d.is_symlink()
    assert not os.path.lexists(j.path("/usr/sbin/sendmail"))


# ---------------------------------------------------------------- the binary


@pytest.mark.parametrize("what", ["missing", "group-writable", "setuid", "setgid", "not-root", "open-directory"])
def test_unsafe_binary_refused(installed, what):
    """Root runs whatever sendmail points to: a binary others could replace,
    or one that is set-id, is refused (exit 2) before anything changes."""
    j, binary = installed
    if what == "missing":
        binary.unlink()
    elif what == "group-writable":
        os.chmod(binary, 0o775)
    elif what == "setuid":
        os.chmod(binary, 0o4755)
    elif what == "setgid":
        os.chmod(binary, 0o2755)
    elif what == "not-root":
        os.chown(binary, 65534, -1)
    elif what == "open-directory":
        os.chmod(binary.parent, 0o777)
    before = tree_snapshot(j.prefix)
    result = install_links(j, "--force")
    assert result.returncode == 2, output(result)
    assert f"not linking to {binary}" in result.stderr
    assert tree_snapshot(j.prefix) == before
    check = run_setup_jail(j.prefix, "--check", "--install-links")
    assert check.returncode == 1
    assert any(line.startswith(f"{binary}: ") for line in check.stdout.splitlines()), check.stdout


@pytest.mark.parametrize(
    "args",
    [["--force"], ["--binary", "/usr/sbin/postern"], ["--install-links", "--binary", "relative/postern"],
     ["--install-links", "--force", "--check"]],
)
def test_bad_link_arguments(jail, args):
    j = jail()
    result = j.setup(*args)
    assert result.returncode == 2, output(result)
    assert not j.path("/usr").exists()


# ---------------------------------------------------------------- no set-id file


def setid_findings(root: pathlib.Path, setgid_dirs: set[str]) -> list[str]:
    """Every set-uid or set-gid path under root (symbolic links not followed:
    a link has no mode of its own; what it points to is checked where it is).

    Directories are judged differently from files. A set-id bit on a file is
    a privilege: whoever runs it gets the owner's uid or group. On a
    directory the set-gid bit grants nothing; it only makes new entries
    inherit the directory's group (/var/mail is root:mail 2775 so that new
    mboxes get the mail group). So a directory may be set-gid where the
    manifest says so; set-uid (meaningless on a Linux directory) never."""
    found = []
    paths = [str(root)]
    for dirpath, dirnames, filenames in os.walk(root):
        paths += [os.path.join(dirpath, name) for name in dirnames + filenames]
    for p in paths:
        if True:
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                continue
            bits = st.st_mode & (stat.S_ISUID | stat.S_ISGID)
            if not bits:
                continue
            if stat.S_ISDIR(st.st_mode) and bits == stat.S_ISGID and p in setgid_dirs:
                continue
            found.append(f"{p}: mode {stat.S_IMODE(st.st_mode):04o}")
    return found


def manifest_setgid_dirs(prefix: pathlib.Path) -> set[str]:
    return {str(e.under(prefix)) for e in read_manifest() if e.kind != "file" and e.mode & 0o2000}


def assert_no_setid(j, binary: pathlib.Path, postern_bin: pathlib.Path) -> None:
    assert setid_findings(j.prefix, manifest_setgid_dirs(j.prefix)) == []
    # The binary itself (the tested build, and the copy the links point to)
    # and whatever each link resolves to.
    targets = [postern_bin, binary] + [j.path(name) for name in LINKS]
    for t in targets:
        st = os.stat(t)
        assert stat.S_ISREG(st.st_mode), t
        assert not st.st_mode & (stat.S_ISUID | stat.S_ISGID), f"{t}: mode {stat.S_IMODE(st.st_mode):04o}"


def test_no_setuid_or_setgid_file_in_an_installation(installed, postern_bin):
    j, binary = installed
    result = install_links(j)
    assert result.returncode == 0, output(result)
    assert_no_setid(j, binary, postern_bin)
    # Only /var/mail is set-gid, and it is a directory.
    assert manifest_setgid_dirs(j.prefix) == {str(j.mail_dir)}


def test_setid_walk_finds_a_setuid_file(installed, postern_bin):
    """The walk above is not blind: a set-uid file and a set-gid directory
    the manifest does not list are both found."""
    j, binary = installed
    f = j.path("/etc/postern/smrsh/prog")
    f.write_bytes(b"#!/bin/sh\n")
    os.chmod(f, 0o4755)
    d = j.path("/var/lib/postern/x")
    d.mkdir()
    os.chmod(d, 0o2755)
    found = setid_findings(j.prefix, manifest_setgid_dirs(j.prefix))
    assert sorted(found) == sorted([f"{f}: mode 4755", f"{d}: mode 2755"])


# ---------------------------------------------------------------- with the daemon
# These need the daemon to know DropDirectory (the lead's half of local
# submission): until it does, `postern check` refuses the postern.conf that
# setup-jail now writes, and these fail.


def test_postern_check_accepts_the_written_config(jail, postern_bin):
    j = jail()
    result = subprocess.run([str(postern_bin), "check", "--config", str(j.config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, output(result)
    assert str(j.drop_dir) in result.stdout


def test_no_setid_file_once_the_daemon_runs(start_daemon, postern_bin):
    """Run time adds the pid file, the control sockets and spool files: none
    of them set-id either."""
    from daemon import TEST_USERS, make_message, unique_token

    d = start_daemon()
    j = d.jail
    binary = install_binary(j, postern_bin)
    assert install_links(j).returncode == 0
    token = unique_token()
    d.send([f"{TEST_USERS[0]}@{j.domain}"], make_message(token))
    d.wait_for_mbox(TEST_USERS[0], lambda text: token in text)
    assert_no_setid(j, binary, postern_bin)
    assert d.stop() == 0
