#include "core/voucher/voucher_build.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/base/fake_random.h"
#include "core/base/status.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::voucher {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

class VoucherBuildTest : public testing::TestWithParam<crypto::Curve> {
 protected:
  void SetUp() override {
    SampleOptions options;
    options.curve = GetParam();
    options.now = kNow;
    absl::StatusOr<SampleVoucherSet> set = MakeSampleVoucherSet(options, random_);
    ASSERT_TRUE(set.ok()) << set.status();
    set_ = std::make_unique<SampleVoucherSet>(*std::move(set));
  }

  DeterministicRandom random_{21};
  std::unique_ptr<SampleVoucherSet> set_;
};

TEST_P(VoucherBuildTest, ManufacturedVoucherIsUnsignedUntilItsFirstEntry) {
  const v1::OwnershipVoucher& manufactured = set_->stages.front();
  EXPECT_EQ(manufactured.entries_size(), 0);
  // Self-consistent, but attributable to nobody.
  absl::StatusOr<VerifiedVoucher> plain = VerifyVoucher(manufactured, VerifyOptions{});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->signed_by_manufacturer());
  VerifyOptions options;
  options.expected_owner = set_->manufacturer_key.public_key();
  options.trusted_roots = {set_->device_ca};
  options.now = kNow;
  absl::StatusOr<VerifiedVoucher> refused = VerifyVoucher(manufactured, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(FailedCheck(refused.status()), "voucher.unsigned");
  // The manufacturer, reading its own records, may.
  options.allow_unsigned = true;
  EXPECT_TRUE(VerifyVoucher(manufactured, options).ok());
  VerifyOptions signed_options;
  signed_options.expected_manufacturer = set_->manufacturer_key.public_key();
  absl::StatusOr<VerifiedVoucher> signed_voucher = VerifyVoucher(set_->stages[1], signed_options);
  ASSERT_TRUE(signed_voucher.ok()) << signed_voucher.status();
  EXPECT_TRUE(signed_voucher->signed_by_manufacturer());
}

