// Real TLS on loopback: the device-facing port authenticates the server; the admin
// port demands a client certificate from the admin CA, and its authorizer checks
// the role once per call, before the method runs, auditing every refusal.

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/fake_clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/base/status.h"
#include "core/pki/service_identity.h"
#include "core/storage/memory_store.h"
#include "custody/v1/echo_test.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/admin_auth.h"
#include "server/credentials.h"
#include "server/grpc_status.h"
#include "server/metrics.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;
using v1::testing::Echo;
using v1::testing::EchoReply;
using v1::testing::EchoRequest;

// Unary answers its caller's name and role for "whoami" and echoes anything else;
// Stream echoes. Each counts the calls that reached it.
class EchoService final : public Echo::Service {
 public:
  grpc::Status Unary(grpc::ServerContext* context, const EchoRequest* request,
                     EchoReply* reply) override {
    ++unary_calls;
    if (request->data() == "whoami") {
      absl::StatusOr<AdminCaller> caller = AdminCallerOf(*context);
      if (!caller.ok()) return ToGrpcStatus(caller.status());
      reply->set_data(absl::StrCat(caller->name, " ", pki::AdminRoleName(caller->role)));
      return grpc::Status::OK;
    }
    reply->set_data(request->data());
    return grpc::Status::OK;
  }

  grpc::Status Stream(grpc::ServerContext* /*context*/,
                      grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    ++stream_calls;
    EchoRequest request;
    while (stream->Read(&request)) {
      EchoReply reply;
      reply.set_data(request.data());
      stream->Write(reply);
    }
    return grpc::Status::OK;
  }

  std::atomic<int> unary_calls{0};
  std::atomic<int> stream_calls{0};
};

std::string Read(const std::string& path) { return *ReadFileBounded(path, 65536); }

class TlsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = std::getenv("TEST_TMPDIR");
    for (const char* dir : {"/service", "/other"}) {
      ASSERT_EQ(::mkdir((root_ + dir).c_str(), 0700), 0);
    }
    pki::ServiceIdentityOptions options;
    options.service_name = "test";
    identity_ = new pki::ServiceIdentity(*pki::LoadOrCreateServiceIdentity(
        root_ + "/service", options, SystemClock(), SystemRandom()));
    ASSERT_TRUE(
        pki::LoadOrCreateServiceIdentity(root_ + "/other", options, SystemClock(), SystemRandom())
            .ok());
    for (auto [dir, name, role] : {std::tuple{"/service", "alice", pki::AdminRole::kOperator},
                                   std::tuple{"/service", "bob", pki::AdminRole::kAuditor},
                                   std::tuple{"/other", "mallory", pki::AdminRole::kOperator}}) {
      ASSERT_TRUE(pki::IssueAdminCredential(root_ + dir, name, role, absl::Hours(24),
                                            absl::StrCat(root_, "/", name), SystemClock(),
                                            SystemRandom())
                      .ok());
    }
    service_ = new EchoService();
    clock_ = new FakeClock(absl::Now());
    store_ = storage::NewMemoryStore().release();
    metrics_ = new MetricsRegistry();
    absl::StatusOr<AdminRoleTable> roles =
        AdminRoles(Echo::service_full_name(),
                   {{"Unary", {pki::AdminRole::kOperator, pki::AdminRole::kAuditor}},
                    {"Stream", {pki::AdminRole::kOperator}}});
    ASSERT_TRUE(roles.ok()) << roles.status();
    AdminAuthorizer::Options authorizer;
    authorizer.roles = *roles;
    authorizer.admin_ca = &identity_->admin_ca;
    authorizer.clock = clock_;
    authorizer.audit = store_;
    authorizer.metrics = metrics_;
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *DeviceFacingCredentials(*identity_), &device_port_);
    builder.AddListeningPort(
        "127.0.0.1:0",
        *AdminCredentials(*identity_, std::make_shared<AdminAuthorizer>(std::move(authorizer))),
        &admin_port_);
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
  }

  static void TearDownTestSuite() {
    server_->Shutdown();
    delete server_;
    delete service_;
    delete metrics_;
    delete store_;
    delete clock_;
    delete identity_;
  }

  // Sends `data` on one Stream call on `port` and reads the echo.
  static grpc::Status CallStream(int port, std::shared_ptr<grpc::ChannelCredentials> credentials,
                                 const std::string& data, std::string* reply_data = nullptr) {
    auto channel = Channel(port, std::move(credentials));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto stream = Echo::NewStub(channel)->Stream(&context);
    EchoRequest request;
    request.set_data(data);
    stream->Write(request);
    stream->WritesDone();
    EchoReply reply;
    while (stream->Read(&reply)) {
      if (reply_data != nullptr) *reply_data = reply.data();
    }
    return stream->Finish();
  }

  // Calls `method`, which no service here has, with an empty message.
  static grpc::Status CallUnknown(int port, std::shared_ptr<grpc::ChannelCredentials> credentials,
                                  const std::string& method) {
    auto channel = Channel(port, std::move(credentials));
    grpc::GenericStub stub(channel);
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    grpc::Status status;
    auto call = stub.PrepareUnaryCall(&context, method, request, &cq);
    call->StartCall();
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }

  static std::shared_ptr<grpc::Channel> Channel(int port,
                                                std::shared_ptr<grpc::ChannelCredentials> creds) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), creds, args);
  }

  // The audit log, oldest first.
  static std::vector<storage::AuditEvent> Audit() {
    std::vector<storage::AuditEvent> events;
    EXPECT_TRUE(store_
                    ->Transact([&](storage::Transaction& tx) -> absl::Status {
                      CUSTODY_ASSIGN_OR_RETURN(events, tx.audit().List(0, 1000));
                      return absl::OkStatus();
                    })
                    .ok());
    return events;
  }

  static std::string Metrics() { return metrics_->Render(); }

  // Calls Unary on `port` with `credentials`.
  static grpc::Status Call(int port, std::shared_ptr<grpc::ChannelCredentials> credentials,
                           const std::string& data, std::string* reply_data = nullptr) {
    auto channel = Channel(port, std::move(credentials));
    EchoRequest request;
    request.set_data(data);
    EchoReply reply;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = Echo::NewStub(channel)->Unary(&context, request, &reply);
    if (reply_data != nullptr) *reply_data = reply.data();
    return status;
  }

  static std::shared_ptr<grpc::ChannelCredentials> As(const std::string& name) {
    return ClientCredentials(Read(root_ + "/service/tls-ca.pem"),
                             name.empty() ? "" : Read(absl::StrCat(root_, "/", name, ".key")),
                             name.empty() ? "" : Read(absl::StrCat(root_, "/", name, ".pem")));
  }

  static std::string root_;
  static pki::ServiceIdentity* identity_;
  static EchoService* service_;
  static FakeClock* clock_;
  static storage::Store* store_;
  static MetricsRegistry* metrics_;
  static grpc::Server* server_;
  static int device_port_;
  static int admin_port_;
};

