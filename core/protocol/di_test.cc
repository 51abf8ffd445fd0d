// DI end to end without transport: the device and manufacturer cores talk
// directly. Every refusal is asserted with its check and code, and with the store
// unchanged.

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/base/fake_clock.h"
#include "core/base/fake_random.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/crypto/signed_payload.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/di_client.h"
#include "core/protocol/di_server.h"
#include "core/storage/audit_chain.h"
#include "core/storage/memory_store.h"
#include "core/storage/sqlite_store.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_format.h"
#include "core/voucher/voucher_verify.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody::protocol {
namespace {

using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1790000000);

class StaticCatalog final : public ModelCatalog {
 public:
  void Add(ModelProfile profile) { profiles_[profile.model] = std::move(profile); }
  absl::StatusOr<ModelProfile> Lookup(absl::string_view model) const override {
    auto it = profiles_.find(std::string(model));
    if (it == profiles_.end()) {
      return absl::NotFoundError(absl::StrCat("model \"", model, "\" is not configured"));
    }
    return it->second;
  }

 private:
  std::map<std::string, ModelProfile> profiles_;
};

// A refusal: the exact code and the check it names.
void ExpectRefused(const absl::Status& status, absl::StatusCode code, const std::string& check) {
  EXPECT_EQ(status.code(), code) << status;
  EXPECT_EQ(FailedCheck(status), check) << status;
}

v1::SignedPayload Declaration(const crypto::EcPrivateKey& key, const std::string& model) {
  v1::SupportDeclaration declaration;
  declaration.set_model(model);
  declaration.set_security_updates_until("2031-12-31");
  declaration.set_disclosure_policy_url("https://example.com/security");
  declaration.set_sequence(1);
  return *crypto::SignPayload(key, kSupportDeclarationType, declaration.SerializeAsString());
}

