package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// EnvPrefix starts every environment variable Load reads.
const EnvPrefix = "POCHTA_"

// EnvConfigFile is the one POCHTA_ variable that is not a setting: cmd/pochta
// may read the configuration file path from it, so Load accepts and ignores it.
const EnvConfigFile = "POCHTA_CONFIG"

var durationType = reflect.TypeFor[time.Duration]()

// leaf is one configurable value: its TOML key path, its struct field (for
// the tags) and the addressable value inside a Config.
type leaf struct {
	path  []string
	field reflect.StructField
	value reflect.Value
}

// key is the dotted TOML name used in error messages, e.g. smtp.queue.workers.
func (l leaf) key() string { return strings.Join(l.path, ".") }

// envName is the environment variable that overrides the leaf.
func (l leaf) envName() string {
	return EnvPrefix + strings.ToUpper(strings.Join(l.path, "_"))
}

// leaves lists every configurable value of c in declaration order.
func (c *Config) leaves() []leaf {
	var out []leaf
	var walk func(v reflect.Value, prefix []string)
	walk = func(v reflect.Value, prefix []string) {
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name := sf.Tag.Get("toml")
			if name == "" || name == "-" {
				continue
			}
			path := append(append([]string(nil), prefix...), name)
			fv := v.Field(i)
			if fv.Kind() == reflect.Struct {
				walk(fv, path)
				continue
			}
			out = append(out, leaf{path: path, field: sf, value: fv})
		}
	}
	walk(reflect.ValueOf(c).Elem(), nil)
	return out
}

// Load builds the configuration: defaults, then the TOML file at path (none
// when path is empty), then POCHTA_<SECTION>_<KEY> variables from environ
// (in os.Environ form). Unknown keys and variables, and invalid values, are
// refused with an error naming them. Values documented as "empty means ..."
// (the sqlite path, the LDAP preset's attributes) are filled in.
func Load(path string, environ []string) (*Config, error) {
	cfg := Default()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		if err := cfg.decodeTOML(string(data), path); err != nil {
			return nil, err
		}
	}
	if err := cfg.applyEnv(environ); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.resolve()
	return cfg, nil
}

// decodeTOML merges the document into c; name is used in error messages.
func (c *Config) decodeTOML(data, name string) error {
	md, err := toml.Decode(data, c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return fmt.Errorf("config: %s:%d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return fmt.Errorf("config: %s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		// Type mismatches come as plain errors that already name the key.
		return fmt.Errorf("config: %s: %s", name, strings.TrimPrefix(err.Error(), "toml: "))
	}
	var errs []error
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Errorf("config: %s: unknown key %s", name, k))
	}
	// BurntSushi/toml reads an integer as nanoseconds for a time.Duration;
	// "idle_timeout = 30" would silently mean 30ns, so only 0 is allowed.
	for _, l := range c.leaves() {
		if l.field.Type == durationType && md.IsDefined(l.path...) && md.Type(l.path...) == "Integer" && l.value.Int() != 0 {
			errs = append(errs, fmt.Errorf("config: %s: %s: must be a duration string such as \"30s\", \"5m\" or \"2h\"", name, l.key()))
		}
	}
	return errors.Join(errs...)
}

// applyEnv sets the leaves named by POCHTA_ variables in environ.
func (c *Config) applyEnv(environ []string) error {
	byName := map[string]leaf{}
	for _, l := range c.leaves() {
		byName[l.envName()] = l
	}
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || name == EnvConfigFile {
			continue
		}
		l, known := byName[name]
		if !known {
			errs = append(errs, fmt.Errorf("config: unknown environment variable %s", name))
			continue
		}
		if err := setFromString(l, value); err != nil {
			errs = append(errs, fmt.Errorf("config: %s (%s): %w", name, l.key(), err))
		}
	}
	return errors.Join(errs...)
}

// setFromString parses an environment value into the leaf's type. Lists are
// comma-separated.
func setFromString(l leaf, s string) error {
	v := l.value
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a duration such as \"30s\" or \"5m\": %q", s)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("not a boolean (true or false): %q", s)
		}
		v.SetBool(b)
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || v.OverflowInt(n) {
			return fmt.Errorf("not an integer: %q", s)
		}
		v.SetInt(n)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var items []string
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		v.Set(reflect.ValueOf(items))
	default:
		// A new field type needs a case here; the test over all leaves
		// catches a missing one.
		return fmt.Errorf("type %s cannot be set from the environment", v.Type())
	}
	return nil
}

// Redacted returns a copy of c with secrets (passwords) replaced, for
// printing the effective configuration.
func (c *Config) Redacted() *Config {
	cp := *c
	cp.Directory.LDAP.URLs = append([]string(nil), c.Directory.LDAP.URLs...)
	cp.HTTP.TrustedProxies = append([]string(nil), c.HTTP.TrustedProxies...)
	for _, l := range cp.leaves() {
		if l.field.Tag.Get("secret") == "true" && l.value.String() != "" {
			l.value.SetString("********")
		}
	}
	return &cp
}
