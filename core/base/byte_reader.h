// ByteReader: the one bounds-checked reader for every byte parser in Custody.
//
// A ByteReader walks a borrowed byte string from front to back. Every read either
// consumes exactly what it asked for or fails with a precise status and consumes
// nothing. Parsers finish with `ExpectEnd()` (or use `ParseAll`), so trailing bytes
// are always an error (BoringSSL CBS style).
//
// Errors:
//   INVALID_ARGUMENT    input ends early, or bytes are left over at the end;
//   RESOURCE_EXHAUSTED  a length prefix exceeds the caller's limit.
// Every message names the field (`what`) and the offset.
//
// Not thread-safe. Copyable (a copy is an independent cursor over the same bytes).
// The bytes must outlive the reader and every view it returns.

#ifndef CUSTODY_CORE_BASE_BYTE_READER_H_
#define CUSTODY_CORE_BASE_BYTE_READER_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody {

class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : data_(data) {}

  // Bytes not yet consumed.
  size_t remaining() const { return data_.size() - offset_; }
  // Bytes consumed so far.
  size_t offset() const { return offset_; }

  absl::StatusOr<uint8_t> ReadU8(absl::string_view what);
  // Big-endian (network order) integers.
  absl::StatusOr<uint16_t> ReadU16(absl::string_view what);
  absl::StatusOr<uint32_t> ReadU32(absl::string_view what);
  absl::StatusOr<uint64_t> ReadU64(absl::string_view what);

  // Exactly `n` bytes, as a view into the input.
  absl::StatusOr<absl::string_view> ReadBytes(size_t n, absl::string_view what);

  // A length (u8, u16 or u32, big-endian) followed by that many bytes. A length
  // over `max_length` fails with RESOURCE_EXHAUSTED before anything is consumed.
  absl::StatusOr<absl::string_view> ReadLengthPrefixed8(size_t max_length, absl::string_view what);
  absl::StatusOr<absl::string_view> ReadLengthPrefixed16(size_t max_length, absl::string_view what);
  absl::StatusOr<absl::string_view> ReadLengthPrefixed32(size_t max_length, absl::string_view what);

  // Everything that is left (possibly empty).
  absl::string_view ReadRest();

  // OK when every byte has been consumed; otherwise INVALID_ARGUMENT naming
  // `what` and how many bytes trail.
  absl::Status ExpectEnd(absl::string_view what) const;

 private:
  absl::StatusOr<uint64_t> ReadBigEndian(size_t width, absl::string_view what);
  absl::StatusOr<absl::string_view> ReadLengthPrefixed(size_t width, size_t max_length,
                                                       absl::string_view what);
  absl::Status Truncated(size_t wanted, absl::string_view what) const;

  absl::string_view data_;
  size_t offset_ = 0;
};

// Runs `parse` over a reader of `data`, then requires that the whole input was
// consumed. Returns the first error.
absl::Status ParseAll(absl::string_view data, absl::string_view what,
                      absl::FunctionRef<absl::Status(ByteReader&)> parse);

}  // namespace custody

#endif  // CUSTODY_CORE_BASE_BYTE_READER_H_
