// The manufacturer as a device and an operator see it: the real services, served
// in-process by server::StartServers over real TLS on loopback, driven through
// gRPC. Every refusal is asserted with its gRPC code, failed check and message,
// and with what it left in the store.

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/hmac.h"
#include "core/pki/service_identity.h"
#include "core/protocol/di_client.h"
#include "core/protocol/support_declaration.h"
#include "core/storage/store.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/config.pb.h"
#include "custody/v1/manufacturer.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "manufacturer/manufacturer_server.h"
#include "server/credentials.h"
#include "server/grpc_status.h"
#include "server/serve.h"
#include "server/service_test_util.h"

namespace custody::manufacturer {
namespace {

using ::testing::HasSubstr;

constexpr char kModel[] = "gw-100";
constexpr char kPolicyUrl[] = "https://example.com/security";
constexpr char kInitializeMethod[] = "/custody.v1.DeviceInitialization/Initialize";

using server::SetTestDeadline;

// What a test compares before and after a call.
struct StoreSnapshot {
  int64_t vouchers = -1;
  std::vector<storage::AuditEvent> events;
};

class ManufacturerGrpcTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
    std::string name = absl::StrCat(test->test_suite_name(), ".", test->name());
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    root_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
    v1::ManufacturerConfig config;
    config.set_organization("Acme");
    config.mutable_server()->set_state_dir(root_);
    config.mutable_server()->set_listen_address("127.0.0.1:0");
    config.mutable_server()->set_admin_listen_address("127.0.0.1:0");
    v1::ModelConfig* model = config.add_models();
    model->set_model(kModel);
    v1::RendezvousEndpoint* endpoint = model->mutable_rendezvous_info()->add_endpoints();
    endpoint->set_host("localhost");
    endpoint->set_port(8041);
    absl::StatusOr<std::unique_ptr<Manufacturer>> opened =
        Manufacturer::Open(config, SystemClock(), SystemRandom());
    ASSERT_TRUE(opened.ok()) << opened.status();
    manufacturer_ = *std::move(opened);
    absl::StatusOr<server::RunningServers> running = server::StartServers(
        manufacturer_->server_config(), manufacturer_->identity(), manufacturer_->services());
    ASSERT_TRUE(running.ok()) << running.status();
    servers_ = *std::move(running);
    server::IssueTestAdmins(root_);
    device_channel_ = Channel(servers_.device_port, "");
  }

  void TearDown() override {
    servers_.Shutdown(absl::ZeroDuration());
    manufacturer_.reset();
  }

  // A channel to `port` that trusts the service's TLS CA and presents the admin
  // credential `admin` (none when empty).
  std::shared_ptr<grpc::Channel> Channel(int port, const std::string& admin) const {
    return server::TestChannel(root_, port, admin);
  }

  void ExpectMalformedRefused(const std::string& bytes, const std::string& message,
                              grpc::StatusCode code = grpc::StatusCode::INVALID_ARGUMENT);

  StoreSnapshot Snapshot() {
    StoreSnapshot snapshot;
    absl::Status status =
        manufacturer_->store().Transact([&](storage::Transaction& tx) -> absl::Status {
          CUSTODY_ASSIGN_OR_RETURN(snapshot.vouchers, tx.vouchers().Count());
          CUSTODY_ASSIGN_OR_RETURN(snapshot.events, tx.audit().List(0, 1000));
          return absl::OkStatus();
        });
    EXPECT_TRUE(status.ok()) << status;
    return snapshot;
  }

  static v1::DeviceInfo Info(const std::string& serial) {
    v1::DeviceInfo info;
    info.set_model(kModel);
    info.set_serial(serial);
    return info;
  }

