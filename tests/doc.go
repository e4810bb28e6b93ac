// Package tests holds dpsweep's black-box tests: they build the real
// binaries, start them on 127.0.0.1 and talk to them as any client would.
package tests