TEST_P(VoucherBuildTest, ForgedUnsignedHeaderIsNeitherAcceptedNorSigned) {
  // Anyone can write a header naming the manufacturer's public key, with a real
  // device chain copied from elsewhere: nothing in an entry-less voucher is signed.
  v1::VoucherHeader header;
  ASSERT_TRUE(header.ParseFromString(set_->stages.front().header()));
  header.mutable_rendezvous_info()->mutable_endpoints(0)->set_host("attacker.example");
  header.mutable_guid()->set_value(std::string(16, '\x66'));
  std::vector<crypto::Certificate> chain = {set_->device_certificate, set_->device_ca};
  absl::StatusOr<v1::OwnershipVoucher> forged =
      CreateVoucher(*BuildHeaderBytes(header), set_->stages.front().header_hmac(), chain);
  ASSERT_TRUE(forged.ok()) << forged.status();
  VerifyOptions options;
  options.expected_manufacturer = set_->manufacturer_key.public_key();
  EXPECT_EQ(FailedCheck(VerifyVoucher(*forged, options).status()), "voucher.unsigned");
  const crypto::EcPrivateKey buyer = *crypto::EcPrivateKey::Generate(GetParam());
  absl::StatusOr<v1::OwnershipVoucher> signed_forgery =
      ExtendVoucher(*forged, set_->manufacturer_key, buyer.public_key());
  EXPECT_EQ(FailedCheck(signed_forgery.status()), "voucher.unsigned");
  // Only the device can tell: the HMAC does not cover the forged header.
  EXPECT_EQ(VerifyHeaderHmac(*forged, set_->device_secret, crypto::CurveHash(GetParam())).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_P(VoucherBuildTest, HashesAndSignaturesFollowTheCurve) {
  const v1::OwnershipVoucher& voucher = set_->stages.back();
  const bool p256 = GetParam() == crypto::Curve::kP256;
  EXPECT_EQ(voucher.header_hmac().algorithm(),
            p256 ? v1::HASH_ALGORITHM_SHA256 : v1::HASH_ALGORITHM_SHA384);
  EXPECT_EQ(voucher.header_hmac().value().size(), p256 ? 32u : 48u);
  v1::SignedPayload entry;
  ASSERT_TRUE(entry.ParseFromString(voucher.entries(0)));
  EXPECT_EQ(entry.algorithm(),
            p256 ? v1::SIGNATURE_ALGORITHM_ES256 : v1::SIGNATURE_ALGORITHM_ES384);
}

TEST_P(VoucherBuildTest, OnlyTheDeviceSecretMatchesTheHeaderHmac) {
  const crypto::HashAlgorithm hash = crypto::CurveHash(GetParam());
  const v1::OwnershipVoucher& voucher = set_->stages.back();
  EXPECT_TRUE(VerifyHeaderHmac(voucher, set_->device_secret, hash).ok());

  const crypto::SoftwareHmacKey other(SecretBytes::CopyFrom(std::string(32, 'x')));
  const absl::Status wrong = VerifyHeaderHmac(voucher, other, hash);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(FailedCheck(wrong), "voucher.header_hmac");
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("does not match this device's secret"));

  v1::OwnershipVoucher tampered = voucher;
  (*tampered.mutable_header())[4] ^= 1;
  EXPECT_EQ(VerifyHeaderHmac(tampered, set_->device_secret, hash).code(),
            absl::StatusCode::kUnauthenticated);
  const crypto::HashAlgorithm other_hash = hash == crypto::HashAlgorithm::kSha256
                                               ? crypto::HashAlgorithm::kSha384
                                               : crypto::HashAlgorithm::kSha256;
  EXPECT_THAT(std::string(VerifyHeaderHmac(voucher, set_->device_secret, other_hash).message()),
              HasSubstr("is not HMAC-"));
}

TEST_P(VoucherBuildTest, ExtendByANonOwnerIsRefusedAndChangesNothing) {
  const v1::OwnershipVoucher before = set_->stages.back();
  const crypto::EcPrivateKey next = *crypto::EcPrivateKey::Generate(GetParam());
  // The previous owner no longer owns it.
  absl::StatusOr<v1::OwnershipVoucher> refused =
      ExtendVoucher(set_->stages.back(), set_->owner_keys[0], next.public_key());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(FailedCheck(refused.status()), "voucher.owner");
  EXPECT_EQ(set_->stages.back().SerializeAsString(), before.SerializeAsString());

  absl::StatusOr<v1::OwnershipVoucher> extended =
      ExtendVoucher(set_->stages.back(), set_->owner_keys[1], next.public_key(),
                    ExtendOptions{"resale 42", false});
  ASSERT_TRUE(extended.ok()) << extended.status();
  EXPECT_EQ(extended->entries_size(), before.entries_size() + 1);
  EXPECT_EQ(set_->stages.back().SerializeAsString(), before.SerializeAsString());
  VerifyOptions options;
  options.expected_owner = next.public_key();
  EXPECT_TRUE(VerifyVoucher(*extended, options).ok());
}

TEST_P(VoucherBuildTest, ExtendLimits) {
  const crypto::EcPrivateKey next = *crypto::EcPrivateKey::Generate(GetParam());
  absl::StatusOr<v1::OwnershipVoucher> big_extra =
      ExtendVoucher(set_->stages.back(), set_->owner_keys[1], next.public_key(),
                    ExtendOptions{std::string(1025, 'x'), false});
  EXPECT_EQ(big_extra.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(big_extra.status().message()), HasSubstr("extra data exceeds 1024"));

  v1::OwnershipVoucher full = set_->stages.back();
  while (static_cast<size_t>(full.entries_size()) < kMaxEntries) full.add_entries("x");
  absl::StatusOr<v1::OwnershipVoucher> over =
      ExtendVoucher(full, set_->owner_keys[1], next.public_key());
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("maximum of 64 entries"));
}

TEST_P(VoucherBuildTest, ExtendRefusesAnInvalidVoucher) {
  v1::OwnershipVoucher broken = set_->stages.back();
  (*broken.mutable_header_hmac()->mutable_value())[0] ^= 1;
  const crypto::EcPrivateKey next = *crypto::EcPrivateKey::Generate(GetParam());
  absl::StatusOr<v1::OwnershipVoucher> extended =
      ExtendVoucher(broken, set_->owner_keys[1], next.public_key());
  EXPECT_EQ(FailedCheck(extended.status()), "voucher.entry_previous_hash");
}

INSTANTIATE_TEST_SUITE_P(Curves, VoucherBuildTest,
                         testing::Values(crypto::Curve::kP256, crypto::Curve::kP384),
                         [](const testing::TestParamInfo<crypto::Curve>& info) {
                           return info.param == crypto::Curve::kP256 ? "P256" : "P384";
                         });

