// The rendezvous service as owners, devices and operators see it: the real
// services, served in-process over real TLS on loopback, driven through gRPC.

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/pki/service_identity.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_client.h"
#include "core/protocol/to1_client.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_format.h"
#include "custody/v1/config.pb.h"
#include "custody/v1/rendezvous.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "rendezvous/rendezvous_client.h"
#include "rendezvous/rendezvous_server.h"
#include "server/grpc_status.h"
#include "server/serve.h"
#include "server/service_test_util.h"

namespace custody::rendezvous {
namespace {

using ::testing::HasSubstr;

using server::ReadOrFail;
using server::SetTestDeadline;

void ExpectStatus(const grpc::Status& status, grpc::StatusCode code, const std::string& check) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_EQ(server::ErrorDetailOf(status).check(), check) << status.error_message();
}

class RendezvousGrpcTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
    root_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", test->name());
    v1::RendezvousConfig config;
    config.mutable_server()->set_state_dir(root_);
    config.mutable_server()->set_listen_address("127.0.0.1:0");
    config.mutable_server()->set_admin_listen_address("127.0.0.1:0");
    config.mutable_server()->set_step_deadline_seconds(2);
    config.mutable_to1_rate_limit()->set_per_second(0.001);
    config.mutable_to1_rate_limit()->set_burst(4);
    absl::StatusOr<std::unique_ptr<Rendezvous>> opened =
        Rendezvous::Open(config, SystemClock(), SystemRandom());
    ASSERT_TRUE(opened.ok()) << opened.status();
    rendezvous_ = *std::move(opened);
    absl::StatusOr<server::RunningServers> running = server::StartServers(
        rendezvous_->config().server(), rendezvous_->identity(), rendezvous_->services());
    ASSERT_TRUE(running.ok()) << running.status();
    servers_ = *std::move(running);
    server::IssueTestAdmins(root_);
    voucher::SampleOptions options;
    options.now = absl::Now();
    set_ = std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(options, SystemRandom()));
  }

  void TearDown() override {
    servers_.Shutdown(absl::ZeroDuration());
    rendezvous_.reset();
  }

  std::shared_ptr<grpc::Channel> Channel(int port, const std::string& admin) const {
    return server::TestChannel(root_, port, admin);
  }

  grpc::Status Trust(const std::string& admin) {
    auto stub = v1::RendezvousAdmin::NewStub(Channel(servers_.admin_port, admin));
    grpc::ClientContext context;
    SetTestDeadline(context);
    v1::TrustManufacturerRequest request;
    *request.mutable_key() = voucher::ToWireKey(set_->manufacturer_key.public_key());
    request.set_label("Acme");
    v1::TrustManufacturerResponse response;
    return stub->TrustManufacturer(&context, request, &response);
  }

  grpc::Status Register() {
    protocol::To0Registration registration;
    registration.voucher = set_->stages.back();
    registration.addresses = {protocol::GrpcTlsAddress("owner.example", 8043)};
    registration.lifetime = absl::Hours(1);
    // Statuses as gRPC's, with the check name in the details, like every refusal
    // checked here.
    return server::ToGrpcStatus(RegisterOwner(Channel(servers_.device_port, ""),
                                              std::move(registration), set_->owner_keys.back())
                                    .status());
  }

  grpc::Status Find(std::optional<protocol::OwnerLocation>* found) {
    protocol::To1DeviceIdentity identity;
    identity.guid = Guid();
    identity.header_bytes = set_->stages[0].header();
    identity.attestation_key = &set_->device_key;
    identity.hmac_secret = &set_->device_secret;
    absl::StatusOr<protocol::OwnerLocation> location =
        FindOwner(Channel(servers_.device_port, ""), identity);
    if (location.ok()) *found = *std::move(location);
    return server::ToGrpcStatus(location.status());
  }

  std::string Guid() const {
    v1::VoucherHeader header;
    header.ParseFromString(set_->stages[0].header());
    return header.guid().value();
  }

  std::string root_;
  std::unique_ptr<Rendezvous> rendezvous_;
  server::RunningServers servers_;
  std::unique_ptr<voucher::SampleVoucherSet> set_;
};

