// The owner service as operators and devices see it: the real services, served
// in-process over real TLS on loopback, driven through gRPC. Automatic TO0 runs
// by hand against a scripted rendezvous answer (the real exchange is covered by
// integration/owner_e2e_test).

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/pki/service_identity.h"
#include "core/protocol/to2_client.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_build.h"
#include "core/voucher/voucher_text.h"
#include "custody/v1/owner.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "owner/owner_client.h"
#include "owner/owner_server.h"
#include "server/grpc_status.h"
#include "server/service_test_util.h"

namespace custody::owner {
namespace {

using server::SetTestDeadline;
using ::testing::HasSubstr;

void ExpectStatus(const grpc::Status& status, grpc::StatusCode code, const std::string& check) {
  EXPECT_EQ(status.error_code(), code) << status.error_message();
  EXPECT_EQ(server::ErrorDetailOf(status).check(), check) << status.error_message();
}

v1::OwnerConfig BaseConfig(const std::string& root) {
  ::mkdir(root.c_str(), 0700);
  // A CA standing in for the rendezvous service's (TO0 is scripted here).
  EXPECT_TRUE(pki::LoadOrCreateCertificateAuthority(root, "rendezvous-ca", {"RV CA", "Test", "rv"},
                                                    crypto::Curve::kP256, absl::Hours(24),
                                                    SystemClock(), SystemRandom())
                  .ok());
  v1::OwnerConfig config;
  config.mutable_server()->set_state_dir(root);
  config.mutable_server()->set_listen_address("127.0.0.1:0");
  config.mutable_server()->set_admin_listen_address("127.0.0.1:0");
  config.add_device_addresses("owner.example:8043");
  config.set_rendezvous_tls_ca_file(root + "/rendezvous-ca.pem");
  config.set_organization("Globex");
  return config;
}

class OwnerGrpcTest : public testing::Test {
 protected:
  void SetUp() override {
    const testing::TestInfo* test = testing::UnitTest::GetInstance()->current_test_info();
    root_ = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", test->name());
    OwnerOptions options;
    options.start_registrar = false;
    options.register_function = [](const std::string&, protocol::To0Registration,
                                   const crypto::Signer&) {
      v1::To0AcceptOwner accepted;
      accepted.set_granted_lifetime_seconds(3600);
      return absl::StatusOr<v1::To0AcceptOwner>(accepted);
    };
    v1::OwnerConfig config = BaseConfig(root_);
    Adjust(config);
    absl::StatusOr<std::unique_ptr<Owner>> opened =
        Owner::Open(std::move(config), SystemClock(), SystemRandom(), std::move(options));
    ASSERT_TRUE(opened.ok()) << opened.status();
    owner_ = *std::move(opened);
    absl::StatusOr<server::RunningServers> running =
        server::StartServers(owner_->config().server(), owner_->identity(), owner_->services());
    ASSERT_TRUE(running.ok()) << running.status();
    servers_ = *std::move(running);
    server::IssueTestAdmins(root_);
    voucher::SampleOptions sample;
    sample.now = absl::Now();
    sample.owners = 0;
    set_ = std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(sample, SystemRandom()));
    voucher::ExtendOptions extend;
    extend.trust_unsigned_header = true;
    voucher_ = *voucher::ExtendVoucher(set_->stages.front(), set_->manufacturer_key,
                                       owner_->owner_key().public_key(), extend);
    v1::VoucherHeader header;
    header.ParseFromString(voucher_.header());
    guid_ = header.guid().value();
  }

  void TearDown() override {
    servers_.Shutdown(absl::ZeroDuration());
    owner_.reset();
  }

  // Changes the configuration before the owner opens (for a derived fixture).
  virtual void Adjust(v1::OwnerConfig& /*config*/) {}

  // Opens a TO2 stream and sends HelloDevice; the stream stays open.
  struct OpenStream {
    std::unique_ptr<v1::Owner::Stub> stub;
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReaderWriter<v1::To2Request, v1::To2Response>> stream;
    std::unique_ptr<protocol::To2ClientSession> session;
  };
  OpenStream SendHello() {
    OpenStream open;
    open.stub = v1::Owner::NewStub(server::TestChannel(root_, servers_.device_port, ""));
    open.context = std::make_unique<grpc::ClientContext>();
    SetTestDeadline(*open.context);
    open.stream = open.stub->Onboard(open.context.get());
    open.session = std::make_unique<protocol::To2ClientSession>(DeviceInputs());
    absl::StatusOr<v1::To2Request> hello = open.session->Start();
    EXPECT_TRUE(hello.ok());
    (void)open.stream->Write(*hello);
    return open;
  }

