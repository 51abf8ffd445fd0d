// TO2 driven directly, on the SQLite store: a device onboards, and a test owner,
// a test device and a relay between them misbehave on purpose. Every refusal is
// asserted by its side and check, with the owner's store unchanged (devices,
// support declarations and audit log) and the device not done,
// so that it keeps its old credential.

#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/fake_clock.h"
#include "core/base/fake_random.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/support_declaration.h"
#include "core/protocol/to2_client.h"
#include "core/protocol/to2_format.h"
#include "core/protocol/to2_server.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::protocol {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

struct Relay {
  // Called with the index of the exchange (0: HelloDevice / ProveOwnerHeader).
  std::function<void(int, v1::To2Request&)> to_owner;
  std::function<void(int, v1::To2Response&)> to_device;
  // Stop before the owner sees request `stop_before` (a broken stream).
  int stop_before = -1;
};

struct Outcome {
  absl::Status device;
  absl::Status owner;
  int exchanges = 0;
  // The request not delivered because of Relay::stop_before.
  std::optional<v1::To2Request> pending;
};

Outcome Exchange(To2ClientSession& device, To2ServerSession& owner, const Relay& relay = {}) {
  Outcome out;
  absl::StatusOr<v1::To2Request> first = device.Start();
  if (!first.ok()) {
    out.device = first.status();
    return out;
  }
  std::optional<v1::To2Request> request = *std::move(first);
  for (int index = 0; request.has_value(); ++index) {
    if (index == relay.stop_before) {
      out.pending = std::move(request);
      break;
    }
    if (relay.to_owner) relay.to_owner(index, *request);
    absl::StatusOr<v1::To2Response> response = owner.Handle(*request);
    if (!response.ok()) {
      out.owner = response.status();
      return out;
    }
    if (relay.to_device) relay.to_device(index, *response);
    absl::StatusOr<std::optional<v1::To2Request>> next = device.Handle(*response);
    if (!next.ok()) {
      out.device = next.status();
      return out;
    }
    request = *std::move(next);
    out.exchanges = index + 1;
  }
  return out;
}

v1::GetSettingsResponse Settings(std::initializer_list<std::pair<std::string, std::string>> kv) {
  v1::GetSettingsResponse settings;
  for (const auto& [key, value] : kv) {
    v1::Setting* setting = settings.add_settings();
    setting->set_key(key);
    setting->set_value(value);
  }
  return settings;
}

voucher::ExtendOptions ResaleOptions() {
  voucher::ExtendOptions options;
  options.trust_unsigned_header = true;  // The replacement voucher is the owner's own record.
  return options;
}

