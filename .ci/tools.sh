# Sourced by .ci/run and .ci/gen: installs the pinned code-generation tools
# into .tools/ (ignored by git) and puts them first on PATH.
# Versions are pinned here and nowhere else.
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
