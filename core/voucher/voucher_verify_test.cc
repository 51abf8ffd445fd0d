// Table-driven tampering tests: every way of altering a voucher fails verification
// with its own specific check, status code and message, and nothing else.

#include "core/voucher/voucher_verify.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/base/fake_random.h"
#include "core/base/status.h"
#include "core/crypto/signed_payload.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::voucher {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

// Two sample sets: the voucher under test, and another device's for swaps.
struct Fixture {
  SampleVoucherSet set;
  SampleVoucherSet other;
};

Fixture& Shared() {
  static Fixture* fixture = [] {
    DeterministicRandom random(11);
    SampleOptions options;
    options.now = kNow;
    auto set = MakeSampleVoucherSet(options, random);
    options.serial = "SN-0002";
    auto other = MakeSampleVoucherSet(options, random);
    if (!set.ok() || !other.ok()) std::abort();
    return new Fixture{*std::move(set), *std::move(other)};
  }();
  return *fixture;
}

VerifyOptions FullOptions(const SampleVoucherSet& set) {
  VerifyOptions options;
  options.expected_owner = set.owner_keys.back().public_key();
  options.expected_manufacturer = set.manufacturer_key.public_key();
  options.trusted_roots = {set.device_ca};
  options.now = kNow;
  return options;
}

// An entry with chosen contents, signed by `signer`.
std::string MakeEntry(const crypto::EcPrivateKey& signer, absl::string_view predecessor,
                      absl::string_view header_info, const v1::PublicKey& next_owner,
                      absl::string_view extra = "") {
  const crypto::HashAlgorithm hash = crypto::CurveHash(signer.curve());
  v1::VoucherEntryPayload entry;
  *entry.mutable_previous_entry_hash() = MakeHash(hash, predecessor);
  *entry.mutable_header_info_hash() = MakeHash(hash, header_info);
  *entry.mutable_next_owner_key() = next_owner;
  entry.set_extra(std::string(extra));
  return crypto::SignPayload(signer, kEntryPayloadType, entry.SerializeAsString())
      ->SerializeAsString();
}

std::string HeaderInfoOf(const v1::OwnershipVoucher& voucher) {
  v1::VoucherHeader header;
  header.ParseFromString(voucher.header());
  return HeaderInfoBytes(header.guid().value(), header.device_info());
}

void FlipByte(std::string* bytes, size_t index) { (*bytes)[index] ^= 0x01; }

size_t Find(const std::string& haystack, absl::string_view needle) {
  const size_t at = haystack.find(needle.data(), 0, needle.size());
  if (at == std::string::npos) std::abort();
  return at;
}

struct TamperCase {
  std::string name;
  std::function<void(const Fixture&, v1::OwnershipVoucher&, VerifyOptions&)> tamper;
  absl::StatusCode code;
  std::string check;
  std::string message;
};

class TamperTest : public testing::TestWithParam<TamperCase> {};

TEST(VerifyVoucherTest, SampleVoucherVerifiesWithEveryOption) {
  const Fixture& f = Shared();
  absl::StatusOr<VerifiedVoucher> verified = VerifyVoucher(f.set.stages.back(), FullOptions(f.set));
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_EQ(verified->owner_keys.size(), 2u);
  EXPECT_TRUE(crypto::SameKey(verified->current_owner(), f.set.owner_keys[1].public_key()));
  EXPECT_TRUE(crypto::SameKey(verified->manufacturer_key, f.set.manufacturer_key.public_key()));
  EXPECT_EQ(verified->header.device_info().serial(), "SN-0001");
  EXPECT_EQ(verified->guid().size(), kGuidSize);
  EXPECT_TRUE(crypto::SameKey(verified->device_key, f.set.device_key.public_key()));
  // Every stage verifies with its own current owner.
  for (size_t i = 0; i < f.set.stages.size(); ++i) {
    VerifyOptions options;
    options.expected_owner =
        i == 0 ? f.set.manufacturer_key.public_key() : f.set.owner_keys[i - 1].public_key();
    if (i == 0) {
      // No entries: attributable only by the manufacturer reading its own records.
      EXPECT_EQ(FailedCheck(VerifyVoucher(f.set.stages[i], options).status()), "voucher.unsigned");
      options.allow_unsigned = true;
    }
    EXPECT_TRUE(VerifyVoucher(f.set.stages[i], options).ok()) << "stage " << i;
  }
}