class To2Test : public testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    store_ = *storage::OpenSqliteStore(
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/to2-", ++counter, ".db"));
    set_ = MakeSet();
    ca_key_.emplace(*crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    ca_.emplace(*crypto::CreateSelfSignedCa(*ca_key_, {"Owner device CA", "Example Owner", ""},
                                            kNow - absl::Hours(1), kNow + absl::Hours(24 * 3650),
                                            owner_random_));
    keys_.voucher_keys = {&set_->owner_keys.back()};
    keys_.device_ca_key = &*ca_key_;
    keys_.device_ca_chain = {*ca_};
    policy_.organization = "Example Owner";
    policy_.fleet_endpoint = "fleet.example:8044";
    Import(set_->stages.back());
    ASSERT_TRUE(
        store_
            ->Transact([&](storage::Transaction& tx) -> absl::Status {
              absl::Status s = tx.settings().Put(
                  ModelSettingsScope("gw-100"),
                  Settings({{"ntp", "pool.ntp.org"}, {"site", "default"}}).SerializeAsString());
              if (!s.ok()) return s;
              return tx.settings().Put(DeviceSettingsScope(Guid()),
                                       Settings({{"site", "plant-7"}}).SerializeAsString());
            })
            .ok());
  }

  std::unique_ptr<voucher::SampleVoucherSet> MakeSet(const std::string& serial = "SN-0001") {
    voucher::SampleOptions options;
    options.now = kNow;
    options.owners = 2;
    options.serial = serial;
    return std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(options, sample_random_));
  }

  std::string Guid() const {
    v1::VoucherHeader header;
    header.ParseFromString(set_->stages[0].header());
    return header.guid().value();
  }

  // Stores `voucher` as an imported device under `guid` (its own by default).
  void Import(const v1::OwnershipVoucher& voucher, std::string guid = "") {
    v1::VoucherHeader header;
    header.ParseFromString(voucher.header());
    storage::OwnedDeviceRecord record;
    record.guid = guid.empty() ? header.guid().value() : guid;
    record.model = header.device_info().model();
    record.serial = header.device_info().serial();
    record.voucher = voucher.SerializeAsString();
    record.imported_at = kNow;
    record.updated_at = kNow;
    ASSERT_TRUE(
        store_
            ->Transact([&](storage::Transaction& tx) { return tx.owned_devices().Insert(record); })
            .ok());
  }

  To2DeviceInputs Inputs() {
    To2DeviceInputs inputs;
    inputs.guid = Guid();
    inputs.header_bytes = set_->stages[0].header();
    inputs.device_certificate_chain.assign(set_->stages[0].device_certificate_chain().begin(),
                                           set_->stages[0].device_certificate_chain().end());
    inputs.attestation_key = &set_->device_key;
    inputs.hmac_secret = &set_->device_secret;
    inputs.manufacturer_key = set_->manufacturer_key.public_key();
    inputs.software_version = "1.4.2";
    inputs.clock = &clock_;
    inputs.random = &device_random_;
    return inputs;
  }

  To2ServerDeps Deps() { return {store_.get(), &clock_, &owner_random_, &keys_, &policy_}; }

  // Everything TO2 may write, as one comparable string.
  std::string Dump() {
    std::string out;
    EXPECT_TRUE(
        store_
            ->Transact([&](storage::Transaction& tx) -> absl::Status {
              absl::StatusOr<storage::OwnedDevicePage> page = tx.owned_devices().List("", 100);
              if (!page.ok()) return page.status();
              for (const storage::OwnedDeviceRecord& r : page->records) {
                absl::StrAppend(
                    &out, HexEncode(r.guid), "|", storage::OwnedDeviceStateName(r.state), "|",
                    HexEncode(r.replacement_guid), "|", HexEncode(r.replacement_voucher), "|",
                    HexEncode(r.enrolment), "|", r.revision, "\n");
              }
              absl::StatusOr<std::vector<storage::AuditEvent>> audit = tx.audit().List(0, 1000);
              if (!audit.ok()) return audit.status();
              for (const storage::AuditEvent& e : *audit)
                absl::StrAppend(&out, HexEncode(e.hash), "\n");
              absl::StatusOr<storage::SupportDeclarationRecord> support =
                  tx.support().Current("gw-100");
              if (support.ok()) absl::StrAppend(&out, "support ", support->sequence, "\n");
              return absl::OkStatus();
            })
            .ok());
    return out;
  }

  storage::OwnedDeviceRecord Stored() {
    storage::OwnedDeviceRecord record;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      absl::StatusOr<storage::OwnedDeviceRecord> got =
                          tx.owned_devices().Get(Guid());
                      if (!got.ok()) return got.status();
                      record = *std::move(got);
                      return absl::OkStatus();
                    })
                    .ok());
    return record;
  }

  // Runs a session that must be refused by `side` ("device" or "owner") with
  // `code` and `check`, and asserts that the owner's store did not change.
  void ExpectRefused(const std::string& side, absl::StatusCode code, const std::string& check,
                     const Relay& relay = {},
                     std::optional<To2DeviceInputs> inputs = std::nullopt) {
    const std::string before = Dump();
    To2ClientSession device(inputs.has_value() ? *std::move(inputs) : Inputs());
    To2ServerSession owner(Deps());
    Outcome outcome = Exchange(device, owner, relay);
    const absl::Status& refusal = side == "device" ? outcome.device : outcome.owner;
    const absl::Status& other = side == "device" ? outcome.owner : outcome.device;
    EXPECT_FALSE(refusal.ok()) << side << " accepted";
    EXPECT_TRUE(other.ok()) << other;
    EXPECT_EQ(refusal.code(), code) << refusal;
    EXPECT_EQ(FailedCheck(refusal), check) << refusal;
    EXPECT_FALSE(device.done());
    EXPECT_FALSE(owner.done());
    EXPECT_EQ(Dump(), before);
  }

  FakeClock clock_{kNow};
  // Independent sources for each party: the device's nonces, the owner's nonces,
  // GUIDs and certificate serials, and the sample vouchers' (manufacturer's).
  DeterministicRandom device_random_{21};
  DeterministicRandom owner_random_{22};
  DeterministicRandom sample_random_{23};
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<voucher::SampleVoucherSet> set_;
  std::optional<crypto::EcPrivateKey> ca_key_;
  std::optional<crypto::Certificate> ca_;
  OwnerKeys keys_;
  OnboardingPolicy policy_;
};

