// TO0 and TO1 driven directly, on the SQLite store: the exchanges that succeed,
// and every refusal, each asserting its check and that the store is unchanged
// (registrations, trust list and audit log, compared field by field).

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/fake_clock.h"
#include "core/base/fake_random.h"
#include "core/base/hex.h"
#include "core/base/status.h"
#include "core/crypto/hash.h"
#include "core/crypto/signed_payload.h"
#include "core/protocol/local_exchange.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_client.h"
#include "core/protocol/to0_server.h"
#include "core/protocol/to1_client.h"
#include "core/protocol/to1_server.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::protocol {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1800000000);

v1::OwnerAddress Address(const std::string& host, uint32_t port) {
  v1::OwnerAddress address;
  address.set_host(host);
  address.set_port(port);
  address.set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
  return address;
}

// A test owner that builds TO0 messages itself, without the client's checks, so
// that it can misbehave.
v1::To0Request Hello(const std::string& voucher, uint32_t lifetime, bool remove = false) {
  v1::To0Request request;
  request.mutable_hello()->set_voucher(voucher);
  request.mutable_hello()->set_lifetime_seconds(lifetime);
  request.mutable_hello()->set_remove(remove);
  return request;
}

std::string To0DataBytes(const std::string& voucher, const std::string& nonce, uint32_t lifetime,
                         bool remove = false) {
  v1::To0Data data;
  data.mutable_voucher_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
  data.mutable_voucher_hash()->set_value(crypto::Sha256(voucher));
  data.set_nonce(nonce);
  data.set_lifetime_seconds(lifetime);
  data.set_remove(remove);
  return data.SerializeAsString();
}

v1::To0Request SignRegistration(const crypto::EcPrivateKey& key, const std::string& data,
                                const std::string& guid,
                                const std::string& host = "owner.example") {
  v1::AddressRecord record;
  record.mutable_guid()->set_value(guid);
  *record.add_addresses() = Address(host, 8043);
  record.mutable_to0_data_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
  record.mutable_to0_data_hash()->set_value(crypto::Sha256(data));
  v1::To0Request request;
  request.mutable_owner_sign()->set_to0_data(data);
  *request.mutable_owner_sign()->mutable_signature() =
      *crypto::SignPayload(key, kAddressRecordType, record.SerializeAsString());
  return request;
}