TEST_P(TamperTest, FailsWithTheExpectedCheckOnly) {
  const Fixture& f = Shared();
  v1::OwnershipVoucher voucher = f.set.stages.back();
  VerifyOptions options = FullOptions(f.set);
  GetParam().tamper(f, voucher, options);
  absl::StatusOr<VerifiedVoucher> verified = VerifyVoucher(voucher, options);
  ASSERT_FALSE(verified.ok()) << "tampered voucher verified";
  EXPECT_EQ(verified.status().code(), GetParam().code) << verified.status();
  EXPECT_EQ(FailedCheck(verified.status()), GetParam().check) << verified.status();
  EXPECT_THAT(std::string(verified.status().message()), HasSubstr(GetParam().message));
}

using C = absl::StatusCode;

INSTANTIATE_TEST_SUITE_P(
    All, TamperTest,
    testing::Values(
        // Signed or hashed parts, one byte flipped.
        TamperCase{"HeaderSerialByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     FlipByte(v.mutable_header(), Find(v.header(), "SN-0001") + 3);
                   },
                   C::kUnauthenticated, "voucher.entry_previous_hash",
                   "entry 0 hash of the header"},
        TamperCase{"HeaderKeyByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v1::VoucherHeader h;
                     h.ParseFromString(v.header());
                     const std::string& der = h.manufacturer_key().spki_der();
                     FlipByte(v.mutable_header(), Find(v.header(), der) + der.size() - 1);
                   },
                   C::kInvalidArgument, "voucher.manufacturer_key", "not a valid"},
        TamperCase{"HeaderHmacByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     FlipByte(v.mutable_header_hmac()->mutable_value(), 5);
                   },
                   C::kUnauthenticated, "voucher.entry_previous_hash",
                   "entry 0 hash of the header"},
        TamperCase{"DeviceCertificateByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     std::string* der = v.mutable_device_certificate_chain(0);
                     FlipByte(der, der->size() - 3);  // Inside the signature.
                   },
                   C::kUnauthenticated, "voucher.device_chain_hash",
                   "device certificate chain hash does not match"},
        TamperCase{"EntrySignatureByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v1::SignedPayload e;
                     e.ParseFromString(v.entries(0));
                     FlipByte(e.mutable_signature(), e.signature().size() - 2);
                     *v.mutable_entries(0) = e.SerializeAsString();
                   },
                   C::kUnauthenticated, "voucher.entry_signature",
                   "entry 0 (signed by the manufacturer key)"},
        TamperCase{"EntryPayloadByte",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v1::SignedPayload e;
                     e.ParseFromString(v.entries(1));
                     FlipByte(e.mutable_payload(), e.payload().size() - 1);
                     *v.mutable_entries(1) = e.SerializeAsString();
                   },
                   C::kUnauthenticated, "voucher.entry_signature", "entry 1"},
        TamperCase{"EntryPayloadType",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v1::SignedPayload e;
                     e.ParseFromString(v.entries(1));
                     e.set_payload_type("custody.v1.Other");
                     *v.mutable_entries(1) = e.SerializeAsString();
                   },
                   C::kInvalidArgument, "voucher.entry", "payload type is \"custody.v1.Other\""},
        // The chain rearranged.
        TamperCase{"SwapEntries",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_entries()->SwapElements(0, 1);
                   },
                   C::kUnauthenticated, "voucher.entry_signature", "entry 0"},
        TamperCase{"DropFirstEntry",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_entries()->DeleteSubrange(0, 1);
                   },
                   C::kUnauthenticated, "voucher.entry_signature", "entry 0"},
        TamperCase{"DropLastEntry",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_entries()->RemoveLast();
                   },
                   C::kPermissionDenied, "voucher.owner", "current owner is another key"},
        TamperCase{"AppendEntrySignedByWrongKey",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     // The previous owner signs, as if it still held the voucher.
                     v.add_entries(MakeEntry(f.set.owner_keys[0], v.entries(1), HeaderInfoOf(v),
                                             ToWireKey(f.other.owner_keys[0].public_key())));
                   },
                   C::kUnauthenticated, "voucher.entry_signature", "entry 2"},
        TamperCase{"EntryFromAnotherVoucher",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     *v.mutable_entries(1) = f.other.stages.back().entries(1);
                   },
                   C::kUnauthenticated, "voucher.entry_signature", "entry 1"},
        TamperCase{"SignedEntryWithWrongPreviousHash",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     *v.mutable_entries(1) =
                         MakeEntry(f.set.owner_keys[0], "not the previous entry", HeaderInfoOf(v),
                                   ToWireKey(f.set.owner_keys[1].public_key()));
                   },
                   C::kUnauthenticated, "voucher.entry_previous_hash",
                   "entry 1 hash of the previous"},
        TamperCase{"SignedEntryForAnotherDevice",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     *v.mutable_entries(1) = MakeEntry(f.set.owner_keys[0], v.entries(0),
                                                       HeaderInfoOf(f.other.stages.back()),
                                                       ToWireKey(f.set.owner_keys[1].public_key()));
                   },
                   C::kUnauthenticated, "voucher.entry_header_info", "GUID and device info"},
        TamperCase{"SignedEntryWithBadOwnerKey",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v1::PublicKey bad = ToWireKey(f.set.owner_keys[1].public_key());
                     bad.set_curve(v1::CURVE_P384);
                     *v.mutable_entries(1) =
                         MakeEntry(f.set.owner_keys[0], v.entries(0), HeaderInfoOf(v), bad);
                   },
                   C::kInvalidArgument, "voucher.entry_owner_key", "entry 1"},
        // Device side of the voucher.
        TamperCase{"AnotherDevicesChain",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     *v.mutable_device_certificate_chain() =
                         f.other.stages.back().device_certificate_chain();
                   },
                   C::kUnauthenticated, "voucher.device_chain_hash", "does not match"},
        TamperCase{"UntrustedDeviceRoot",
                   [](const Fixture& f, v1::OwnershipVoucher&, VerifyOptions& o) {
                     o.trusted_roots = {f.other.device_ca};
                   },
                   C::kUnauthenticated, "voucher.device_chain_trust",
                   "certificate chain does not verify"},
        TamperCase{"DeviceChainExpired",
                   [](const Fixture&, v1::OwnershipVoucher&, VerifyOptions& o) {
                     o.now = kNow + absl::Hours(24 * 365 * 21);
                   },
                   C::kUnauthenticated, "voucher.device_chain_trust", "expired"},
        TamperCase{"WrongHmacLength",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_header_hmac()->mutable_value()->resize(16);
                   },
                   C::kInvalidArgument, "voucher.header_hmac", "HMAC-SHA-256 for a P-256"},
        TamperCase{"DeviceCertificateNotDer",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.set_device_certificate_chain(0, "not a certificate");
                   },
                   C::kInvalidArgument, "voucher.device_chain", "device certificate"},
        TamperCase{"EmptyDeviceChain",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.clear_device_certificate_chain();
                   },
                   C::kInvalidArgument, "voucher.device_chain", "empty"},
        // Whose voucher it is.
        TamperCase{"ExpectedAnotherOwner",
                   [](const Fixture& f, v1::OwnershipVoucher&, VerifyOptions& o) {
                     o.expected_owner = f.set.owner_keys[0].public_key();
                   },
                   C::kPermissionDenied, "voucher.owner", "current owner is another key"},
        TamperCase{"ExpectedAnotherManufacturer",
                   [](const Fixture& f, v1::OwnershipVoucher&, VerifyOptions& o) {
                     o.expected_manufacturer = f.other.manufacturer_key.public_key();
                   },
                   C::kPermissionDenied, "voucher.manufacturer", "another manufacturer key"},
        // Structure and limits.
        TamperCase{"ProtocolVersion",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.set_protocol_version(2);
                   },
                   C::kInvalidArgument, "voucher.protocol_version", "version 2 is not supported"},
        TamperCase{"HeaderNotAHeader",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.set_header("\xff\xff\xff");
                   },
                   C::kInvalidArgument, "voucher.header", "not a valid custody.v1.VoucherHeader"},
        TamperCase{"HeaderOverLimit",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.set_header(std::string(kMaxHeaderSize + 1, 'x'));
                   },
                   C::kResourceExhausted, "voucher.header", "exceeds the limit of 8192"},
        TamperCase{"TooManyEntries",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     for (size_t i = 0; i < kMaxEntries; ++i) v.add_entries(v.entries(0));
                   },
                   C::kResourceExhausted, "voucher.format", "too many entries"},
        TamperCase{"TooManyCertificates",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     for (size_t i = 0; i < kMaxDeviceChainLength; ++i) {
                       v.add_device_certificate_chain(v.device_certificate_chain(0));
                     }
                   },
                   C::kResourceExhausted, "voucher.format", "device certificates"},
        TamperCase{"EntryOverLimit",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_entries(0)->append(kMaxEntrySize, 'x');
                   },
                   C::kResourceExhausted, "voucher.entry", "exceeds the limit of 4096"},
        TamperCase{"EntryWithUnknownField",
                   [](const Fixture&, v1::OwnershipVoucher& v, VerifyOptions&) {
                     v.mutable_entries(0)->append("\x48\x01", 2);
                   },
                   C::kInvalidArgument, "voucher.entry", "entry 0 has unknown fields"},
        TamperCase{"SignedEntryWithOverLimitExtra",
                   [](const Fixture& f, v1::OwnershipVoucher& v, VerifyOptions&) {
                     *v.mutable_entries(1) = MakeEntry(
                         f.set.owner_keys[0], v.entries(0), HeaderInfoOf(v),
                         ToWireKey(f.set.owner_keys[1].public_key()), std::string(1025, 'x'));
                   },
                   C::kResourceExhausted, "voucher.entry", "extra data exceeds 1024"}),
    [](const testing::TestParamInfo<TamperCase>& info) { return info.param.name; });

