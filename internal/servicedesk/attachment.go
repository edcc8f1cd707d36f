package servicedesk

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/opsdeck/opsdeck/internal/auth"
	"github.com/opsdeck/opsdeck/internal/valid"
)

// DefaultMaxAttachment is the attachment size cap when Options leaves it
// unset.
const DefaultMaxAttachment = 10 << 20

// allowedTypes are the content types, as sniffed from the bytes, that a
// ticket may carry: pictures, PDFs, plain text and archives. HTML, SVG and
// scripts are refused: even served as downloads they are what an attacker
// would upload.
var allowedTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"application/pdf": true, "text/plain; charset=utf-8": true, "text/plain; charset=utf-16be": true,
	"text/plain; charset=utf-16le": true, "application/zip": true, "application/x-gzip": true,
}

// Attachment is a file on a ticket. Data is filled only by AttachmentData.
type Attachment struct {
	ID          int64     `json:"id"`
	TicketID    int64     `json:"ticket_id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	Data        []byte    `json:"-"`
}

// MaxAttachment is the size cap of one attachment.
func (s *Service) MaxAttachment() int64 {
	if s.opts.MaxAttachmentBytes > 0 {
		return s.opts.MaxAttachmentBytes
	}
	return DefaultMaxAttachment
}

// cleanFilename keeps the base name of an uploaded file, without control
// characters or path separators, at most 200 characters.
func cleanFilename(name string) (string, error) {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == '/' {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" || name == "." || name == ".." {
		return "", valid.Errorf("file", "needs a file name")
	}
	if err := valid.Text("file", name, true, 200, false); err != nil {
		return "", err
	}
	return name, nil
}

// AddAttachment stores a file on a ticket the caller may see and reply to.
// The type is sniffed from the bytes; types outside the allowed list and
// files over the cap are refused naming the field "file".
func (s *Service) AddAttachment(ctx context.Context, ticketID int64, filename string, data []byte) (Attachment, error) {
	a := auth.ActorFrom(ctx)
	if a.Role == auth.RoleViewer {
		return Attachment{}, ErrForbidden
	}
	name, err := cleanFilename(filename)
	if err != nil {
		return Attachment{}, err
	}
	if len(data) == 0 {
		return Attachment{}, valid.Errorf("file", "is empty")
	}
	if int64(len(data)) > s.MaxAttachment() {
		return Attachment{}, valid.Errorf("file", "is larger than %d bytes", s.MaxAttachment())
	}
	ct := http.DetectContentType(data)
	if !allowedTypes[ct] {
		return Attachment{}, valid.Errorf("file", "is %s; attach pictures, PDFs, plain text or zip archives", strings.SplitN(ct, ";", 2)[0])
	}
	if strings.HasPrefix(ct, "text/") && strings.HasPrefix(strings.TrimSpace(string(data[:min(len(data), 512)])), "<") {
		// The sniffer calls SVG and fragments of HTML plain text; markup
		// has no business in a ticket as a file.
		return Attachment{}, valid.Errorf("file", "looks like markup (HTML, SVG or XML); attach it as a zip archive")
	}
	sum := sha256.Sum256(data)
	at := Attachment{TicketID: ticketID, Filename: name, ContentType: ct, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]),
		CreatedBy: a.Name, CreatedAt: s.now()}
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		t, err := s.ticket(ctx, tx, ticketID, s.forUpdate())
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return valid.Errorf("file", "this ticket is closed")
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO sd_attachments (ticket_id, filename, content_type, size, sha256, data, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, ticketID, at.Filename, at.ContentType, at.Size, at.SHA256, data,
			at.CreatedBy, at.CreatedAt).Scan(&at.ID); err != nil {
			return err
		}
		if err := s.record(ctx, tx, ticketID, at.CreatedAt, "attachment", "", at.Filename); err != nil {
			return err
		}
		return auth.Audit(ctx, tx, "ticket.attach", "ticket", strconv.FormatInt(ticketID, 10), at.Filename+" "+at.SHA256)
	})
	if err != nil {
		return Attachment{}, s.fail("add attachment", err)
	}
	return at, nil
}

// Attachments lists a ticket's files, without their bytes.
func (s *Service) Attachments(ctx context.Context, ticketID int64) ([]Attachment, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return nil, err
	}
	rows, err := s.db.R.QueryContext(ctx, `SELECT id, ticket_id, filename, content_type, size, sha256, created_by, created_at
		FROM sd_attachments WHERE ticket_id = $1 ORDER BY id`, ticketID)
	if err != nil {
		return nil, wrap("attachments", err)
	}
	defer rows.Close()
	out := []Attachment{}
	for rows.Next() {
		var at Attachment
		if err := rows.Scan(&at.ID, &at.TicketID, &at.Filename, &at.ContentType, &at.Size, &at.SHA256, &at.CreatedBy, &at.CreatedAt); err != nil {
			return nil, wrap("attachments", err)
		}
		at.CreatedAt = at.CreatedAt.UTC()
		out = append(out, at)
	}
	return out, wrap("attachments", rows.Err())
}

// AttachmentData returns one file with its bytes, if it belongs to the
// given ticket and the caller may see that ticket.
func (s *Service) AttachmentData(ctx context.Context, ticketID, id int64) (Attachment, error) {
	if _, err := s.Ticket(ctx, ticketID); err != nil {
		return Attachment{}, err
	}
	var at Attachment
	err := s.db.R.QueryRowContext(ctx, `SELECT id, ticket_id, filename, content_type, size, sha256, created_by, created_at, data
		FROM sd_attachments WHERE id = $1 AND ticket_id = $2`, id, ticketID).Scan(&at.ID, &at.TicketID, &at.Filename, &at.ContentType,
		&at.Size, &at.SHA256, &at.CreatedBy, &at.CreatedAt, &at.Data)
	if err != nil {
		return Attachment{}, wrap("attachment "+strconv.FormatInt(id, 10), err)
	}
	at.CreatedAt = at.CreatedAt.UTC()
	return at, nil
}