// Members are public: the parameterised cases below build messages from them.
class RendezvousTest : public testing::Test {
 public:
  void SetUp() override {
    static int counter = 0;
    path_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/rendezvous-", ++counter, ".db");
    store_ = *storage::OpenSqliteStore(path_);
    voucher::SampleOptions options;
    options.now = kNow;
    options.owners = 2;
    set_ = std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(options, voucher_random_));
    guid_ = GuidOf(set_->stages[0]);
  }

  static std::string GuidOf(const v1::OwnershipVoucher& v) {
    v1::VoucherHeader header;
    header.ParseFromString(v.header());
    return header.guid().value();
  }

  void Trust(const crypto::EcPublicKey& key) {
    ASSERT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) {
                      storage::TrustedKeyRecord record;
                      record.fingerprint = key.Fingerprint();
                      record.spki_der = key.spki_der();
                      record.label = "test manufacturer";
                      record.added_at = kNow;
                      return tx.trusted_keys().Insert(record);
                    })
                    .ok());
  }

  To0ServerDeps To0Deps() { return {store_.get(), &clock_, &random_, absl::Hours(24)}; }
  To1ServerDeps To1Deps() { return {store_.get(), &clock_, &random_}; }

  // Everything TO0 may write, as one comparable string.
  std::string Dump() {
    std::string out;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      std::string token;
                      do {
                        CUSTODY_ASSIGN_OR_RETURN(storage::RegistrationPage page,
                                                 tx.registrations().List(token, 1000));
                        for (const storage::RegistrationRecord& r : page.records) {
                          absl::StrAppend(&out, "reg ", r.guid, r.voucher, r.device_key,
                                          r.owner_chain, r.address_record,
                                          absl::ToUnixMicros(r.registered_at), " ",
                                          absl::ToUnixMicros(r.expires_at), "\n");
                        }
                        token = page.next_page_token;
                      } while (!token.empty());
                      CUSTODY_ASSIGN_OR_RETURN(std::vector<storage::TrustedKeyRecord> keys,
                                               tx.trusted_keys().List());
                      for (const storage::TrustedKeyRecord& k : keys)
                        absl::StrAppend(&out, "key ", k.fingerprint, "\n");
                      CUSTODY_ASSIGN_OR_RETURN(std::vector<storage::AuditEvent> events,
                                               tx.audit().List(0, 1000));
                      for (const storage::AuditEvent& e : events)
                        absl::StrAppend(&out, "audit ", e.hash, "\n");
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }

  std::vector<storage::AuditEvent> Audit() {
    std::vector<storage::AuditEvent> events;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      CUSTODY_ASSIGN_OR_RETURN(events, tx.audit().List(0, 1000));
                      return absl::OkStatus();
                    })
                    .ok());
    return events;
  }

  // Registers `v` with the well-behaved client; returns the final status.
  absl::StatusOr<v1::To0AcceptOwner> Register(const v1::OwnershipVoucher& v,
                                              const crypto::EcPrivateKey& owner,
                                              absl::Duration lifetime = absl::Hours(1),
                                              const std::string& host = "owner.example") {
    To0Registration request;
    request.voucher = v;
    request.addresses = {Address(host, 8043)};
    request.lifetime = lifetime;
    return RunTo0(std::move(request), owner);
  }

  absl::StatusOr<v1::To0AcceptOwner> RunTo0(To0Registration request,
                                            const crypto::EcPrivateKey& owner) {
    return RunTo0Locally(std::move(request), owner, To0Deps(), "ipv4:127.0.0.1:5000");
  }

  To1DeviceIdentity Device() {
    To1DeviceIdentity identity;
    identity.guid = guid_;
    identity.header_bytes = set_->stages[0].header();
    identity.attestation_key = &set_->device_key;
    identity.hmac_secret = &set_->device_secret;
    return identity;
  }

  absl::StatusOr<OwnerLocation> RunTo1(To1DeviceIdentity identity) {
    return RunTo1Locally(std::move(identity), To1Deps());
  }

  const v1::OwnershipVoucher& Final() const { return set_->stages.back(); }
  const crypto::EcPrivateKey& Owner() const { return set_->owner_keys.back(); }

  std::string path_;
  std::unique_ptr<storage::Store> store_;
  FakeClock clock_{kNow};
  // The rendezvous service's nonces.
  DeterministicRandom random_{7};
  // The sample vouchers' side (manufacturer and device): certificate serials, the
  // device secret and the GUID.
  DeterministicRandom voucher_random_{8};
  std::unique_ptr<voucher::SampleVoucherSet> set_;
  std::string guid_;
};

void ExpectCheck(const absl::Status& status, absl::StatusCode code, const std::string& check) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(FailedCheck(status), check) << status;
}

// ---- the exchanges that succeed ---------------------------------------------------

TEST_F(RendezvousTest, OwnerRegistersAndTheDeviceFindsItsOwner) {
  Trust(set_->manufacturer_key.public_key());
  absl::StatusOr<v1::To0AcceptOwner> accepted = Register(Final(), Owner(), absl::Hours(2));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->granted_lifetime_seconds(), 7200u);
  EXPECT_EQ(accepted->expires_at_unix(), absl::ToUnixSeconds(kNow + absl::Hours(2)));

  std::vector<storage::AuditEvent> events = Audit();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].action, "to0.register");
  EXPECT_EQ(events[0].actor,
            absl::StrCat("owner:SHA256:", HexEncode(Owner().public_key().Fingerprint())));
  EXPECT_THAT(events[0].details, HasSubstr("2 entries"));

  absl::StatusOr<OwnerLocation> location = RunTo1(Device());
  ASSERT_TRUE(location.ok()) << location.status();
  ASSERT_EQ(location->record.addresses_size(), 1);
  EXPECT_EQ(location->record.addresses(0).host(), "owner.example");
  EXPECT_EQ(location->record.addresses(0).port(), 8043u);
  EXPECT_EQ(location->record.guid().value(), guid_);
  ASSERT_TRUE(location->owner_key.has_value());
  EXPECT_EQ(location->owner_key->spki_der(), Owner().public_key().spki_der());
  // TO1 writes nothing.
  EXPECT_EQ(Audit().size(), 1u);
}