class DiTest : public testing::Test {
 public:  // The refusal table's lambdas build messages from the fixture.
  void SetUp() override {
    voucher_key_ = std::make_unique<crypto::EcPrivateKey>(
        *crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    ca_key_ = std::make_unique<crypto::EcPrivateKey>(
        *crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    keys_.voucher_key = voucher_key_.get();
    keys_.device_ca_key = ca_key_.get();
    keys_.device_ca_chain = {*crypto::CreateSelfSignedCa(
        *ca_key_, {"Acme Device CA", "Acme", ""}, kNow - absl::Hours(24),
        kNow + absl::Hours(24 * 365 * 30), random_)};
    ModelProfile profile;
    profile.model = "gw-100";
    v1::RendezvousEndpoint* endpoint = profile.rendezvous_info.add_endpoints();
    endpoint->set_host("rv.example.com");
    endpoint->set_port(8041);
    endpoint->set_transport(v1::RendezvousEndpoint::TRANSPORT_GRPC_TLS);
    catalog_.Add(profile);
    store_ = storage::NewMemoryStore();
    StoreDeclaration(Declaration(*voucher_key_, "gw-100"), 1);
    device_key_ = std::make_unique<crypto::EcPrivateKey>(
        *crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
  }

  // Puts a declaration in the store's support table directly (no audit event, so
  // that the tests' event counts are DI's alone).
  void StoreDeclaration(const v1::SignedPayload& signed_declaration, int64_t sequence) {
    storage::SupportDeclarationRecord record;
    record.model = "gw-100";
    record.sequence = sequence;
    record.security_updates_until = "2031-12-31";
    record.signed_declaration = signed_declaration.SerializeAsString();
    record.declared_at = kNow;
    ASSERT_TRUE(
        store_->Transact([&](storage::Transaction& tx) { return tx.support().Insert(record); })
            .ok());
  }

  DiServerDeps Deps() { return DiServerDeps{store_.get(), &clock_, &random_, &keys_, &catalog_}; }

  static v1::DeviceInfo Info(const std::string& serial = "SN-1") {
    v1::DeviceInfo info;
    info.set_model("gw-100");
    info.set_serial(serial);
    info.set_mud_url("https://mud.example.com/gw-100.json");
    return info;
  }

  // Runs a whole DI between a fresh client and server session.
  absl::Status RunDi(const crypto::EcPrivateKey& key, const crypto::HmacKey& secret,
                     const v1::DeviceInfo& info, DiCredentials* out = nullptr,
                     storage::Store* store = nullptr) {
    DiServerDeps deps = Deps();
    if (store != nullptr) deps.store = store;
    DiServerSession server(deps);
    DiClientSession client(info, key, secret);
    CUSTODY_ASSIGN_OR_RETURN(v1::DiRequest request, client.Start());
    while (true) {
      CUSTODY_ASSIGN_OR_RETURN(v1::DiResponse response, server.Handle(request));
      CUSTODY_ASSIGN_OR_RETURN(std::optional<v1::DiRequest> next, client.Handle(response));
      if (!next.has_value()) break;
      request = *std::move(next);
    }
    if (!client.done() || !server.done()) return absl::InternalError("DI did not finish");
    if (out != nullptr) *out = client.credentials();
    return absl::OkStatus();
  }

  void ExpectStoreUnchanged(int64_t vouchers, int64_t events) {
    int64_t count = -1;
    ASSERT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      absl::StatusOr<int64_t> n = tx.vouchers().Count();
                      if (!n.ok()) return n.status();
                      count = *n;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(count, vouchers);
    EXPECT_EQ(*storage::VerifyAuditChain(*store_), events);
  }

  FakeClock clock_{kNow};
  DeterministicRandom random_{17};
  std::unique_ptr<crypto::EcPrivateKey> voucher_key_;
  std::unique_ptr<crypto::EcPrivateKey> ca_key_;
  ManufacturerKeys keys_;
  StaticCatalog catalog_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<crypto::EcPrivateKey> device_key_;
  crypto::SoftwareHmacKey secret_{SecretBytes::CopyFrom(std::string(32, 's'))};
};

TEST_F(DiTest, DeviceIsInitialisedAndTheVoucherStored) {
  DiCredentials credentials;
  ASSERT_TRUE(RunDi(*device_key_, secret_, Info(), &credentials).ok());
  EXPECT_EQ(credentials.guid().size(), 16u);
  EXPECT_EQ(credentials.header.device_info().serial(), "SN-1");
  EXPECT_EQ(credentials.header.rendezvous_info().endpoints(0).host(), "rv.example.com");
  ASSERT_TRUE(credentials.support_declaration.has_value());
  EXPECT_EQ(credentials.support_declaration->security_updates_until(), "2031-12-31");

  storage::VoucherRecord record;
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) -> absl::Status {
                    absl::StatusOr<storage::VoucherRecord> r =
                        tx.vouchers().Get(credentials.guid());
                    if (!r.ok()) return r.status();
                    record = *r;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(record.serial, "SN-1");
  EXPECT_EQ(record.state, storage::VoucherState::kManufactured);
  EXPECT_EQ(record.created_at, kNow);
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record.voucher);
  ASSERT_TRUE(voucher.ok());
  // The manufacturer's own record: verified against its key and device CA.
  voucher::VerifyOptions options;
  options.expected_manufacturer = voucher_key_->public_key();
  options.expected_owner = voucher_key_->public_key();
  options.trusted_roots = keys_.device_ca_chain;
  options.now = kNow;
  options.allow_unsigned = true;
  absl::StatusOr<voucher::VerifiedVoucher> verified = voucher::VerifyVoucher(*voucher, options);
  ASSERT_TRUE(verified.ok()) << verified.status();
  EXPECT_TRUE(crypto::SameKey(verified->device_key, device_key_->public_key()));
  // The header the device HMACed is the one stored.
  EXPECT_EQ(voucher->header(), credentials.header_bytes);
  EXPECT_TRUE(voucher::VerifyHeaderHmac(*voucher, secret_, crypto::HashAlgorithm::kSha256).ok());
  // Two audit events: the certificate issued, then the voucher stored.
  ExpectStoreUnchanged(1, 2);
}

TEST_F(DiTest, P384DeviceGetsAnHmacSha384) {
  const crypto::EcPrivateKey p384 = *crypto::EcPrivateKey::Generate(crypto::Curve::kP384);
  DiCredentials credentials;
  ASSERT_TRUE(RunDi(p384, secret_, Info("SN-384"), &credentials).ok());
  storage::VoucherRecord record;
  ASSERT_TRUE(store_
                  ->Transact([&](storage::Transaction& tx) -> absl::Status {
                    record = *tx.vouchers().Get(credentials.guid());
                    return absl::OkStatus();
                  })
                  .ok());
  v1::OwnershipVoucher voucher = *voucher::ParseVoucher(record.voucher);
  EXPECT_EQ(voucher.header_hmac().algorithm(), v1::HASH_ALGORITHM_SHA384);
}

// ---- the manufacturer refuses bad input and stores nothing --------------------------

struct ServerCase {
  std::string name;
  // Messages sent in order; the last one must be refused.
  std::vector<v1::DiRequest> (*messages)(DiTest* t, DiClientSession& good);
  absl::StatusCode code;
  std::string check;
  std::string message;
  // Audit events left: 1 when the refusal comes after the certificate was issued.
  int audit_events = 0;
};

class DiServerRefusalTest : public DiTest, public testing::WithParamInterface<ServerCase> {};

v1::DiRequest AppStartWith(DiClientSession& client, void (*edit)(v1::DiAppStart&)) {
  v1::DiRequest request = *client.Start();
  edit(*request.mutable_app_start());
  return request;
}

std::string CsrOnSecp256k1(const std::string& serial) {
  EVP_PKEY* key = EVP_EC_gen("secp256k1");
  X509_REQ* req = X509_REQ_new();
  X509_NAME* name = X509_NAME_new();
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(serial.data()), -1, -1, 0);
  X509_REQ_set_subject_name(req, name);
  X509_REQ_set_pubkey(req, key);
  X509_REQ_sign(req, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int len = i2d_X509_REQ(req, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  X509_NAME_free(name);
  X509_REQ_free(req);
  EVP_PKEY_free(key);
  return out;
}

TEST_P(DiServerRefusalTest, IsRefusedAndStoresNothing) {
  DiClientSession client(Info(), *device_key_, secret_);
  DiServerSession server(Deps());
  const std::vector<v1::DiRequest> messages = GetParam().messages(this, client);
  absl::StatusOr<v1::DiResponse> last;
  for (size_t i = 0; i < messages.size(); ++i) {
    last = server.Handle(messages[i]);
    if (i + 1 < messages.size()) {
      ASSERT_TRUE(last.ok()) << "message " << i << ": " << last.status();
    }
  }
  ASSERT_FALSE(last.ok());
  ExpectRefused(last.status(), GetParam().code, GetParam().check);
  EXPECT_THAT(std::string(last.status().message()), HasSubstr(GetParam().message));
  ExpectStoreUnchanged(0, GetParam().audit_events);
  // The session is over: even a correct next message is refused.
  v1::DiRequest hmac;
  hmac.mutable_set_hmac();
  ExpectRefused(server.Handle(hmac).status(), absl::StatusCode::kFailedPrecondition,
                "di.session_over");
}

using C = absl::StatusCode;

INSTANTIATE_TEST_SUITE_P(
    All, DiServerRefusalTest,
    testing::Values(
        ServerCase{"HmacFirst",
                   [](DiTest*, DiClientSession&) {
                     v1::DiRequest r;
                     r.mutable_set_hmac();
                     return std::vector<v1::DiRequest>{r};
                   },
                   C::kFailedPrecondition, "di.unexpected_message",
                   "expected DI.AppStart, got DI.SetHMAC"},
        ServerCase{
            "EmptyMessage",
            [](DiTest*, DiClientSession&) { return std::vector<v1::DiRequest>{v1::DiRequest()}; },
            C::kFailedPrecondition, "di.unexpected_message", "got an empty message"},
        ServerCase{"AppStartTwice",
                   [](DiTest*, DiClientSession& c) {
                     v1::DiRequest start = *c.Start();
                     return std::vector<v1::DiRequest>{start, start};
                   },
                   C::kFailedPrecondition, "di.unexpected_message",
                   "expected DI.SetHMAC, got DI.AppStart", 1},
        ServerCase{"UnknownModel",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(c, [](v1::DiAppStart& a) {
                       a.mutable_device_info()->set_model("gw-999");
                     })};
                   },
                   C::kNotFound, "di.model", "\"gw-999\" is not configured"},
        ServerCase{"NoSerial",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(
                         c, [](v1::DiAppStart& a) { a.mutable_device_info()->clear_serial(); })};
                   },
                   C::kInvalidArgument, "di.device_info", "serial must be 1 to 64 bytes"},
        ServerCase{"SerialWithControlCharacter",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(c, [](v1::DiAppStart& a) {
                       a.mutable_device_info()->set_serial("SN\n1");
                     })};
                   },
                   C::kInvalidArgument, "di.device_info", "outside printable ASCII"},
        ServerCase{"MalformedCsr",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{
                         AppStartWith(c, [](v1::DiAppStart& a) { a.set_csr("not a CSR"); })};
                   },
                   C::kInvalidArgument, "di.csr", "CSR CertificationRequest: unexpected tag"},
        ServerCase{"OversizedCsr",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(
                         c, [](v1::DiAppStart& a) { a.set_csr(std::string(20000, 'x')); })};
                   },
                   C::kResourceExhausted, "di.csr", "exceeds the limit"},
        ServerCase{"CsrSignatureBroken",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(c, [](v1::DiAppStart& a) {
                       std::string csr = a.csr();
                       csr[csr.find("SN-1")] = 'X';  // Inside the signed subject.
                       a.set_csr(csr);
                     })};
                   },
                   C::kUnauthenticated, "di.csr_signature", "does not verify"},
        ServerCase{"UnsupportedCurve",
                   [](DiTest*, DiClientSession& c) {
                     return std::vector<v1::DiRequest>{AppStartWith(
                         c, [](v1::DiAppStart& a) { a.set_csr(CsrOnSecp256k1("SN-1")); })};
                   },
                   C::kInvalidArgument, "di.device_key", "unsupported curve secp256k1"},
        ServerCase{"HmacOfTheWrongLength",
                   [](DiTest*, DiClientSession& c) {
                     v1::DiRequest hmac;
                     hmac.mutable_set_hmac()->mutable_header_hmac()->set_algorithm(
                         v1::HASH_ALGORITHM_SHA256);
                     hmac.mutable_set_hmac()->mutable_header_hmac()->set_value("short");
                     return std::vector<v1::DiRequest>{*c.Start(), hmac};
                   },
                   C::kInvalidArgument, "voucher.header_hmac", "HMAC-SHA-256", 1},
        ServerCase{"CsrOfAnotherDevice",
                   [](DiTest* t, DiClientSession&) {
                     // A valid CSR seen elsewhere, replayed under another serial.
                     DiClientSession other(DiTest::Info("SN-2"), *t->device_key_, t->secret_);
                     v1::DiRequest request = *other.Start();
                     request.mutable_app_start()->mutable_device_info()->set_serial("SN-3");
                     return std::vector<v1::DiRequest>{request};
                   },
                   C::kInvalidArgument, "di.csr", "not the device's serial and model"}),
    [](const testing::TestParamInfo<ServerCase>& info) { return info.param.name; });

