#!/usr/bin/env bash
# The RPMs, run by packaging/ci.sh after the .deb (root and apt-get: it installs rpm):
#   1. packaging/opensuse/logwarden.spec built with rpmbuild as the Open Build Service builds
#      it: from a tarball of the tracked files and a `cargo vendor` tarball only, offline,
#      with an empty CARGO_HOME and its own target dir (nothing reused from the tests'
#      build), `--nodeps` for openSUSE's build requirements, and openSUSE's macros that
#      Debian's rpm lacks (cargo-packaging's %cargo_build/%cargo_test, systemd-rpm-macros'
#      %service_*, %_unitdir, the doc dir, compressed man pages) given on the command line;
#   2. the `cargo generate-rpm` package, from the release binary cargo-deb built and the
#      man pages and completions packaging/ci.sh generated;
#   3. both checked with rpm -qlp (exactly the expected files), rpm -qcp (the policy is the
#      only configuration file, %config(noreplace)) and rpm -qp --scripts (the units'
#      scriptlets), and the spec's binary run from its payload (--version, validate).
# Nothing is installed: the .deb part installs and purges; rpm on Debian has no business
# owning /usr/bin. Run it alone with `bash packaging/rpm.sh` (as root, after packaging/ci.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
target=$(mkdir -p "$target" && cd "$target" && pwd)
assets=$target/release/assets
spec=packaging/opensuse/logwarden.spec
say() { printf '\n== packaging (rpm): %s\n' "$*"; }
fail() { echo "packaging (rpm): $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "packaging: SKIPPED the RPMs (needs root and apt-get)"
    [ -z "${CI:-}" ] || fail "under CI (CI set) the RPMs must be built"
    exit 0
fi
need=()
command -v rpmbuild >/dev/null 2>&1 || need+=(rpm)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v cpio >/dev/null 2>&1 || need+=(cpio)
if [ ${#need[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
[ -d "$assets/man" ] || fail "no $assets/man: run packaging/ci.sh (it generates the man pages)"

started=$SECONDS
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

name=logwarden
version=$(sed -n 's/^Version: *//p' "$spec")
crate_version=$(sed -n '0,/^version = "\(.*\)"$/s//\1/p' Cargo.toml)
[ "$version" = "$crate_version" ] || fail "$spec has Version $version, Cargo.toml $crate_version"

# What every package must hold, the doc dir apart: the man pages are the ones
# src/bin/gen-assets.rs generated (section from the file name), nothing under /etc but the
# policy, no /etc/logrotate.d (the stanza is an example).
expected_files() { # DOCDIR MAN_SUFFIX
    {
        printf '%s\n' /usr/bin/logwarden /etc/logwarden/config.yaml \
            /usr/lib/systemd/system/logwarden.service /usr/lib/systemd/system/logwarden.timer \
            /usr/lib/systemd/system/logwarden-watch.service \
            /usr/lib/systemd/system/logwarden-watch.socket \
            /usr/share/bash-completion/completions/logwarden \
            /usr/share/zsh/site-functions/_logwarden \
            /usr/share/fish/vendor_completions.d/logwarden.fish \
            "$1/README.md" "$1/examples/config.example.yaml" "$1/examples/logrotate" \
            "$1/examples/logwarden.rules.yml"
        for page in "$assets"/man/*; do
            page=${page##*/}
            echo "/usr/share/man/man${page##*.}/$page$2"
        done
    } | sort
}

# FILE DOCDIR MAN_SUFFIX EXTRA_DIRS: the file list (directories the package owns apart, they
# are EXTRA_DIRS), the configuration files and their flags.
check_rpm() {
    local rpm=$1 docdir=$2 man=$3 dirs=$4
    echo "-- rpm -qip"
    rpm -qip "$rpm"
    echo "-- rpm -qlp"
    rpm -qlp "$rpm" | tee "$work/list"
    # Directories are listed too; compare the files, then the directories on their own.
    rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" > "$work/modes"
    sed -n 's/^-[^ ]* //p' "$work/modes" | sort > "$work/files"
    expected_files "$docdir" "$man" > "$work/expected"
    diff -u "$work/expected" "$work/files" \
        || fail "$(basename "$rpm"): the file list differs from the expected one (-expected +rpm)"
    sed -n 's/^d[^ ]* //p' "$work/modes" | sort > "$work/dirs"
    printf '%s' "$dirs" | tr ' ' '\n' | sed '/^$/d' | sort > "$work/expected"
    diff -u "$work/expected" "$work/dirs" \
        || fail "$(basename "$rpm"): the directories it owns differ (-expected +rpm)"
    grep -qx -- '-rwxr-xr-x /usr/bin/logwarden' "$work/modes" \
        || fail "$(basename "$rpm"): /usr/bin/logwarden is not 0755"
    echo "-- rpm -qcp"
    [ "$(rpm -qcp "$rpm")" = /etc/logwarden/config.yaml ] \
        || fail "$(basename "$rpm"): the configuration files are not exactly /etc/logwarden/config.yaml"
    # c: %config, n: noreplace (an upgrade never overwrites the admin's policy).
    flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpm" \
        | sed -n 's# /etc/logwarden/config.yaml$##p')
    echo "/etc/logwarden/config.yaml: flags $flags"
    case $flags in *c*n* | *n*c*) ;; *) fail "$(basename "$rpm"): config.yaml is not %config(noreplace)" ;; esac
    echo "-- rpm -qp --scripts"
    rpm -qp --scripts "$rpm" | tee "$work/scripts"
}