  // A whole DI for `serial` over the device port, as a device runs it.
  absl::Status RunDi(const std::string& serial, protocol::DiCredentials* out) {
    protocol::DiClientSession session(Info(serial), device_key_, secret_);
    grpc::ClientContext context;
    SetTestDeadline(context);
    auto stream = v1::DeviceInitialization::NewStub(device_channel_)->Initialize(&context);
    CUSTODY_ASSIGN_OR_RETURN(v1::DiRequest request, session.Start());
    absl::Status failure;
    while (stream->Write(request)) {
      v1::DiResponse response;
      if (!stream->Read(&response)) break;
      absl::StatusOr<std::optional<v1::DiRequest>> next = session.Handle(response);
      if (!next.ok()) {
        failure = next.status();
        context.TryCancel();
        break;
      }
      if (!next->has_value()) break;
      request = **next;
    }
    stream->WritesDone();
    const grpc::Status finished = stream->Finish();
    CUSTODY_RETURN_IF_ERROR(failure);
    if (!finished.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(finished.error_code()),
                          finished.error_message());
    }
    if (!session.done()) return absl::InternalError("the stream ended before DI.Done");
    *out = session.credentials();
    return absl::OkStatus();
  }

  // A valid DI.AppStart for `serial`, from a fresh client session.
  v1::DiRequest AppStart(const std::string& serial) {
    protocol::DiClientSession session(Info(serial), device_key_, secret_);
    absl::StatusOr<v1::DiRequest> request = session.Start();
    EXPECT_TRUE(request.ok()) << request.status();
    return request.ok() ? *std::move(request) : v1::DiRequest();
  }

  grpc::Status DeclareSupport(const std::string& admin, const std::string& model,
                              const std::string& until, v1::DeclareSupportResponse* response) {
    return DeclareSupportAt(servers_.admin_port, admin, model, until, response);
  }

  grpc::Status DeclareSupportAt(int port, const std::string& admin, const std::string& model,
                                const std::string& until, v1::DeclareSupportResponse* response) {
    v1::DeclareSupportRequest request;
    request.set_model(model);
    request.set_security_updates_until(until);
    request.set_disclosure_policy_url(kPolicyUrl);
    grpc::ClientContext context;
    SetTestDeadline(context);
    return v1::ManufacturerAdmin::NewStub(Channel(port, admin))
        ->DeclareSupport(&context, request, response);
  }

  grpc::Status GetSupport(const std::string& model, v1::GetSupportDeclarationResponse* response) {
    v1::GetSupportDeclarationRequest request;
    request.set_model(model);
    grpc::ClientContext context;
    SetTestDeadline(context);
    return v1::SupportDeclarations::NewStub(device_channel_)
        ->GetSupportDeclaration(&context, request, response);
  }

  // The declaration inside `signed_declaration`, checked against the voucher key.
  v1::SupportDeclaration Verified(const v1::SignedPayload& signed_declaration) {
    absl::StatusOr<v1::SupportDeclaration> declaration = protocol::VerifySupportDeclaration(
        signed_declaration, manufacturer_->voucher_key().public_key(), kModel);
    EXPECT_TRUE(declaration.ok()) << declaration.status();
    return declaration.ok() ? *std::move(declaration) : v1::SupportDeclaration();
  }

  std::string root_;
  std::unique_ptr<Manufacturer> manufacturer_;
  server::RunningServers servers_;
  std::shared_ptr<grpc::Channel> device_channel_;
  crypto::EcPrivateKey device_key_ = *crypto::EcPrivateKey::Generate(crypto::Curve::kP256);
  crypto::SoftwareHmacKey secret_{SecretBytes::CopyFrom(std::string(32, 's'))};
};

// ---- device initialisation ------------------------------------------------------

