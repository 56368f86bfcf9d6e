package alerts

import (
	"encoding/json"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// Number is an optional float read from YAML. A value that is not a number
// does not fail the decode: it is kept and reported by Validate with its
// key path, next to every other problem of the file.
type Number struct {
	Value float64
	Set   bool
	raw   string // the offending text when the YAML scalar is not a number
}

// Num returns a set Number.
func Num(v float64) Number { return Number{Value: v, Set: true} }

// UnmarshalYAML implements yaml.Unmarshaler.
func (n *Number) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		*n = Number{raw: "a " + kindName(node.Kind)}
		return nil
	}
	if node.Tag == "!!null" {
		*n = Number{}
		return nil
	}
	v, err := strconv.ParseFloat(node.Value, 64)
	if err != nil {
		*n = Number{raw: strconv.Quote(node.Value)}
		return nil
	}
	*n = Number{Value: v, Set: true}
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (n Number) MarshalYAML() (any, error) {
	if !n.Set {
		return nil, nil
	}
	return n.Value, nil
}

// MarshalJSON implements json.Marshaler (config dumps).
func (n Number) MarshalJSON() ([]byte, error) {
	if !n.Set {
		return []byte("null"), nil
	}
	return json.Marshal(n.Value)
}

// Duration is an optional duration read from YAML as "30s", "4h" or a
// number of seconds; invalid text is reported by Validate.
type Duration struct {
	D   time.Duration
	Set bool
	raw string
}

// Dur returns a set Duration.
func Dur(d time.Duration) Duration { return Duration{D: d, Set: true} }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(node *yaml.Node) error {
	if node.Kind != yaml.ScalarNode {
		*d = Duration{raw: "a " + kindName(node.Kind)}
		return nil
	}
	if node.Tag == "!!null" {
		*d = Duration{}
		return nil
	}
	if secs, err := strconv.ParseFloat(node.Value, 64); err == nil {
		*d = Duration{D: time.Duration(secs * float64(time.Second)), Set: true}
		return nil
	}
	v, err := time.ParseDuration(node.Value)
	if err != nil {
		*d = Duration{raw: strconv.Quote(node.Value)}
		return nil
	}
	*d = Duration{D: v, Set: true}
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) {
	if !d.Set {
		return nil, nil
	}
	return d.D.String(), nil
}

// MarshalJSON implements json.Marshaler (config dumps).
func (d Duration) MarshalJSON() ([]byte, error) {
	if !d.Set {
		return []byte("null"), nil
	}
	return json.Marshal(d.D.String())
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	default:
		return "document"
	}
}
