#!/bin/sh
# `meson install` into a scratch DESTDIR: the three programs, the bash
# completion where bash-completion looks for it, and every file:// page the
# systemd units name in Documentation= (under this build's prefix).
set -eu
build="${ALYS_BUILD_DIR:?ALYS_BUILD_DIR is not set}"
root="${ALYS_SOURCE_ROOT:?ALYS_SOURCE_ROOT is not set}"
dest="$(mktemp -d /tmp/alys-install-XXXXXX)"
trap 'rm -rf "$dest"' EXIT INT TERM

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$dest.log" 2>&1 \
    || { cat "$dest.log"; rm -f "$dest.log"; echo "FAIL: meson install"; exit 1; }
rm -f "$dest.log"
prefix="$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "prefix") | .value')"
datadir="$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "datadir") | .value')"
bindir="$(meson introspect "$build" --buildoptions | jq -r '.[] | select(.name == "bindir") | .value')"

failed=0
check() {
    if [ -f "$dest$1" ]; then echo "ok: $1"; else echo "FAIL: $1 is not installed"; failed=1; fi
}
for program in alys-engine alys-supervisor alys-engine-cli; do
    check "$prefix/$bindir/$program"
done
check "$prefix/$datadir/bash-completion/completions/alys-engine-cli"
found=0
for page in $(sed -n 's|^Documentation=.*file://\([^ ]*\).*|\1|p' "$root"/deploy/systemd/*.service | sort -u); do
    found=1
    case "$page" in
        "$prefix"/*) check "$page" ;;
        *) echo "FAIL: Documentation=file://$page is outside the install prefix $prefix"; failed=1 ;;
    esac
done
[ "$found" = 1 ] || { echo "FAIL: no Documentation=file:// in the units"; failed=1; }
exit "$failed"
