// Support-period declarations: the field rules, signing and verifying, and
// DeclareSupport's "only later" rule with its audit trail.

#include "core/protocol/support_declaration.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/signed_payload.h"
#include "core/storage/audit_chain.h"
#include "core/storage/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::protocol {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

// A refusal: the exact code and the check it names.
void ExpectRefused(const absl::Status& status, absl::StatusCode code, const std::string& check) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(FailedCheck(status), check) << status;
}

v1::SupportDeclaration Valid() {
  v1::SupportDeclaration declaration;
  declaration.set_model("gw-100");
  declaration.set_security_updates_until("2031-12-31");
  declaration.set_disclosure_policy_url("https://example.com/security");
  declaration.set_sequence(1);
  return declaration;
}

TEST(SupportDateTest, ParsesRealDatesOnly) {
  EXPECT_EQ(*ParseSupportDate("2031-12-31"), absl::CivilDay(2031, 12, 31));
  EXPECT_EQ(*ParseSupportDate("2032-02-29"), absl::CivilDay(2032, 2, 29));
  for (const char* bad : {"2031-02-29", "2031-02-30", "2031-13-01", "2031-00-10", "2031-12-00",
                          "2031-12-32", "2031-1-01", "31-12-2031", "2031/12/31", "2031-12-31 ",
                          "+031-12-31", "1999-12-31", "", "20311231"}) {
    SCOPED_TRACE(bad);
    ExpectRefused(ParseSupportDate(bad).status(), absl::StatusCode::kInvalidArgument,
                  "support.date");
  }
}

TEST(SupportRulesTest, EachFieldIsChecked) {
  struct Case {
    const char* name;
    void (*mutate)(v1::SupportDeclaration&);
    const char* check;
  };
  const std::vector<Case> cases = {
      {"empty model", [](v1::SupportDeclaration& d) { d.set_model(""); }, "support.model"},
      {"long model", [](v1::SupportDeclaration& d) { d.set_model(std::string(65, 'm')); },
       "support.model"},
      {"control char", [](v1::SupportDeclaration& d) { d.set_model("gw\n100"); }, "support.model"},
      {"bad date", [](v1::SupportDeclaration& d) { d.set_security_updates_until("soon"); },
       "support.date"},
      {"http url",
       [](v1::SupportDeclaration& d) { d.set_disclosure_policy_url("http://example.com"); },
       "support.url"},
      {"bare scheme", [](v1::SupportDeclaration& d) { d.set_disclosure_policy_url("https://"); },
       "support.url"},
      {"space in url",
       [](v1::SupportDeclaration& d) { d.set_disclosure_policy_url("https://a.example/x y"); },
       "support.url"},
      {"long url",
       [](v1::SupportDeclaration& d) {
         d.set_disclosure_policy_url("https://" + std::string(248, 'a'));
       },
       "support.url"},
      {"sequence 0", [](v1::SupportDeclaration& d) { d.set_sequence(0); }, "support.sequence"},
  };
  EXPECT_TRUE(ValidateSupportDeclaration(Valid()).ok());
  for (const Case& c : cases) {
    v1::SupportDeclaration declaration = Valid();
    c.mutate(declaration);
    SCOPED_TRACE(c.name);
    ExpectRefused(ValidateSupportDeclaration(declaration), absl::StatusCode::kInvalidArgument,
                  c.check);
  }
}

TEST(SupportSignatureTest, VerifiesOnlyTheManufacturersDeclarationForTheModel) {
  const crypto::EcPrivateKey key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  const crypto::EcPrivateKey other = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  const v1::SignedPayload signed_declaration = *SignSupportDeclaration(Valid(), key);
  absl::StatusOr<v1::SupportDeclaration> verified =
      VerifySupportDeclaration(signed_declaration, key.public_key(), "gw-100");
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->security_updates_until(), "2031-12-31");

  ExpectRefused(VerifySupportDeclaration(signed_declaration, other.public_key(), "gw-100").status(),
                absl::StatusCode::kUnauthenticated, "support.signature");

  ExpectRefused(VerifySupportDeclaration(signed_declaration, key.public_key(), "gw-200").status(),
                absl::StatusCode::kInvalidArgument, "support.model");

  v1::SignedPayload tampered = signed_declaration;
  tampered.mutable_payload()->back() ^= 1;
  ExpectRefused(VerifySupportDeclaration(tampered, key.public_key(), "gw-100").status(),
                absl::StatusCode::kUnauthenticated, "support.signature");

  // Signed by the right key but breaking the rules (a signer that skipped them).
  v1::SupportDeclaration bad = Valid();
  bad.set_security_updates_until("2031-02-30");
  const v1::SignedPayload signed_bad =
      *crypto::SignPayload(key, kSupportDeclarationType, bad.SerializeAsString());
  ExpectRefused(VerifySupportDeclaration(signed_bad, key.public_key(), "gw-100").status(),
                absl::StatusCode::kInvalidArgument, "support.date");
  // A payload that is not a declaration.
  const v1::SignedPayload garbage =
      *crypto::SignPayload(key, kSupportDeclarationType, std::string("\xff\xff\xff", 3));
  ExpectRefused(VerifySupportDeclaration(garbage, key.public_key(), "gw-100").status(),
                absl::StatusCode::kInvalidArgument, "support.format");
  // Refused when asked to sign something invalid.
  ExpectRefused(SignSupportDeclaration(bad, key).status(), absl::StatusCode::kInvalidArgument,
                "support.date");
}