TEST_F(DiTest, DuplicateSerialIsRefusedAtAppStart) {
  ASSERT_TRUE(RunDi(*device_key_, secret_, Info()).ok());
  const crypto::EcPrivateKey other = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  ExpectRefused(RunDi(other, secret_, Info()), absl::StatusCode::kAlreadyExists, "di.serial");
  ExpectStoreUnchanged(1, 2);
}

TEST_F(DiTest, MessageAfterDoneIsRefusedAndChangesNothing) {
  DiServerSession server(Deps());
  DiClientSession client(Info(), *device_key_, secret_);
  v1::DiRequest start = *client.Start();
  v1::DiRequest hmac = **client.Handle(*server.Handle(start));
  ASSERT_TRUE(server.Handle(hmac).ok());
  EXPECT_TRUE(server.done());
  ExpectRefused(server.Handle(hmac).status(), absl::StatusCode::kFailedPrecondition,
                "di.session_over");
  ExpectStoreUnchanged(1, 2);
}

TEST_F(DiTest, DeviceWhoseDoneWasLostResumesWithTheSameCredentials) {
  // The first session stores the voucher, but DI.Done never reaches the device.
  DiServerSession first(Deps());
  DiClientSession device(Info(), *device_key_, secret_);
  v1::DiResponse credentials = *first.Handle(*device.Start());
  v1::DiRequest hmac = **device.Handle(credentials);
  ASSERT_TRUE(first.Handle(hmac).ok());
  // The device starts over with the same key and secret.
  DiCredentials resumed;
  ASSERT_TRUE(RunDi(*device_key_, secret_, Info(), &resumed).ok());
  EXPECT_EQ(resumed.guid(), first.guid());
  EXPECT_EQ(resumed.header_bytes, credentials.set_credentials().header());
  ExpectStoreUnchanged(1, 3);  // issued, complete, resumed
}

