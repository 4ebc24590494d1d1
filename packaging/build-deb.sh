#!/bin/sh
# make deb: builds BUILD/asgswap_VERSION_ARCH.deb and BUILD/asgswap-agent_VERSION_ARCH.deb
# with dpkg-buildpackage and debhelper, from a copy of the work tree (so that the
# debian/ directory never lands in the tree), then runs lintian on them.
# usage: packaging/build-deb.sh VERSION BUILD
set -eu
version=$1
build=$2
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build"
out=$(cd "$build" && pwd)
work=$out/deb
src=$work/asgswap-$version

for tool in dpkg-buildpackage dh lintian; do
	command -v "$tool" >/dev/null || {
		echo "deb: $tool is missing: run 'make deps-packaging'" >&2
		exit 1
	}
done
changelog_version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
if [ "$changelog_version" != "$version" ]; then
	echo "deb: packaging/debian/changelog is at $changelog_version, the Makefile at $version" >&2
	exit 1
fi

rm -rf "$work"
mkdir -p "$src"
# The sources, without builds (BUILD too, wherever it is), VCS data or caches.
case $out/ in
"$top"/*) own="./${out#"$top"/}" ;;
*) own=./build ;;
esac
(cd "$top" && tar -cf - --exclude='./build' --exclude='./build-*' --exclude="$own" \
	--exclude='./.git' --exclude='__pycache__' --exclude='*.pyc' \
	--exclude='./tests/fuzz/corpus-run' .) |
	(cd "$src" && tar -xf -)
cp -r "$top/packaging/debian" "$src/debian"

(cd "$src" && dpkg-buildpackage -b -us -uc --no-pre-clean >"$work/build.log" 2>&1) || {
	tail -40 "$work/build.log" >&2
	echo "deb: dpkg-buildpackage failed; the whole log is $work/build.log" >&2
	exit 1
}
arch=$(dpkg --print-architecture)
for p in asgswap asgswap-agent; do
	cp "$work/${p}_${version}_${arch}.deb" "$out/"
	echo "deb: $build/${p}_${version}_${arch}.deb"
done
changes=$work/asgswap_${version}_${arch}.changes
# lintian: errors fail the build; warnings are printed (packaging/README.md says why
# the known ones stay).
lintian --fail-on error --display-info "$changes" >"$work/lintian.log" 2>&1 || {
	cat "$work/lintian.log" >&2
	echo "deb: lintian found errors" >&2
	exit 1
}
tags=$(grep -v 'running with root privileges' "$work/lintian.log" || true)
if [ -n "$tags" ]; then
	printf '%s\n' "$tags" | sed 's/^/lintian: /'
else
	echo "lintian: no tags"
fi
