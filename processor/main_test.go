package processor

import (
	"fmt"
	"os"
	"testing"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"
)

// Run starts goroutines (workers, fetchers, admin server); every one must
// be gone once Run returns. Test helpers produce through kafka-go's shared
// default transport, whose idle connections are closed first.
func TestMain(m *testing.M) {
	code := m.Run()
	if t, ok := kafka.DefaultTransport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}
