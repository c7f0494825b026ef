package procs

import (
	"bytes"
	"fmt"
	"path/filepath"

	"github.com/BurntSushi/toml"

	"github.com/wshold/wshold/scenario"
)

// scenarioFD is the descriptor on which a worker reads its scenario: the
// first of exec.Cmd's ExtraFiles. The worker runs 'wshold run -f
// /dev/fd/3'.
const scenarioFD = 3

// scenarioTOML is sc as a one-scenario TOML file that 'wshold run -f'
// reads back to the same Scenario. Workers get the scenario this way, not
// as flags, so file-and-flag precedence is applied once (by the parent)
// and header values never show up in the process list; and through a
// pipe, not a file, so its secrets (credential headers, the URL's password
// and tokens) are never on disk, not even when the parent is killed
// outright. Relative paths are made absolute: the worker reads them from
// elsewhere.
func scenarioTOML(sc scenario.Scenario) ([]byte, error) {
	if sc.CA != "" {
		abs, err := filepath.Abs(sc.CA)
		if err != nil {
			return nil, fmt.Errorf("--ca %s: %w", sc.CA, err)
		}
		sc.CA = abs
	}
	pcs := make([]string, len(sc.ProxyConfigs))
	for i, p := range sc.ProxyConfigs {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("--proxy-config %s: %w", p, err)
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
		return nil, fmt.Errorf("writing the workers' scenario: %w", err)
	}
	return buf.Bytes(), nil
}