TEST_F(To2Test, DeviceOnboardsAndTheOwnerKeepsAResaleReadyVoucher) {
  To2ClientSession device(Inputs());
  To2ServerSession owner(Deps());
  Outcome outcome = Exchange(device, owner);
  ASSERT_TRUE(outcome.device.ok()) << outcome.device;
  ASSERT_TRUE(outcome.owner.ok()) << outcome.owner;
  ASSERT_TRUE(device.done());
  ASSERT_TRUE(owner.done());
  // Hello, 2 entries, ProveDevice, DeviceServiceInfoReady, DeviceServiceInfo, Done.
  EXPECT_EQ(outcome.exchanges, 7);

  To2Result& result = device.result();
  const std::string new_guid = result.header.guid().value();
  EXPECT_NE(new_guid, Guid());
  EXPECT_EQ(owner.replacement_guid(), new_guid);
  EXPECT_EQ(result.header.device_info().serial(), "SN-0001");
  EXPECT_TRUE(crypto::SameKey(*result.owner_key, set_->owner_keys.back().public_key()));
  // Settings: the model's, overlaid by the device's, sorted.
  ASSERT_EQ(result.enrolment.settings_size(), 2);
  EXPECT_EQ(result.enrolment.settings(0).key(), "ntp");
  EXPECT_EQ(result.enrolment.settings(1).value(), "plant-7");
  EXPECT_EQ(result.enrolment.fleet_endpoint(), "fleet.example:8044");
  crypto::Certificate certificate =
      *crypto::Certificate::FromDer(result.enrolment.operational_certificate());
  EXPECT_TRUE(crypto::SameKey(*certificate.PublicKey(), result.operational_key->public_key()));
  EXPECT_EQ(certificate.Subject().common_name, voucher::FormatGuid(new_guid));

  // The owner kept the replacement voucher, which the device's new secret
  // authenticates and which the owner can extend to a buyer.
  storage::OwnedDeviceRecord record = Stored();
  EXPECT_EQ(record.state, storage::OwnedDeviceState::kOnboarded);
  EXPECT_EQ(record.replacement_guid, new_guid);
  EXPECT_EQ(record.onboarded_at, kNow);
  v1::OwnershipVoucher replacement = *voucher::ParseVoucher(record.replacement_voucher);
  EXPECT_EQ(replacement.header(), result.replacement_header);
  EXPECT_TRUE(
      voucher::VerifyHeaderHmac(replacement, result.new_hmac_secret, crypto::HashAlgorithm::kSha256)
          .ok());
  EXPECT_FALSE(
      voucher::VerifyHeaderHmac(replacement, set_->device_secret, crypto::HashAlgorithm::kSha256)
          .ok());
  absl::StatusOr<v1::OwnershipVoucher> resold = voucher::ExtendVoucher(
      replacement, set_->owner_keys.back(), set_->owner_keys[0].public_key(), ResaleOptions());
  ASSERT_TRUE(resold.ok()) << resold.status();
  v1::OwnedDevice enrolment;
  ASSERT_TRUE(enrolment.ParseFromString(record.enrolment));
  EXPECT_EQ(enrolment.report().software_version(), "1.4.2");
  EXPECT_EQ(enrolment.operational_certificate_serial(), certificate.SerialHex());
  // One audit event, the onboarding.
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) -> absl::Status {
                    std::vector<storage::AuditEvent> events = *tx.audit().List(0, 10);
                    EXPECT_EQ(events.size(), 1u);
                    if (!events.empty()) {
                      EXPECT_EQ(events[0].action, "to2.onboarded");
                    }
                    return absl::OkStatus();
                  })
                  .ok());
}

