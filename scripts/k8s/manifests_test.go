package k8s

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The structs below model the subset of the Kubernetes API that job.yaml
// uses, with the API's field names. Decoding is strict and then checked
// key by key against the model (encoding/json alone matches names without
// regard to case, the API server does not), so a field the model does not
// know, most likely a misspelt one that the API server would reject,
// fails the test.

type meta struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

type pvc struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		AccessModes []string `json:"accessModes"`
		Resources   struct {
			Requests map[string]string `json:"requests"`
		} `json:"resources"`
	} `json:"spec"`
}

type job struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Spec       struct {
		CompletionMode        string `json:"completionMode"`
		Completions           *int   `json:"completions"`
		Parallelism           *int   `json:"parallelism"`
		BackoffLimitPerIndex  *int   `json:"backoffLimitPerIndex"`
		ActiveDeadlineSeconds int    `json:"activeDeadlineSeconds"`
		PodFailurePolicy      struct {
			Rules []struct {
				Action      string `json:"action"`
				OnExitCodes struct {
					Operator string `json:"operator"`
					Values   []int  `json:"values"`
				} `json:"onExitCodes"`
			} `json:"rules"`
		} `json:"podFailurePolicy"`
		Template struct {
			Metadata meta    `json:"metadata"`
			Spec     podSpec `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

type podSpec struct {
	RestartPolicy                 string `json:"restartPolicy"`
	TerminationGracePeriodSeconds int    `json:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot   *bool  `json:"runAsNonRoot"`
		RunAsUser      *int64 `json:"runAsUser"`
		RunAsGroup     *int64 `json:"runAsGroup"`
		FSGroup        *int64 `json:"fsGroup"`
		SeccompProfile struct {
			Type string `json:"type"`
		} `json:"seccompProfile"`
		Sysctls []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"sysctls"`
	} `json:"securityContext"`
	TopologySpreadConstraints []struct {
		MaxSkew           int    `json:"maxSkew"`
		TopologyKey       string `json:"topologyKey"`
		WhenUnsatisfiable string `json:"whenUnsatisfiable"`
		LabelSelector     struct {
			MatchLabels map[string]string `json:"matchLabels"`
		} `json:"labelSelector"`
	} `json:"topologySpreadConstraints"`
	Containers []container `json:"containers"`
	Volumes    []struct {
		Name                  string `json:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `json:"claimName"`
		} `json:"persistentVolumeClaim,omitempty"`
		EmptyDir *struct{} `json:"emptyDir,omitempty"`
	} `json:"volumes"`
}

type container struct {
	Name  string   `json:"name"`
	Image string   `json:"image"`
	Args  []string `json:"args"`
	Env   []struct {
		Name      string  `json:"name"`
		Value     *string `json:"value,omitempty"`
		ValueFrom *struct {
			FieldRef struct {
				FieldPath string `json:"fieldPath"`
			} `json:"fieldRef"`
		} `json:"valueFrom,omitempty"`
	} `json:"env"`
	Resources struct {
		Requests map[string]string `json:"requests"`
		Limits   map[string]string `json:"limits"`
	} `json:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `json:"drop"`
		} `json:"capabilities"`
	} `json:"securityContext"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
}

// documents splits a multi-document YAML stream.
func documents(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, d := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		if strings.TrimSpace(stripComments(d)) != "" {
			docs = append(docs, []byte(d))
		}
	}
	return docs
}

func stripComments(s string) string {
	return regexp.MustCompile(`(?m)^\s*#.*$`).ReplaceAllString(s, "")
}

func parseManifest(t *testing.T, data []byte) (pvc, job) {
	t.Helper()
	docs := documents(t, data)
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want 2 (the results volume and the Job)", len(docs))
	}
	var p pvc
	decodeExactly(t, "the volume", docs[0], &p)
	var j job
	decodeExactly(t, "the Job", docs[1], &j)
	return p, j
}

// decodeExactly decodes doc into v strictly, then checks that every key of
// doc, with its exact spelling and value, survives the round trip through
// v.
func decodeExactly(t *testing.T, what string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	var orig, back any
	if err := yaml.Unmarshal(doc, &orig); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	out, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if err := within(what, orig, back); err != nil {
		t.Fatal(err)
	}
}

// within reports the first key or value of a that b lacks or differs in.
func within(path string, a, b any) error {
	switch a := a.(type) {
	case map[string]any:
		bm, ok := b.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: a mapping in the file, not in the model", path)
		}
		for k, av := range a {
			bv, ok := bm[k]
			if !ok {
				return fmt.Errorf("%s.%s: not a field of the Kubernetes API (check its spelling and case)", path, k)
			}
			if err := within(path+"."+k, av, bv); err != nil {
				return err
			}
		}
	case []any:
		bl, ok := b.([]any)
		if !ok || len(bl) != len(a) {
			return fmt.Errorf("%s: a list of %d in the file, %v in the model", path, len(a), b)
		}
		for i := range a {
			if err := within(fmt.Sprintf("%s[%d]", path, i), a[i], bl[i]); err != nil {
				return err
			}
		}
	default:
		if fmt.Sprint(a) != fmt.Sprint(b) {
			return fmt.Errorf("%s: %v in the file, %v in the model", path, a, b)
		}
	}
	return nil
}

