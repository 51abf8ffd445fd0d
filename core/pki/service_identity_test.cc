#include "core/pki/service_identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/fake_clock.h"
#include "core/base/fake_random.h"
#include "core/base/file_util.h"
#include "core/crypto/x509_verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::pki {
namespace {

using ::testing::HasSubstr;

const absl::Time kStart = absl::FromUnixSeconds(1790000000);

class ServiceIdentityTest : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    dir_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/identity", ++counter);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    options_.service_name = "manufacturer";
  }

  absl::StatusOr<ServiceIdentity> Load() {
    return LoadOrCreateServiceIdentity(dir_, options_, clock_, random_);
  }

  mode_t ModeOf(const std::string& name) {
    struct stat st;
    EXPECT_EQ(::stat(absl::StrCat(dir_, "/", name).c_str(), &st), 0) << name;
    return st.st_mode & 0777;
  }

  std::string dir_;
  ServiceIdentityOptions options_;
  FakeClock clock_{kStart};
  DeterministicRandom random_{5};
};

TEST_F(ServiceIdentityTest, KeysMissingBesideRecordsMadeWithThemAreNotRecreated) {
  // A first start: nothing exists and nothing is held yet.
  EXPECT_TRUE(RequireKeysOfExistingRecords(dir_, {"voucher.key"}, 0, "vouchers").ok());
  ASSERT_TRUE(LoadOrCreateKey(dir_, "voucher", crypto::Curve::kP256).ok());
  EXPECT_TRUE(RequireKeysOfExistingRecords(dir_, {"voucher.key"}, 3, "vouchers").ok());
  ASSERT_EQ(::unlink(absl::StrCat(dir_, "/voucher.key").c_str()), 0);
  const absl::Status refused = RequireKeysOfExistingRecords(dir_, {"voucher.key"}, 3, "vouchers");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(refused.message()),
              testing::HasSubstr("voucher.key is missing, but the database holds 3 vouchers"));
}

TEST_F(ServiceIdentityTest, FirstStartCreatesEverythingOwnerOnly) {
  absl::StatusOr<ServiceIdentity> identity = Load();
  ASSERT_TRUE(identity.ok()) << identity.status();
  for (const char* key : {"tls-ca.key", "server.key", "admin-ca.key"}) {
    EXPECT_EQ(ModeOf(key), 0600u) << key;
  }
  for (const char* cert : {"tls-ca.pem", "server.pem", "admin-ca.pem"}) {
    EXPECT_EQ(ModeOf(cert), 0644u) << cert;
  }
  EXPECT_TRUE(identity->tls_ca.IsCa());
  EXPECT_TRUE(identity->admin_ca.IsCa());
  EXPECT_FALSE(identity->server_certificate.IsCa());
  EXPECT_EQ(identity->server_certificate.SubjectAltNames(),
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_TRUE(
      crypto::VerifyCertificateChain(identity->server_certificate, {}, {identity->tls_ca}, kStart)
          .ok());
  EXPECT_NE(identity->tls_ca.Fingerprint(), identity->admin_ca.Fingerprint());
}

TEST_F(ServiceIdentityTest, LaterStartsLoadTheSameIdentity) {
  absl::StatusOr<ServiceIdentity> first = Load();
  ASSERT_TRUE(first.ok());
  clock_.Advance(absl::Hours(24));
  absl::StatusOr<ServiceIdentity> second = Load();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->server_certificate.der(), first->server_certificate.der());
  EXPECT_EQ(second->tls_ca.der(), first->tls_ca.der());
  EXPECT_EQ(second->admin_ca.der(), first->admin_ca.der());
}

TEST_F(ServiceIdentityTest, KeyReadableByOthersStopsTheService) {
  ASSERT_TRUE(Load().ok());
  ASSERT_EQ(::chmod(absl::StrCat(dir_, "/server.key").c_str(), 0644), 0);
  absl::StatusOr<ServiceIdentity> identity = Load();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("chmod 600"));
}