TEST_F(To2Test, TheNewCredentialOnboardsWithTheReplacementVoucherAtTheNextOwner) {
  To2ClientSession device(Inputs());
  To2ServerSession owner(Deps());
  ASSERT_TRUE(Exchange(device, owner).device.ok());
  To2Result result = std::move(device.result());
  // Resale: the replacement voucher extended to a buyer, imported there.
  storage::OwnedDeviceRecord record = Stored();
  v1::OwnershipVoucher replacement = *voucher::ParseVoucher(record.replacement_voucher);
  const crypto::EcPrivateKey& buyer = set_->owner_keys[0];
  v1::OwnershipVoucher sold = *voucher::ExtendVoucher(replacement, set_->owner_keys.back(),
                                                      buyer.public_key(), ResaleOptions());
  std::unique_ptr<storage::Store> buyer_store =
      *storage::OpenSqliteStore(absl::StrCat(std::getenv("TEST_TMPDIR"), "/to2-buyer.db"));
  storage::OwnedDeviceRecord bought;
  bought.guid = result.header.guid().value();
  bought.model = "gw-100";
  bought.serial = "SN-0001";
  bought.voucher = sold.SerializeAsString();
  ASSERT_TRUE(
      buyer_store
          ->Transact([&](storage::Transaction& tx) { return tx.owned_devices().Insert(bought); })
          .ok());
  OwnerKeys buyer_keys = keys_;
  buyer_keys.voucher_keys = {&buyer};
  To2DeviceInputs inputs = Inputs();
  inputs.guid = bought.guid;
  inputs.header_bytes = result.replacement_header;
  inputs.hmac_secret = &result.new_hmac_secret;
  To2ClientSession again(std::move(inputs));
  DeterministicRandom buyer_random{24};
  To2ServerSession buyer_owner({buyer_store.get(), &clock_, &buyer_random, &buyer_keys, &policy_});
  Outcome outcome = Exchange(again, buyer_owner);
  EXPECT_TRUE(outcome.device.ok()) << outcome.device;
  EXPECT_TRUE(outcome.owner.ok()) << outcome.owner;
  EXPECT_TRUE(again.done());
}

TEST_F(To2Test, TamperedEntryIsRefusedByTheDevice) {
  Relay relay;
  relay.to_device = [](int index, v1::To2Response& response) {
    if (index == 1) {
      std::string* entry = response.mutable_ov_next_entry()->mutable_entry();
      entry->back() ^= 0x01;  // The last byte of the entry's signature.
    }
  };
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "voucher.entry_signature", relay);
}

TEST_F(To2Test, VoucherForAnotherDeviceIsRefusedByTheDevice) {
  // The owner's record for this GUID holds another device's voucher.
  std::unique_ptr<voucher::SampleVoucherSet> other = MakeSet("SN-0002");
  keys_.voucher_keys = {&other->owner_keys.back()};
  std::string guid = Guid();
  store_ = *storage::OpenSqliteStore(absl::StrCat(std::getenv("TEST_TMPDIR"), "/to2-other.db"));
  Import(other->stages.back(), guid);
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.voucher_header");
}

TEST_F(To2Test, WrongHeaderHmacIsRefusedByTheDevice) {
  v1::OwnershipVoucher forged = set_->stages.back();
  forged.mutable_header_hmac()->mutable_value()->front() ^= 0x01;
  store_ = *storage::OpenSqliteStore(absl::StrCat(std::getenv("TEST_TMPDIR"), "/to2-hmac.db"));
  Import(forged);
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.header_hmac");
}