TEST_F(RendezvousTest, LifetimeIsCappedByTheService) {
  Trust(set_->manufacturer_key.public_key());
  absl::StatusOr<v1::To0AcceptOwner> accepted = Register(Final(), Owner(), absl::Hours(24 * 365));
  ASSERT_TRUE(accepted.ok()) << accepted.status();
  EXPECT_EQ(accepted->granted_lifetime_seconds(), 24u * 3600u);
}

TEST_F(RendezvousTest, TheSameOwnerReplacesItsRegistration) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner(), absl::Hours(1), "first.example").ok());
  ASSERT_TRUE(Register(Final(), Owner(), absl::Hours(1), "second.example").ok());
  absl::StatusOr<OwnerLocation> location = RunTo1(Device());
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->record.addresses(0).host(), "second.example");
  EXPECT_THAT(Audit().back().details, HasSubstr("replacing"));
}

TEST_F(RendezvousTest, ALaterOwnerReplacesAnEarlierOnesRegistration) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(set_->stages[1], set_->owner_keys[0], absl::Hours(1), "first.example").ok());
  ASSERT_TRUE(Register(Final(), Owner(), absl::Hours(1), "second.example").ok());
  absl::StatusOr<OwnerLocation> location = RunTo1(Device());
  ASSERT_TRUE(location.ok()) << location.status();
  EXPECT_EQ(location->record.addresses(0).host(), "second.example");
  EXPECT_EQ(location->owner_key->spki_der(), Owner().public_key().spki_der());
}

TEST_F(RendezvousTest, TheOwnerRemovesItsRegistration) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  To0Registration removal;
  removal.voucher = Final();
  removal.remove = true;
  absl::StatusOr<v1::To0AcceptOwner> removed = RunTo0(std::move(removal), Owner());
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->granted_lifetime_seconds(), 0u);
  EXPECT_EQ(Audit().back().action, "to0.remove");
  ExpectCheck(RunTo1(Device()).status(), absl::StatusCode::kNotFound, "to1.unknown_guid");
}

// ---- TO0 refusals -------------------------------------------------------------------

