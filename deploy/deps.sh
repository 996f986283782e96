#!/bin/sh
# Installs the Debian 12 packages gridwall needs, only when one is missing.
# Runs apt-get as root, or through sudo; says what to do when neither works.
set -eu

PACKAGES="build-essential pkg-config git ca-certificates curl acl
libzmq3-dev libprotobuf-c-dev protobuf-c-compiler libuv1-dev libpq-dev
postgresql-15 libcmocka-dev libinih-dev libjansson-dev libhttp-parser-dev jq valgrind
libcsv-dev uuid-dev libsodium-dev wrk libcurl4-openssl-dev
clang-14 libfuzzer-14-dev libclang-rt-14-dev
chromium nodejs npm"

missing=""
for p in $PACKAGES; do
	# NodeSource's nodejs package carries npm itself (and conflicts with Debian's).
	[ "$p" = npm ] && command -v npm >/dev/null 2>&1 && continue
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "gridwall: installing missing packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo"
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
	echo "gridwall: sudo will ask for your password to run apt-get"
else
	echo "gridwall: cannot install packages: not root and no sudo." >&2
	echo "gridwall: as root, run: apt-get install$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; an old list may miss versions.
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "gridwall: packages installed"
