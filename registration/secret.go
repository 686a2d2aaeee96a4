package registration

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Secret derives a 32-byte key for one purpose (sessions, CSRF, …) from the
// server secret, so that a key leaked or misused for one purpose says nothing
// about the others and the server secret itself never leaves this package.
func (s *Service) Secret(purpose string) []byte {
	m := hmac.New(sha256.New, s.secret)
	// The "derive" prefix keeps these keys apart from registration token MACs.
	m.Write([]byte("derive"))
	m.Write([]byte{0})
	m.Write([]byte(purpose))
	return m.Sum(nil)
}