TEST_F(RendezvousTest, AnUntrustedManufacturerIsRefusedAtHello) {
  voucher::SampleOptions options;
  options.now = kNow;
  DeterministicRandom someone_else{9};
  Trust(voucher::MakeSampleVoucherSet(options, someone_else)
            ->manufacturer_key.public_key());  // Someone else.
  const std::string before = Dump();
  To0ServerSession server(To0Deps(), "peer");
  absl::StatusOr<v1::To0Response> response =
      server.Handle(Hello(Final().SerializeAsString(), 3600));
  ExpectCheck(response.status(), absl::StatusCode::kPermissionDenied, "to0.untrusted_manufacturer");
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("trust list"));
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, ATamperedVoucherIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  v1::OwnershipVoucher tampered = Final();
  // Entry 1 as signed, with one byte of its payload changed.
  v1::SignedPayload entry;
  entry.ParseFromString(tampered.entries(1));
  std::string payload = entry.payload();
  payload[payload.size() - 1] ^= 1;
  entry.set_payload(payload);
  tampered.set_entries(1, entry.SerializeAsString());
  const std::string bytes = tampered.SerializeAsString();
  const std::string before = Dump();
  To0ServerSession server(To0Deps(), "peer");
  absl::StatusOr<v1::To0Response> ack = server.Handle(Hello(bytes, 3600));
  ASSERT_TRUE(ack.ok()) << ack.status();
  absl::StatusOr<v1::To0Response> response = server.Handle(
      SignRegistration(Owner(), To0DataBytes(bytes, ack->hello_ack().nonce(), 3600), guid_));
  ExpectCheck(response.status(), absl::StatusCode::kUnauthenticated, "voucher.entry_signature");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, ASignatureByAnEarlierOwnerIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  const std::string bytes = Final().SerializeAsString();
  const std::string before = Dump();
  To0ServerSession server(To0Deps(), "peer");
  absl::StatusOr<v1::To0Response> ack = server.Handle(Hello(bytes, 3600));
  ASSERT_TRUE(ack.ok());
  // owner_keys[0] is in the chain but is not the current owner.
  absl::StatusOr<v1::To0Response> response = server.Handle(SignRegistration(
      set_->owner_keys[0], To0DataBytes(bytes, ack->hello_ack().nonce(), 3600), guid_));
  ExpectCheck(response.status(), absl::StatusCode::kUnauthenticated, "to0.owner_signature");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, AReplayedOwnerSignIsRefusedByItsNonce) {
  Trust(set_->manufacturer_key.public_key());
  const std::string bytes = Final().SerializeAsString();
  v1::To0Request captured;
  {
    To0ServerSession first(To0Deps(), "peer");
    absl::StatusOr<v1::To0Response> ack = first.Handle(Hello(bytes, 3600));
    ASSERT_TRUE(ack.ok());
    captured = SignRegistration(Owner(), To0DataBytes(bytes, ack->hello_ack().nonce(), 3600), guid_,
                                "first.example");
    ASSERT_TRUE(first.Handle(captured).ok());
  }
  const std::string before = Dump();
  clock_.Advance(absl::Minutes(5));
  To0ServerSession second(To0Deps(), "attacker");
  ASSERT_TRUE(second.Handle(Hello(bytes, 3600)).ok());
  ExpectCheck(second.Handle(captured).status(), absl::StatusCode::kUnauthenticated, "to0.nonce");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, AnEarlierOwnerCannotTakeTheRegistrationBack) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  const std::string before = Dump();
  ExpectCheck(Register(set_->stages[1], set_->owner_keys[0]).status(),
              absl::StatusCode::kPermissionDenied, "to0.older_owner");
  To0Registration removal;
  removal.voucher = set_->stages[1];
  removal.remove = true;
  ExpectCheck(RunTo0(std::move(removal), set_->owner_keys[0]).status(),
              absl::StatusCode::kPermissionDenied, "to0.older_owner");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, AForkedChainIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  // The first owner sells the device a second time, to someone else.
  absl::StatusOr<crypto::EcPrivateKey> other = crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  ASSERT_TRUE(other.ok());
  absl::StatusOr<v1::OwnershipVoucher> fork =
      voucher::ExtendVoucher(set_->stages[1], set_->owner_keys[0], other->public_key());
  ASSERT_TRUE(fork.ok()) << fork.status();
  const std::string before = Dump();
  ExpectCheck(Register(*fork, *other).status(), absl::StatusCode::kPermissionDenied,
              "to0.owner_conflict");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, RemovingWhatIsNotRegisteredIsNotFound) {
  Trust(set_->manufacturer_key.public_key());
  const std::string before = Dump();
  To0Registration removal;
  removal.voucher = Final();
  removal.remove = true;
  ExpectCheck(RunTo0(std::move(removal), Owner()).status(), absl::StatusCode::kNotFound,
              "to0.not_registered");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, AnUnsignedVoucherIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  // No entries: anyone could have copied the header. The manufacturer key
  // signs the address record, as if it were the owner.
  const std::string bytes = set_->stages[0].SerializeAsString();
  const std::string before = Dump();
  To0ServerSession server(To0Deps(), "peer");
  absl::StatusOr<v1::To0Response> ack = server.Handle(Hello(bytes, 3600));
  ASSERT_TRUE(ack.ok());
  ExpectCheck(
      server
          .Handle(SignRegistration(set_->manufacturer_key,
                                   To0DataBytes(bytes, ack->hello_ack().nonce(), 3600), guid_))
          .status(),
      absl::StatusCode::kUnauthenticated, "voucher.unsigned");
  EXPECT_EQ(Dump(), before);
}

struct To0Case {
  std::string name;
  // Builds the messages; the last must be refused.
  std::vector<v1::To0Request> (*messages)(RendezvousTest& t, To0ServerSession& server,
                                          const std::string& voucher);
  absl::StatusCode code;
  std::string check;
};

class To0RefusalTest : public RendezvousTest, public testing::WithParamInterface<To0Case> {};

TEST_P(To0RefusalTest, IsRefusedAndStoresNothing) {
  Trust(set_->manufacturer_key.public_key());
  const std::string before = Dump();
  To0ServerSession server(To0Deps(), "peer");
  std::vector<v1::To0Request> messages =
      GetParam().messages(*this, server, Final().SerializeAsString());
  ASSERT_FALSE(messages.empty());
  absl::StatusOr<v1::To0Response> last = server.Handle(messages.back());
  ExpectCheck(last.status(), GetParam().code, GetParam().check);
  // The session is over after a refusal.
  ExpectCheck(server.Handle(Hello(Final().SerializeAsString(), 3600)).status(),
              absl::StatusCode::kFailedPrecondition, "to0.session_over");
  EXPECT_EQ(Dump(), before);
}

