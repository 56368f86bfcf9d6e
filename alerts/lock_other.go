//go:build !unix

package alerts

import "os"

// lockDir is a no-op where flock is not available; run one engine per
// directory.
func lockDir(string) (*os.File, error) { return nil, nil }
