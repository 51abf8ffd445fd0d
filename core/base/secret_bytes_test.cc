#include "core/base/secret_bytes.h"

#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

using ::testing::Each;
using ::testing::Eq;
using ::testing::HasSubstr;
using ::testing::Not;

static_assert(!std::is_copy_constructible<SecretBytes>::value, "SecretBytes must not be copyable");
static_assert(!std::is_copy_assignable<SecretBytes>::value, "SecretBytes must not be copyable");
static_assert(std::is_nothrow_move_constructible<SecretBytes>::value,
              "SecretBytes must be nothrow-movable");
static_assert(std::is_nothrow_move_assignable<SecretBytes>::value,
              "SecretBytes must be nothrow-movable");

// A secret that is easy to spot if it ever leaks into printed output.
constexpr absl::string_view kSecret = "hunter2-TOP-SECRET-KEY";

TEST(SecretBytesTest, DefaultIsEmpty) {
  SecretBytes secret;
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  EXPECT_EQ(secret.Reveal(), "");
  EXPECT_TRUE(secret.span().empty());
}

TEST(SecretBytesTest, SizedConstructorIsZeroFilledAndWritable) {
  SecretBytes secret(16);
  EXPECT_FALSE(secret.empty());
  EXPECT_EQ(secret.size(), 16u);
  ASSERT_NE(secret.data(), nullptr);
  EXPECT_THAT(std::vector<uint8_t>(secret.span().begin(), secret.span().end()), Each(Eq(0)));
  secret.mutable_data()[0] = 0xab;
  secret.mutable_data()[15] = 0xcd;
  EXPECT_EQ(secret.data()[0], 0xab);
  EXPECT_EQ(secret.span()[15], 0xcd);
  EXPECT_EQ(secret.Reveal().size(), 16u);
}

TEST(SecretBytesTest, SizedConstructorWithZeroIsEmpty) {
  SecretBytes secret(0);
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  EXPECT_EQ(secret.Reveal(), "");
}

TEST(SecretBytesTest, CopyFromStringViewCopiesTheBytes) {
  std::string source(kSecret);
  SecretBytes secret = SecretBytes::CopyFrom(absl::string_view(source));
  EXPECT_EQ(secret.size(), kSecret.size());
  EXPECT_FALSE(secret.empty());
  EXPECT_EQ(secret.Reveal(), kSecret);
  // It is a copy, not a view: changing the source leaves the secret alone.
  EXPECT_NE(static_cast<const void*>(secret.data()), static_cast<const void*>(source.data()));
  source.assign(source.size(), 'x');
  EXPECT_EQ(secret.Reveal(), kSecret);
}

TEST(SecretBytesTest, CopyFromStringViewKeepsEmbeddedNulBytes) {
  const std::string source("a\0b\0", 4);
  SecretBytes secret = SecretBytes::CopyFrom(absl::string_view(source));
  EXPECT_EQ(secret.size(), 4u);
  EXPECT_EQ(secret.Reveal(), source);
}

TEST(SecretBytesTest, CopyFromSpanCopiesTheBytes) {
  std::vector<uint8_t> source = {0x00, 0x01, 0x7f, 0x80, 0xff};
  SecretBytes secret = SecretBytes::CopyFrom(absl::MakeConstSpan(source));
  ASSERT_EQ(secret.size(), source.size());
  EXPECT_EQ(std::vector<uint8_t>(secret.span().begin(), secret.span().end()), source);
  EXPECT_NE(secret.data(), source.data());
  source[0] = 0x55;
  EXPECT_EQ(secret.data()[0], 0x00);
}

TEST(SecretBytesTest, CopyFromEmptyInputsIsEmpty) {
  EXPECT_TRUE(SecretBytes::CopyFrom(absl::string_view()).empty());
  EXPECT_TRUE(SecretBytes::CopyFrom(absl::Span<const uint8_t>()).empty());
}

TEST(SecretBytesTest, MoveConstructionLeavesTheSourceEmpty) {
  SecretBytes source = SecretBytes::CopyFrom(kSecret);
  const uint8_t* buffer = source.data();
  SecretBytes moved(std::move(source));
  EXPECT_EQ(moved.Reveal(), kSecret);
  // The buffer is handed over, not copied.
  EXPECT_EQ(moved.data(), buffer);
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(source.size(), 0u);
  EXPECT_EQ(source.Reveal(), "");
}

