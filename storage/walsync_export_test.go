package storage

import "os"

// SetWALFsync replaces the fsync of the write-ahead log (tests only).
func SetWALFsync(s *Store, fsync func(*os.File) error) {
	s.wal.mu.Lock()
	defer s.wal.mu.Unlock()
	s.wal.fsync = fsync
}