// Sends Hello for `voucher` and returns the nonce.
std::string Open(To0ServerSession& server, const std::string& voucher, uint32_t lifetime = 3600) {
  absl::StatusOr<v1::To0Response> ack = server.Handle(Hello(voucher, lifetime));
  EXPECT_TRUE(ack.ok()) << ack.status();
  return ack.ok() ? ack->hello_ack().nonce() : std::string();
}

INSTANTIATE_TEST_SUITE_P(
    Messages, To0RefusalTest,
    testing::Values(
        To0Case{"OwnerSignFirst",
                [](RendezvousTest& t, To0ServerSession&, const std::string& v) {
                  return std::vector<v1::To0Request>{SignRegistration(
                      t.Owner(), To0DataBytes(v, std::string(16, 'n'), 3600), t.guid_)};
                },
                absl::StatusCode::kFailedPrecondition, "to0.unexpected_message"},
        To0Case{"HelloTwice",
                [](RendezvousTest&, To0ServerSession& s, const std::string& v) {
                  Open(s, v);
                  return std::vector<v1::To0Request>{Hello(v, 3600)};
                },
                absl::StatusCode::kFailedPrecondition, "to0.unexpected_message"},
        To0Case{"EmptyMessage",
                [](RendezvousTest&, To0ServerSession&, const std::string&) {
                  return std::vector<v1::To0Request>{v1::To0Request()};
                },
                absl::StatusCode::kFailedPrecondition, "to0.unexpected_message"},
        To0Case{"OversizedVoucher",
                [](RendezvousTest&, To0ServerSession&, const std::string&) {
                  return std::vector<v1::To0Request>{
                      Hello(std::string(kMaxRegisteredVoucherSize + 1, 'x'), 3600)};
                },
                absl::StatusCode::kResourceExhausted, "to0.voucher_size"},
        To0Case{"GarbageVoucher",
                [](RendezvousTest&, To0ServerSession&, const std::string&) {
                  return std::vector<v1::To0Request>{Hello("\xff\xff\xff garbage", 3600)};
                },
                absl::StatusCode::kInvalidArgument, "voucher.format"},
        To0Case{"NoLifetime",
                [](RendezvousTest&, To0ServerSession&, const std::string& v) {
                  return std::vector<v1::To0Request>{Hello(v, 0)};
                },
                absl::StatusCode::kInvalidArgument, "to0.lifetime"},
        To0Case{"LifetimeChangedAfterHello",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  const std::string nonce = Open(s, v, 60);
                  return std::vector<v1::To0Request>{
                      SignRegistration(t.Owner(), To0DataBytes(v, nonce, 999999), t.guid_)};
                },
                absl::StatusCode::kInvalidArgument, "to0.lifetime"},
        To0Case{"HashOfAnotherVoucher",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  const std::string nonce = Open(s, v);
                  return std::vector<v1::To0Request>{
                      SignRegistration(t.Owner(), To0DataBytes(v + "x", nonce, 3600), t.guid_)};
                },
                absl::StatusCode::kInvalidArgument, "to0.voucher_hash"},
        To0Case{"MalformedTo0Data",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  Open(s, v);
                  return std::vector<v1::To0Request>{
                      SignRegistration(t.Owner(), "\x0a\xff garbage", t.guid_)};
                },
                absl::StatusCode::kInvalidArgument, "to0.format"},
        To0Case{"RecordForAnotherGuid",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  const std::string nonce = Open(s, v);
                  return std::vector<v1::To0Request>{SignRegistration(
                      t.Owner(), To0DataBytes(v, nonce, 3600), std::string(16, '\x42'))};
                },
                absl::StatusCode::kInvalidArgument, "to0.address_record"},
        To0Case{"RecordWithoutAddresses",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  const std::string nonce = Open(s, v);
                  v1::To0Request r =
                      SignRegistration(t.Owner(), To0DataBytes(v, nonce, 3600), t.guid_, "");
                  return std::vector<v1::To0Request>{r};
                },
                absl::StatusCode::kInvalidArgument, "to0.address_record"},
        To0Case{"RecordBoundToOtherTo0Data",
                [](RendezvousTest& t, To0ServerSession& s, const std::string& v) {
                  const std::string nonce = Open(s, v);
                  v1::To0Request r =
                      SignRegistration(t.Owner(), To0DataBytes(v, nonce, 3600), t.guid_);
                  // The signature binds another To0Data's hash than the one sent.
                  v1::To0Request other = SignRegistration(
                      t.Owner(), To0DataBytes(v, std::string(16, 'z'), 3600), t.guid_);
                  *r.mutable_owner_sign()->mutable_signature() = other.owner_sign().signature();
                  return std::vector<v1::To0Request>{r};
                },
                absl::StatusCode::kInvalidArgument, "to0.address_record"}),
    [](const testing::TestParamInfo<To0Case>& info) { return info.param.name; });

