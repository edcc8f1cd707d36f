package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/opsdeck/opsdeck/internal/valid"
)

func TestHashIsOfSortedLines(t *testing.T) {
	a := []Package{{Name: "zlib", Version: "1", Arch: "amd64", Source: "dpkg"}, {Name: "bash", Version: "5", Arch: "amd64", Source: "dpkg"}}
	b := []Package{a[1], a[0]}
	sum := sha256.Sum256([]byte("dpkg\tbash\t5\tamd64\ndpkg\tzlib\t1\tamd64\n"))
	if Hash(a) != hex.EncodeToString(sum[:]) || Hash(a) != Hash(b) {
		t.Fatalf("hash %s", Hash(a))
	}
}

func TestEnrollValidate(t *testing.T) {
	for _, c := range []struct {
		in    EnrollRequest
		field string
	}{
		{EnrollRequest{Token: "nope", Hostname: "h"}, "token"},
		{EnrollRequest{Token: "odenr_x", Hostname: ""}, "hostname"},
		{EnrollRequest{Token: "odenr_x", Hostname: "h", MachineID: "a\nb"}, "machine_id"},
	} {
		if ve, ok := valid.As(c.in.Validate()); !ok || ve.Field != c.field {
			t.Errorf("%+v: %v", c.in, c.in.Validate())
		}
	}
	r := Report{Seq: 1, SentAt: time.Now(), Files: []FileChange{{Path: "/etc/x", SHA256: "", T: time.Now()}}}
	if err := r.Validate(); err != nil {
		t.Fatalf("a deleted file is valid: %v", err)
	}
}