TEST_F(ServiceIdentityTest, HalfACaIsRefusedNotReplaced) {
  ASSERT_TRUE(Load().ok());
  ASSERT_EQ(::unlink(absl::StrCat(dir_, "/tls-ca.pem").c_str()), 0);
  absl::StatusOr<ServiceIdentity> identity = Load();
  EXPECT_EQ(identity.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(identity.status().message()), HasSubstr("found only one of"));
}

TEST_F(ServiceIdentityTest, ServerCertificateIsRenewedBeforeItExpires) {
  absl::StatusOr<ServiceIdentity> first = Load();
  ASSERT_TRUE(first.ok());
  clock_.Advance(options_.server_certificate_validity - options_.renew_before + absl::Hours(1));
  absl::StatusOr<ServiceIdentity> renewed = Load();
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_NE(renewed->server_certificate.der(), first->server_certificate.der());
  EXPECT_FALSE(crypto::SameKey(renewed->server_key.public_key(), first->server_key.public_key()));
  EXPECT_EQ(renewed->tls_ca.der(), first->tls_ca.der());  // Clients keep trusting it.
  EXPECT_TRUE(crypto::VerifyCertificateChain(renewed->server_certificate, {}, {renewed->tls_ca},
                                             clock_.Now())
                  .ok());
}

TEST_F(ServiceIdentityTest, ServerCertificateNotSignedByTheTlsCaIsReplaced) {
  absl::StatusOr<ServiceIdentity> first = Load();
  ASSERT_TRUE(first.ok());
  // A CA with the same name but another key, as after a restore from the wrong backup.
  for (const char* name : {"tls-ca.key", "tls-ca.pem"}) {
    ASSERT_EQ(::unlink(absl::StrCat(dir_, "/", name).c_str()), 0);
  }
  absl::StatusOr<ServiceIdentity> second = Load();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->server_certificate.der(), first->server_certificate.der());
  EXPECT_TRUE(
      crypto::VerifyCertificateChain(second->server_certificate, {}, {second->tls_ca}, clock_.Now())
          .ok());
}

TEST_F(ServiceIdentityTest, ServerCertificateFollowsConfiguredNames) {
  ASSERT_TRUE(Load().ok());
  options_.dns_names = {"localhost", "factory-7.example.com"};
  absl::StatusOr<ServiceIdentity> identity = Load();
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(identity->server_certificate.SubjectAltNames()[1], "DNS:factory-7.example.com");
}

TEST_F(ServiceIdentityTest, AdminCredentialsCarryTheirRole) {
  ASSERT_TRUE(Load().ok());
  const std::string prefix = absl::StrCat(dir_, "/alice");
  ASSERT_TRUE(IssueAdminCredential(dir_, "alice", AdminRole::kOperator, absl::Hours(24 * 30),
                                   prefix, clock_, random_)
                  .ok());
  EXPECT_EQ(ModeOf("alice.key"), 0600u);
  absl::StatusOr<crypto::Certificate> cert =
      crypto::Certificate::FromPem(*ReadFileBounded(prefix + ".pem", 65536));
  ASSERT_TRUE(cert.ok());
  EXPECT_EQ(cert->Subject().common_name, "alice");
  EXPECT_EQ(*AdminRoleOf(*cert), AdminRole::kOperator);
  absl::StatusOr<ServiceIdentity> identity = Load();
  EXPECT_TRUE(crypto::VerifyCertificateChain(*cert, {}, {identity->admin_ca}, clock_.Now()).ok());
  // The TLS CA did not issue it.
  EXPECT_FALSE(crypto::VerifyCertificateChain(*cert, {}, {identity->tls_ca}, clock_.Now()).ok());
  // No silent overwrite.
  EXPECT_EQ(IssueAdminCredential(dir_, "alice", AdminRole::kAuditor, absl::Hours(24), prefix,
                                 clock_, random_)
                .code(),
            absl::StatusCode::kAlreadyExists);
  // A server certificate names no role.
  EXPECT_EQ(AdminRoleOf(identity->server_certificate).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ParseAdminRole("root").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace custody::pki
