package storage_test

import (
	"context"
	"testing"

	"github.com/pochta/pochta/storage"
)

// Tx.Prop reads a row inside the write transaction, including one written
// earlier in the same transaction.
func TestTxProp(t *testing.T) {
	backends(t, func(t *testing.T, s *storage.Store) {
		ctx := context.Background()
		if err := s.EnsureMailbox(ctx, 1); err != nil {
			t.Fatal(err)
		}
		err := s.Write(ctx, func(tx *storage.Tx) error {
			if _, ok, err := tx.Prop(1, storage.ObjectStore, 1, 6); err != nil || ok {
				t.Fatalf("missing row: ok %v err %v", ok, err)
			}
			if err := tx.SetProps(1, storage.ObjectStore, 1, []storage.PropValue{{Tag: 6, Value: []byte("log")}}); err != nil {
				return err
			}
			v, ok, err := tx.Prop(1, storage.ObjectStore, 1, 6)
			if err != nil || !ok || string(v) != "log" {
				t.Fatalf("row written in the transaction: %q %v %v", v, ok, err)
			}
			if _, ok, _ := tx.Prop(2, storage.ObjectStore, 1, 6); ok {
				t.Fatal("another account's row was read")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