std::string TlsTest::root_;
pki::ServiceIdentity* TlsTest::identity_ = nullptr;
EchoService* TlsTest::service_ = nullptr;
FakeClock* TlsTest::clock_ = nullptr;
storage::Store* TlsTest::store_ = nullptr;
MetricsRegistry* TlsTest::metrics_ = nullptr;
grpc::Server* TlsTest::server_ = nullptr;
int TlsTest::device_port_ = 0;
int TlsTest::admin_port_ = 0;

TEST_F(TlsTest, DevicePortServesClientsThatTrustTheServiceCa) {
  std::string reply;
  grpc::Status status = Call(device_port_, As(""), "hello", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply, "hello");
}

TEST_F(TlsTest, DevicePortRefusesUntrustingAndPlaintextClients) {
  auto other_ca = ClientCredentials(Read(root_ + "/other/tls-ca.pem"), "", "");
  EXPECT_EQ(Call(device_port_, other_ca, "hello").error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call(device_port_, grpc::InsecureChannelCredentials(), "hello").error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, AdminRpcOnTheDevicePortHasNoCaller) {
  grpc::Status status = Call(device_port_, As(""), "whoami");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ErrorDetailOf(status).check(), "admin.certificate");
  EXPECT_THAT(status.error_message(), HasSubstr("needs a client certificate"));
}

TEST_F(TlsTest, AdminPortKnowsTheCallerAndRole) {
  std::string reply;
  grpc::Status status = Call(admin_port_, As("alice"), "whoami", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply, "alice operator");
  ASSERT_TRUE(Call(admin_port_, As("bob"), "whoami", &reply).ok());
  EXPECT_EQ(reply, "bob auditor");
  ASSERT_TRUE(CallStream(admin_port_, As("alice"), "hello", &reply).ok());
  EXPECT_EQ(reply, "hello");
}

TEST_F(TlsTest, AdminPortRefusesARoleBeforeTheMethodRunsAndAuditsIt) {
  const int before = service_->stream_calls;
  const size_t audited = Audit().size();
  grpc::Status status = CallStream(admin_port_, As("bob"), "hello");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "admin.role: Stream is not allowed for the auditor role (it needs operator)");
  EXPECT_EQ(ErrorDetailOf(status).check(), "admin.role");
  EXPECT_EQ(ErrorDetailOf(status).fdo_error_code(), 101u);
  EXPECT_EQ(FailedCheck(FromGrpcStatus(status)), "admin.role");
  EXPECT_EQ(service_->stream_calls, before) << "the method ran";
  // The refusal is in the audit log before the caller hears of it.
  std::vector<storage::AuditEvent> events = Audit();
  ASSERT_EQ(events.size(), audited + 1);
  EXPECT_EQ(events.back().action, "admin.refused");
  EXPECT_EQ(events.back().actor, "admin:bob (auditor)");
  EXPECT_EQ(events.back().target, "/custody.v1.testing.Echo/Stream");
  EXPECT_THAT(events.back().details, HasSubstr("not allowed for the auditor role"));
  EXPECT_THAT(Metrics(), HasSubstr("custody_admin_refusals_total{method=\"/custody.v1.testing.Echo/"
                                   "Stream\",check=\"admin.role\"} 1"));
}

