package mapi_test

import (
	"os"
	"testing"

	"github.com/pochta/pochta/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m)) }
