//go:build !linux

package control

import "net"

// peerUID is not available on this system.
func peerUID(net.Conn) int { return -1 }
