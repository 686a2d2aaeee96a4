package registration

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
)

// Purposes of registration tokens; a token for one purpose is useless for another.
const (
	purposeManage = "manage"
)

var b64 = base64.RawURLEncoding

// tokenLen is the length of a registration token: 8 bytes of id and 16 of
// HMAC-SHA256 (128 bits), base64url.
const tokenLen = 32

// registrationToken derives the secret token of a registration: its id and a
// MAC of it under the server secret, so nothing needs to be stored.
func (s *Service) registrationToken(purpose string, id int64) string {
	var buf [24]byte
	binary.BigEndian.PutUint64(buf[:8], uint64(id))
	copy(buf[8:], s.mac(purpose, buf[:8]))
	return b64.EncodeToString(buf[:])
}

// mac is the first 16 bytes of HMAC-SHA256(secret, purpose 0x00 msg). Every
// sign-up answer makes one, so the keyed hashes are reused, not made anew.
func (s *Service) mac(purpose string, msg []byte) []byte {
	m := s.macs.Get().(hash.Hash)
	defer s.macs.Put(m)
	m.Reset()
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(msg)
	return m.Sum(make([]byte, 0, sha256.Size))[:16]
}

// ManageToken is the token of /r/{token} and /j/{token}.
func (s *Service) ManageToken(id int64) string { return s.registrationToken(purposeManage, id) }

// parseToken returns the registration id of a well-formed, authentic token.
func (s *Service) parseToken(purpose, token string) (int64, error) {
	if len(token) != tokenLen {
		return 0, ErrNotFound
	}
	buf, err := b64.DecodeString(token)
	if err != nil || len(buf) != 24 {
		return 0, ErrNotFound
	}
	if !hmac.Equal(buf[8:], s.mac(purpose, buf[:8])) {
		return 0, ErrNotFound
	}
	return int64(binary.BigEndian.Uint64(buf[:8])), nil
}

// Organizer tokens are random; only their SHA-256 is stored.
const organizerTokenPrefix = "evr_"

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a new organizer token called name and returns it; it is
// shown once and cannot be recovered.
func (s *Service) CreateToken(ctx context.Context, name string) (string, error) {
	name = strings.TrimSpace(name)
	var v ValidationError
	checkLine(&v, "name", name, 1, 100)
	if err := v.err(); err != nil {
		return "", err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := organizerTokenPrefix + b64.EncodeToString(raw)
	err := s.store.insertToken(ctx, &OrganizerToken{Name: name, Hash: hashToken(token), CreatedAt: s.clock()})
	if err != nil {
		return "", err
	}
	return token, nil
}

// ErrUnauthorized is a missing or wrong organizer token.
var ErrUnauthorized = errors.New("unauthorized")

// Authenticate checks an organizer token and returns its name. The admin
// token from the configuration, when set, is accepted as "admin".
func (s *Service) Authenticate(ctx context.Context, token string) (string, error) {
	if token == "" || len(token) > 200 {
		return "", ErrUnauthorized
	}
	if s.opts.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.AdminToken)) == 1 {
		return "admin", nil
	}
	// Looked up by hash: the stored value never equals the token, and the
	// comparison the database makes leaks nothing about the token itself.
	h := hashToken(token)
	t, err := s.store.tokenByHash(ctx, h)
	if errors.Is(err, ErrNotFound) {
		return "", ErrUnauthorized
	}
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(t.Hash), []byte(h)) != 1 {
		return "", ErrUnauthorized
	}
	now := s.clock()
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > timeMinute {
		if err := s.store.touchToken(ctx, t.ID, now); err != nil {
			return "", fmt.Errorf("touch token: %w", err)
		}
	}
	return t.Name, nil
}
