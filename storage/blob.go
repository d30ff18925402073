package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

var errNoRows = sql.ErrNoRows

// blobChunkSize is the size of the pieces a blob is stored in.
const blobChunkSize = 256 << 10

// BlobHash is the content address of data.
func BlobHash(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// PutBlob stores data unless a blob with the same content exists, and
// returns its hash. The blob's reference count is not changed: AddMessage
// and Enqueue take the references.
func (tx *Tx) PutBlob(data []byte) (string, error) {
	hash := BlobHash(data)
	// Raw statements: this is on every delivery's path through the single
	// writer, where gorm's builders cost as much as sqlite's work.
	var one int
	err := tx.queryRowSQL(sqlBlobExists, hash).Scan(&one)
	if err == nil {
		return hash, nil
	}
	if !errors.Is(err, errNoRows) {
		return "", fmt.Errorf("storage: looking up blob: %w", err)
	}
	if _, err := tx.execSQL(sqlInsertBlob, hash, int64(len(data))); err != nil {
		return "", fmt.Errorf("storage: storing blob: %w", err)
	}
	for seq := 0; seq*blobChunkSize < len(data) || seq == 0; seq++ {
		end := min((seq+1)*blobChunkSize, len(data))
		chunk := data[seq*blobChunkSize : end]
		if chunk == nil {
			chunk = []byte{}
		}
		if _, err := tx.execSQL(sqlInsertBlobChunk, hash, seq, chunk); err != nil {
			return "", fmt.Errorf("storage: storing blob chunk: %w", err)
		}
	}
	return hash, nil
}

func (tx *Tx) refBlob(hash string, n int64) error {
	affected, err := tx.execSQL(sqlRefBlob, n, hash)
	if err != nil {
		return fmt.Errorf("storage: referencing blob: %w", err)
	}
	if affected == 0 {
		return fmt.Errorf("storage: blob %s: %w", hash, ErrNotFound)
	}
	return nil
}

// unrefBlob drops n references and frees the blob when none is left.
func (tx *Tx) unrefBlob(hash string, n int64) error {
	var refs int64
	err := tx.queryRowSQL(sqlUnrefBlob, n, hash).Scan(&refs)
	if errors.Is(err, errNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: releasing blob: %w", err)
	}
	if refs <= 0 {
		if _, err := tx.execSQL(sqlDeleteBlobChunks, hash); err != nil {
			return err
		}
		_, err := tx.execSQL(sqlDeleteBlob, hash)
		return err
	}
	return nil
}

// BlobCount returns how many distinct blobs are stored (for tests and stats).
func (s *Store) BlobCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.readDB(ctx).Model(&Blob{}).Count(&n).Error
	return n, err
}

// ReadBlob returns a whole blob. Use OpenBlob for large ones.
func (s *Store) ReadBlob(ctx context.Context, hash string) ([]byte, error) {
	var chunks []BlobChunk
	if err := s.readDB(ctx).Where("hash = ?", hash).Order("seq").Find(&chunks).Error; err != nil {
		return nil, fmt.Errorf("storage: reading blob: %w", classify(err))
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("storage: blob %s: %w", hash, ErrNotFound)
	}
	if len(chunks) == 1 {
		return chunks[0].Data, nil
	}
	size := 0
	for _, c := range chunks {
		size += len(c.Data)
	}
	out := make([]byte, 0, size)
	for _, c := range chunks {
		out = append(out, c.Data...)
	}
	return out, nil
}

// BlobReader reads a blob chunk by chunk; it is an io.ReaderAt, io.Reader
// and io.Seeker over the blob and holds at most one chunk in memory.
type BlobReader struct {
	ctx   context.Context
	s     *Store
	hash  string
	size  int64
	off   int64
	seq   int
	chunk []byte
}

// OpenBlob opens a blob for streaming.
func (s *Store) OpenBlob(ctx context.Context, hash string) (*BlobReader, error) {
	var b Blob
	if err := s.readDB(ctx).Where("hash = ?", hash).Take(&b).Error; err != nil {
		return nil, notFound(err, "blob")
	}
	return &BlobReader{ctx: ctx, s: s, hash: hash, size: b.Size, seq: -1}, nil
}

// Size is the blob's length in bytes.
func (r *BlobReader) Size() int64 { return r.size }

func (r *BlobReader) load(seq int) error {
	if seq == r.seq {
		return nil
	}
	var c BlobChunk
	if err := r.s.readDB(r.ctx).Where("hash = ? AND seq = ?", r.hash, seq).Take(&c).Error; err != nil {
		return notFound(err, "blob chunk")
	}
	r.seq, r.chunk = seq, c.Data
	return nil
}

// ReadAt implements io.ReaderAt.
func (r *BlobReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("storage: negative blob offset")
	}
	n := 0
	for n < len(p) {
		if off >= r.size {
			return n, io.EOF
		}
		seq := int(off / blobChunkSize)
		if err := r.load(seq); err != nil {
			return n, err
		}
		within := int(off % blobChunkSize)
		if within >= len(r.chunk) {
			return n, io.ErrUnexpectedEOF
		}
		c := copy(p[n:], r.chunk[within:])
		n += c
		off += int64(c)
	}
	return n, nil
}

// Read implements io.Reader.
func (r *BlobReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	if rem := r.size - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *BlobReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("storage: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("storage: negative position")
	}
	r.off = offset
	return offset, nil
}