  std::string Metrics() { return owner_->services().telemetry->metrics().Render(); }

  std::unique_ptr<v1::OwnerAdmin::Stub> Admin(const std::string& who) {
    return v1::OwnerAdmin::NewStub(server::TestChannel(root_, servers_.admin_port, who));
  }

  grpc::Status Import(const std::string& who) {
    v1::ImportVouchersRequest request;
    request.set_vouchers_text(voucher::VoucherToText(voucher_));
    v1::ImportVouchersResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    return Admin(who)->ImportVouchers(&context, request, &response);
  }

  std::string StateOf(const std::string& guid) {
    v1::GetDeviceRequest request;
    request.set_guid(guid);
    v1::GetDeviceResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    grpc::Status status = Admin("bob")->GetDevice(&context, request, &response);
    return status.ok() ? response.device().state() : status.error_message();
  }

  protocol::To2DeviceInputs DeviceInputs() {
    protocol::To2DeviceInputs inputs;
    inputs.guid = guid_;
    inputs.header_bytes = voucher_.header();
    inputs.device_certificate_chain.assign(voucher_.device_certificate_chain().begin(),
                                           voucher_.device_certificate_chain().end());
    inputs.attestation_key = &set_->device_key;
    inputs.hmac_secret = &set_->device_secret;
    inputs.software_version = "2.0.1";
    inputs.clock = &SystemClock();
    inputs.random = &SystemRandom();
    return inputs;
  }

