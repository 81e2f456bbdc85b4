// Package auth holds hep's credentials machinery: argon2id password hashes,
// signed short-lived access tokens, opaque refresh tokens and enrollment codes
// (stored only as hashes), and sealed page tokens. It knows nothing of gRPC or
// SQL; the rules about who may do what live in internal/hep and internal/rpc.
package auth