# The part of `rpm -qp --scripts` output that is scriptlet KIND ("preinstall", ...).
scriptlet() { awk -v k="$1 scriptlet" 'index($0, k) == 1 { on = 1; next } /scriptlet/ { on = 0 } on' "$work/scripts"; }

say "sources as the Open Build Service gets them"
top=$work/rpmbuild
mkdir -p "$top/SOURCES"
# The tracked files as they are in the work tree (uncommitted edits included, so a change
# can be tried before it is committed), under logwarden-VERSION/ as tar_scm makes it.
git ls-files -z | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - --transform "s,^,$name-$version/," --owner=0 --group=0 \
        -czf "$top/SOURCES/$name-$version.tar.gz"
# The cargo_vendor service's tarball: vendor/ from Cargo.lock (its .cargo/config.toml is
# left out on purpose: %prep writes it, as it must for older tarballs).
mkdir "$work/vendored"
cargo vendor --locked --quiet --versioned-dirs "$work/vendored/vendor" >/dev/null
tar -C "$work/vendored" -cf - vendor | zstd -q -T0 -o "$top/SOURCES/vendor.tar.zst"
ls -l "$top/SOURCES"

say "rpmbuild -bb $spec (offline, from the tarballs)"
# openSUSE's macros, as cargo-packaging and systemd-rpm-macros define them there, minus
# `cargo auditable` (not in Debian). The %service_* stand-ins only name their arguments, so
# the scriptlets can be checked to register the right units at the right time.
cargo_bin=$(dirname "$(command -v cargo)")
cargo_env="CARGO_INCREMENTAL=0 CARGO_TARGET_DIR=%{_builddir}/%{buildsubdir}/target/"
defines=(
    --define "_topdir $top"
    --define "_unitdir /usr/lib/systemd/system"
    --define "_defaultdocdir /usr/share/doc/packages"
    --define "ext_man .gz"
    # As on openSUSE, the build-id links go with the debuginfo, not the package.
    --define "_build_id_links none"
    # Debian's brp-compress uses bash's `read -d` under #!/bin/sh (dash): run it with bash,
    # or the man pages stay uncompressed where openSUSE gzips them.
    --define "__brp_compress bash %{_rpmconfigdir}/brp-compress %{?_prefix}"
    --define "__cargo $cargo_env $cargo_bin/cargo"
    --define "__cargo_common_opts %{?_smp_mflags}"
    --define "cargo_build() %{__cargo} build %{__cargo_common_opts} --offline --release %*"
    --define "cargo_test() %{__cargo} test %{__cargo_common_opts} --offline --no-fail-fast %*"
)
for m in service_add_pre service_add_post service_del_preun service_del_postun; do
    defines+=(--define "$m() : openSUSE $m %*")
