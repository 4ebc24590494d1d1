#!/bin/sh
# Installs, idempotently and quietly, what building and testing asgswap need on Debian 12.
# Not root: prints the commands instead.
set -eu

PACKAGES="build-essential pkg-config libcurl4-openssl-dev libssl-dev libxml2-dev
libcjson-dev libsystemd-dev libcmocka-dev valgrind clang-format python3
docker.io docker-registry busybox-static apache2-utils
cppcheck clang-tidy clang libclang-rt-dev"
# `tests/deps.sh --packaging` (make deps-packaging): the tools of make deb/rpm and of the
# packaging checks, which tests/integration/test_packaging.py skips when they are missing.
if [ "${1:-}" = "--packaging" ]; then
	PACKAGES="debhelper lintian rpm fakeroot cloud-init systemd groff-base"
fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done

if [ -n "$missing" ]; then
	cmd="apt-get install -y -qq --no-install-recommends$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages; as root run: apt-get update && $cmd"
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The integration tests need moto's server and boto3 (on our machine image already).
PY=${PYTHON:-python3}
if ! "$PY" -c 'import boto3, moto.server, flask' 2>/dev/null; then
	cmd="$PY -m pip install --quiet 'moto[server]' boto3"
	if [ "$(id -u)" -ne 0 ] && [ -z "${VIRTUAL_ENV:-}" ]; then
		echo "deps: moto and boto3 missing; run: $cmd"
		exit 1
	fi
	echo "deps: installing moto[server] and boto3 with pip"
	"$PY" -m pip install --quiet 'moto[server]' boto3
fi
