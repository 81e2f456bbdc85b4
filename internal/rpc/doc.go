// Package rpc is hep's gRPC transport: it translates between the v1 protobuf
// contract and the domain, and owns the cross-cutting rules of a call —
// request ids, logging without payloads, authentication, the authorization
// table, auditing of failures, limits, and the one table that turns domain
// errors into gRPC statuses. It makes no clinical decisions and runs no SQL.
package rpc
