package download

import (
	"errors"
	"hash"
	"os"
	"syscall"

	"github.com/wmo-im/wis2downloader/internal/download/fetch"
	"github.com/wmo-im/wis2downloader/internal/download/outcome"
)

// sink receives the data: temporary file, digest, first bytes for sniffing.
type sink struct {
	f    *os.File
	h    hash.Hash
	head []byte
	n    int64
}

func (s *sink) Write(p []byte) (int, error) {
	if room := cap(s.head) - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(room, len(p))]...)
	}
	if s.h != nil {
		s.h.Write(p)
	}
	n, err := s.f.Write(p)
	s.n += int64(n)
	if err != nil {
		return n, fetch.WriteError(storageError(err))
	}
	return n, nil
}

func storageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return outcome.Waiting(outcome.DiskFull, err)
	}
	return outcome.Retryable(outcome.Storage, err)
}
