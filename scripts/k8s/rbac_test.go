package k8s

import (
	"os"
	"slices"
	"testing"
)

type rule struct {
	APIGroups []string `json:"apiGroups"`
	Resources []string `json:"resources"`
	Verbs     []string `json:"verbs"`
}

type role struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	Rules      []rule `json:"rules"`
}

type roleBinding struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   meta   `json:"metadata"`
	RoleRef    struct {
		APIGroup string `json:"apiGroup"`
		Kind     string `json:"kind"`
		Name     string `json:"name"`
	} `json:"roleRef"`
	Subjects []struct {
		Kind      string `json:"kind"`
		APIGroup  string `json:"apiGroup,omitempty"`
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"subjects"`
}

// rbac.yaml grants what launch.sh, collect.sh and the README's commands
// do, each request listed here with the command that makes it, and
// nothing cluster-wide (e2e.sh runs both scripts with only this role).
func TestRoleGrantsWhatTheScriptsDo(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, data)
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want 2 (a Role and its RoleBinding)", len(docs))
	}
	var r role
	decodeExactly(t, "the Role", docs[0], &r)
	var b roleBinding
	decodeExactly(t, "the RoleBinding", docs[1], &b)
	if r.Kind != "Role" || b.Kind != "RoleBinding" || r.APIVersion != "rbac.authorization.k8s.io/v1" || b.APIVersion != r.APIVersion {
		t.Fatalf("documents are %s %s and %s %s, want rbac.authorization.k8s.io/v1 Role and RoleBinding (namespaced, not cluster-wide)", r.APIVersion, r.Kind, b.APIVersion, b.Kind)
	}
	if b.RoleRef.Kind != "Role" || b.RoleRef.Name != r.Metadata.Name || b.RoleRef.APIGroup != "rbac.authorization.k8s.io" {
		t.Errorf("the binding refers to %s %q, want the Role %q", b.RoleRef.Kind, b.RoleRef.Name, r.Metadata.Name)
	}
	if len(b.Subjects) == 0 {
		t.Errorf("the binding has no subject")
	}
	granted := func(group, resource, verb string) bool {
		for _, ru := range r.Rules {
			if slices.Contains(ru.APIGroups, group) && slices.Contains(ru.Resources, resource) && slices.Contains(ru.Verbs, verb) {
				return true
			}
		}
		return false
	}
	for _, need := range []struct{ by, group, resource, verb string }{
		{"launch.sh: kubectl apply (claim)", "", "persistentvolumeclaims", "get"},
		{"launch.sh: kubectl apply (claim)", "", "persistentvolumeclaims", "create"},
		{"launch.sh: kubectl apply (claim, again)", "", "persistentvolumeclaims", "patch"},
		{"launch.sh: kubectl apply (Job)", "batch", "jobs", "get"},
		{"launch.sh: kubectl apply (Job)", "batch", "jobs", "create"},
		{"kubectl wait job/wshold", "batch", "jobs", "list"},
		{"kubectl wait job/wshold", "batch", "jobs", "watch"},
		{"kubectl delete -f job.yaml", "batch", "jobs", "delete"},
		{"kubectl delete -f job.yaml", "", "persistentvolumeclaims", "delete"},
		{"collect.sh: the reader pod", "", "pods", "create"},
		{"collect.sh: kubectl wait pod", "", "pods", "watch"},
		{"collect.sh: kubectl wait pod", "", "pods", "list"},
		{"collect.sh: kubectl exec over WebSocket", "", "pods/exec", "get"},
		{"collect.sh: kubectl exec over SPDY", "", "pods/exec", "create"},
		{"collect.sh: cleanup", "", "pods", "delete"},
		{"kubectl logs of a shard", "", "pods/log", "get"},
	} {
		if !granted(need.group, need.resource, need.verb) {
			t.Errorf("%s needs %s on %q %s, which the Role does not grant", need.by, need.verb, need.group, need.resource)
		}
	}
	for _, ru := range r.Rules {
		if slices.Contains(ru.Verbs, "*") || slices.Contains(ru.Resources, "*") || slices.Contains(ru.Resources, "secrets") {
			t.Errorf("rule %+v grants more than the scripts use", ru)
		}
	}
}
