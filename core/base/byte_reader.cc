#include "core/base/byte_reader.h"

#include "absl/strings/str_cat.h"
#include "core/base/status.h"

namespace custody {

absl::Status ByteReader::Truncated(size_t wanted, absl::string_view what) const {
  return absl::InvalidArgumentError(absl::StrCat("truncated ", what, ": need ", wanted,
                                                 " bytes at offset ", offset_, ", ", remaining(),
                                                 " left"));
}

absl::StatusOr<uint64_t> ByteReader::ReadBigEndian(size_t width, absl::string_view what) {
  if (remaining() < width) return Truncated(width, what);
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value = (value << 8) | static_cast<uint8_t>(data_[offset_ + i]);
  }
  offset_ += width;
  return value;
}

absl::StatusOr<uint8_t> ByteReader::ReadU8(absl::string_view what) {
  CUSTODY_ASSIGN_OR_RETURN(uint64_t value, ReadBigEndian(1, what));
  return static_cast<uint8_t>(value);
}

absl::StatusOr<uint16_t> ByteReader::ReadU16(absl::string_view what) {
  CUSTODY_ASSIGN_OR_RETURN(uint64_t value, ReadBigEndian(2, what));
  return static_cast<uint16_t>(value);
}

absl::StatusOr<uint32_t> ByteReader::ReadU32(absl::string_view what) {
  CUSTODY_ASSIGN_OR_RETURN(uint64_t value, ReadBigEndian(4, what));
  return static_cast<uint32_t>(value);
}

absl::StatusOr<uint64_t> ByteReader::ReadU64(absl::string_view what) {
  return ReadBigEndian(8, what);
}

absl::StatusOr<absl::string_view> ByteReader::ReadBytes(size_t n, absl::string_view what) {
  if (remaining() < n) return Truncated(n, what);
  absl::string_view out = data_.substr(offset_, n);
  offset_ += n;
  return out;
}

absl::StatusOr<absl::string_view> ByteReader::ReadLengthPrefixed(size_t width, size_t max_length,
                                                                 absl::string_view what) {
  const size_t start = offset_;
  CUSTODY_ASSIGN_OR_RETURN(uint64_t length, ReadBigEndian(width, absl::StrCat(what, " length")));
  if (length > max_length) {
    offset_ = start;
    return absl::ResourceExhaustedError(absl::StrCat(what, " length ", length,
                                                     " exceeds the limit of ", max_length,
                                                     " bytes (offset ", start, ")"));
  }
  if (remaining() < length) {
    const size_t left = remaining();
    offset_ = start;
    return absl::InvalidArgumentError(absl::StrCat("truncated ", what, ": length prefix at offset ",
                                                   start, " says ", length, " bytes, ", left,
                                                   " left"));
  }
  return ReadBytes(static_cast<size_t>(length), what);
}

absl::StatusOr<absl::string_view> ByteReader::ReadLengthPrefixed8(size_t max_length,
                                                                  absl::string_view what) {
  return ReadLengthPrefixed(1, max_length, what);
}

absl::StatusOr<absl::string_view> ByteReader::ReadLengthPrefixed16(size_t max_length,
                                                                   absl::string_view what) {
  return ReadLengthPrefixed(2, max_length, what);
}

absl::StatusOr<absl::string_view> ByteReader::ReadLengthPrefixed32(size_t max_length,
                                                                   absl::string_view what) {
  return ReadLengthPrefixed(4, max_length, what);
}

absl::string_view ByteReader::ReadRest() {
  absl::string_view out = data_.substr(offset_);
  offset_ = data_.size();
  return out;
}

absl::Status ByteReader::ExpectEnd(absl::string_view what) const {
  if (remaining() == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(remaining(), " trailing bytes after ", what, " at offset ", offset_));
}

absl::Status ParseAll(absl::string_view data, absl::string_view what,
                      absl::FunctionRef<absl::Status(ByteReader&)> parse) {
  ByteReader reader(data);
  CUSTODY_RETURN_IF_ERROR(parse(reader));
  return reader.ExpectEnd(what);
}

}  // namespace custody