TEST_F(ManufacturerGrpcTest, DiOverTlsStoresTheVoucher) {
  const StoreSnapshot before = Snapshot();
  protocol::DiCredentials credentials;
  absl::Status di = RunDi("SN-1", &credentials);
  ASSERT_TRUE(di.ok()) << di;
  EXPECT_EQ(credentials.guid().size(), voucher::kGuidSize);
  EXPECT_EQ(credentials.header.device_info().serial(), "SN-1");
  EXPECT_EQ(credentials.header.rendezvous_info().endpoints(0).host(), "localhost");
  EXPECT_FALSE(credentials.support_declaration.has_value());

  std::optional<storage::VoucherRecord> record;
  ASSERT_TRUE(manufacturer_->store()
                  .Transact([&](storage::Transaction& tx) -> absl::Status {
                    CUSTODY_ASSIGN_OR_RETURN(record, tx.vouchers().Get(credentials.guid()));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(record->model, kModel);
  EXPECT_EQ(record->serial, "SN-1");
  EXPECT_EQ(record->state, storage::VoucherState::kManufactured);
  absl::StatusOr<v1::OwnershipVoucher> voucher = voucher::ParseVoucher(record->voucher);
  ASSERT_TRUE(voucher.ok()) << voucher.status();
  EXPECT_EQ(voucher->header(), credentials.header_bytes);

  const StoreSnapshot after = Snapshot();
  EXPECT_EQ(after.vouchers, before.vouchers + 1);
  ASSERT_EQ(after.events.size(), before.events.size() + 2);
  EXPECT_EQ(after.events[before.events.size()].action, "di.certificate_issued");
  EXPECT_EQ(after.events[before.events.size() + 1].action, "di.complete");
}

TEST_F(ManufacturerGrpcTest, OversizedRequestIsRefusedAndChangesNothing) {
  const StoreSnapshot before = Snapshot();
  v1::DiRequest request = AppStart("SN-big");
  request.mutable_app_start()->set_csr(std::string(server::kDefaultMaxMessageBytes + 1, 'x'));
  ASSERT_GT(request.ByteSizeLong(), server::kDefaultMaxMessageBytes);
  grpc::ClientContext context;
  SetTestDeadline(context);
  auto stream = v1::DeviceInitialization::NewStub(device_channel_)->Initialize(&context);
  stream->Write(request);  // May fail once the server has refused the message.
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("Received message larger than max"));
  EXPECT_THAT(status.error_message(), HasSubstr("vs. 65536)"));
  EXPECT_EQ(server::ErrorDetailOf(status).check(), "");
  const StoreSnapshot after = Snapshot();
  EXPECT_EQ(after.vouchers, before.vouchers);
  EXPECT_EQ(after.events.size(), before.events.size());
}

// Bytes that do not parse as a DiRequest, or that carry a field the protocol does
// not define, written on a raw stream without half-closing it: the server must
// end the call because of them, naming the format.
TEST_F(ManufacturerGrpcTest, MalformedBytesAreRefusedAndChangeNothing) {
  // Field 1 (app_start) claims 16 bytes; 3 follow.
  ExpectMalformedRefused(std::string("\x0a\x10"
                                     "abc",
                                     5),
                         "DI message");
  // Field 15, varint: unknown to DiRequest.
  ExpectMalformedRefused(std::string("\x78\x01", 2), "has unknown fields");
  // Under gRPC's limit (64 KiB) but over what a DI message can need.
  ExpectMalformedRefused(std::string(40 * 1024, 'x'), "a DI message is at most 32768 bytes",
                         grpc::StatusCode::RESOURCE_EXHAUSTED);
}

void ManufacturerGrpcTest::ExpectMalformedRefused(const std::string& bytes,
                                                  const std::string& message,
                                                  grpc::StatusCode code) {
  SCOPED_TRACE(message);
  const StoreSnapshot before = Snapshot();
  grpc::Slice slice(bytes);
  grpc::ByteBuffer buffer(&slice, 1);

  grpc::CompletionQueue cq;
  grpc::GenericStub stub(device_channel_);
  grpc::ClientContext context;
  SetTestDeadline(context);
  auto call = stub.PrepareCall(&context, kInitializeMethod, &cq);
  ASSERT_NE(call, nullptr);
  auto await = [&](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  EXPECT_TRUE(await(1));
  call->Write(buffer, reinterpret_cast<void*>(2));
  await(2);  // May fail once the server has ended the call.
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(3));
  EXPECT_TRUE(await(3));
  cq.Shutdown();
  void* tag = nullptr;
  bool ok = false;
  while (cq.Next(&tag, &ok)) {
  }

  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("di.format: "));
  EXPECT_THAT(status.error_message(), HasSubstr(message));
  const v1::ErrorDetail detail = server::ErrorDetailOf(status);
  EXPECT_EQ(detail.check(), "di.format");
  EXPECT_EQ(detail.previous_message_type(), 0u);
  const StoreSnapshot after = Snapshot();
  EXPECT_EQ(after.vouchers, before.vouchers);
  EXPECT_EQ(after.events.size(), before.events.size());
}

// One refused stream: what the device sends, and what the server must answer.
enum class Send { kEmpty, kAppStart, kSetHmac };

struct StreamCase {
  std::string name;
  // A reply is read after every message but the last, which is refused.
  std::vector<Send> messages;
  // Or: the last message is answered too, then the device half-closes.
  bool half_close;
  grpc::StatusCode code;
  std::string check;
  std::string message;
  uint32_t previous_message_type;
  // Audit events added (di.certificate_issued for each AppStart answered).
  size_t events_added;
};

std::ostream& operator<<(std::ostream& out, const StreamCase& c) { return out << c.name; }

class DiStreamRefusalTest : public ManufacturerGrpcTest,
                            public testing::WithParamInterface<StreamCase> {};

TEST_P(DiStreamRefusalTest, IsRefusedWithTheCheckAndStoresNoVoucher) {
  const StreamCase& c = GetParam();
  const StoreSnapshot before = Snapshot();
  grpc::ClientContext context;
  SetTestDeadline(context);
  auto stream = v1::DeviceInitialization::NewStub(device_channel_)->Initialize(&context);
  for (size_t i = 0; i < c.messages.size(); ++i) {
    v1::DiRequest request;
    switch (c.messages[i]) {
      case Send::kEmpty:
        break;
      case Send::kAppStart:
        request = AppStart("SN-refused");
        break;
      case Send::kSetHmac:
        request.mutable_set_hmac()->mutable_header_hmac()->set_value(std::string(32, 'h'));
        break;
    }
    ASSERT_TRUE(stream->Write(request)) << "message " << i;
    if (i + 1 < c.messages.size() || c.half_close) {
      v1::DiResponse response;
      ASSERT_TRUE(stream->Read(&response)) << "message " << i;
      EXPECT_TRUE(response.has_set_credentials());
    }
  }
  if (c.half_close) {
    EXPECT_TRUE(stream->WritesDone());
  }
  const grpc::Status status = stream->Finish();

  EXPECT_EQ(status.error_code(), c.code) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr(c.message));
  const v1::ErrorDetail detail = server::ErrorDetailOf(status);
  EXPECT_EQ(detail.check(), c.check);
  EXPECT_EQ(detail.fdo_error_code(), 101u);
  EXPECT_EQ(detail.previous_message_type(), c.previous_message_type);
  const StoreSnapshot after = Snapshot();
  EXPECT_EQ(after.vouchers, before.vouchers);
  ASSERT_EQ(after.events.size(), before.events.size() + c.events_added);
  for (size_t i = before.events.size(); i < after.events.size(); ++i) {
    EXPECT_EQ(after.events[i].action, "di.certificate_issued");
    EXPECT_EQ(after.events[i].actor, absl::StrCat("device:", kModel, "/SN-refused"));
  }
}