TEST_F(DiTest, ResumingWithAnotherKeyOrHmacIsRefused) {
  ASSERT_TRUE(RunDi(*device_key_, secret_, Info()).ok());
  const crypto::EcPrivateKey impostor = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  ExpectRefused(RunDi(impostor, secret_, Info()), absl::StatusCode::kAlreadyExists, "di.serial");
  // Same key, but a secret that does not give the stored HMAC.
  ExpectRefused(RunDi(*device_key_,
                      crypto::SoftwareHmacKey(SecretBytes::CopyFrom(std::string(32, 'x'))), Info()),
                absl::StatusCode::kUnauthenticated, "di.serial");
  ExpectStoreUnchanged(1, 2);
}

TEST_F(DiTest, TwoDevicesRacingForOneSerialStoreOneVoucher) {
  const crypto::EcPrivateKey other = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  DiServerSession server_a(Deps());
  DiServerSession server_b(Deps());
  DiClientSession device_a(Info(), *device_key_, secret_);
  DiClientSession device_b(Info(), other, secret_);
  // Both pass AppStart before either stores anything.
  v1::DiRequest hmac_a = **device_a.Handle(*server_a.Handle(*device_a.Start()));
  v1::DiRequest hmac_b = **device_b.Handle(*server_b.Handle(*device_b.Start()));
  ASSERT_TRUE(server_a.Handle(hmac_a).ok());
  ExpectRefused(server_b.Handle(hmac_b).status(), absl::StatusCode::kAlreadyExists, "di.serial");
  ExpectStoreUnchanged(1, 3);  // Two certificates issued, one voucher stored.
}

