package alerts

import "github.com/driftd/driftd/processor"

// Secret holds a credential (an HMAC key, a routing key, a token, a Slack
// webhook URL): processor.Secret, which never prints its value.
type Secret = processor.Secret