INSTANTIATE_TEST_SUITE_P(Refusals, DiStreamRefusalTest,
                         testing::Values(StreamCase{"EmptyRequest",
                                                    {Send::kEmpty},
                                                    false,
                                                    grpc::StatusCode::FAILED_PRECONDITION,
                                                    "di.unexpected_message",
                                                    "expected DI.AppStart, got an empty message",
                                                    0,
                                                    0},
                                         StreamCase{"SetHmacFirst",
                                                    {Send::kSetHmac},
                                                    false,
                                                    grpc::StatusCode::FAILED_PRECONDITION,
                                                    "di.unexpected_message",
                                                    "expected DI.AppStart, got DI.SetHMAC",
                                                    12,
                                                    0},
                                         StreamCase{"AppStartRepeated",
                                                    {Send::kAppStart, Send::kAppStart},
                                                    false,
                                                    grpc::StatusCode::FAILED_PRECONDITION,
                                                    "di.unexpected_message",
                                                    "expected DI.SetHMAC, got DI.AppStart",
                                                    10,
                                                    1},
                                         StreamCase{"HalfCloseAfterAppStart",
                                                    {Send::kAppStart},
                                                    true,
                                                    grpc::StatusCode::FAILED_PRECONDITION,
                                                    "di.incomplete",
                                                    "the device ended the stream before DI.Done",
                                                    10,
                                                    1}),
                         [](const testing::TestParamInfo<StreamCase>& info) {
                           return info.param.name;
                         });