  std::string root_;
  std::unique_ptr<Owner> owner_;
  server::RunningServers servers_;
  std::unique_ptr<voucher::SampleVoucherSet> set_;
  v1::OwnershipVoucher voucher_;
  std::string guid_;
};

TEST_F(OwnerGrpcTest, TheOperatorImportsAndAutomaticTo0RegistersTheAuditorOnlyReads) {
  ExpectStatus(Import("bob"), grpc::StatusCode::PERMISSION_DENIED, "admin.role");
  ExpectStatus(Import(""), grpc::StatusCode::UNAVAILABLE, "");
  EXPECT_EQ(StateOf(guid_), "no device with this GUID");
  ASSERT_TRUE(Import("alice").ok());
  EXPECT_EQ(StateOf(guid_), "imported");
  absl::StatusOr<RegistrarPass> pass = owner_->registrar().RunOnce();
  ASSERT_TRUE(pass.ok()) << pass.status();
  EXPECT_EQ(pass->registered, 1);
  EXPECT_EQ(StateOf(guid_), "registered");
}

TEST_F(OwnerGrpcTest, ADeviceOnboardsOverGrpcAndTheOwnerKeepsTheReplacementVoucher) {
  ASSERT_TRUE(Import("alice").ok());
  protocol::To2ClientSession session(DeviceInputs());
  absl::Status onboarded = Onboard(server::TestChannel(root_, servers_.device_port, ""), session);
  ASSERT_TRUE(onboarded.ok()) << onboarded;
  ASSERT_TRUE(session.done());
  const std::string new_guid = session.result().header.guid().value();
  v1::GetDeviceRequest request;
  request.set_guid(new_guid);
  v1::GetDeviceResponse response;
  grpc::ClientContext context;
  SetTestDeadline(context);
  ASSERT_TRUE(Admin("bob")->GetDevice(&context, request, &response).ok());
  EXPECT_EQ(response.device().state(), "onboarded");
  EXPECT_EQ(response.device().guid(), guid_);
  EXPECT_EQ(response.device().replacement_guid(), new_guid);
  EXPECT_EQ(response.device().report().software_version(), "2.0.1");
  EXPECT_FALSE(response.device().operational_certificate_serial().empty());
  absl::StatusOr<v1::OwnershipVoucher> replacement =
      voucher::VoucherFromText(response.replacement_voucher_text());
  ASSERT_TRUE(replacement.ok()) << replacement.status();
  EXPECT_EQ(replacement->header(), session.result().replacement_header);
  // The replacement credential is refused by this owner (it is onboarded).
  protocol::To2DeviceInputs again = DeviceInputs();
  again.guid = new_guid;
  again.header_bytes = session.result().replacement_header;
  again.hmac_secret = &session.result().new_hmac_secret;
  protocol::To2ClientSession second(std::move(again));
  absl::Status refused = Onboard(server::TestChannel(root_, servers_.device_port, ""), second);
  EXPECT_EQ(FailedCheck(refused), "to2.already_onboarded") << refused;
}

TEST_F(OwnerGrpcTest, ASessionInFlightIsListedAsOnboardingUntilItEnds) {
  ASSERT_TRUE(Import("alice").ok());
  auto stub = v1::Owner::NewStub(server::TestChannel(root_, servers_.device_port, ""));
  auto context = std::make_unique<grpc::ClientContext>();
  SetTestDeadline(*context);
  auto stream = stub->Onboard(context.get());
  protocol::To2ClientSession session(DeviceInputs());
  absl::StatusOr<v1::To2Request> hello = session.Start();
  ASSERT_TRUE(hello.ok());
  ASSERT_TRUE(stream->Write(*hello));
  v1::To2Response header;
  ASSERT_TRUE(stream->Read(&header));
  ASSERT_TRUE(header.has_prove_owner_header());
  EXPECT_EQ(StateOf(guid_), "onboarding");
  EXPECT_EQ(owner_->tracker().size(), 1u);
  // The device goes away: nothing was stored, and the device is no longer listed
  // as onboarding once the stream is over.
  context->TryCancel();
  (void)stream->Finish();
  for (int i = 0; i < 100 && owner_->tracker().size() != 0; ++i)
    absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(owner_->tracker().size(), 0u);
  EXPECT_EQ(StateOf(guid_), "imported");
}

TEST_F(OwnerGrpcTest, SettingsAreSortedCheckedAndScopedToAKnownDevice) {
  ASSERT_TRUE(Import("alice").ok());
  v1::SetSettingsRequest set;
  set.set_model("gw-100");
  for (const char* key : {"b.key", "a.key"}) {
    v1::Setting* setting = set.add_settings();
    setting->set_key(key);
    setting->set_value(absl::StrCat("value of ", key));
  }
  {
    v1::SetSettingsResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    ExpectStatus(Admin("bob")->SetSettings(&context, set, &response),
                 grpc::StatusCode::PERMISSION_DENIED, "admin.role");
  }
  {
    v1::SetSettingsResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    ASSERT_TRUE(Admin("alice")->SetSettings(&context, set, &response).ok());
  }
  v1::GetSettingsRequest get;
  get.set_model("gw-100");
  v1::GetSettingsResponse got;
  {
    grpc::ClientContext context;
    SetTestDeadline(context);
    ASSERT_TRUE(Admin("bob")->GetSettings(&context, get, &got).ok());
  }
  ASSERT_EQ(got.settings_size(), 2);
  EXPECT_EQ(got.settings(0).key(), "a.key");
  EXPECT_EQ(got.settings(1).key(), "b.key");

  set.add_settings()->set_key("a.key");  // A repeated key.
  {
    v1::SetSettingsResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    ExpectStatus(Admin("alice")->SetSettings(&context, set, &response),
                 grpc::StatusCode::INVALID_ARGUMENT, "owner.settings");
  }
  v1::SetSettingsRequest unknown;
  unknown.set_guid(std::string(16, '\x42'));
  {
    v1::SetSettingsResponse response;
    grpc::ClientContext context;
    SetTestDeadline(context);
    EXPECT_EQ(Admin("alice")->SetSettings(&context, unknown, &response).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
}

TEST_F(OwnerGrpcTest, AnOwnerThatLostItsKeyDoesNotStartWithANewOne) {
  ASSERT_TRUE(Import("alice").ok());
  servers_.Shutdown(absl::ZeroDuration());
  owner_.reset();
  ASSERT_EQ(::unlink((root_ + "/owner.key").c_str()), 0);
  OwnerOptions options;
  options.start_registrar = false;
  absl::StatusOr<std::unique_ptr<Owner>> reopened =
      Owner::Open(BaseConfig(root_), SystemClock(), SystemRandom(), std::move(options));
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(reopened.status().message()),
              HasSubstr("owner.key is missing, but the database holds 1 devices"));
}

// One session per peer, and one TO2.HelloDevice's worth of budget for every peer.
class OwnerLimitsTest : public OwnerGrpcTest {
 protected:
  void Adjust(v1::OwnerConfig& config) override {
    config.mutable_server()->set_max_sessions_per_peer(1);
    config.mutable_to2_hello_budget()->set_per_second(0.001);
    config.mutable_to2_hello_budget()->set_burst(1);
  }
};

TEST_F(OwnerLimitsTest, ASecondSessionFromOnePeerIsRefusedBeforeAnyMessage) {
  ASSERT_TRUE(Import("alice").ok());
  OpenStream first = SendHello();
  v1::To2Response header;
  ASSERT_TRUE(first.stream->Read(&header));
  ASSERT_TRUE(header.has_prove_owner_header());
  // The first is still in flight: the second ends at once, over the cap.
  OpenStream second = SendHello();
  v1::To2Response none;
  EXPECT_FALSE(second.stream->Read(&none));
  ExpectStatus(second.stream->Finish(), grpc::StatusCode::RESOURCE_EXHAUSTED, "to2.peer_sessions");
  EXPECT_THAT(Metrics(), HasSubstr("custody_session_refusals_total{protocol=\"to2\",check=\"to2."
                                   "peer_sessions\"} 1\n"));
  EXPECT_THAT(Metrics(), HasSubstr("custody_sessions_in_flight{protocol=\"to2\"} 1\n"));
  first.context->TryCancel();
  (void)first.stream->Finish();
}

TEST_F(OwnerLimitsTest, HelloDevicePastTheBudgetIsRefusedAsBusy) {
  ASSERT_TRUE(Import("alice").ok());
  {
    OpenStream first = SendHello();
    v1::To2Response header;
    ASSERT_TRUE(first.stream->Read(&header));
    ASSERT_TRUE(header.has_prove_owner_header());
    first.context->TryCancel();
    (void)first.stream->Finish();
  }
  // The peer's session has ended (polled: the service sees the cancellation a
  // little later); the budget, shared by every peer, is spent.
  for (int i = 0; i < 200 && Metrics().find("custody_sessions_in_flight{protocol=\"to2\"} 0\n") ==
                                 std::string::npos;
       ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  OpenStream second = SendHello();
  v1::To2Response none;
  EXPECT_FALSE(second.stream->Read(&none));
  grpc::Status busy = second.stream->Finish();
  ExpectStatus(busy, grpc::StatusCode::RESOURCE_EXHAUSTED, "to2.busy");
  EXPECT_THAT(busy.error_message(), HasSubstr("over all peers"));
  EXPECT_THAT(Metrics(), HasSubstr("custody_session_refusals_total{protocol=\"to2\",check=\"to2."
                                   "busy\"} 1\n"));
  EXPECT_EQ(StateOf(guid_), "imported");
}

TEST(OwnerConfigTest, BadConfigurationsAreRefusedNamingTheField) {
  const std::string root = absl::StrCat(std::getenv("TEST_TMPDIR"), "/config");
  struct Case {
    const char* name;
    void (*change)(v1::OwnerConfig&);
    const char* message;
  };
  const Case cases[] = {
      {"no address", [](v1::OwnerConfig& c) { c.clear_device_addresses(); }, "device_addresses"},
      {"no port", [](v1::OwnerConfig& c) { c.set_device_addresses(0, "owner.example"); },
       "is not HOST:PORT"},
      {"no rendezvous CA", [](v1::OwnerConfig& c) { c.clear_rendezvous_tls_ca_file(); },
       "rendezvous_tls_ca_file"},
      {"check-in too often", [](v1::OwnerConfig& c) { c.set_check_in_interval_seconds(5); },
       "check_in_interval_seconds"},
      {"small messages",
       [](v1::OwnerConfig& c) { c.mutable_server()->set_max_message_bytes(4096); },
       "max_message_bytes"},
      {"replacement rendezvous info without a host",
       [](v1::OwnerConfig& c) {
         c.mutable_replacement_rendezvous_info()->add_endpoints()->set_port(8041);
       },
       "replacement_rendezvous_info"},
      {"long certificates",
       [](v1::OwnerConfig& c) { c.set_operational_certificate_validity_days(5000); },
       "operational_certificate_validity_days"},
  };
  for (const Case& test : cases) {
    v1::OwnerConfig config = BaseConfig(root);
    test.change(config);
    OwnerOptions options;
    options.start_registrar = false;
    absl::StatusOr<std::unique_ptr<Owner>> opened =
        Owner::Open(config, SystemClock(), SystemRandom(), std::move(options));
    ASSERT_FALSE(opened.ok()) << test.name;
    EXPECT_EQ(opened.status().code(), absl::StatusCode::kInvalidArgument) << test.name;
    EXPECT_THAT(std::string(opened.status().message()), HasSubstr(test.message)) << test.name;
  }
}

}  // namespace
}  // namespace custody::owner
