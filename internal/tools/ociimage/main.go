// Command ociimage writes iamd's container image as an OCI image layout
// (https://github.com/opencontainers/image-spec), without a container
// engine: one layer per platform holding the static binary, a passwd and
// group file naming the unprivileged user, the system's CA certificates,
// /data (the data dir) and /tmp. scripts/release runs it.
//
//	go run ./internal/tools/ociimage -out dist/image -tar dist/iamd-image.tar \
//	    -version v1.2.3 -revision abc123 linux/amd64=dist/iamd-linux-amd64 linux/arm64=dist/iamd-linux-arm64
//
// With -inspect DIR it prints an image layout's platforms and each one's
// entrypoint, user, ports and files instead, and with -extract PLATFORM
// -to FILE copies that platform's /iamd out of it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The image's fixed parts.
const (
	uid, gid = 65532, 65532 // distroless's "nonroot"
	passwd   = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group    = "root:x:0:\nnonroot:x:65532:\n"
	caFile   = "/etc/ssl/certs/ca-certificates.crt"
)

func main() {
	out := flag.String("out", "", "directory to write the OCI image layout to")
	tarPath := flag.String("tar", "", "also write the layout as a tar file (docker load, podman load)")
	version := flag.String("version", "dev", "the image's version label")
	revision := flag.String("revision", "", "the source revision label")
	created := flag.String("created", "", "creation time, RFC 3339 (default: SOURCE_DATE_EPOCH, else now)")
	cas := flag.String("ca-certificates", caFile, "CA bundle to put in the image")
	inspect := flag.String("inspect", "", "print what the image layout in this directory holds")
	extract := flag.String("extract", "", "with -inspect: the platform (os/arch) whose /iamd to copy out")
	to := flag.String("to", "", "with -extract: where to copy it")
	flag.Parse()
	log.SetFlags(0)
	if *inspect != "" {
		if err := inspectLayout(os.Stdout, *inspect, *extract, *to); err != nil {
			log.Fatalf("ociimage: %v", err)
		}
		return
	}
	if *out == "" || flag.NArg() == 0 {
		log.Fatal("usage: ociimage -out DIR [-tar FILE] [-version V] os/arch=BINARY ...")
	}
	at, err := creationTime(*created)
	if err != nil {
		log.Fatalf("ociimage: %v", err)
	}
	ca, err := os.ReadFile(*cas)
	if err != nil {
		log.Fatalf("ociimage: the CA certificates to put in the image: %v", err)
	}
	img := image{dir: *out, at: at, version: *version, revision: *revision, ca: ca}
	if err := img.write(flag.Args()); err != nil {
		log.Fatalf("ociimage: %v", err)
	}
	if *tarPath != "" {
		if err := tarDir(*out, *tarPath, at); err != nil {
			log.Fatalf("ociimage: %v", err)
		}
	}
}

func creationTime(s string) (time.Time, error) {
	if s != "" {
		return time.Parse(time.RFC3339, s)
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		var sec int64
		if _, err := fmt.Sscan(e, &sec); err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q", e)
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	return time.Now().UTC().Truncate(time.Second), nil
}

type image struct {
	dir               string
	at                time.Time
	version, revision string
	ca                []byte
}

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        descriptor   `json:"config"`
	Layers        []descriptor `json:"layers"`
}

type index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

// imageConfig is the part of the OCI image configuration iamd sets.
type imageConfig struct {
	Created      string   `json:"created"`
	Architecture string   `json:"architecture"`
	OS           string   `json:"os"`
	Config       runtime  `json:"config"`
	RootFS       rootFS   `json:"rootfs"`
	History      []histry `json:"history"`
}

