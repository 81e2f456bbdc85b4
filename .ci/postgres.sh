#!/usr/bin/env bash
# CI for the PostgreSQL store: Debian's PostgreSQL 15 server binaries
# (initdb, pg_ctl, postgres), which internal/pgtest finds under
# /usr/lib/postgresql/15/bin to run a throwaway cluster per test binary.
# Nothing is started here and no cluster of the package is used: the tests
# make their own, as an unprivileged user, and stop it at the end.
set -euo pipefail

# The version the store's tests were last run with. Debian's archive keeps
# only the newest point release, so when this exact version is gone the
# candidate is installed with a warning (update the pin then).
POSTGRESQL_VERSION="${POSTGRESQL_VERSION:-15.18-0+deb12u1}"

echo "== postgresql"
if [ ! -x /usr/lib/postgresql/15/bin/initdb ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "postgresql-15=${POSTGRESQL_VERSION}"; then
		echo "warning: postgresql-15 ${POSTGRESQL_VERSION} is no longer in the archive; installing the candidate $(apt-cache policy postgresql-15 | awk '/Candidate/ {print $2}')" >&2
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15
	fi
fi
installed="$(dpkg-query -W -f='${Version}' postgresql-15 2>/dev/null || echo unknown)"
if [ "$installed" != "$POSTGRESQL_VERSION" ]; then
	echo "warning: postgresql-15 ${installed} is installed, the pin is ${POSTGRESQL_VERSION}" >&2
fi
echo "postgresql-15 ${installed} ($(/usr/lib/postgresql/15/bin/postgres --version))"
