package k8s

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// No container engine runs where the tests do, so the Dockerfile is checked
// as text: two stages, a static build of the real main package, a
// distroless or scratch final stage, and a non-root user.
func TestDockerfileBuildsAStaticNonRootImage(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	var last struct{ user, entrypoint string }
	var build, copyFrom bool
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			froms = append(froms, line)
			last.user, last.entrypoint = "", ""
		case "USER":
			last.user = f[1]
		case "ENTRYPOINT":
			last.entrypoint = line
		case "RUN":
			if strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "go build") {
				build = true
			}
		case "COPY":
			if strings.HasPrefix(f[1], "--from=build") {
				copyFrom = true
			}
		}
	}
	if len(froms) != 2 || !regexp.MustCompile(`(?i)\sAS\s+build$`).MatchString(froms[0]) {
		t.Fatalf("stages %q, want a build stage named build and a final stage", froms)
	}
	if !regexp.MustCompile(`distroless/static|^FROM scratch`).MatchString(froms[1]) {
		t.Errorf("final stage %q, want distroless/static or scratch (a static binary needs no libc)", froms[1])
	}
	if !build {
		t.Errorf("no RUN with CGO_ENABLED=0 go build: the binary would need libc")
	}
	if !copyFrom {
		t.Errorf("the final stage copies nothing from the build stage")
	}
	if u := last.user; u == "" || u == "0" || strings.HasPrefix(u, "root") || strings.HasPrefix(u, "0:") {
		t.Errorf("final stage USER %q, want a non-root user", u)
	}
	if !strings.Contains(last.entrypoint, "wshold") {
		t.Errorf("ENTRYPOINT %q, want the wshold binary", last.entrypoint)
	}
	// The build must name packages that exist, and -X a variable that exists.
	if !strings.Contains(string(data), "./cmd/wshold") {
		t.Errorf("the build does not build ./cmd/wshold")
	}
	main, err := os.ReadFile("../../cmd/wshold/main.go")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "-X main.version=") && !regexp.MustCompile(`(?m)^var version = `).Match(main) {
		t.Errorf("-X main.version names a variable cmd/wshold/main.go does not declare")
	}
}