TEST_F(RendezvousGrpcTest, RegisterThenFindOverTls) {
  ASSERT_TRUE(Trust("alice").ok());
  grpc::Status registered = Register();
  ASSERT_TRUE(registered.ok()) << registered.error_message();
  std::optional<protocol::OwnerLocation> found;
  grpc::Status status = Find(&found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->record.addresses(0).host(), "owner.example");
  EXPECT_EQ(found->owner_key->spki_der(), set_->owner_keys.back().public_key().spki_der());

  // The operator and the auditor see the registration.
  for (const char* admin : {"alice", "bob"}) {
    auto stub = v1::RendezvousAdmin::NewStub(Channel(servers_.admin_port, admin));
    grpc::ClientContext context;
    SetTestDeadline(context);
    v1::ListRegistrationsResponse list;
    ASSERT_TRUE(stub->ListRegistrations(&context, {}, &list).ok());
    ASSERT_EQ(list.registrations_size(), 1);
    EXPECT_EQ(list.registrations(0).guid(), Guid());
    EXPECT_EQ(list.registrations(0).entries(), 2u);
    EXPECT_EQ(list.registrations(0).addresses(0).host(), "owner.example");
  }
}

TEST_F(RendezvousGrpcTest, OnlyAnOperatorChangesTheTrustList) {
  ExpectStatus(Trust("bob"), grpc::StatusCode::PERMISSION_DENIED, "admin.role");
  // Deny by default: nothing trusted, the owner is refused.
  ExpectStatus(Register(), grpc::StatusCode::PERMISSION_DENIED, "to0.untrusted_manufacturer");
  ASSERT_TRUE(Trust("alice").ok());
  ExpectStatus(Trust("alice"), grpc::StatusCode::ALREADY_EXISTS, "");
  EXPECT_TRUE(Register().ok());
}

TEST_F(RendezvousGrpcTest, AdminInputIsCheckedBeforeTheStore) {
  auto stub = v1::RendezvousAdmin::NewStub(Channel(servers_.admin_port, "alice"));
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    v1::TrustManufacturerRequest request;
    *request.mutable_key() = voucher::ToWireKey(set_->manufacturer_key.public_key());
    request.set_label("Acme \"Inc\"");
    v1::TrustManufacturerResponse response;
    grpc::Status status = stub->TrustManufacturer(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("without quotes"));
  }
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    v1::DeleteRegistrationRequest request;
    request.set_guid("short");
    v1::DeleteRegistrationResponse response;
    grpc::Status status = stub->DeleteRegistration(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("16 bytes"));
  }
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    v1::DistrustManufacturerRequest request;
    request.set_fingerprint("short");
    v1::DistrustManufacturerResponse response;
    grpc::Status status = stub->DistrustManufacturer(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("32 bytes"));
  }
  // Nothing was trusted: the owner is still refused.
  ExpectStatus(Register(), grpc::StatusCode::PERMISSION_DENIED, "to0.untrusted_manufacturer");
}

TEST_F(RendezvousGrpcTest, DeletedRegistrationIsNoLongerFound) {
  ASSERT_TRUE(Trust("alice").ok());
  ASSERT_TRUE(Register().ok());
  auto stub = v1::RendezvousAdmin::NewStub(Channel(servers_.admin_port, "bob"));
  v1::DeleteRegistrationRequest request;
  request.set_guid(Guid());
  v1::DeleteRegistrationResponse response;
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    ExpectStatus(stub->DeleteRegistration(&context, request, &response),
                 grpc::StatusCode::PERMISSION_DENIED, "admin.role");
  }
  stub = v1::RendezvousAdmin::NewStub(Channel(servers_.admin_port, "alice"));
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    ASSERT_TRUE(stub->DeleteRegistration(&context, request, &response).ok());
  }
  std::optional<protocol::OwnerLocation> found;
  ExpectStatus(Find(&found), grpc::StatusCode::NOT_FOUND, "to1.unknown_guid");
}

