//go:build !race

package sticktable

const raceEnabled = false