// ---- TO1 refusals -------------------------------------------------------------------

TEST_F(RendezvousTest, TO1ForAnUnknownGuidIsNotFound) {
  ExpectCheck(RunTo1(Device()).status(), absl::StatusCode::kNotFound, "to1.unknown_guid");
}

TEST_F(RendezvousTest, TO1ForAnExpiredRegistrationIsNotFound) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner(), absl::Hours(1)).ok());
  const std::string before = Dump();
  clock_.Advance(absl::Hours(1));
  ExpectCheck(RunTo1(Device()).status(), absl::StatusCode::kNotFound, "to1.expired");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, TO1RegistrationExpiringDuringTheSessionIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner(), absl::Seconds(10)).ok());
  To1ClientSession client(Device());
  To1ServerSession server(To1Deps());
  absl::StatusOr<v1::To1Response> ack = server.Handle(*client.Start());
  ASSERT_TRUE(ack.ok());
  absl::StatusOr<std::optional<v1::To1Request>> prove = client.Handle(*ack);
  ASSERT_TRUE(prove.ok() && prove->has_value());
  clock_.Advance(absl::Seconds(10));
  ExpectCheck(server.Handle(**prove).status(), absl::StatusCode::kNotFound, "to1.expired");
}

TEST_F(RendezvousTest, TO1SignedByAnotherDevicesKeyIsRefused) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  const std::string before = Dump();
  To1DeviceIdentity impostor = Device();
  absl::StatusOr<crypto::EcPrivateKey> other = crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  ASSERT_TRUE(other.ok());
  impostor.attestation_key = &*other;
  ExpectCheck(RunTo1(impostor).status(), absl::StatusCode::kUnauthenticated,
              "to1.device_signature");
  EXPECT_EQ(Dump(), before);
}

TEST_F(RendezvousTest, TO1ReplayedProofIsRefusedByItsNonce) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  v1::To1Request captured;
  {
    To1ClientSession client(Device());
    To1ServerSession server(To1Deps());
    absl::StatusOr<v1::To1Response> ack = server.Handle(*client.Start());
    ASSERT_TRUE(ack.ok());
    captured = **client.Handle(*ack);
    ASSERT_TRUE(server.Handle(captured).ok());
  }
  To1ServerSession server(To1Deps());
  v1::To1Request hello;
  hello.mutable_hello_rv()->mutable_guid()->set_value(guid_);
  ASSERT_TRUE(server.Handle(hello).ok());
  ExpectCheck(server.Handle(captured).status(), absl::StatusCode::kUnauthenticated, "to1.nonce");
}

TEST_F(RendezvousTest, TO1MessagesOutOfOrderOrMalformedAreRefused) {
  Trust(set_->manufacturer_key.public_key());
  ASSERT_TRUE(Register(Final(), Owner()).ok());
  {
    To1ServerSession server(To1Deps());
    v1::To1Request prove;
    prove.mutable_prove_to_rv();
    ExpectCheck(server.Handle(prove).status(), absl::StatusCode::kFailedPrecondition,
                "to1.unexpected_message");
    ExpectCheck(server.Handle(prove).status(), absl::StatusCode::kFailedPrecondition,
                "to1.session_over");
  }
  {
    To1ServerSession server(To1Deps());
    v1::To1Request hello;
    hello.mutable_hello_rv()->mutable_guid()->set_value("short");
    ExpectCheck(server.Handle(hello).status(), absl::StatusCode::kInvalidArgument, "to1.guid");
  }
  {
    To1ServerSession server(To1Deps());
    v1::To1Request hello;
    hello.mutable_hello_rv()->mutable_guid()->set_value(guid_);
    ASSERT_TRUE(server.Handle(hello).ok());
    ExpectCheck(server.Handle(hello).status(), absl::StatusCode::kFailedPrecondition,
                "to1.unexpected_message");
  }
  {
    To1ServerSession server(To1Deps());
    v1::To1Request hello;
    hello.mutable_hello_rv()->mutable_guid()->set_value(guid_);
    ASSERT_TRUE(server.Handle(hello).ok());
    v1::To1Request prove;
    *prove.mutable_prove_to_rv()->mutable_proof() =
        *crypto::SignPayload(set_->device_key, kTo1ProofType, std::string(300, 'x'));
    ExpectCheck(server.Handle(prove).status(), absl::StatusCode::kInvalidArgument, "to1.format");
  }
}