done
spec_started=$SECONDS
# A fresh CARGO_HOME: no registry cache, no user config; only the vendored crates exist.
# Nothing of the tests' build leaks in (no CARGO_TARGET_DIR, RUSTFLAGS or jobs of theirs).
# The one liberty taken: the release profile's codegen-units=1 and thin LTO make the binary
# a little faster and its build minutes slower; they change nothing in the package, so CI
# builds with cargo's defaults (RPM_RELEASE_PROFILE=1 keeps Cargo.toml's, as on OBS).
profile=()
if [ -z "${RPM_RELEASE_PROFILE:-}" ]; then
    profile=(CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16)
fi
# %check runs the unit tests, which `cargo test` ran minutes before in the same CI job: CI
# skips it to stay within its time (a third compile of the crate); RPM_CHECK=1 runs it.
check=(--nocheck)
if [ -n "${RPM_CHECK:-}" ]; then check=(); fi
env -u CARGO_TARGET_DIR -u CARGO_BUILD_TARGET_DIR -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS \
    CARGO_HOME="$work/cargo-home" ${profile[@]+"${profile[@]}"} \
    rpmbuild -bb --nodeps ${check[@]+"${check[@]}"} "${defines[@]}" "$spec" > "$work/rpmbuild.log" 2>&1 || {
    tail -n 80 "$work/rpmbuild.log" >&2
    fail "rpmbuild failed (the last lines above)"
}
grep -E '^(Wrote|Executing|Processing files|Checking for unpackaged)' "$work/rpmbuild.log" || true
spec_time=$((SECONDS - spec_started))
rpms=("$top"/RPMS/*/"$name-$version"-*.rpm)
[ ${#rpms[@]} = 1 ] && [ -f "${rpms[0]}" ] || fail "expected one binary rpm, got: ${rpms[*]}"
spec_rpm=${rpms[0]}
echo "built $spec_rpm in ${spec_time}s"

say "check $(basename "$spec_rpm")"
docdir=/usr/share/doc/packages/$name
check_rpm "$spec_rpm" "$docdir" .gz "/etc/logwarden $docdir $docdir/examples /usr/share/zsh \
    /usr/share/zsh/site-functions /usr/share/fish /usr/share/fish/vendor_completions.d"
for kind in preinstall:service_add_pre postinstall:service_add_post \
    preuninstall:service_del_preun postuninstall:service_del_postun; do
    text=$(scriptlet "${kind%%:*}")
    for unit in logwarden.service logwarden.timer logwarden-watch.service logwarden-watch.socket; do
        grep -q "openSUSE ${kind#*:} .*\b$unit\b" <<< "$text" \
            || fail "the ${kind%%:*} scriptlet does not run %${kind#*:} for $unit"
    done
done
echo "scriptlets: %service_add_pre/_post, %service_del_preun/_postun for the four units"
# The binary as shipped: it runs, and accepts the policy it ships.
mkdir "$work/payload"
(cd "$work/payload" && rpm2cpio "$spec_rpm" | cpio -idm --quiet)
"$work/payload/usr/bin/logwarden" --version
"$work/payload/usr/bin/logwarden" validate --config "$work/payload/etc/logwarden/config.yaml"

say "cargo generate-rpm"
# --debug: a tool run once builds in a third of the time unoptimized.
command -v cargo-generate-rpm >/dev/null 2>&1 \
    || cargo install cargo-generate-rpm --locked --quiet --debug
# The release binary cargo-deb built and the assets of packaging/ci.sh (unstripped: the
# README's RPM recipe strips first; what is checked here is the package's shape).
[ -x "$target/release/$name" ] || cargo build --release --locked
cargo generate-rpm --target-dir "$target" -o "$work/generate-rpm.rpm"
gen_rpm=$work/generate-rpm.rpm
say "check $(basename "$gen_rpm")"
check_rpm "$gen_rpm" "/usr/share/doc/$name" "" ""
for kind in postinstall postuninstall; do
    scriptlet "$kind" | grep -q 'systemctl daemon-reload' \
        || fail "generate-rpm: the $kind scriptlet does not reload systemd"
done
echo "scriptlets: systemctl daemon-reload after install and removal"

echo
echo "packaging (rpm): all checks passed in $((SECONDS - started))s (rpmbuild ${spec_time}s)"
