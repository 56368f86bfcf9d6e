//go:build race

package main

// raceEnabled shrinks the crash test's default stream under -race, where
// the child driftd runs race-instrumented and several times slower.
const raceEnabled = true