TEST_F(To2Test, OwnerSignatureOverAStaleNonceIsRefusedByTheDevice) {
  // An earlier session's signed header, replayed into a new session.
  v1::To2Response stale;
  {
    To2ClientSession device(Inputs());
    To2ServerSession owner(Deps());
    Relay capture;
    capture.to_device = [&](int index, v1::To2Response& response) {
      if (index == 0) stale = response;
    };
    capture.stop_before = 1;
    Exchange(device, owner, capture);
  }
  ASSERT_TRUE(stale.has_prove_owner_header());
  Relay relay;
  relay.to_device = [&](int index, v1::To2Response& response) {
    if (index == 0) response = stale;
  };
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.nonce", relay);
}

TEST_F(To2Test, ReplayedSealedMessagesAreRefusedByEitherSide) {
  // Device -> owner: DeviceServiceInfoReady (exchange 4) sent again at 5.
  v1::To2Request first_sealed;
  Relay to_owner;
  to_owner.to_owner = [&](int index, v1::To2Request& request) {
    if (index == 4) first_sealed = request;
    if (index == 5) request = first_sealed;
  };
  ExpectRefused("owner", absl::StatusCode::kUnauthenticated, "to2.sealed", to_owner);
  // Owner -> device: SetupDevice (exchange 3) sent again at 4.
  v1::To2Response setup;
  Relay to_device;
  to_device.to_device = [&](int index, v1::To2Response& response) {
    if (index == 3) setup = response;
    if (index == 4) response = setup;
  };
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.sealed", to_device);
  // A sealed message reflected back to its sender does not open either.
  Relay reflect;
  v1::To2Request own;
  reflect.to_owner = [&](int index, v1::To2Request& request) {
    if (index == 4) own = request;
  };
  reflect.to_device = [&](int index, v1::To2Response& response) {
    if (index == 4) response.mutable_sealed()->set_ciphertext(own.sealed().ciphertext());
  };
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.sealed", reflect);
}

TEST_F(To2Test, AlteredSealedMessageIsRefused) {
  Relay relay;
  relay.to_owner = [](int index, v1::To2Request& request) {
    if (index == 5) request.mutable_sealed()->mutable_ciphertext()->front() ^= 0x80;
  };
  ExpectRefused("owner", absl::StatusCode::kUnauthenticated, "to2.sealed", relay);
}

TEST_F(To2Test, MessagesAfterTheEndAreRefusedByBothSides) {
  To2ClientSession device(Inputs());
  To2ServerSession owner(Deps());
  v1::To2Request last_request;
  v1::To2Response last_response;
  Relay relay;
  relay.to_owner = [&](int, v1::To2Request& request) { last_request = request; };
  relay.to_device = [&](int, v1::To2Response& response) { last_response = response; };
  ASSERT_TRUE(Exchange(device, owner, relay).device.ok());
  ASSERT_TRUE(owner.done());
  const std::string before = Dump();
  absl::Status owner_refusal = owner.Handle(last_request).status();
  EXPECT_EQ(owner_refusal.code(), absl::StatusCode::kFailedPrecondition) << owner_refusal;
  EXPECT_EQ(FailedCheck(owner_refusal), "to2.session_over") << owner_refusal;
  absl::Status device_refusal = device.Handle(last_response).status();
  EXPECT_EQ(device_refusal.code(), absl::StatusCode::kFailedPrecondition) << device_refusal;
  EXPECT_EQ(FailedCheck(device_refusal), "to2.session_over") << device_refusal;
  EXPECT_EQ(Dump(), before);
}

TEST_F(To2Test, DeviceSignatureByTheWrongKeyIsRefusedByTheOwner) {
  crypto::EcPrivateKey impostor = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  To2DeviceInputs inputs = Inputs();
  inputs.attestation_key = &impostor;
  ExpectRefused("owner", absl::StatusCode::kUnauthenticated, "to2.device_signature", {},
                std::move(inputs));
}