TEST(VerifyVoucherTest, MixedCurvesUseEachSignersHash) {
  DeterministicRandom random(5);
  SampleOptions options;
  options.now = kNow;
  options.owners = 1;
  absl::StatusOr<SampleVoucherSet> set = MakeSampleVoucherSet(options, random);
  ASSERT_TRUE(set.ok()) << set.status();
  const crypto::EcPrivateKey p384 = *crypto::EcPrivateKey::Generate(crypto::Curve::kP384);
  const crypto::EcPrivateKey next = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  absl::StatusOr<v1::OwnershipVoucher> to_p384 =
      ExtendVoucher(set->stages.back(), set->owner_keys[0], p384.public_key());
  ASSERT_TRUE(to_p384.ok()) << to_p384.status();
  absl::StatusOr<v1::OwnershipVoucher> from_p384 = ExtendVoucher(*to_p384, p384, next.public_key());
  ASSERT_TRUE(from_p384.ok()) << from_p384.status();
  v1::SignedPayload last;
  ASSERT_TRUE(last.ParseFromString(from_p384->entries(2)));
  EXPECT_EQ(last.algorithm(), v1::SIGNATURE_ALGORITHM_ES384);
  v1::VoucherEntryPayload payload;
  ASSERT_TRUE(payload.ParseFromString(last.payload()));
  EXPECT_EQ(payload.previous_entry_hash().algorithm(), v1::HASH_ALGORITHM_SHA384);
  VerifyOptions verify;
  verify.expected_owner = next.public_key();
  EXPECT_TRUE(VerifyVoucher(*from_p384, verify).ok());
}

}  // namespace
}  // namespace custody::voucher
