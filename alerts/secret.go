package alerts

import (
	"encoding/json"
	"fmt"
)

// Secret holds a credential (an HMAC key, a routing key, a token, a Slack
// webhook URL). Every way of printing or marshalling it yields "<secret>" so
// config dumps, logs and error messages cannot leak it; the value is read
// only through Reveal, at the point where a request is built.
type Secret string

const redacted = "<secret>"

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer so %#v does not print the value.
func (s Secret) GoString() string { return redacted }

// Format covers every verb, including %x and %d, which would otherwise
// print the underlying string.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(redacted) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return redacted, nil }

// MarshalText implements encoding.TextMarshaler (used by map keys and by
// loggers that fall back to text).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