// show prints an optional field: its value, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func env(c container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			if e.Value == nil {
				return "", true
			}
			return *e.Value, true
		}
	}
	return "", false
}

// checkJob asserts what makes job.yaml a sharded wshold run; shards is the
// expected shard count.
func checkJob(t *testing.T, p pvc, j job, shards int) {
	t.Helper()
	if p.Kind != "PersistentVolumeClaim" || p.APIVersion != "v1" {
		t.Errorf("first document is %s %s, want v1 PersistentVolumeClaim", p.APIVersion, p.Kind)
	}
	if len(p.Spec.AccessModes) != 1 || p.Spec.AccessModes[0] != "ReadWriteMany" {
		t.Errorf("volume access modes %v: pods on several nodes write at once, want ReadWriteMany", p.Spec.AccessModes)
	}
	if j.Kind != "Job" || j.APIVersion != "batch/v1" {
		t.Errorf("second document is %s %s, want batch/v1 Job", j.APIVersion, j.Kind)
	}
	s := j.Spec
	if s.CompletionMode != "Indexed" {
		t.Errorf("completionMode %q, want Indexed", s.CompletionMode)
	}
	if s.Completions == nil || s.Parallelism == nil || *s.Completions != shards || *s.Parallelism != shards {
		t.Errorf("completions %s parallelism %s, want both %d: every shard runs at once", show(s.Completions), show(s.Parallelism), shards)
	}
	if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != 0 {
		t.Errorf("backoffLimitPerIndex %s, want 0: a retried shard would ramp out of step", show(s.BackoffLimitPerIndex))
	}
	pod := s.Template.Spec
	if pod.RestartPolicy != "Never" {
		t.Errorf("restartPolicy %q, want Never (podFailurePolicy requires it)", pod.RestartPolicy)
	}
	sc := pod.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod securityContext runAsNonRoot %s runAsUser %s, want a non-root user", show(sc.RunAsNonRoot), show(sc.RunAsUser))
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("container may escalate privileges")
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{
		"run ",
		"--shard=$(JOB_COMPLETION_INDEX)/$(SHARDS)",
		// A shard refuses to run without a name for the run, and a bare
		// kubectl apply gives no --start-at to derive it from.
		"--run-id=job-$(RUN_ID)",
		"--start-at=$(START_AT)",
		"--out=/results/shard-$(JOB_COMPLETION_INDEX).json",
	} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	// Every $(VAR) in args must be declared in env, or Kubernetes passes
	// it through literally.
	for _, m := range regexp.MustCompile(`\$\(([A-Z_]+)\)`).FindAllStringSubmatch(args, -1) {
		if _, ok := env(c, m[1]); !ok {
			t.Errorf("args use $(%s), which env does not declare", m[1])
		}
	}
	if v, _ := env(c, "SHARDS"); v != strconv.Itoa(shards) {
		t.Errorf("env SHARDS %q, want %d (= completions)", v, shards)
	}
	// The run id must be one value for every pod of a Job and differ
	// between Jobs: the Job's uid, which the controller labels its pods with.
	runID := ""
	for _, e := range c.Env {
		if e.Name == "RUN_ID" && e.ValueFrom != nil {
			runID = e.ValueFrom.FieldRef.FieldPath
		}
	}
	if runID != "metadata.labels['batch.kubernetes.io/controller-uid']" {
		t.Errorf("env RUN_ID from %q, want the Job's uid (metadata.labels['batch.kubernetes.io/controller-uid'])", runID)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/results" {
			for _, v := range pod.Volumes {
				if v.Name == m.Name && v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == p.Metadata.Name {
					mounted = true
				}
			}
		}
	}
	if !mounted {
		t.Errorf("/results is not the volume %q", p.Metadata.Name)
	}
}

func TestJobManifestIsAnIndexedShardedRun(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, j := parseManifest(t, data)
	checkJob(t, p, j, 4)
	c := j.Spec.Template.Spec.Containers[0]
	if v, _ := env(c, "START_AT"); v != "" {
		t.Errorf("START_AT %q in the file, want empty (launch.sh sets it; empty starts at once)", v)
	}
}