TEST_F(To2Test, SuiteDowngradesAreRefused) {
  // On the way to the owner, the hello loses the device's first suite: the
  // owner's signed hash of the hello tells the device.
  To2DeviceInputs inputs = Inputs();
  inputs.suites = {v1::TO2_SUITE_ECDH_P384_AES256GCM, v1::TO2_SUITE_ECDH_P256_AES256GCM};
  Relay strip;
  strip.to_owner = [](int index, v1::To2Request& request) {
    if (index != 0) return;
    v1::To2HelloDevicePayload hello;
    hello.ParseFromString(request.hello_device().payload());
    hello.clear_suites();
    hello.add_suites(v1::TO2_SUITE_ECDH_P256_AES256GCM);
    request.mutable_hello_device()->set_payload(hello.SerializeAsString());
  };
  ExpectRefused("device", absl::StatusCode::kUnauthenticated, "to2.hello_hash", strip, inputs);

  // An owner that picks a suite the device did not offer.
  const crypto::EcPrivateKey& owner_key = set_->owner_keys.back();
  Relay pick;
  pick.to_device = [&](int index, v1::To2Response& response) {
    if (index != 0) return;
    v1::To2OwnerHeader header;
    header.ParseFromString(response.prove_owner_header().header().payload());
    header.set_suite(v1::TO2_SUITE_ECDH_P384_AES256GCM);
    *response.mutable_prove_owner_header()->mutable_header() =
        *crypto::SignPayload(owner_key, kTo2OwnerHeaderType, header.SerializeAsString());
  };
  To2DeviceInputs p256_only = Inputs();
  p256_only.suites = {v1::TO2_SUITE_ECDH_P256_AES256GCM};
  ExpectRefused("device", absl::StatusCode::kInvalidArgument, "to2.suite", pick, p256_only);

  // No suite in common.
  policy_.suites = {v1::TO2_SUITE_ECDH_P384_AES256GCM};
  ExpectRefused("owner", absl::StatusCode::kInvalidArgument, "to2.suite", {}, p256_only);
}

TEST_F(To2Test, UnknownGuidAndForeignVoucherAreRefusedByTheOwner) {
  To2DeviceInputs inputs = Inputs();
  inputs.guid = std::string(16, '\x42');
  ExpectRefused("owner", absl::StatusCode::kNotFound, "to2.unknown_guid", {}, inputs);
  // The owner no longer holds the key the voucher names.
  crypto::EcPrivateKey other = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  keys_.voucher_keys = {&other};
  ExpectRefused("owner", absl::StatusCode::kPermissionDenied, "to2.not_owner");
}

TEST_F(To2Test, OutOfOrderAndMalformedMessagesAreRefusedByTheOwner) {
  Relay early;
  early.to_owner = [&](int index, v1::To2Request& request) {
    if (index == 1) {  // ProveDevice before the entries were read.
      request.Clear();
      request.mutable_prove_device();
    }
  };
  ExpectRefused("owner", absl::StatusCode::kFailedPrecondition, "to2.unexpected_message", early);
  Relay skip;
  skip.to_owner = [](int index, v1::To2Request& request) {
    if (index == 1) request.mutable_get_ov_next_entry()->set_entry_number(1);
  };
  ExpectRefused("owner", absl::StatusCode::kInvalidArgument, "to2.entry_number", skip);
  Relay garbage;
  garbage.to_owner = [](int index, v1::To2Request& request) {
    if (index == 0) request.mutable_hello_device()->set_payload("\xff\xff\xff");
  };
  ExpectRefused("owner", absl::StatusCode::kInvalidArgument, "to2.format", garbage);
  Relay clear;
  clear.to_owner = [](int index, v1::To2Request& request) {
    if (index == 4) request.mutable_get_ov_next_entry()->set_entry_number(0);
  };
  ExpectRefused("owner", absl::StatusCode::kFailedPrecondition, "to2.unexpected_message", clear);
}

