// Package hep is the domain of hep, the backend for home exercise programs for
// back pain: its types, their validation, the clinical and security rules, the
// Store interface every storage engine implements, and the error model.
//
// The domain decides, the store remembers, the transport translates. This
// package therefore imports no gRPC and no SQL: a rule written here holds for
// every store (SQLite today, PostgreSQL later) and every transport.
package hep