TEST_F(RendezvousGrpcTest, MalformedAndOversizedMessagesEndTheStream) {
  // The generated stub cannot send malformed bytes; a TO1 message of an unknown
  // field is the same refusal as garbage.
  auto stub = v1::Rendezvous::NewStub(Channel(servers_.device_port, ""));
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    auto stream = stub->FindOwner(&context);
    v1::To1Request request;
    request.mutable_hello_rv()
        ->mutable_guid()
        ->GetReflection()
        ->MutableUnknownFields(request.mutable_hello_rv()->mutable_guid())
        ->AddVarint(99, 1);
    stream->Write(request);
    stream->WritesDone();
    ExpectStatus(stream->Finish(), grpc::StatusCode::INVALID_ARGUMENT, "to1.format");
  }
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    auto stream = stub->FindOwner(&context);
    v1::To1Request request;
    request.mutable_hello_rv()->mutable_guid()->set_value(std::string(2000, 'g'));
    stream->Write(request);
    stream->WritesDone();
    ExpectStatus(stream->Finish(), grpc::StatusCode::RESOURCE_EXHAUSTED, "to1.format");
  }
}

TEST_F(RendezvousGrpcTest, ADeviceThatStallsIsCutOffAtTheStepDeadline) {
  // TO1 runs on the callback API: its streams are watched like the synchronous ones.
  ASSERT_TRUE(Trust("alice").ok());
  ASSERT_TRUE(Register().ok());
  auto stub = v1::Rendezvous::NewStub(Channel(servers_.device_port, ""));
  grpc::ClientContext context;
  SetTestDeadline(context);
  auto stream = stub->FindOwner(&context);
  v1::To1Request hello;
  hello.mutable_hello_rv()->mutable_guid()->set_value(Guid());
  ASSERT_TRUE(stream->Write(hello));
  v1::To1Response ack;
  ASSERT_TRUE(stream->Read(&ack));
  ASSERT_TRUE(ack.has_hello_rv_ack());
  // No proof follows: the service ends the stream after the 2-second step
  // deadline and says why, before the test's own 10-second deadline would end
  // it (DEADLINE_EXCEEDED without the check).
  v1::To1Response none;
  EXPECT_FALSE(stream->Read(&none));
  ExpectStatus(stream->Finish(), grpc::StatusCode::DEADLINE_EXCEEDED, "to1.step_deadline");
}

TEST_F(RendezvousGrpcTest, APeerOverItsRateLimitIsRefused) {
  // The TO1 burst is 4 with almost no refill: the fifth stream is refused before
  // any message is read.
  auto stub = v1::Rendezvous::NewStub(Channel(servers_.device_port, ""));
  for (int i = 0; i < 4; ++i) {
    grpc::ClientContext context;
    SetTestDeadline(context);
    auto stream = stub->FindOwner(&context);
    v1::To1Request request;
    request.mutable_hello_rv()->mutable_guid()->set_value(std::string(16, 'u'));
    stream->Write(request);
    stream->WritesDone();
    ExpectStatus(stream->Finish(), grpc::StatusCode::NOT_FOUND, "to1.unknown_guid");
  }
  grpc::ClientContext context;
  SetTestDeadline(context);
  auto stream = stub->FindOwner(&context);
  stream->WritesDone();
  grpc::Status refused = stream->Finish();
  ExpectStatus(refused, grpc::StatusCode::RESOURCE_EXHAUSTED, "rate_limit");
  EXPECT_THAT(refused.error_message(), HasSubstr("retry in"));
  // TO0 has its own bucket.
  ExpectStatus(Register(), grpc::StatusCode::PERMISSION_DENIED, "to0.untrusted_manufacturer");
}

TEST(RendezvousConfigTest, AMessageLimitTooSmallForAVoucherIsRefusedAtStart) {
  v1::RendezvousConfig config;
  config.mutable_server()->set_state_dir(absl::StrCat(std::getenv("TEST_TMPDIR"), "/small"));
  config.mutable_server()->set_listen_address("127.0.0.1:0");
  config.mutable_server()->set_admin_listen_address("127.0.0.1:0");
  config.mutable_server()->set_max_message_bytes(16 * 1024);
  absl::StatusOr<std::unique_ptr<Rendezvous>> opened =
      Rendezvous::Open(config, SystemClock(), SystemRandom());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(opened.status().message()), HasSubstr("server.max_message_bytes"));
}

}  // namespace
}  // namespace custody::rendezvous