TEST(SecretBytesTest, MoveAssignmentReplacesTheTargetAndEmptiesTheSource) {
  SecretBytes source = SecretBytes::CopyFrom(kSecret);
  SecretBytes target = SecretBytes::CopyFrom(absl::string_view("old key"));
  target = std::move(source);
  EXPECT_EQ(target.Reveal(), kSecret);
  EXPECT_EQ(target.size(), kSecret.size());
  EXPECT_TRUE(source.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(source.Reveal(), "");
}

TEST(SecretBytesTest, MoveAssignmentFromEmptyEmptiesTheTarget) {
  SecretBytes target = SecretBytes::CopyFrom(kSecret);
  SecretBytes empty;
  target = std::move(empty);
  EXPECT_TRUE(target.empty());
  EXPECT_EQ(target.Reveal(), "");
}

TEST(SecretBytesTest, SelfMoveAssignmentKeepsTheContents) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  SecretBytes& alias = secret;
  secret = std::move(alias);
  EXPECT_EQ(secret.Reveal(), kSecret);
}

TEST(SecretBytesTest, CloneIsAnIndependentCopy) {
  SecretBytes original = SecretBytes::CopyFrom(kSecret);
  SecretBytes clone = original.Clone();
  EXPECT_EQ(clone.Reveal(), kSecret);
  EXPECT_EQ(clone.size(), original.size());
  EXPECT_NE(clone.data(), original.data());

  clone.mutable_data()[0] = 'X';
  EXPECT_EQ(original.Reveal(), kSecret);
  EXPECT_EQ(clone.Reveal()[0], 'X');

  clone.Clear();
  EXPECT_EQ(original.Reveal(), kSecret);
}

TEST(SecretBytesTest, CloneOfEmptyIsEmpty) {
  SecretBytes empty;
  SecretBytes clone = empty.Clone();
  EXPECT_TRUE(clone.empty());
}

TEST(SecretBytesTest, ClearEmptiesTheSecret) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  secret.Clear();
  EXPECT_TRUE(secret.empty());
  EXPECT_EQ(secret.size(), 0u);
  EXPECT_EQ(secret.Reveal(), "");
  // Clearing twice is harmless, and the object can be reused.
  secret.Clear();
  EXPECT_TRUE(secret.empty());
  secret = SecretBytes::CopyFrom(absl::string_view("again"));
  EXPECT_EQ(secret.Reveal(), "again");
}

TEST(SecretBytesTest, DebugStringIsRedacted) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  EXPECT_EQ(secret.DebugString(), "SecretBytes(22 bytes, redacted)");
  EXPECT_THAT(secret.DebugString(), Not(HasSubstr("hunter2")));
  EXPECT_EQ(SecretBytes().DebugString(), "SecretBytes(0 bytes, redacted)");
}

TEST(SecretBytesTest, StreamingIsRedacted) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  std::ostringstream out;
  out << "key=" << secret << ";";
  EXPECT_EQ(out.str(), "key=SecretBytes(22 bytes, redacted);");
  EXPECT_THAT(out.str(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(out.str(), Not(HasSubstr("SECRET-KEY")));
}

TEST(SecretBytesTest, GoogleTestPrintingIsRedacted) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  const std::string printed = ::testing::PrintToString(secret);
  EXPECT_EQ(printed, "SecretBytes(22 bytes, redacted)");
  EXPECT_THAT(printed, Not(HasSubstr("hunter2")));
  // Nor as the hex dump GoogleTest uses for types it cannot print ("68 75 6E").
  EXPECT_THAT(printed, Not(HasSubstr("68 75")));
}

TEST(SecretBytesTest, GoogleTestPrintingInsideAContainerIsRedacted) {
  std::vector<SecretBytes> secrets;
  secrets.push_back(SecretBytes::CopyFrom(kSecret));
  secrets.push_back(SecretBytes::CopyFrom(absl::string_view("second-secret")));
  const std::string printed = ::testing::PrintToString(secrets);
  EXPECT_THAT(printed, HasSubstr("SecretBytes(22 bytes, redacted)"));
  EXPECT_THAT(printed, HasSubstr("SecretBytes(13 bytes, redacted)"));
  EXPECT_THAT(printed, Not(HasSubstr("hunter2")));
  EXPECT_THAT(printed, Not(HasSubstr("second-secret")));
}

TEST(SecretBytesTest, PrintToWritesTheRedactedForm) {
  SecretBytes secret = SecretBytes::CopyFrom(kSecret);
  std::ostringstream out;
  PrintTo(secret, &out);
  EXPECT_EQ(out.str(), "SecretBytes(22 bytes, redacted)");
}

}  // namespace
}  // namespace custody
