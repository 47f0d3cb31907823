#!/usr/bin/env bash
# Packaging checks, run by .ci/run after the tests (needs the debug binary they built):
#   1. systemd-analyze verify on every unit (copies pointed at the built binary), and the
#      `systemd-analyze security` exposure of each service, which must stay <= MAX_EXPOSURE;
#   2. man pages and completions generated from src/cli.rs (src/bin/gen-assets.rs, the
#      gen-assets feature), as root in the release build the .deb is then made from;
#   3. the .deb built with cargo-deb, installed with dpkg -i, its units verified in place,
#      `logwarden validate` run on the installed /etc/logwarden/config.yaml, then purged.
#   4. the RPMs: the openSUSE spec built with rpmbuild from tarballs, offline, as OBS does,
#      and the cargo-generate-rpm package, both checked with rpm -qlp/-qcp/--scripts
#      (packaging/rpm.sh).
# The logrotate stanza is tested by `cargo test` (tests/it/packaging.rs) with the real logrotate.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}
target=${CARGO_TARGET_DIR:-target}
target=$(mkdir -p "$target" && cd "$target" && pwd)
bin=$target/debug/logwarden
say() { printf '\n== packaging: %s\n' "$*"; }

root=false
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then root=true; fi
if $root; then
    # systemd-analyze; dpkg-shlibdeps, which cargo-deb uses for the Depends line.
    need=()
    command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
    command -v dpkg-shlibdeps >/dev/null 2>&1 || need+=(dpkg-dev)
    if [ ${#need[@]} -gt 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
fi

[ -x "$bin" ] || cargo build --locked
say "systemd-analyze verify (units pointed at $bin)"
units=$(mktemp -d)
trap 'rm -rf "$units"' EXIT
for u in packaging/systemd/*.service packaging/systemd/*.timer packaging/systemd/watch/*.service \
    packaging/systemd/watch/*.socket; do
    sed "s#/usr/bin/logwarden#$bin#g" "$u" > "$units/$(basename "$u")"
done
# --man=no: the man pages are not installed yet (they are checked after the .deb below).
systemd-analyze verify --man=no "$units"/*
echo "all units verified"

say "systemd-analyze security --offline=yes"
for u in "$units"/*.service; do
    score=$(systemd-analyze security --offline=yes "$u" 2>&1 \
        | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    echo "$(basename "$u"): exposure $score (at most $MAX_EXPOSURE)"
    [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }' || {
        echo "packaging: $(basename "$u") is more exposed than $MAX_EXPOSURE" >&2
        exit 1
    }
done

# The release profile's thin LTO and codegen-units=1 make the binary a little faster and its
# build minutes slower; the .deb built here is installed, checked and purged, never shipped,
# so it is built with cargo's defaults (DEB_RELEASE_PROFILE=1 keeps Cargo.toml's), as
# packaging/rpm.sh builds the spec. Given to each release build below alike, never
# exported: cargo-deb's build must find the one before it fresh, and rpmbuild must not
# inherit it.
release_env=()
if [ -z "${DEB_RELEASE_PROFILE:-}" ]; then
    release_env=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)
fi

say "man pages and completions from src/cli.rs"
rm -rf "$target/release/assets"    # no stale page of a command that is gone
if $root; then
    # The release build cargo-deb makes below (its metadata enables the same feature, and
    # the environment is the same), so the crate is compiled once for the generator and
    # the packages.
    env ${release_env[@]+"${release_env[@]}"} cargo build --locked --quiet --release --features gen-assets
    "$target/release/logwarden-gen-assets" "$target/release/assets"
else
    cargo run --locked --quiet --features gen-assets --bin logwarden-gen-assets -- "$target/release/assets"
fi

if ! $root; then
    echo "packaging: SKIPPED the .deb and the RPMs (needs root and apt-get)"
    [ -z "${CI:-}" ] || { echo "packaging: under CI (CI set) the .deb and the RPMs must be built" >&2; exit 1; }
    exit 0
fi

say "cargo-deb"
command -v cargo-deb >/dev/null 2>&1 || cargo install cargo-deb --locked --quiet
deb=$(env ${release_env[@]+"${release_env[@]}"} cargo deb --locked | tail -n 1)
case $deb in *.deb) ;; *) echo "packaging: cargo deb printed no .deb path: $deb" >&2; exit 1 ;; esac
echo "built $deb"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb" | tee "$units/contents"
# Exactly the four units; nothing in /etc but the policy.
[ "$(grep -c '/systemd/system/logwarden.*\.\(service\|timer\|socket\)$' "$units/contents")" = 4 ] \
    || { echo "packaging: expected exactly 4 units in the .deb" >&2; exit 1; }
[ "$(grep -c '^-.* \./etc/' "$units/contents")" = 1 ] \
    || { echo "packaging: expected only /etc/logwarden/config.yaml under /etc" >&2; exit 1; }
# The tool alone in /usr/bin: the man page generator is built beside it, never shipped.
[ "$(grep '^-.* \./usr/bin/' "$units/contents" | sed 's/.* //')" = ./usr/bin/logwarden ] \
    || { echo "packaging: expected only /usr/bin/logwarden under /usr/bin" >&2; exit 1; }

say "dpkg -i"
dpkg -i "$deb"
trap 'dpkg --purge logwarden >/dev/null 2>&1 || true; rm -rf "$units"' EXIT
dpkg-query -W -f='${Conffiles}\n' logwarden | grep -q ' /etc/logwarden/config.yaml ' \
    || { echo "packaging: /etc/logwarden/config.yaml is not a conffile" >&2; exit 1; }
for f in /usr/bin/logwarden /etc/logwarden/config.yaml /usr/lib/systemd/system/logwarden.service \
    /usr/lib/systemd/system/logwarden.timer /usr/lib/systemd/system/logwarden-watch.service \
    /usr/lib/systemd/system/logwarden-watch.socket \
    /usr/share/doc/logwarden/examples/logrotate /usr/share/bash-completion/completions/logwarden; do
    [ -e "$f" ] || { echo "packaging: $f is not installed" >&2; exit 1; }
done
if [ -e /etc/logrotate.d/logwarden ]; then
    echo "packaging: the logrotate stanza must not be active by default" >&2
    exit 1
fi

say "systemd-analyze verify (installed units)"
man=--man=no
# Container images often drop man pages at install (dpkg path-exclude): check them only
# where they are really installed and man can read them.
if command -v man >/dev/null 2>&1 && man -w logwarden >/dev/null 2>&1; then man=--man=yes; fi
systemd-analyze verify "$man" /usr/lib/systemd/system/logwarden.service \
    /usr/lib/systemd/system/logwarden.timer /usr/lib/systemd/system/logwarden-watch.service \
    /usr/lib/systemd/system/logwarden-watch.socket
echo "installed units verified ($man)"

say "logwarden validate --config /etc/logwarden/config.yaml"
# The example names openSUSE's nginx user: on Debian that is a warning, not an error.
/usr/bin/logwarden validate --config /etc/logwarden/config.yaml
/usr/bin/logwarden --version

say "dpkg --purge"
# The state a service leaves (systemd's StateDirectory=, or `pipe`): purge removes it.
mkdir -p /var/lib/logwarden
printf '2026-12-01T00:00:00Z\tkernel\t1\tunix:/run/logwarden/x.sock\n' >/var/lib/logwarden/losses
dpkg --purge logwarden
[ ! -e /usr/bin/logwarden ] || { echo "packaging: purge left /usr/bin/logwarden" >&2; exit 1; }
[ ! -e /var/lib/logwarden ] || { echo "packaging: purge left /var/lib/logwarden" >&2; exit 1; }
trap 'rm -rf "$units"' EXIT

bash packaging/rpm.sh
echo "packaging: all checks passed"
