package directory

import (
	"context"
)

// accountIDsByExternalID maps external ids of one source to the ids of the
// accounts linked to them; ids without an account are absent.
func (l *Local) accountIDsByExternalID(ctx context.Context, source string, externalIDs []string) (map[string]int64, error) {
	out := make(map[string]int64, len(externalIDs))
	const chunk = 500 // well below every database's bound on parameters
	for len(externalIDs) > 0 {
		n := min(chunk, len(externalIDs))
		var rows []dirAccount
		err := l.r.WithContext(ctx).Select("id", "external_id").
			Where("source = ? AND external_id IN ?", source, externalIDs[:n]).Find(&rows).Error
		if err != nil {
			return nil, dbErr(err, "accounts by external id")
		}
		for _, r := range rows {
			out[r.ExternalID] = r.ID
		}
		externalIDs = externalIDs[n:]
	}
	return out, nil
}
