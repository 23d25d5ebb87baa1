package pebble

import "github.com/cockroachdb/pebble/v2"

// DB returns the Pebble database holding the state, for tests that tamper
// with it.
func (s *Store) DB() *pebble.DB { return s.db }

// JournalDB returns the Pebble database holding the journal, for tests that
// tamper with it.
func (s *Store) JournalDB() *pebble.DB { return s.jdb }

// RecordsDB returns the Pebble database holding final transfers, for tests
// that tamper with it.
func (s *Store) RecordsDB() *pebble.DB { return s.rdb }