// ---- support declarations -------------------------------------------------------

TEST_F(ManufacturerGrpcTest, GetSupportDeclarationIsPublicAndNotFoundBeforeAnyDeclaration) {
  v1::GetSupportDeclarationResponse response;
  grpc::Status status = GetSupport(kModel, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_EQ(status.error_message(), "model \"gw-100\" has no support declaration");
  EXPECT_EQ(server::ErrorDetailOf(status).fdo_error_code(), 6u);

  status = GetSupport("gw-999", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(),
              HasSubstr("model \"gw-999\" is not configured at this manufacturer"));
  EXPECT_EQ(server::ErrorDetailOf(status).fdo_error_code(), 6u);
}

TEST_F(ManufacturerGrpcTest, OperatorDeclaresSupportAndTheEndDateOnlyMovesLater) {
  // Sequence 1, signed by the voucher key, served publicly.
  v1::DeclareSupportResponse first;
  grpc::Status status = DeclareSupport("alice", kModel, "2031-12-31", &first);
  ASSERT_TRUE(status.ok()) << status.error_message();
  v1::SupportDeclaration payload;
  ASSERT_TRUE(payload.ParseFromString(first.signed_declaration().payload()));
  EXPECT_EQ(payload.model(), kModel);
  EXPECT_EQ(payload.security_updates_until(), "2031-12-31");
  EXPECT_EQ(payload.disclosure_policy_url(), kPolicyUrl);
  EXPECT_EQ(payload.sequence(), 1u);
  EXPECT_EQ(Verified(first.signed_declaration()).sequence(), 1u);

  v1::GetSupportDeclarationResponse got;
  status = GetSupport(kModel, &got);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(got.signed_declaration().SerializeAsString(),
            first.signed_declaration().SerializeAsString());
  absl::StatusOr<crypto::EcPublicKey> served_key = voucher::FromWireKey(got.manufacturer_key());
  ASSERT_TRUE(served_key.ok()) << served_key.status();
  EXPECT_TRUE(crypto::SameKey(*served_key, manufacturer_->voucher_key().public_key()));

  // A later date: sequence 2.
  v1::DeclareSupportResponse second;
  status = DeclareSupport("alice", kModel, "2032-06-30", &second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(Verified(second.signed_declaration()).sequence(), 2u);
  EXPECT_EQ(Verified(second.signed_declaration()).security_updates_until(), "2032-06-30");

  // An earlier date: refused, nothing declared, the attempt audited.
  StoreSnapshot before = Snapshot();
  v1::DeclareSupportResponse refused;
  status = DeclareSupport("alice", kModel, "2031-06-30", &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
  EXPECT_EQ(server::ErrorDetailOf(status).check(), "support.shorten");
  EXPECT_THAT(status.error_message(), HasSubstr("declared until 2032-06-30"));
  EXPECT_FALSE(refused.has_signed_declaration());
  ASSERT_TRUE(GetSupport(kModel, &got).ok());
  EXPECT_EQ(Verified(got.signed_declaration()).sequence(), 2u);
  StoreSnapshot after = Snapshot();
  ASSERT_EQ(after.events.size(), before.events.size() + 1);
  const storage::AuditEvent& event = after.events.back();
  EXPECT_EQ(event.action, "support.shorten_refused");
  EXPECT_EQ(event.actor, "admin:alice (operator)");
  EXPECT_EQ(event.target, kModel);
  EXPECT_THAT(event.details, HasSubstr("asked 2031-06-30, in force 2032-06-30 (sequence 2)"));

  // A date that does not exist: refused before anything is written, even audit.
  before = Snapshot();
  status = DeclareSupport("alice", kModel, "2031-02-30", &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(server::ErrorDetailOf(status).check(), "support.date");
  EXPECT_THAT(status.error_message(), HasSubstr("the end date 2031-02-30 does not exist"));
  after = Snapshot();
  EXPECT_EQ(after.events.size(), before.events.size());
  ASSERT_TRUE(GetSupport(kModel, &got).ok());
  EXPECT_EQ(Verified(got.signed_declaration()).sequence(), 2u);

  // A device initialised now gets the declaration in force.
  protocol::DiCredentials credentials;
  absl::Status di = RunDi("SN-2", &credentials);
  ASSERT_TRUE(di.ok()) << di;
  ASSERT_TRUE(credentials.support_declaration.has_value());
  EXPECT_EQ(credentials.support_declaration->sequence(), 2u);
  EXPECT_EQ(credentials.support_declaration->security_updates_until(), "2032-06-30");
  ASSERT_TRUE(credentials.signed_support_declaration.has_value());
  EXPECT_EQ(credentials.signed_support_declaration->SerializeAsString(),
            second.signed_declaration().SerializeAsString());
}

TEST_F(ManufacturerGrpcTest, DeclareSupportForAnUnconfiguredModelIsNotFound) {
  const StoreSnapshot before = Snapshot();
  v1::DeclareSupportResponse response;
  const grpc::Status status = DeclareSupport("alice", "gw-999", "2031-12-31", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("model \"gw-999\" is not configured"));
  EXPECT_EQ(Snapshot().events.size(), before.events.size());
}

TEST_F(ManufacturerGrpcTest, AuditorMayNotDeclareSupport) {
  const StoreSnapshot before = Snapshot();
  v1::DeclareSupportResponse response;
  const grpc::Status status = DeclareSupport("bob", kModel, "2031-12-31", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << status.error_message();
  EXPECT_EQ(status.error_message(),
            "admin.role: DeclareSupport is not allowed for the auditor role (it needs operator)");
  // Nothing declared; the one new audit event is the refusal.
  const StoreSnapshot after = Snapshot();
  ASSERT_EQ(after.events.size(), before.events.size() + 1);
  EXPECT_EQ(after.events.back().action, "admin.refused");
  EXPECT_EQ(after.events.back().actor, "admin:bob (auditor)");
  EXPECT_EQ(after.events.back().target, "/custody.v1.ManufacturerAdmin/DeclareSupport");
  v1::GetSupportDeclarationResponse got;
  EXPECT_EQ(GetSupport(kModel, &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(ManufacturerGrpcTest, DeclareSupportIsNotServedOnTheDevicePort) {
  v1::DeclareSupportResponse response;
  const grpc::Status status =
      DeclareSupportAt(servers_.device_port, "", kModel, "2031-12-31", &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED) << status.error_message();
  v1::GetSupportDeclarationResponse got;
  EXPECT_EQ(GetSupport(kModel, &got).error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace custody::manufacturer
