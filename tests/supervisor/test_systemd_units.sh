#!/bin/sh
# Checks the systemd files in deploy/: every unit passes `systemd-analyze
# verify` without a single complaint, alys-supervisor.service rates 1.2 or
# lower in `systemd-analyze security --offline=yes`, the sysusers.d file
# parses, and the example supervisor configuration is valid.
#
# verify insists that each ExecStart= program exists, so the units are
# checked as copies in which alys-supervisor points at the build and each
# execution client that is not installed here at a stand-in script; the
# rest of each unit is verified as written.
#
# Exits 77 (skipped) when systemd-analyze is not installed.
set -eu

root="${ALYS_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}"
supervisor="${ALYS_SUPERVISOR_BIN:-$root/build/supervisor/alys-supervisor}"
units="$root/deploy/systemd"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze is not installed (Debian: apt-get install systemd)"
    exit 77
fi
if [ ! -x "$supervisor" ]; then
    echo "FAIL: $supervisor is not built"
    exit 1
fi

tmp="$(mktemp -d /tmp/alys-units-XXXXXX)"
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/units" "$tmp/bin"

# Stand-ins for the programs that are not installed on this machine.
for program in $(sed -n 's/^Exec[A-Za-z]*=[-@:+!]*\([^ ]*\).*/\1/p' "$units"/*.service | sort -u); do
    case "$program" in
        /usr/local/bin/alys-supervisor) continue ;;
    esac
    if [ ! -x "$program" ]; then
        stand_in="$tmp/bin/$(echo "$program" | tr / _)"
        printf '#!/bin/sh\nexit 0\n' > "$stand_in"
        chmod +x "$stand_in"
        echo "$program $stand_in" >> "$tmp/replacements"
    fi
done

failed=0
for unit in "$units"/*.service; do
    name="$(basename "$unit")"
    copy="$tmp/units/$name"
    sed "s|/usr/local/bin/alys-supervisor|$supervisor|g" "$unit" > "$copy"
    if [ -f "$tmp/replacements" ]; then
        while read -r program stand_in; do
            sed -i "s|$program\\([ \\\\]\\)|$stand_in\\1|g; s|$program\$|$stand_in|g" "$copy"
        done < "$tmp/replacements"
    fi
    out="$(cd "$tmp/units" && systemd-analyze verify "$copy" 2>&1)" && rc=0 || rc=$?
    # Only complaints about our own files count; a container without a
    # running systemd may add unrelated noise.
    ours="$(printf '%s\n' "$out" | grep -F "$name" || true)"
    if [ "$rc" -ne 0 ] || [ -n "$ours" ]; then
        echo "FAIL: $name (exit status $rc)"
        printf '%s\n' "$out" | sed 's/^/    /'
        failed=1
    else
        echo "ok: $name"
    fi
done

# The main unit keeps the properties the supervisor relies on.
for want in 'Type=notify' 'NotifyAccess=main' 'KillMode=mixed' 'WatchdogSec=' \
            'Restart=on-failure' 'StartLimitIntervalSec=' 'StartLimitBurst=' \
            'NoNewPrivileges=yes' 'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
            'RuntimeDirectory=alys' 'StateDirectory=alys' 'User=alys' 'IPAddressDeny=any' \
            'ProcSubset=pid' 'PrivateMounts=yes' 'RemoveIPC=yes'; do
    if ! grep -q "^$want" "$units/alys-supervisor.service"; then
        echo "FAIL: alys-supervisor.service lacks $want"
        failed=1
    fi
done

# The main unit's exposure, as systemd rates it: 1.2 or lower. The hardening
# the score rewards (IPAddressDeny, SystemCallFilter=~@privileged @resources,
# PrivateMounts, ProcSubset, RemoveIPC, ...) must not be dropped silently.
exposure_max=1.2
if out="$(systemd-analyze security --offline=yes "$units/alys-supervisor.service" 2>&1)"; then
    score="$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
    if [ -z "$score" ]; then
        echo "FAIL: systemd-analyze security printed no exposure level"
        printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
        failed=1
    elif awk -v s="$score" -v m="$exposure_max" 'BEGIN { exit !(s <= m) }'; then
        echo "ok: alys-supervisor.service exposure $score (at most $exposure_max)"
    else
        echo "FAIL: alys-supervisor.service exposure $score, above $exposure_max; what counts:"
        printf '%s\n' "$out" | grep '✗' | sed 's/^/    /'
        failed=1
    fi
else
    echo "FAIL: systemd-analyze security --offline=yes failed"
    printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
    failed=1
fi

if command -v systemd-sysusers >/dev/null 2>&1; then
    mkdir -p "$tmp/root/etc"
    if out="$(systemd-sysusers --root="$tmp/root" "$units/alys.sysusers.conf" 2>&1)" \
        && grep -q '^alys:' "$tmp/root/etc/passwd"; then
        echo "ok: alys.sysusers.conf"
    else
        echo "FAIL: alys.sysusers.conf"
        printf '%s\n' "$out" | sed 's/^/    /'
        failed=1
    fi
else
    echo "note: systemd-sysusers not installed, alys.sysusers.conf not checked"
fi

# --check also wants each program to be executable: the installed path is
# replaced by the build's actor, as the units' programs are above.
engine="${ALYS_ENGINE_BIN:-$root/build/actors/engine/alys-engine}"
sed "s|/usr/local/bin/alys-engine|$engine|g" "$root/deploy/alys-supervisor.conf" > "$tmp/alys-supervisor.conf"
if "$supervisor" --config "$tmp/alys-supervisor.conf" --check; then
    echo "ok: alys-supervisor.conf"
else
    echo "FAIL: deploy/alys-supervisor.conf"
    failed=1
fi
exit "$failed"
