#include "core/base/status.h"

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

absl::StatusOr<int> Parse(bool ok) {
  if (!ok) return absl::InvalidArgumentError("bad number");
  return 7;
}

absl::Status UseReturnIfError(bool ok, int* calls) {
  CUSTODY_RETURN_IF_ERROR(ok ? absl::OkStatus() : absl::NotFoundError("missing"));
  ++*calls;
  return absl::OkStatus();
}

absl::StatusOr<int> UseAssignOrReturn(bool ok) {
  CUSTODY_ASSIGN_OR_RETURN(int value, Parse(ok));
  CUSTODY_ASSIGN_OR_RETURN(int twice, Parse(ok));
  return value + twice;
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtTheFirstError) {
  int calls = 0;
  EXPECT_TRUE(UseReturnIfError(true, &calls).ok());
  EXPECT_EQ(calls, 1);
  absl::Status status = UseReturnIfError(false, &calls);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "missing");
  EXPECT_EQ(calls, 1);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesValueAndError) {
  absl::StatusOr<int> ok = UseAssignOrReturn(true);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 14);
  absl::StatusOr<int> bad = UseAssignOrReturn(false);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "bad number");
}

TEST(AnnotateTest, PrefixesMessageAndKeepsCode) {
  absl::Status status = Annotate(absl::UnauthenticatedError("bad signature"), "entry 2");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "entry 2: bad signature");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ignored").ok());
}

TEST(CheckFailedTest, NamesTheCheckInMessageAndPayload) {
  absl::Status status =
      CheckFailed(absl::StatusCode::kUnauthenticated, "voucher.entry_signature", "entry 2");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(status.message(), "voucher.entry_signature: entry 2");
  EXPECT_EQ(FailedCheck(status), "voucher.entry_signature");
  // Annotating keeps the check.
  absl::Status annotated = Annotate(status, "voucher 3");
  EXPECT_EQ(annotated.message(), "voucher 3: voucher.entry_signature: entry 2");
  EXPECT_EQ(FailedCheck(annotated), "voucher.entry_signature");
  EXPECT_EQ(FailedCheck(absl::InvalidArgumentError("plain")), "");
}

}  // namespace
}  // namespace custody