// ---- what the device checks ---------------------------------------------------------

class DeviceChecksTest : public RendezvousTest {
 public:
  // Runs TO1 against a rendezvous answer edited by `edit`.
  absl::Status RunWithRedirect(void (*edit)(DeviceChecksTest&, v1::To1RvRedirect&)) {
    Trust(set_->manufacturer_key.public_key());
    EXPECT_TRUE(Register(Final(), Owner()).ok());
    To1ClientSession client(Device());
    To1ServerSession server(To1Deps());
    absl::StatusOr<v1::To1Response> ack = server.Handle(*client.Start());
    EXPECT_TRUE(ack.ok());
    absl::StatusOr<std::optional<v1::To1Request>> prove = client.Handle(*ack);
    EXPECT_TRUE(prove.ok() && prove->has_value());
    absl::StatusOr<v1::To1Response> redirect = server.Handle(**prove);
    EXPECT_TRUE(redirect.ok());
    edit(*this, *redirect->mutable_rv_redirect());
    absl::Status status = client.Handle(*redirect).status();
    EXPECT_FALSE(client.done());
    return status;
  }
};

TEST_F(DeviceChecksTest, ARecordSignedByAnEarlierOwnerIsRefused) {
  ExpectCheck(RunWithRedirect([](DeviceChecksTest& t, v1::To1RvRedirect& r) {
                v1::AddressRecord record;
                record.mutable_guid()->set_value(t.guid_);
                *record.add_addresses() = Address("evil.example", 443);
                record.mutable_to0_data_hash()->set_algorithm(v1::HASH_ALGORITHM_SHA256);
                record.mutable_to0_data_hash()->set_value(std::string(32, 'h'));
                *r.mutable_address_record() = *crypto::SignPayload(
                    t.set_->owner_keys[0], kAddressRecordType, record.SerializeAsString());
              }),
              absl::StatusCode::kUnauthenticated, "to1.owner_signature");
}

TEST_F(DeviceChecksTest, AVoucherForAnotherDeviceIsRefused) {
  ExpectCheck(RunWithRedirect([](DeviceChecksTest&, v1::To1RvRedirect& r) {
                voucher::SampleOptions options;
                options.now = kNow;
                DeterministicRandom another_device{10};
                r.set_voucher(voucher::MakeSampleVoucherSet(options, another_device)
                                  ->stages.back()
                                  .SerializeAsString());
              }),
              absl::StatusCode::kUnauthenticated, "to1.voucher_header");
}

TEST_F(DeviceChecksTest, AVoucherWithAnotherHmacIsRefused) {
  ExpectCheck(RunWithRedirect([](DeviceChecksTest& t, v1::To1RvRedirect& r) {
                v1::OwnershipVoucher v = t.Final();
                std::string hmac = v.header_hmac().value();
                hmac[0] ^= 1;
                v.mutable_header_hmac()->set_value(hmac);
                r.set_voucher(v.SerializeAsString());
              }),
              absl::StatusCode::kUnauthenticated, "voucher.header_hmac");
}

TEST_F(DeviceChecksTest, AnUnsignedVoucherIsRefused) {
  ExpectCheck(RunWithRedirect([](DeviceChecksTest& t, v1::To1RvRedirect& r) {
                r.set_voucher(t.set_->stages[0].SerializeAsString());
              }),
              absl::StatusCode::kUnauthenticated, "voucher.unsigned");
}

}  // namespace
}  // namespace custody::protocol