// Header rules, checked when the manufacturer builds the header bytes.
struct HeaderCase {
  std::string name;
  void (*mutate)(v1::VoucherHeader&);
  std::string check;
  std::string message;
};

class HeaderRulesTest : public testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderRulesTest, BadHeaderIsRefused) {
  DeterministicRandom random(3);
  SampleOptions options;
  options.now = kNow;
  options.owners = 0;
  absl::StatusOr<SampleVoucherSet> set = MakeSampleVoucherSet(options, random);
  ASSERT_TRUE(set.ok());
  v1::VoucherHeader header;
  ASSERT_TRUE(header.ParseFromString(set->stages[0].header()));
  ASSERT_TRUE(BuildHeaderBytes(header).ok());
  GetParam().mutate(header);
  absl::StatusOr<std::string> bytes = BuildHeaderBytes(header);
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FailedCheck(bytes.status()), GetParam().check);
  EXPECT_THAT(std::string(bytes.status().message()), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    All, HeaderRulesTest,
    testing::Values(
        HeaderCase{"Version", [](v1::VoucherHeader& h) { h.set_protocol_version(7); },
                   "voucher.protocol_version", "version 7"},
        HeaderCase{"ShortGuid", [](v1::VoucherHeader& h) { h.mutable_guid()->set_value("abc"); },
                   "voucher.header", "GUID is 3 bytes"},
        HeaderCase{"NoModel", [](v1::VoucherHeader& h) { h.mutable_device_info()->clear_model(); },
                   "voucher.header", "model must be 1 to 64 bytes"},
        HeaderCase{
            "LongSerial",
            [](v1::VoucherHeader& h) { h.mutable_device_info()->set_serial(std::string(65, 's')); },
            "voucher.header", "serial must be 1 to 64 bytes, not 65"},
        HeaderCase{"ControlCharacter",
                   [](v1::VoucherHeader& h) { h.mutable_device_info()->set_serial("a\nb"); },
                   "voucher.header", "outside printable ASCII"},
        HeaderCase{"BidiOverride",
                   [](v1::VoucherHeader& h) {
                     h.mutable_device_info()->set_model(
                         "gw\xe2\x80\xae"
                         "001");
                   },
                   "voucher.header", "outside printable ASCII"},
        HeaderCase{"HttpMud",
                   [](v1::VoucherHeader& h) {
                     h.mutable_device_info()->set_mud_url("http://mud.example.com/x");
                   },
                   "voucher.header", "MUD URL must be an https URL"},
        HeaderCase{"NoRendezvous",
                   [](v1::VoucherHeader& h) { h.mutable_rendezvous_info()->clear_endpoints(); },
                   "voucher.header", "no endpoint"},
        HeaderCase{"PortZero",
                   [](v1::VoucherHeader& h) {
                     h.mutable_rendezvous_info()->mutable_endpoints(0)->set_port(0);
                   },
                   "voucher.header", "port 0 is out of range"},
        HeaderCase{"NoTransport",
                   [](v1::VoucherHeader& h) {
                     h.mutable_rendezvous_info()->mutable_endpoints(0)->clear_transport();
                   },
                   "voucher.header", "no supported transport"},
        HeaderCase{"LongDelay",
                   [](v1::VoucherHeader& h) {
                     h.mutable_rendezvous_info()->mutable_endpoints(0)->set_delay_seconds(86401);
                   },
                   "voucher.header", "delay exceeds 86400 seconds"},
        HeaderCase{"BadServerCertificateHash",
                   [](v1::VoucherHeader& h) {
                     h.mutable_rendezvous_info()
                         ->mutable_endpoints(0)
                         ->mutable_server_certificate_hash()
                         ->set_value("short");
                   },
                   "voucher.header", "server certificate hash must be"},
        HeaderCase{
            "ManufacturerKeyCurveMismatch",
            [](v1::VoucherHeader& h) { h.mutable_manufacturer_key()->set_curve(v1::CURVE_P384); },
            "voucher.manufacturer_key", "says CURVE_P384"},
        HeaderCase{"ChainHashAlgorithm",
                   [](v1::VoucherHeader& h) {
                     h.mutable_device_certificate_chain_hash()->set_algorithm(
                         v1::HASH_ALGORITHM_SHA384);
                   },
                   "voucher.header", "the hash of the manufacturer key's curve"}),
    [](const testing::TestParamInfo<HeaderCase>& info) { return info.param.name; });

}  // namespace
}  // namespace custody::voucher
