package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Example returns a complete TOML configuration with every key set to its
// default and its documentation as comments. `pochta config example` prints
// it; it loads back unchanged.
func Example() string { return exampleFor(Default()) }

// exampleFor writes c as a commented TOML document.
func exampleFor(c *Config) string {
	var b strings.Builder
	b.WriteString("# Pochta configuration.\n")
	b.WriteString("#\n")
	b.WriteString("# Every key is shown with its default value; keys left out keep their\n")
	b.WriteString("# defaults. Durations are strings such as \"30s\", \"10m\" or \"120h\".\n")
	b.WriteString("# An environment variable POCHTA_<SECTION>_<KEY> overrides a key, e.g.\n")
	b.WriteString("# POCHTA_SMTP_LISTEN or POCHTA_DIRECTORY_LDAP_BASE_DN (lists are\n")
	b.WriteString("# comma-separated there).\n")
	writeSection(&b, reflect.ValueOf(c).Elem(), nil)
	return b.String()
}

// writeSection writes the scalar keys of v first and its sub-sections after,
// because in TOML every key after a [table] header belongs to that table.
func writeSection(b *strings.Builder, v reflect.Value, path []string) {
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("toml")
		if name == "" || name == "-" || v.Field(i).Kind() == reflect.Struct {
			continue
		}
		b.WriteString("\n")
		doc := sf.Tag.Get("doc")
		if enum := sf.Tag.Get("enum"); enum != "" {
			doc += " One of: " + strings.ReplaceAll(enum, "|", ", ") + "."
		}
		full := append(append([]string(nil), path...), name)
		if key := ldapPresetKey(full); key != "" {
			var defaults []string
			for _, preset := range []string{"openldap", "activedirectory"} {
				p, _ := presetFor(preset)
				if v := p.value(key); v != "" {
					defaults = append(defaults, preset+": "+v)
				}
			}
			if len(defaults) > 0 {
				doc += " Preset values: " + strings.Join(defaults, "; ") + "."
			}
		}
		writeComment(b, doc)
		fmt.Fprintf(b, "# Environment: %s%s\n", EnvPrefix, strings.ToUpper(strings.Join(full, "_")))
		line := name + " = " + tomlValue(v.Field(i))
		if sf.Tag.Get("unit") == "bytes" {
			line += "  # " + humanBytes(v.Field(i).Int())
		}
		if sf.Tag.Get("example") == "commented" {
			// Machine-specific defaults are shown but not pinned, so the
			// file can be copied to another machine.
			line = "#" + line
		}
		b.WriteString(line + "\n")
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("toml")
		if name == "" || name == "-" || v.Field(i).Kind() != reflect.Struct {
			continue
		}
		full := append(append([]string(nil), path...), name)
		b.WriteString("\n\n")
		writeComment(b, sf.Tag.Get("doc"))
		fmt.Fprintf(b, "[%s]\n", strings.Join(full, "."))
		writeSection(b, v.Field(i), full)
	}
}

// writeComment wraps text into "# " lines of at most about 78 columns.
func writeComment(b *strings.Builder, text string) {
	line := "#"
	for word := range strings.FieldsSeq(text) {
		if len(line)+1+len(word) > 78 && line != "#" {
			b.WriteString(line + "\n")
			line = "#"
		}
		line += " " + word
	}
	if line != "#" {
		b.WriteString(line + "\n")
	}
}

// tomlValue formats a leaf value as a TOML literal.
func tomlValue(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return tomlString(formatDuration(time.Duration(v.Int())))
	case v.Kind() == reflect.String:
		return tomlString(v.String())
	case v.Kind() == reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case v.Kind() == reflect.Int || v.Kind() == reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case v.Kind() == reflect.Slice:
		items := make([]string, v.Len())
		for i := range items {
			items[i] = tomlValue(v.Index(i))
		}
		return "[" + strings.Join(items, ", ") + "]"
	}
	panic(fmt.Sprintf("config: no TOML form for %s", v.Type())) // programming error, caught by TestExampleLoadsBack
}

// tomlString quotes s as a TOML basic string.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// formatDuration drops the zero tails of time.Duration.String: "30m", not
// "30m0s"; "120h", not "120h0m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
