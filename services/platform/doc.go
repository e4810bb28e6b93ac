// Package platform is the service plumbing every dpsweep gRPC service shares:
// configuration from flags and environment (flagenv), structured logging
// (logging), TLS with a 1.2 minimum and optional mTLS (tlsutil), and the
// server bootstrap with health, reflection, validation, panic recovery and
// graceful shutdown (server). It is the one copy of this code; services never
// duplicate it.
package platform
