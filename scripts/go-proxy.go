//go:build ignore

// Writes a Go module proxy on the file system (for GOPROXY=file://OUT) from the Go sources Debian packages under
// SRC (/usr/share/gocode/src), so that module-mode builds need no network:
//
//	go run scripts/go-proxy.go /usr/share/gocode/src OUT
//
// Every directory there with a go.mod is one module, offered at one version: its Debian package's
// (golang-google-grpc-dev 1.33.3-2 is v1.33.3; a snapshot 0.0~git20200413.b5235f6 is the pseudo-version
// v0.0.0-20200413000000-b5235f6). Its go.mod is rewritten to require only modules offered here, at their versions
// here: Debian builds each package against the others it ships and strips what needs the rest (grpc's xds, which needs
// envoy), and a module graph naming modules that are not here could not be loaded offline.
//
// The zips are Debian's sources, not upstream's, so their hashes differ from sum.golang.org's: the build using this
// proxy sets GOSUMDB=off and keeps its go.sum out of the tree (scripts/build-go-example.sh).
package main

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

type module struct {
	path, version, dir, goVersion string
	requires                      []string // module paths
	time                          time.Time
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: go run scripts/go-proxy.go SRC OUT")
	}
	src, out := os.Args[1], os.Args[2]
	mods := map[string]*module{}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "go.mod" || !d.Type().IsRegular() {
			return err
		}
		m, err := read(p)
		if err != nil {
			return err
		}
		if m.version == "" {
			log.Printf("go-proxy: %s: no Go version for its Debian package, left out", m.path)
			return nil
		}
		mods[m.path] = m
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range mods {
		if err := write(out, m, mods); err != nil {
			log.Fatal(err)
		}
	}
}

var (
	moduleLine  = regexp.MustCompile(`^module\s+"?([^\s"]+)"?`)
	goLine      = regexp.MustCompile(`^go\s+(\S+)`)
	requireLine = regexp.MustCompile(`^(?:require\s+)?"?([^\s"()]+)"?\s+v\S+`)
)

// read parses go.mod at p (module, go and require lines) and finds its Debian version.
func read(p string) (*module, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	m := &module{dir: filepath.Dir(p), goVersion: "1.11", time: st.ModTime().UTC()}
	inRequire := false
	for s := bufio.NewScanner(f); s.Scan(); {
		line := strings.TrimSpace(strings.SplitN(s.Text(), "//", 2)[0])
		switch {
		case moduleLine.MatchString(line):
			m.path = moduleLine.FindStringSubmatch(line)[1]
		case goLine.MatchString(line):
			m.goVersion = goLine.FindStringSubmatch(line)[1]
		case line == "require (":
			inRequire = true
		case line == ")":
			inRequire = false
		case inRequire || strings.HasPrefix(line, "require "):
			if r := requireLine.FindStringSubmatch(line); r != nil {
				m.requires = append(m.requires, r[1])
			}
		}
	}
	if m.path == "" {
		return nil, fmt.Errorf("%s: no module line", p)
	}
	m.version, err = debianVersion(p)
	return m, err
}

var (
	release  = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`)
	snapshot = regexp.MustCompile(`^0(?:\.0)*~git(\d{8})\.([0-9a-f]+)$`)
)

// debianVersion is the Go version of the Debian package that owns file p: epoch, Debian revision and repack
// suffixes (+dfsg, +ds) dropped; "" if it is neither a release nor a 0.0 snapshot.
func debianVersion(p string) (string, error) {
	owner, err := exec.Command("dpkg-query", "-S", p).Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-query -S %s: %v", p, err)
	}
	pkg := strings.TrimSpace(strings.Split(strings.SplitN(string(owner), ":", 2)[0], ",")[0])
	v, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil {
		return "", fmt.Errorf("dpkg-query -W %s: %v", pkg, err)
	}
	s := string(v)
	if i := strings.Index(s, ":"); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndex(s, "-"); i >= 0 {
		s = s[:i]
	}
	s = strings.SplitN(s, "+", 2)[0]
	if r := release.FindStringSubmatch(s); r != nil {
		if r[3] == "" {
			r[3] = "0"
		}
		return fmt.Sprintf("v%s.%s.%s", r[1], r[2], r[3]), nil
	}
	if r := snapshot.FindStringSubmatch(s); r != nil {
		return fmt.Sprintf("v0.0.0-%s000000-%s", r[1], r[2]), nil
	}
	return "", nil
}

// goMod is m's go.mod as offered here: its requirements that are offered too, at their versions here.
func goMod(m *module, mods map[string]*module) string {
	var req []string
	for _, r := range m.requires {
		if d, ok := mods[r]; ok && r != m.path {
			req = append(req, fmt.Sprintf("\t%s %s\n", r, d.version))
		}
	}
	sort.Strings(req)
	s := fmt.Sprintf("module %s\n\ngo %s\n", m.path, m.goVersion)
	if len(req) > 0 {
		s += "\nrequire (\n" + strings.Join(req, "") + ")\n"
	}
	return s
}

// write puts m's list, .info, .mod and .zip under out/<escaped path>/@v/.
func write(out string, m *module, mods map[string]*module) error {
	dir := filepath.Join(out, escape(m.path), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	mod := goMod(m, mods)
	info, _ := json.Marshal(map[string]string{"Version": m.version, "Time": m.time.Format(time.RFC3339)})
	for name, data := range map[string]string{"list": m.version + "\n", m.version + ".info": string(info), m.version + ".mod": mod} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	return zipModule(filepath.Join(dir, m.version+".zip"), m, mod)
}

// zipModule writes m's files as a module zip: each under path@version/, without nested modules, VCS and vendor
// directories or anything but regular files, and with the rewritten go.mod.
func zipModule(file string, m *module, mod string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	z := zip.NewWriter(f)
	prefix := m.path + "@" + m.version + "/"
	err = filepath.WalkDir(m.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(m.dir, p)
		if d.IsDir() {
			if p == m.dir {
				return nil
			}
			if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil || d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || rel == "go.mod" || rel == "go.sum" {
			return nil
		}
		w, err := z.Create(prefix + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		r, err := os.Open(p)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(w, r)
		return err
	})
	if err != nil {
		return err
	}
	w, err := z.Create(prefix + "go.mod")
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, mod); err != nil {
		return err
	}
	return z.Close()
}

// escape is the module proxy protocol's case encoding: each upper-case letter becomes '!' and its lower case.
func escape(path string) string {
	var b strings.Builder
	for _, r := range path {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