func TestLaunchSetsShardsAndAFutureStartTime(t *testing.T) {
	t.Parallel()
	before := time.Now().UTC().Truncate(time.Second)
	cmd := exec.Command("bash", "launch.sh")
	cmd.Env = append(os.Environ(), "DRY_RUN=1", "SHARDS=7", "START_IN=120", "KUBECTL=false")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("launch.sh: %v\n%s", err, stderr.String())
	}
	p, j := parseManifest(t, out)
	checkJob(t, p, j, 7)
	v, _ := env(j.Spec.Template.Spec.Containers[0], "START_AT")
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		t.Fatalf("START_AT %q is not RFC 3339: %v", v, err)
	}
	if d := at.Sub(before); d < 110*time.Second || d > 10*time.Minute {
		t.Errorf("START_AT %s is %s after the launch, want about 120 s", v, d)
	}
}

func TestLaunchRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct{ env, want string }{
		{"SHARDS=0", "SHARDS=0"},
		{"SHARDS=four", "SHARDS=four"},
		{"START_IN=1m", "START_IN=1m"},
		{"JOB=/nonexistent/job.yaml", "cannot read the manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("bash", "launch.sh")
			cmd.Env = append(os.Environ(), "DRY_RUN=1", "KUBECTL=false", tt.env)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("err %v, want exit 2; output %s", err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output %q does not name %q", out, tt.want)
			}
		})
	}
}

// collect.sh against a fake kubectl that serves shard files from a
// directory and a fake wshold that records its arguments: every shard is
// fetched, merged into all.json, and a missing shard is named. The reader
// pod runs READER_IMAGE when set (nodes that pull from a mirror only).
func TestCollectFetchesEveryShardAndMerges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		present   []int
		wantCode  int
		wantMerge string
		wantErr   string
		// readerImage is READER_IMAGE, "" to leave it unset.
		readerImage, wantImage string
	}{
		{"all three", []int{0, 1, 2}, 0, "merge -o OUT/all.json OUT/shard-0.json OUT/shard-1.json OUT/shard-2.json", "copied 3 of 3", "", "busybox:1.36"},
		{"one missing", []int{0, 2}, 0, "merge -o OUT/all.json OUT/shard-0.json OUT/shard-2.json", "no result from shard(s) 1", "mirror.example/tools/busybox:1", "mirror.example/tools/busybox:1"},
		{"none", nil, 1, "", "no result from shard(s) 0 1 2", "", "busybox:1.36"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			vol := filepath.Join(dir, "volume")
			out := filepath.Join(dir, "out")
			must(t, os.MkdirAll(vol, 0o755))
			for _, i := range tt.present {
				must(t, os.WriteFile(filepath.Join(vol, "shard-"+strconv.Itoa(i)+".json"), []byte(`{"shard":"`+strconv.Itoa(i)+`/3"}`), 0o644))
			}
			log := filepath.Join(dir, "log")
			fakeKubectl := filepath.Join(dir, "kubectl")
			must(t, os.WriteFile(fakeKubectl, []byte(`#!/usr/bin/env bash
echo "kubectl $*" >>"`+log+`"
case "$1" in
get) echo 3 ;;
apply) cat >>"`+log+`.applied" ;;
exec) f=${@: -1}; cat "`+vol+`/${f#/results/}" ;;
esac
`), 0o755))
			fakeWshold := filepath.Join(dir, "wshold")
			must(t, os.WriteFile(fakeWshold, []byte(`#!/usr/bin/env bash
echo "wshold $*" >>"`+log+`"
`), 0o755))

			cmd := exec.Command("bash", "collect.sh", out)
			cmd.Env = append(os.Environ(), "KUBECTL="+fakeKubectl, "WSHOLD="+fakeWshold)
			if tt.readerImage != "" {
				cmd.Env = append(cmd.Env, "READER_IMAGE="+tt.readerImage)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.wantErr)
			}
			logText, _ := os.ReadFile(log)
			calls := strings.ReplaceAll(string(logText), out, "OUT")
			if tt.wantMerge != "" && !strings.Contains(calls, "wshold "+tt.wantMerge+"\n") {
				t.Errorf("calls:\n%s\nwant wshold %s", calls, tt.wantMerge)
			}
			if tt.wantMerge == "" && strings.Contains(calls, "wshold merge") {
				t.Errorf("merged with no shard results:\n%s", calls)
			}
			applied, _ := os.ReadFile(log + ".applied")
			if !regexp.MustCompile(`(?m)^\s+image: ` + regexp.QuoteMeta(tt.wantImage) + `$`).Match(applied) {
				t.Errorf("the reader pod's manifest does not run %s:\n%s", tt.wantImage, applied)
			}
			if !strings.Contains(calls, "kubectl delete pod wshold-results-reader") {
				t.Errorf("the reader pod was not deleted:\n%s", calls)
			}
			for _, i := range tt.present {
				got, err := os.ReadFile(filepath.Join(out, "shard-"+strconv.Itoa(i)+".json"))
				if err != nil || !strings.Contains(string(got), strconv.Itoa(i)+"/3") {
					t.Errorf("shard %d copied as %q (%v)", i, got, err)
				}
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
