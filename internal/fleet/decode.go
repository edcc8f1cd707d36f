package fleet

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/opsdeck/opsdeck/internal/fleet/wire"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// ErrTooLarge is a report over the compressed or decompressed size limit
// (a gzip bomb included); the web layer answers 413.
var ErrTooLarge = errors.New("fleet: report too large")

// DecodeReport reads one report from body, gunzipping it when encoding is
// "gzip" ("" and "identity" mean plain JSON), and validates it. At most
// wire.MaxDecompressedBytes are inflated, so a bomb costs no more than
// that. Errors: ErrTooLarge, or a *valid.Error naming the field (the body
// is not JSON, a field has the wrong type, a value is out of range).
func DecodeReport(body io.Reader, encoding string) (*wire.Report, error) {
	src := &sourceReader{r: body}
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "", "identity":
		r = src
	case "gzip":
		zr, err := gzip.NewReader(src)
		if err != nil {
			return nil, readError(src, err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, valid.Errorf("Content-Encoding", "must be gzip or identity")
	}
	buf, err := io.ReadAll(io.LimitReader(r, wire.MaxDecompressedBytes+1))
	if err != nil {
		return nil, readError(src, err)
	}
	if len(buf) > wire.MaxDecompressedBytes {
		return nil, ErrTooLarge
	}
	var rep wire.Report
	dec := json.NewDecoder(bytes.NewReader(buf))
	if err := dec.Decode(&rep); err != nil {
		return nil, jsonError(err)
	}
	if dec.More() {
		return nil, valid.Errorf("body", "has data after the report")
	}
	if err := rep.Validate(); err != nil {
		return nil, err
	}
	return &rep, nil
}

// sourceReader remembers the error of the reader under the gunzip, so a
// failed connection is told apart from a corrupt body.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// readError classifies a failure to read a report: too large (413), the
// connection failing or timing out mid-body (not the report's fault, so
// not a 400, which makes the agent drop it), or a corrupt body (400).
func readError(src *sourceReader, err error) error {
	switch {
	case tooLarge(err):
		return ErrTooLarge
	case src.err != nil:
		return fmt.Errorf("fleet: read report: %w", src.err)
	}
	return valid.Errorf("body", "is not valid gzip data")
}

// DecodeEnroll reads an enrollment request (at most 64 KiB) and validates
// it.
func DecodeEnroll(body io.Reader) (wire.EnrollRequest, error) {
	var in wire.EnrollRequest
	buf, err := io.ReadAll(io.LimitReader(body, 64<<10+1))
	if err != nil {
		if tooLarge(err) {
			return in, ErrTooLarge
		}
		return in, valid.Errorf("body", "could not be read")
	}
	if len(buf) > 64<<10 {
		return in, ErrTooLarge
	}
	if err := json.Unmarshal(buf, &in); err != nil {
		return in, jsonError(err)
	}
	return in, in.Validate()
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// jsonError turns a decoding error into a validation error naming the
// field where the JSON says which.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return valid.Errorf(te.Field, "must be a %s", te.Type.Kind())
	}
	var pe *json.UnmarshalTypeError
	if errors.As(err, &pe) {
		return valid.Errorf("body", "has a value of the wrong type")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return valid.Errorf("body", "is not valid JSON (at byte %d)", se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return valid.Errorf("body", "is empty or cut short")
	}
	return valid.Errorf("body", "is not a report: %s", clip(err.Error(), 200))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
