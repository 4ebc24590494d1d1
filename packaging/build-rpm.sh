#!/bin/sh
# make rpm: builds BUILD/asgswap-VERSION-1.ARCH.rpm and BUILD/asgswap-agent-VERSION-1.ARCH.rpm
# with rpmbuild (on Debian, from the rpm package) and packaging/asgswap.spec, then lists
# their files with rpm -qlp.
# usage: packaging/build-rpm.sh VERSION BUILD
set -eu
version=$1
build=$2
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build"
out=$(cd "$build" && pwd)
topdir=$out/rpm

command -v rpmbuild >/dev/null || {
	echo "rpm: rpmbuild is missing: run 'make deps-packaging'" >&2
	exit 1
}
rm -rf "$topdir"
mkdir -p "$topdir"
# --nodeps: on Debian the build dependencies are Debian packages, unknown to rpm's database.
rpmbuild -bb --nodeps \
	--define "_topdir $topdir" \
	--define "version $version" \
	--define "srcdir $top" \
	--define "_unitdir /usr/lib/systemd/system" \
	"$top/packaging/asgswap.spec" >"$topdir/build.log" 2>&1 || {
	tail -40 "$topdir/build.log" >&2
	echo "rpm: rpmbuild failed; the whole log is $topdir/build.log" >&2
	exit 1
}
for f in "$topdir"/RPMS/*/*.rpm; do
	cp "$f" "$out/"
	echo "rpm: $build/$(basename "$f")"
	rpm -qlp "$f" 2>/dev/null | sed 's/^/    /'
done