// ---- the device refuses a manufacturer that misbehaves -----------------------------

TEST_F(DiTest, DeviceRefusesCredentialsForAnotherDevice) {
  DiServerSession server(Deps());
  DiClientSession victim(Info("SN-1"), *device_key_, secret_);
  DiClientSession other(Info("SN-2"), *device_key_, secret_);
  (void)victim.Start();
  v1::DiResponse for_other = *server.Handle(*other.Start());
  absl::StatusOr<std::optional<v1::DiRequest>> refused = victim.Handle(for_other);
  ExpectRefused(refused.status(), absl::StatusCode::kInvalidArgument, "di.header");
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("another device"));
}

TEST_F(DiTest, DeviceRefusesACertificateForAnotherKey) {
  DiServerSession server(Deps());
  const crypto::EcPrivateKey other_key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  DiClientSession victim(Info(), *device_key_, secret_);
  DiClientSession impostor(Info(), other_key, secret_);
  (void)victim.Start();
  absl::StatusOr<std::optional<v1::DiRequest>> refused =
      victim.Handle(*server.Handle(*impostor.Start()));
  ExpectRefused(refused.status(), absl::StatusCode::kInvalidArgument, "di.device_certificate");
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("attestation key"));
}

TEST_F(DiTest, DeviceRefusesASupportDeclarationSignedByAnotherKey) {
  const crypto::EcPrivateKey rogue = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  StoreDeclaration(Declaration(rogue, "gw-100"), 2);
  ExpectRefused(RunDi(*device_key_, secret_, Info()), absl::StatusCode::kUnauthenticated,
                "di.support_declaration");
  ExpectStoreUnchanged(0, 1);  // The certificate was issued (and audited).
}

TEST_F(DiTest, DeviceRefusesOutOfOrderReplies) {
  DiClientSession client(Info(), *device_key_, secret_);
  (void)client.Start();
  v1::DiResponse done;
  done.mutable_done();
  absl::StatusOr<std::optional<v1::DiRequest>> refused = client.Handle(done);
  ExpectRefused(refused.status(), absl::StatusCode::kFailedPrecondition, "di.unexpected_message");
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("expected DI.SetCredentials"));
}

// ---- many devices at once, on SQLite -------------------------------------------------

TEST_F(DiTest, HundredConcurrentDevicesGetDistinctGuids) {
  absl::StatusOr<std::unique_ptr<storage::Store>> sqlite =
      storage::OpenSqliteStore(absl::StrCat(std::getenv("TEST_TMPDIR"), "/di.db"));
  ASSERT_TRUE(sqlite.ok()) << sqlite.status();
  constexpr int kDevices = 100;
  absl::Mutex mu;
  std::set<std::string> guids;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kDevices; i += 4) {
        const crypto::EcPrivateKey key = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
        DiCredentials credentials;
        absl::Status status =
            RunDi(key, secret_, Info(absl::StrCat("SN-", i)), &credentials, sqlite->get());
        if (!status.ok()) {
          ++failures;
          continue;
        }
        absl::MutexLock lock(&mu);
        guids.insert(credentials.guid());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(guids.size(), static_cast<size_t>(kDevices));
  EXPECT_EQ(*storage::VerifyAuditChain(**sqlite), 2 * kDevices);
}

}  // namespace
}  // namespace custody::protocol
