// Package mapiprop is the MAPI property vocabulary shared by the MAPI front
// end, the store and the MIME converter: property types and tags
// (MS-OXCDATA 2.9, 2.11.1; MS-OXPROPS), typed values and their ROP wire
// codec (MS-OXCDATA 2.11), property rows (2.8.1), recipient rows (2.8.3),
// named-property names (2.6), restrictions with an in-memory evaluator
// (2.12), sort orders (2.13), folder/message identifiers and entry IDs (2.2).
//
// Decoding reads through a bounded Reader that records the first error and
// never panics or reads past its buffer, whatever the input. Encoding writes
// through a Writer that records the first error (for example a binary value
// longer than its 16-bit count allows). Check Err() once at the end.
//
// The package imports nothing from the rest of Pochta.
package mapiprop
