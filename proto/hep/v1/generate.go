// Package hepv1 is the generated Go code of hep's v1 API (package hep.v1).
// The .proto files beside it are the contract; regenerate with "bash .ci/gen"
// or "go generate ./proto/...".
package hepv1

//go:generate bash ../../../.ci/gen
