package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileSender writes each message as an RFC 5322 .eml file into a directory,
// for development and for servers without SMTP. A file is named
// <CreatedAt in UTC>-<message ID>.eml, so a listing sorts in the order the
// messages were queued, and sending a message again replaces its file.
type FileSender struct {
	dir string
}

// NewFileSender returns a Sender writing into dir, created when missing.
func NewFileSender(dir string) *FileSender {
	return &FileSender{dir: dir}
}

// Send writes each message. A message that cannot be built fails with
// ErrPermanent; a file that cannot be written fails temporarily.
func (s *FileSender) Send(ctx context.Context, msgs []Message) []error {
	errs := make([]error, len(msgs))
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("mail dir: %w", err)
		}
		return errs
	}
	for i, m := range msgs {
		if err := ctx.Err(); err != nil {
			errs[i] = fmt.Errorf("not written: %w", err)
			continue
		}
		errs[i] = s.write(m)
	}
	return errs
}

// write replaces the message's file atomically: readers see the old file or
// the complete new one, never a part, and a crash leaves at most a temporary
// file behind (hidden, and not ending in .eml).
func (s *FileSender) write(m Message) error {
	msg, err := Build(m)
	if err != nil {
		return err
	}
	// The file is readable by its owner only: it holds the registrant's
	// personal links.
	tmp, err := os.CreateTemp(s.dir, ".eventreg-*.tmp")
	if err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // fails harmlessly after the rename
	if _, err := msg.WriteTo(tmp); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("mail file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("mail file %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("mail file %s: %w", tmp.Name(), err)
	}
	name := filepath.Join(s.dir, fileName(m))
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("mail file: %w", err)
	}
	// The rename is only durable once the directory is synced.
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// fileName is the name FileSender gives a message's file:
// 20260108T140000Z-<message ID>.eml. Characters of the ID that are unsafe in
// a file name become '_', and then a short hash of the ID keeps distinct IDs
// apart.
func fileName(m Message) string {
	id := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '-', r == '_', r == '@', r == '+':
			return r
		}
		return '_'
	}, m.ID)
	if len(id) > 150 {
		id = id[:150]
	}
	if id != m.ID {
		sum := sha256.Sum256([]byte(m.ID))
		id += "-" + hex.EncodeToString(sum[:4])
	}
	return m.CreatedAt.UTC().Format("20060102T150405Z") + "-" + id + ".eml"
}
