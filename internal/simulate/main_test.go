package simulate

import (
	"fmt"
	"os"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
)

// Produce starts kafka-go's writer and connection goroutines; all must be
// gone when it returns.
func TestMain(m *testing.M) {
	code := m.Run()
	// The test harness's topic admin uses kafka-go's shared default
	// transport, whose pooled connections outlive the tests; Produce uses
	// its own, so closing the default one hides none of ours.
	if tr, ok := kafka.DefaultTransport.(*kafka.Transport); ok {
		tr.CloseIdleConnections()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