type runtime struct {
	User         string              `json:"User"`
	Entrypoint   []string            `json:"Entrypoint"`
	Cmd          []string            `json:"Cmd"`
	Env          []string            `json:"Env"`
	WorkingDir   string              `json:"WorkingDir"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts"`
	Volumes      map[string]struct{} `json:"Volumes"`
	Labels       map[string]string   `json:"Labels"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type histry struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

func (img *image) write(targets []string) error {
	if err := os.RemoveAll(img.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(img.dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	idx := index{SchemaVersion: 2, MediaType: "application/vnd.oci.image.index.v1+json"}
	for _, t := range targets {
		plat, bin, ok := strings.Cut(t, "=")
		osName, arch, ok2 := strings.Cut(plat, "/")
		if !ok || !ok2 || osName != "linux" {
			return fmt.Errorf("%q: want linux/ARCH=BINARY", t)
		}
		d, err := img.platform(osName, arch, bin)
		if err != nil {
			return fmt.Errorf("%s: %w", plat, err)
		}
		idx.Manifests = append(idx.Manifests, d)
	}
	b, _ := json.MarshalIndent(idx, "", "  ")
	if err := os.WriteFile(filepath.Join(img.dir, "index.json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(img.dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// platform writes one platform's layer, config and manifest, and returns
// the manifest's descriptor.
func (img *image) platform(osName, arch, binPath string) (descriptor, error) {
	bin, err := os.ReadFile(binPath)
	if err != nil {
		return descriptor{}, err
	}
	layer, diffID, err := img.layer(bin)
	if err != nil {
		return descriptor{}, err
	}
	layerDesc, err := img.blob("application/vnd.oci.image.layer.v1.tar+gzip", layer)
	if err != nil {
		return descriptor{}, err
	}
	created := img.at.Format(time.RFC3339)
	cfg := imageConfig{
		Created: created, Architecture: arch, OS: osName,
		Config: runtime{
			User:       fmt.Sprintf("%d:%d", uid, gid),
			Entrypoint: []string{"/iamd"},
			Cmd:        []string{"serve"},
			// In a container iamd listens on every address; off loopback it
			// serves plain HTTP only when told to (--insecure-http), else
			// TLS (--tls-cert, --tls-key).
			Env:          []string{"IAMD_ADDR=0.0.0.0:8600", "IAMD_DATA_DIR=/data"},
			WorkingDir:   "/data",
			ExposedPorts: map[string]struct{}{"8600/tcp": {}},
			Volumes:      map[string]struct{}{"/data": {}},
			Labels: map[string]string{
				"org.opencontainers.image.title":    "iamd",
				"org.opencontainers.image.version":  img.version,
				"org.opencontainers.image.revision": img.revision,
				"org.opencontainers.image.created":  created,
			},
		},
		RootFS:  rootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []histry{{Created: created, CreatedBy: "scripts/release"}},
	}
	cb, _ := json.Marshal(cfg)
	cfgDesc, err := img.blob("application/vnd.oci.image.config.v1+json", cb)
	if err != nil {
		return descriptor{}, err
	}
	mb, _ := json.Marshal(manifest{SchemaVersion: 2, MediaType: "application/vnd.oci.image.manifest.v1+json", Config: cfgDesc, Layers: []descriptor{layerDesc}})
	d, err := img.blob("application/vnd.oci.image.manifest.v1+json", mb)
	if err != nil {
		return descriptor{}, err
	}
	d.Platform = &platform{Architecture: arch, OS: osName}
	d.Annotations = map[string]string{"org.opencontainers.image.ref.name": img.version}
	return d, nil
}

// layer is the gzipped tar of the image's one layer, and the digest of the
// uncompressed tar (the diff ID).
func (img *image) layer(bin []byte) ([]byte, string, error) {
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: img.at, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: img.at, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	err := errors.Join(
		dir("etc", 0o755, 0), file("etc/passwd", 0o644, []byte(passwd)), file("etc/group", 0o644, []byte(group)),
		dir("etc/ssl", 0o755, 0), dir("etc/ssl/certs", 0o755, 0), file("etc/ssl/certs/ca-certificates.crt", 0o644, img.ca),
		dir("data", 0o700, uid), dir("tmp", 0o1777, 0),
		file("iamd", 0o755, bin),
		tw.Close())
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(raw.Bytes())
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression) // no name, no time: the same bytes each build
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return nil, "", err
	}
	if err := zw.Close(); err != nil {
		return nil, "", err
	}
	return gz.Bytes(), "sha256:" + hex.EncodeToString(sum[:]), nil
}

// blob stores b under its digest.
func (img *image) blob(mediaType string, b []byte) (descriptor, error) {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	if err := os.WriteFile(filepath.Join(img.dir, "blobs", "sha256", h), b, 0o644); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: "sha256:" + h, Size: int64(len(b))}, nil
}

// tarDir writes the files under dir into a tar file, in a fixed order.
func tarDir(dir, path string, at time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return err
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Close()
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), ModTime: at}); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(b); err != nil {
			f.Close()
			return err
		}
	}
	return errors.Join(tw.Close(), f.Close())
}

// inspectLayout prints what the layout in dir holds; with extract, it
// copies that platform's /iamd to to.
func inspectLayout(w io.Writer, dir, extract, to string) error {
	read := func(digest string, v any) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != digest {
			return nil, fmt.Errorf("blob %s does not match its digest", digest)
		}
		if v != nil {
			return b, json.Unmarshal(b, v)
		}
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return err
	}
	var idx index
	if err := json.Unmarshal(b, &idx); err != nil {
		return err
	}
	found := extract == ""
	for _, md := range idx.Manifests {
		var m manifest
		if _, err := read(md.Digest, &m); err != nil {
			return err
		}
		var cfg imageConfig
		if _, err := read(m.Config.Digest, &cfg); err != nil {
			return err
		}
		plat := cfg.OS + "/" + cfg.Architecture
		var ports []string
		for p := range cfg.Config.ExposedPorts {
			ports = append(ports, p)
		}
		sort.Strings(ports)
		fmt.Fprintf(w, "%s: entrypoint %q cmd %q user %s workdir %s ports %s env %q version %s\n", plat, cfg.Config.Entrypoint, cfg.Config.Cmd,
			cfg.Config.User, cfg.Config.WorkingDir, strings.Join(ports, ","), cfg.Config.Env, cfg.Config.Labels["org.opencontainers.image.version"])
		for _, l := range m.Layers {
			lb, err := read(l.Digest, nil)
			if err != nil {
				return err
			}
			zr, err := gzip.NewReader(bytes.NewReader(lb))
			if err != nil {
				return err
			}
			tr := tar.NewReader(zr)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "  %s %o %d:%d %d\n", h.Name, h.Mode, h.Uid, h.Gid, h.Size)
				if plat == extract && h.Name == "iamd" {
					body, err := io.ReadAll(tr)
					if err != nil {
						return err
					}
					if err := os.WriteFile(to, body, 0o755); err != nil {
						return err
					}
					found = true
				}
			}
		}
	}
	if !found {
		return fmt.Errorf("no /iamd for %s in the image", extract)
	}
	return nil
}
