package deskmail

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"strings"
	"time"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // decodes the charsets mail uses (ISO-8859-x, Windows-125x, Shift-JIS…)
	"github.com/emersion/go-message/mail"
)

// Limits of one parsed message. The whole message is already capped by
// the listener (Config.MaxMessageBytes); these bound what a hostile
// structure can make the parser do with it.
const (
	maxHeaderBytes = 256 << 10
	maxParts       = 100
	maxDepth       = 8
	maxTextBytes   = 1 << 20
	maxIDs         = 50
	maxSubjectLen  = 200
)

// Message is one inbound mail, parsed: who sent it, how it threads, the
// headers loop protection reads, its text and its files.
type Message struct {
	MessageID  string
	From       string // lower-case address
	FromName   string
	Subject    string
	InReplyTo  []string
	References []string
	Date       time.Time
	// Loop is the header set loop protection reads, keys lower case.
	Loop  map[string]string
	Text  string
	Files []File
	// Notes says what the parser left out (parts over the limits, bodies
	// it could not decode), for the ticket's internal note.
	Notes []string
}

// File is one attachment as the mail carried it.
type File struct {
	Name string
	Data []byte
}

// loopHeaders are the headers kept for loop and bulk detection.
var loopHeaders = []string{"Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id", "Return-Path"}

// Parse reads a raw RFC 5322 message. It fails only when there is no
// usable header; a broken body yields what could be read, with notes.
func Parse(raw []byte) (*Message, error) {
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: maxHeaderBytes})
	if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
		return nil, fmt.Errorf("deskmail: header: %w", err)
	}
	h := mail.Header{Header: e.Header}
	m := &Message{Loop: map[string]string{}}
	for _, k := range loopHeaders {
		if v := h.Get(k); v != "" {
			m.Loop[strings.ToLower(k)] = oneLine(v, 200)
		}
	}
	if list, err := h.AddressList("From"); err == nil && len(list) > 0 {
		m.From, m.FromName = strings.ToLower(list[0].Address), oneLine(list[0].Name, 200)
	} else if a := looseAddress(h.Get("From")); a != "" {
		m.From = a
	}
	if s, err := h.Subject(); err == nil {
		m.Subject = s
	} else {
		m.Subject = h.Get("Subject")
	}
	m.Subject = oneLine(m.Subject, maxSubjectLen)
	if id, err := h.MessageID(); err == nil && id != "" {
		m.MessageID = oneLine(id, 250)
	}
	if m.MessageID == "" {
		// No usable Message-ID: the content stands in, so a resent copy is
		// still recognised as the same message.
		sum := sha256.Sum256(raw)
		m.MessageID = "sha256-" + hex.EncodeToString(sum[:16]) + "@opsdeck.invalid"
	}
	m.InReplyTo = msgIDs(h, "In-Reply-To")
	m.References = msgIDs(h, "References")
	if d, err := h.Date(); err == nil {
		m.Date = d.UTC()
	}
	var text, html strings.Builder
	w := walker{m: m, text: &text, html: &html}
	w.entity(e, 0)
	body := strings.TrimSpace(text.String())
	if body == "" && html.Len() > 0 {
		body = strings.TrimSpace(HTMLToText(html.String()))
	}
	m.Text = body
	return m, nil
}

// walker collects a message's text and files, bounded in parts and depth.
type walker struct {
	m          *Message
	text, html *strings.Builder
	parts      int
}

func (w *walker) entity(e *message.Entity, depth int) {
	w.parts++
	if w.parts > maxParts {
		if w.parts == maxParts+1 {
			w.m.Notes = append(w.m.Notes, fmt.Sprintf("more than %d MIME parts: the rest were dropped", maxParts))
		}
		return
	}
	if depth > maxDepth {
		w.m.Notes = append(w.m.Notes, "MIME parts nested too deep were dropped")
		return
	}
	if mr := e.MultipartReader(); mr != nil {
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
					w.m.Notes = append(w.m.Notes, "a broken MIME structure: "+oneLine(err.Error(), 120))
					return
				}
			}
			if p == nil {
				return
			}
			w.entity(p, depth+1)
		}
	}
	ct, params, err := e.Header.ContentType()
	if err != nil || ct == "" {
		ct = "text/plain"
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	attached := disp == "attachment" || (name != "" && !strings.HasPrefix(ct, "text/"))
	if !attached && (ct == "text/plain" || ct == "text/html") {
		data, err := io.ReadAll(io.LimitReader(e.Body, maxTextBytes+1))
		if err != nil {
			w.m.Notes = append(w.m.Notes, "a text part could not be decoded: "+oneLine(err.Error(), 120))
		}
		if len(data) > maxTextBytes {
			data = data[:maxTextBytes]
			w.m.Notes = append(w.m.Notes, "the text was cut at 1 MiB")
		}
		s := strings.ToValidUTF8(string(data), "\uFFFD")
		if ct == "text/html" {
			w.html.WriteString(s)
		} else {
			if w.text.Len() > 0 {
				w.text.WriteString("\n\n")
			}
			w.text.WriteString(s)
		}
		return
	}
	if strings.HasPrefix(ct, "multipart/") {
		return
	}
	if name == "" {
		ext := ".bin"
		if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
			ext = exts[0]
		}
		if ct == "message/rfc822" {
			ext = ".eml"
		}
		name = fmt.Sprintf("part%d%s", w.parts, ext)
	}
	data, err := io.ReadAll(io.LimitReader(e.Body, maxAttachRead+1))
	if err != nil {
		w.m.Notes = append(w.m.Notes, fmt.Sprintf("attachment %q could not be decoded: %s", oneLine(path.Base(name), 100), oneLine(err.Error(), 120)))
		return
	}
	w.m.Files = append(w.m.Files, File{Name: oneLine(name, 200), Data: data})
}

// maxAttachRead bounds one decoded attachment; the service desk's own
// cap (usually smaller) refuses it with a note.
const maxAttachRead = 64 << 20

// msgIDs reads a list of Message-IDs, falling back to a lenient split
// for the malformed lists real mailers write.
func msgIDs(h mail.Header, key string) []string {
	ids, err := h.MsgIDList(key)
	if err != nil || len(ids) == 0 {
		ids = nil
		for _, f := range strings.Fields(h.Get(key)) {
			f = strings.Trim(f, "<>,")
			if strings.Contains(f, "@") {
				ids = append(ids, f)
			}
		}
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id = oneLine(id, 250); id != "" && len(out) < maxIDs {
			out = append(out, id)
		}
	}
	return out
}

// looseAddress pulls an address out of a From header net/mail refuses.
func looseAddress(s string) string {
	if i, j := strings.LastIndexByte(s, '<'), strings.LastIndexByte(s, '>'); i >= 0 && j > i {
		s = s[i+1 : j]
	}
	s = strings.ToLower(strings.TrimSpace(s))
	if strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\r\n<>,;\"") || len(s) > 254 {
		return ""
	}
	return s
}

// oneLine makes outside text safe for one line of a table or a header: no
// control characters, valid UTF-8, at most max bytes.
func oneLine(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return cut(strings.TrimSpace(s), max)
}
