package ci

import (
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The example workflow is valid YAML with the shape GitHub Actions expects,
// and it runs wshold the way the README says: from a scenario file, with
// JUnit, the config fingerprint and a Markdown step summary.
func TestGitHubActionsExampleIsAValidWorkflow(t *testing.T) {
	raw, err := os.ReadFile("github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Name string         `json:"name"`
		On   map[string]any `json:"on"`
		Jobs map[string]struct {
			RunsOn         string `json:"runs-on"`
			TimeoutMinutes int    `json:"timeout-minutes"`
			Steps          []struct {
				Name string         `json:"name"`
				If   string         `json:"if"`
				Uses string         `json:"uses"`
				With map[string]any `json:"with"`
				Run  string         `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.UnmarshalStrict(raw, &wf); err != nil {
		t.Fatalf("github-actions.yml: %v", err)
	}
	job, ok := wf.Jobs["wshold"]
	if wf.Name == "" || len(wf.On) == 0 || !ok || job.RunsOn == "" || len(job.Steps) < 5 {
		t.Fatalf("workflow shape: %+v", wf)
	}
	var run string
	for _, s := range job.Steps {
		if s.Uses == "" && s.Run == "" {
			t.Errorf("step %q neither uses an action nor runs a command", s.Name)
		}
		run += s.Run + "\n"
	}
	for _, want := range []string{"apt-get install", "nginx", "wshold serve", "wshold run -f", "--junit junit.xml", "--proxy-config", "--format markdown", "GITHUB_STEP_SUMMARY"} {
		if !strings.Contains(run, want) {
			t.Errorf("workflow does not run %q", want)
		}
	}
}
