package mapi

import "time"

// SetClock replaces the server's clock (session idle expiry, elapsed
// times) for tests in package mapi_test.
func SetClock(s *Server, now func() time.Time) { s.now = now }

// SessionCount reports the EMSMDB session contexts in total and of one
// account.
func SessionCount(s *Server, accountID int64) (all, mine int) { return s.emsmdb.count(accountID) }

// Sweep runs the expiry sweep now.
func Sweep(s *Server) { s.emsmdb.sweep() }