TEST(SupportStatusTest, SupportedThroughTheEndDateInclusive) {
  EXPECT_EQ(SupportStatusOn(Valid(), absl::CivilDay(2031, 12, 31)), SupportStatus::kSupported);
  EXPECT_EQ(SupportStatusOn(Valid(), absl::CivilDay(2032, 1, 1)), SupportStatus::kEnded);
}

class DeclareSupportTest : public testing::Test {
 protected:
  absl::StatusOr<v1::SignedPayload> Declare(const std::string& until,
                                            const std::string& url = "https://example.com/sec") {
    return DeclareSupport(*store_, key_, kNow, "admin:alice (operator)",
                          SupportChange{"gw-100", until, url});
  }

  std::vector<storage::AuditEvent> Events() {
    std::vector<storage::AuditEvent> events;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      CUSTODY_ASSIGN_OR_RETURN(events, tx.audit().List(0, 100));
                      return absl::OkStatus();
                    })
                    .ok());
    return events;
  }

  absl::StatusOr<storage::SupportDeclarationRecord> Current() {
    absl::StatusOr<storage::SupportDeclarationRecord> current = absl::InternalError("not run");
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) {
                      current = tx.support().Current("gw-100");
                      return absl::OkStatus();
                    })
                    .ok());
    return current;
  }

  v1::SupportDeclaration Payload(const v1::SignedPayload& signed_declaration) {
    return *VerifySupportDeclaration(signed_declaration, key_.public_key(), "gw-100");
  }

  crypto::EcPrivateKey key_ = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  std::unique_ptr<storage::Store> store_ = storage::NewMemoryStore();
};

TEST_F(DeclareSupportTest, SequenceAdvancesAndTheEndDateMayMoveLaterOrStay) {
  absl::StatusOr<v1::SignedPayload> first = Declare("2030-06-30");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Payload(*first).sequence(), 1u);
  absl::StatusOr<v1::SignedPayload> later = Declare("2031-12-31");
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(Payload(*later).sequence(), 2u);
  // The same date with a new policy URL is not a shortening.
  absl::StatusOr<v1::SignedPayload> same = Declare("2031-12-31", "https://example.com/psirt");
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(Payload(*same).sequence(), 3u);
  EXPECT_EQ(Payload(*same).disclosure_policy_url(), "https://example.com/psirt");

  EXPECT_EQ(Current()->sequence, 3);
  EXPECT_EQ(Current()->signed_declaration, same->SerializeAsString());
  const std::vector<storage::AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].action, "support.declare");
  EXPECT_EQ(events[0].actor, "admin:alice (operator)");
  EXPECT_EQ(events[0].target, "gw-100");
  EXPECT_THAT(events[1].details, HasSubstr("until 2031-12-31, sequence 2"));
  EXPECT_EQ(*storage::VerifyAuditChain(*store_), 3);
}

TEST_F(DeclareSupportTest, ShorteningIsRefusedAndAudited) {
  ASSERT_TRUE(Declare("2031-12-31").ok());
  absl::StatusOr<v1::SignedPayload> shorter = Declare("2031-12-30");
  ExpectRefused(shorter.status(), absl::StatusCode::kFailedPrecondition, "support.shorten");
  EXPECT_THAT(std::string(shorter.status().message()),
              HasSubstr("declared until 2031-12-31; the end date may only move later"));
  // Nothing declared; the attempt is on record.
  EXPECT_EQ(Current()->sequence, 1);
  const std::vector<storage::AuditEvent> events = Events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].action, "support.shorten_refused");
  EXPECT_EQ(events[1].actor, "admin:alice (operator)");
  EXPECT_THAT(events[1].details, HasSubstr("asked 2031-12-30, in force 2031-12-31 (sequence 1)"));
  // The refusal does not block a later, valid declaration.
  absl::StatusOr<v1::SignedPayload> later = Declare("2032-01-01");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(Payload(*later).sequence(), 2u);
}

TEST_F(DeclareSupportTest, MalformedRequestsChangeNothing) {
  ASSERT_TRUE(Declare("2031-12-31").ok());
  ExpectRefused(Declare("2031-02-30").status(), absl::StatusCode::kInvalidArgument, "support.date");
  ExpectRefused(Declare("2040-01-01", "ftp://example.com").status(),
                absl::StatusCode::kInvalidArgument, "support.url");
  ExpectRefused(DeclareSupport(*store_, key_, kNow, "admin:alice (operator)",
                               SupportChange{"", "2040-01-01", "https://e.example"})
                    .status(),
                absl::StatusCode::kInvalidArgument, "support.model");
  EXPECT_EQ(Current()->sequence, 1);
  EXPECT_EQ(Events().size(), 1u);
}

}  // namespace
}  // namespace custody::protocol
