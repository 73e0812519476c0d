# shellcheck shell=bash
# Helpers shared by scripts/run and scripts/test (sourced, never run).
# scripts/setup-jail does not use it: it stays self-contained.

# The repository root, whatever the caller's cwd.
POSTERN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export POSTERN_ROOT

# What the build needs from Debian (Package.swift's system libraries).
# shellcheck disable=SC2034  # used by the scripts that source this file
BUILD_PACKAGES=(libssl-dev libsasl2-dev libsasl2-modules libsasl2-modules-db libcap-dev zlib1g-dev pkg-config openssl)

say() { printf '%s: %s\n' "${PROG:-postern}" "$*" >&2; }
die() { say "$*"; exit 2; }

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# ensure_packages PKG...: apt-get update and install, only when some are missing.
ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        say "no dpkg-query: not a Debian system, not checking for: $*"
        return 0
    fi
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ $EUID -ne 0 ]]; then
        say "missing packages: ${missing[*]} (run as root, or apt-get install them)"
        return 1
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

require_swift() {
    # The toolchain lives in /opt/swift on the project's machines.
    if ! command -v swift >/dev/null 2>&1 && [[ -x /opt/swift/usr/bin/swift ]]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 \
        || die "swift is not on PATH (install the Swift 6 toolchain from swift.org)"
}

# ensure_pytest: pip-install pytest if python3 cannot run it.
ensure_pytest() {
    python3 -m pytest --version >/dev/null 2>&1 && return 0
    if ! python3 -m pip --version >/dev/null 2>&1; then
        ensure_packages python3-pip || return 1
    fi
    say "installing pytest with pip"
    python3 -m pip install --quiet pytest 2>/dev/null \
        || python3 -m pip install --quiet --break-system-packages pytest
    python3 -m pytest --version >/dev/null 2>&1
}