TEST_F(To2Test, ALostDone2LeavesTheOldCredentialWorking) {
  // The owner commits, but the device never sees Done2 (the stream broke).
  To2ClientSession first(Inputs());
  To2ServerSession owner(Deps());
  Relay lose;
  lose.to_device = [](int index, v1::To2Response& response) {
    if (index == 6) response.mutable_sealed()->set_ciphertext("lost");
  };
  Outcome outcome = Exchange(first, owner, lose);
  EXPECT_FALSE(first.done());
  EXPECT_TRUE(owner.done());
  const std::string kept = Stored().replacement_guid;
  ASSERT_FALSE(kept.empty());
  // The device still has its old credential, and onboards with it again.
  To2ClientSession retry(Inputs());
  To2ServerSession owner2(Deps());
  outcome = Exchange(retry, owner2);
  ASSERT_TRUE(outcome.device.ok()) << outcome.device;
  ASSERT_TRUE(retry.done());
  EXPECT_EQ(Stored().replacement_guid, retry.result().header.guid().value());
  EXPECT_NE(Stored().replacement_guid, kept);
}

TEST_F(To2Test, AnOnboardedCredentialIsNotOnboardedAgainHere) {
  To2ClientSession device(Inputs());
  To2ServerSession owner(Deps());
  ASSERT_TRUE(Exchange(device, owner).device.ok());
  To2Result result = std::move(device.result());
  To2DeviceInputs inputs = Inputs();
  inputs.guid = result.header.guid().value();
  inputs.header_bytes = result.replacement_header;
  inputs.hmac_secret = &result.new_hmac_secret;
  ExpectRefused("owner", absl::StatusCode::kFailedPrecondition, "to2.already_onboarded", {},
                std::move(inputs));
}

TEST_F(To2Test, TwoConcurrentSessionsCommitOnce) {
  To2ClientSession a(Inputs());
  To2ClientSession b(Inputs());
  To2ServerSession owner_a(Deps());
  To2ServerSession owner_b(Deps());
  // a gets as far as its Done; b runs to the end meanwhile.
  Relay stop;
  stop.stop_before = 6;
  Outcome held = Exchange(a, owner_a, stop);
  ASSERT_TRUE(held.pending.has_value());
  ASSERT_TRUE(Exchange(b, owner_b).owner.ok());
  const std::string after_b = Dump();
  absl::StatusOr<v1::To2Response> late = owner_a.Handle(*held.pending);
  EXPECT_EQ(FailedCheck(late.status()), "to2.concurrent") << late.status();
  EXPECT_EQ(late.status().code(), absl::StatusCode::kAborted);
  EXPECT_EQ(Dump(), after_b);
  EXPECT_EQ(Stored().replacement_guid, b.result().header.guid().value());
}

TEST_F(To2Test, ARegistrationRenewedDuringTheSessionDoesNotStopIt) {
  To2ClientSession device(Inputs());
  To2ServerSession owner(Deps());
  Relay stop;
  stop.stop_before = 6;
  Outcome held = Exchange(device, owner, stop);
  ASSERT_TRUE(held.pending.has_value());
  // Automatic TO0 renews the registration (a new revision) before Done arrives.
  storage::OwnedDeviceRecord renewed = Stored();
  renewed.state = storage::OwnedDeviceState::kRegistered;
  renewed.registered_until = kNow + absl::Hours(24);
  renewed.next_registration_at = kNow + absl::Hours(18);
  renewed.last_error = "TO0 failed: an earlier attempt";
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) {
                    return tx.owned_devices().Update(renewed).status();
                  })
                  .ok());
  absl::StatusOr<v1::To2Response> done2 = owner.Handle(*held.pending);
  ASSERT_TRUE(done2.ok()) << done2.status();
  EXPECT_TRUE(owner.done());
  const storage::OwnedDeviceRecord stored = Stored();
  EXPECT_EQ(stored.state, storage::OwnedDeviceState::kOnboarded);
  EXPECT_EQ(stored.replacement_guid, owner.replacement_guid());
  EXPECT_EQ(stored.registered_until, kNow + absl::Hours(24));
  EXPECT_TRUE(stored.last_error.empty());
}

v1::SignedPayload Declaration(const crypto::EcPrivateKey& manufacturer, uint64_t sequence,
                              const std::string& until) {
  v1::SupportDeclaration declaration;
  declaration.set_model("gw-100");
  declaration.set_security_updates_until(until);
  declaration.set_disclosure_policy_url("https://example.com/security");
  declaration.set_sequence(sequence);
  return *SignSupportDeclaration(declaration, manufacturer);
}

