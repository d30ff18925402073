// Package archtest checks the dependency rules of ARCHITECTURE.md against
// the real import graph, so a shortcut between doors fails the build's tests.
package archtest

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/pochta/pochta/"

type pkg struct {
	ImportPath string
	Imports    []string // direct imports, non-test
}

func ourPackages(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "github.com/pochta/pochta/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	pkgs := map[string]pkg{}
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

func ours(imports []string) []string {
	var out []string
	for _, i := range imports {
		if strings.HasPrefix(i, module) {
			out = append(out, strings.TrimPrefix(i, module))
		}
	}
	return out
}

// door returns the frontend a package belongs to ("" if none).
func door(p string) string {
	for _, d := range []string{"smtp", "imap", "pop3", "mapi", "web", "api"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return d
		}
	}
	return ""
}

func TestDependencyRules(t *testing.T) {
	pkgs := ourPackages(t)
	leaves := []string{"storage", "directory", "internal/message", "internal/mapiprop"}
	for name, p := range pkgs {
		deps := ours(p.Imports)
		// Leaves import nothing of ours.
		if slices.Contains(leaves, name) && len(deps) > 0 {
			t.Errorf("%s must import nothing of ours, imports %v", name, deps)
		}
		for _, d := range deps {
			// Doors never import one another.
			if from, to := door(name), door(d); from != "" && to != "" && from != to {
				t.Errorf("door %s imports door %s (%s → %s); move what both need into internal/", from, to, name, d)
			}
			// Only cmd reads the configuration; packages get Options.
			if d == "internal/config" && !strings.HasPrefix(name, "cmd/") {
				t.Errorf("%s imports internal/config; only cmd may", name)
			}
			// Nothing below cmd imports a door's test helpers or cmd.
			if strings.HasPrefix(d, "cmd/") {
				t.Errorf("%s imports %s", name, d)
			}
		}
		// internal/oxcmail converts between the two vocabularies only.
		if name == "internal/oxcmail" {
			for _, d := range deps {
				if d != "internal/message" && d != "internal/mapiprop" {
					t.Errorf("internal/oxcmail may import only message and mapiprop, imports %s", d)
				}
			}
		}
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
}
