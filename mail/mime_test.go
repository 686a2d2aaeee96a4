package mail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
)

// parsedMail is a raw message taken apart with the standard library only, so
// the tests check what any mail client would see.
type parsedMail struct {
	Header mail.Header
	Parts  []mimePart // the leaves, depth first
}

type mimePart struct {
	MediaType   string // e.g. text/plain
	Params      map[string]string
	Disposition string // "", inline or attachment
	Filename    string
	Parents     []string // media types of the enclosing multiparts, outermost first
	Body        []byte   // transfer-decoded
}

func parseMail(t *testing.T, raw []byte) parsedMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	p := parsedMail{Header: msg.Header}
	walkPart(t, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"),
		msg.Header.Get("Content-Disposition"), msg.Body, nil, &p.Parts)
	return p
}

func walkPart(t *testing.T, contentType, encoding, disposition string, body io.Reader, parents []string, out *[]mimePart) {
	t.Helper()
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		t.Fatalf("content type %q: %v", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart %s: %v", mediaType, err)
			}
			walkPart(t, part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"),
				part.Header.Get("Content-Disposition"), part, append(append([]string(nil), parents...), mediaType), out)
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("read %s part: %v", mediaType, err)
	}
	mp := mimePart{MediaType: mediaType, Params: params, Parents: parents, Body: b}
	if disposition != "" {
		d, dp, err := mime.ParseMediaType(disposition)
		if err != nil {
			t.Fatalf("content disposition %q: %v", disposition, err)
		}
		mp.Disposition, mp.Filename = d, dp["filename"]
	}
	*out = append(*out, mp)
}

// part returns the only part of mediaType with the given disposition ("" for
// a body part), failing the test when there is not exactly one.
func (p parsedMail) part(t *testing.T, mediaType, disposition string) mimePart {
	t.Helper()
	var found []mimePart
	for _, mp := range p.Parts {
		if mp.MediaType == mediaType && mp.Disposition == disposition {
			found = append(found, mp)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s parts with disposition %q, want 1 (parts: %+v)", len(found), mediaType, disposition, p.summary())
	}
	return found[0]
}

func (p parsedMail) count(mediaType string) int {
	n := 0
	for _, mp := range p.Parts {
		if mp.MediaType == mediaType {
			n++
		}
	}
	return n
}

func (p parsedMail) summary() []string {
	var s []string
	for _, mp := range p.Parts {
		s = append(s, strings.Join(append(mp.Parents, mp.MediaType), ">")+" "+mp.Disposition)
	}
	return s
}

// subject decodes the Subject header's encoded words.
func (p parsedMail) subject(t *testing.T) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	return s
}
