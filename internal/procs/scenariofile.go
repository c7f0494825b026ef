package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/wshold/wshold/scenario"
)

// writeScenarioFile writes sc as a one-scenario TOML file that 'wshold run
// -f' reads back to the same Scenario. Workers get the scenario this way,
// not as flags, so file-and-flag precedence is applied once (by the parent)
// and header values never show up in the process list. Relative paths are
// made absolute: the file lives elsewhere than the one they came from.
func writeScenarioFile(path string, sc scenario.Scenario) error {
	if sc.CA != "" {
		abs, err := filepath.Abs(sc.CA)
		if err != nil {
			return fmt.Errorf("--ca %s: %w", sc.CA, err)
		}
		sc.CA = abs
	}
	pcs := make([]string, len(sc.ProxyConfigs))
	for i, p := range sc.ProxyConfigs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return fmt.Errorf("--proxy-config %s: %w", p, err)
		}
		pcs[i] = abs
	}
	sc.ProxyConfigs = pcs
	var buf bytes.Buffer
	buf.WriteString("# written by 'wshold run --procs' for its workers\n")
	doc := struct {
		Scenario []scenario.Scenario `toml:"scenario"`
	}{[]scenario.Scenario{sc}}
	if err := toml.NewEncoder(&buf).Encode(doc); err != nil {
		return fmt.Errorf("writing the workers' scenario file: %w", err)
	}
	// 0600: headers may carry credentials.
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing the workers' scenario file: %w", err)
	}
	return nil
}
