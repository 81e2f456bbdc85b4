#!/usr/bin/env bash
# CI for the clinician dashboard (clients/web): Debian's Chromium for
# Playwright, the pinned npm packages, generated TypeScript and the built
# files that hepd embeds (internal/web/dist) checked fresh, a typecheck,
# then the Playwright specs against the real hepd built from this tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"

# The Chromium the specs were last run with. Debian's security archive
# keeps only the newest build, so when this exact version is gone the
# candidate is installed with a warning (update the pin then).
CHROMIUM_VERSION="${CHROMIUM_VERSION:-156.0.8078.129-1~deb12u1}"

echo "== chromium"
if [ ! -x /usr/bin/chromium ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "chromium=${CHROMIUM_VERSION}"; then
		echo "warning: chromium ${CHROMIUM_VERSION} is no longer in the archive; installing the candidate $(apt-cache policy chromium | awk '/Candidate/ {print $2}')" >&2
		DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
	fi
fi
installed="$(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo unknown)"
if [ "$installed" != "$CHROMIUM_VERSION" ]; then
	echo "warning: chromium ${installed} is installed, the pin is ${CHROMIUM_VERSION}" >&2
fi
echo "chromium ${installed}"

cd "$root/clients/web"
echo "== node $(node --version), npm $(npm --version)"
npm ci --prefer-offline --no-audit --no-fund

echo "== generated TypeScript is fresh"
npm run --silent gen
if [ -n "$(git status --porcelain -- src/gen)" ]; then
	echo "clients/web/src/gen is stale: run 'npm run gen' in clients/web and commit" >&2
	git status --porcelain -- src/gen >&2
	exit 1
fi

echo "== typecheck"
npm run --silent typecheck

echo "== the embedded build is fresh"
npm run --silent build
if [ -n "$(git status --porcelain -- "$root/internal/web/dist")" ]; then
	echo "internal/web/dist is stale: run 'npm run build' in clients/web and commit" >&2
	git status --porcelain -- "$root/internal/web/dist" >&2
	exit 1
fi

echo "== playwright"
npx playwright test