TEST_F(TlsTest, AdminPortRefusesAMethodItsTableDoesNotName) {
  const size_t audited = Audit().size();
  grpc::Status status = CallUnknown(admin_port_, As("alice"), "/custody.v1.testing.Echo/Missing");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            "admin.method: /custody.v1.testing.Echo/Missing is not an admin method of this "
            "service");
  EXPECT_EQ(ErrorDetailOf(status).check(), "admin.method");
  std::vector<storage::AuditEvent> events = Audit();
  ASSERT_EQ(events.size(), audited + 1);
  EXPECT_EQ(events.back().actor, "admin:alice (operator)");
  EXPECT_EQ(events.back().target, "/custody.v1.testing.Echo/Missing");
  // A name the table does not know is not a label: callers cannot grow the series.
  EXPECT_THAT(Metrics(), HasSubstr("method=\"unknown\",check=\"admin.method\"} 1"));
  EXPECT_THAT(Metrics(), ::testing::Not(HasSubstr("Echo/Missing")));
}

TEST_F(TlsTest, AdminPortVerifiesTheCertificateAgainstItsOwnClock) {
  // The handshake checks validity against the real time; the authorizer checks it
  // again against the service's clock. Past the credential's expiry it refuses.
  const int before = service_->unary_calls;
  clock_->Advance(absl::Hours(25));
  grpc::Status status = Call(admin_port_, As("alice"), "whoami");
  clock_->SetWallTime(absl::Now());
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(),
              HasSubstr("admin.certificate: client certificate is not an admin credential"));
  EXPECT_EQ(ErrorDetailOf(status).check(), "admin.certificate");
  EXPECT_EQ(service_->unary_calls, before) << "the method ran";
  EXPECT_EQ(Audit().back().action, "admin.refused");
  EXPECT_TRUE(Call(admin_port_, As("alice"), "whoami").ok());
}

TEST(AdminRolesTest, TheTableMustDecideEveryMethodOfTheService) {
  using pki::AdminRole;
  const std::string service = Echo::service_full_name();
  EXPECT_TRUE(
      AdminRoles(service, {{"Unary", {AdminRole::kAuditor}}, {"Stream", {AdminRole::kOperator}}})
          .ok());
  auto message = [&](auto roles) { return std::string(roles.status().message()); };
  EXPECT_EQ(message(AdminRoles(service, {{"Unary", {AdminRole::kAuditor}}})),
            "/custody.v1.testing.Echo/Stream has no entry in its role table");
  EXPECT_EQ(message(AdminRoles(service, {{"Unary", {AdminRole::kAuditor}}, {"Stream", {}}})),
            "/custody.v1.testing.Echo/Stream allows no role");
  EXPECT_EQ(message(AdminRoles(
                service, {{"Unary", {AdminRole::kAuditor}}, {"Unary", {AdminRole::kOperator}}})),
            "/custody.v1.testing.Echo/Unary is named twice in its role table");
  EXPECT_EQ(message(AdminRoles(service, {{"Unary", {AdminRole::kAuditor}},
                                         {"Stream", {AdminRole::kAuditor}},
                                         {"Nope", {AdminRole::kAuditor}}})),
            "/custody.v1.testing.Echo/Nope is not a method of custody.v1.testing.Echo");
  EXPECT_EQ(AdminRoles("custody.v1.NoSuch", {}).status().code(), absl::StatusCode::kInternal);
  AdminRoleTable table = StandardAdminRoles();
  EXPECT_EQ(
      MergeAdminRoles(table, {{"/grpc.health.v1.Health/Check", {AdminRole::kOperator}}}).message(),
      "/grpc.health.v1.Health/Check is named by two role tables");
}

TEST_F(TlsTest, AdminPortRefusesMissingAndForeignClientCertificates) {
  EXPECT_EQ(Call(admin_port_, As(""), "whoami").error_code(), grpc::StatusCode::UNAVAILABLE);
  auto mallory = ClientCredentials(Read(root_ + "/service/tls-ca.pem"),
                                   Read(root_ + "/mallory.key"), Read(root_ + "/mallory.pem"));
  EXPECT_EQ(Call(admin_port_, mallory, "whoami").error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace custody::server