TEST_F(To2Test, TheNewestDeclarationOfTheDevicesManufacturerIsSentAndNothingElse) {
  // The owner holds sequence 2 for the model; the device reports sequence 3.
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) {
                    storage::SupportDeclarationRecord record;
                    record.model = "gw-100";
                    record.sequence = 2;
                    record.security_updates_until = "2031-01-31";
                    record.signed_declaration =
                        Declaration(set_->manufacturer_key, 2, "2031-01-31").SerializeAsString();
                    record.declared_at = kNow;
                    return tx.support().Insert(record);
                  })
                  .ok());
  To2DeviceInputs inputs = Inputs();
  inputs.support_declaration = Declaration(set_->manufacturer_key, 3, "2032-03-31");
  To2ClientSession device(std::move(inputs));
  To2ServerSession owner(Deps());
  ASSERT_TRUE(Exchange(device, owner).device.ok());
  v1::SupportDeclaration sent;
  sent.ParseFromString(device.result().enrolment.support_declaration().payload());
  EXPECT_EQ(sent.sequence(), 3u);
  v1::OwnedDevice enrolment;
  enrolment.ParseFromString(Stored().enrolment);
  EXPECT_EQ(enrolment.security_updates_until(), "2032-03-31");
  // The device's declaration was not stored for the model.
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) -> absl::Status {
                    EXPECT_EQ(tx.support().Current("gw-100")->sequence, 2);
                    return absl::OkStatus();
                  })
                  .ok());

  // A declaration by another manufacturer for a model of the same name is not
  // sent (and a device that reports one does not change what others get).
  std::unique_ptr<voucher::SampleVoucherSet> stranger = MakeSet("SN-0009");
  To2DeviceInputs forged = Inputs();
  forged.support_declaration = Declaration(stranger->manufacturer_key, 9, "2040-01-01");
  To2ClientSession second(std::move(forged));
  To2ServerSession owner2(Deps());
  Outcome outcome = Exchange(second, owner2);
  ASSERT_TRUE(outcome.device.ok()) << outcome.device;
  sent.ParseFromString(second.result().enrolment.support_declaration().payload());
  EXPECT_EQ(sent.sequence(), 2u);
}

TEST_F(To2Test, SettingsOverTheLimitTogetherAreTheOwnersFault) {
  v1::GetSettingsResponse model_settings;
  v1::GetSettingsResponse device_settings;
  for (int i = 0; i < 40; ++i) {
    v1::Setting* a = model_settings.add_settings();
    a->set_key(absl::StrCat("model-", 100 + i));
    v1::Setting* b = device_settings.add_settings();
    b->set_key(absl::StrCat("device-", 100 + i));
  }
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) -> absl::Status {
                    absl::Status st = tx.settings().Put(ModelSettingsScope("gw-100"),
                                                        model_settings.SerializeAsString());
                    if (!st.ok()) return st;
                    return tx.settings().Put(DeviceSettingsScope(Guid()),
                                             device_settings.SerializeAsString());
                  })
                  .ok());
  ExpectRefused("owner", absl::StatusCode::kFailedPrecondition, "to2.owner");
}

TEST_F(To2Test, OversizedAndRepeatedHelloFieldsAreRefused) {
  Relay repeat;
  repeat.to_owner = [](int index, v1::To2Request& request) {
    if (index != 0) return;
    v1::To2HelloDevicePayload hello;
    hello.ParseFromString(request.hello_device().payload());
    hello.add_suites(hello.suites(0));
    request.mutable_hello_device()->set_payload(hello.SerializeAsString());
  };
  ExpectRefused("owner", absl::StatusCode::kInvalidArgument, "to2.suite", repeat);
  const std::string before = Dump();
  To2ServerSession owner(Deps());
  v1::To2Request big;
  big.mutable_hello_device()->set_payload(std::string(kMaxTo2HelloSize + 1, 'x'));
  absl::StatusOr<v1::To2Response> refused = owner.Handle(big);
  EXPECT_EQ(FailedCheck(refused.status()), "to2.format");
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(Dump(), before);
}

}  // namespace
}  // namespace custody::protocol
