# Sourced by .ci/run and .ci/gen: installs the pinned code-generation tools
# into .tools/ (ignored by git) and puts them first on PATH, and what the
# export tests read their output with (see the end).
# Versions are pinned here and nowhere else (the FHIR schema's: .ci/fhir-schema.sh).
BUF_VERSION=1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
mkdir -p "$TOOLS/bin"
export PATH="$TOOLS/bin:$TOOLS/npm/node_modules/.bin:$PATH"

install_go_tool() { # name module version
	local stamp="$TOOLS/bin/.$1-$3"
	if [ ! -x "$TOOLS/bin/$1" ] || [ ! -f "$stamp" ]; then
		echo "installing $1 $3" >&2
		GOBIN="$TOOLS/bin" go install "$2@$3"
		touch "$stamp"
	fi
}

install_go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
install_go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
if ! buf --version 2>/dev/null | grep -qx "$BUF_VERSION"; then
	echo "installing buf $BUF_VERSION" >&2
	# The npm package ships buf's own binary for this platform; building it
	# from source with go install also works but takes minutes on 2 cores.
	mkdir -p "$TOOLS/npm"
	npm install --prefix "$TOOLS/npm" --no-save --no-audit --no-fund --loglevel=error "@bufbuild/buf@$BUF_VERSION" >&2
fi

# The export tests read PDFs with pdftotext and pdftoppm (Debian's
# poppler-utils) and validate FHIR against HL7's R4 JSON schema; with
# CI=true they fail rather than skip when either is missing.
if ! command -v pdftotext >/dev/null 2>&1 || ! command -v pdftoppm >/dev/null 2>&1; then
	echo "installing poppler-utils" >&2
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends poppler-utils >&2
	else
		echo "pdftotext is missing and this is not root: install Debian's poppler-utils" >&2
	fi
fi
bash "$ROOT/.ci/fhir-schema.sh"
