package main

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/driftd/driftd/processor"
)

// Environment overrides: every scalar or list key of driftd.yaml can be set
// with DRIFTD_ followed by its key path in upper case, dots and dashes as
// underscores:
//
//	kafka.brokers            DRIFTD_KAFKA_BROKERS=host1:9092,host2:9092 (lists: comma-separated)
//	kafka.sasl.password      DRIFTD_KAFKA_SASL_PASSWORD
//	window.size              DRIFTD_WINDOW_SIZE=30m
//	clickhouse.addr          DRIFTD_CLICKHOUSE_ADDR=ch1:9000,ch2:9000
//	clickhouse.password      DRIFTD_CLICKHOUSE_PASSWORD
//
// A secret may instead be read from a file: DRIFTD_KAFKA_SASL_PASSWORD_FILE
// names the file; trailing newlines are trimmed. The environment wins over
// the file. The alerts section has no overrides.

var durationType = reflect.TypeFor[time.Duration]()

var secretType = reflect.TypeFor[processor.Secret]()

// isSecret matches the one credential type (sinks and alerts alias it).
func isSecret(t reflect.Type) bool { return t == secretType }

func applyEnv(cfg *Config, env func(string) (string, bool), p *processor.Problems) {
	walkEnv(reflect.ValueOf(cfg).Elem(), "", env, p)
}

func walkEnv(v reflect.Value, path string, env func(string) (string, bool), p *processor.Problems) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Func {
			continue
		}
		if opts == "inline" {
			walkEnv(fv, path, env, p)
			continue
		}
		key := name
		if path != "" {
			key = path + "." + name
		}
		if f.Type.Kind() == reflect.Struct && f.Type != durationType {
			if f.Type.PkgPath() != "go.yaml.in/yaml/v3" {
				walkEnv(fv, key, env, p)
			}
			continue
		}
		envName := "DRIFTD_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(key))
		s, ok := env(envName)
		if !ok && isSecret(f.Type) {
			if file, fok := env(envName + "_FILE"); fok {
				b, err := os.ReadFile(file)
				if err != nil {
					p.Addf(key, "reading %s_FILE: %v", envName, err)
					continue
				}
				s, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			continue
		}
		if err := setFromString(fv, s); err != nil {
			p.Addf(key, "from %s: %v", envName, err)
		}
	}
}

func setFromString(v reflect.Value, s string) error {
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		v.SetInt(n)
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("unsupported list type %s", v.Type())
		}
		var parts []string
		for part := range strings.SplitSeq(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				parts = append(parts, part)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}
