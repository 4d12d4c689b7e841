//go:build !unix

package vrrp

import "os/exec"

// killGroupOnCancel: without process groups only the command is killed.
func killGroupOnCancel(*exec.Cmd) {}
