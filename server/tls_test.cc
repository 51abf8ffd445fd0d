// Real TLS on loopback: the device-facing port authenticates the server; the admin
// port demands a client certificate from the admin CA and checks its role per RPC.

#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"
#include "custody/v1/echo_test.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/admin_auth.h"
#include "server/credentials.h"
#include "server/grpc_status.h"

namespace custody::server {
namespace {

using ::testing::HasSubstr;
using v1::testing::Echo;
using v1::testing::EchoReply;
using v1::testing::EchoRequest;

// "whoami" answers the admin caller; "operator-only" needs the operator role;
// anything else is echoed.
class EchoService final : public Echo::Service {
 public:
  explicit EchoService(const crypto::Certificate& admin_ca) : admin_ca_(admin_ca) {}

  grpc::Status Unary(grpc::ServerContext* context, const EchoRequest* request,
                     EchoReply* reply) override {
    if (request->data() == "whoami" || request->data() == "operator-only") {
      absl::StatusOr<AdminCaller> caller = AuthenticateAdmin(*context, admin_ca_, absl::Now());
      if (!caller.ok()) return ToGrpcStatus(caller.status());
      if (request->data() == "operator-only") {
        absl::Status allowed = RequireRole(*caller, {pki::AdminRole::kOperator}, "OperatorOnly");
        if (!allowed.ok()) return ToGrpcStatus(allowed);
      }
      reply->set_data(absl::StrCat(caller->name, " ", pki::AdminRoleName(caller->role)));
      return grpc::Status::OK;
    }
    reply->set_data(request->data());
    return grpc::Status::OK;
  }

 private:
  const crypto::Certificate& admin_ca_;
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
    service_ = new EchoService(identity_->admin_ca);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", *DeviceFacingCredentials(*identity_), &device_port_);
    builder.AddListeningPort("127.0.0.1:0", *AdminCredentials(*identity_), &admin_port_);
    builder.RegisterService(service_);
    server_ = builder.BuildAndStart().release();
    ASSERT_NE(server_, nullptr);
  }

  static void TearDownTestSuite() {
    server_->Shutdown();
    delete server_;
    delete service_;
    delete identity_;
  }

  // Calls Unary on `port` with `credentials`.
  static grpc::Status Call(int port, std::shared_ptr<grpc::ChannelCredentials> credentials,
                           const std::string& data, std::string* reply_data = nullptr) {
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("localhost");
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), credentials, args);
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
  static grpc::Server* server_;
  static int device_port_;
  static int admin_port_;
};

std::string TlsTest::root_;
pki::ServiceIdentity* TlsTest::identity_ = nullptr;
EchoService* TlsTest::service_ = nullptr;
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
  EXPECT_THAT(status.error_message(), HasSubstr("needs a client certificate"));
}

TEST_F(TlsTest, AdminPortKnowsTheCallerAndRole) {
  std::string reply;
  grpc::Status status = Call(admin_port_, As("alice"), "whoami", &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply, "alice operator");
  EXPECT_TRUE(Call(admin_port_, As("alice"), "operator-only").ok());
  ASSERT_TRUE(Call(admin_port_, As("bob"), "whoami", &reply).ok());
  EXPECT_EQ(reply, "bob auditor");
}

TEST_F(TlsTest, AdminPortChecksTheRolePerRpc) {
  grpc::Status status = Call(admin_port_, As("bob"), "operator-only");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(), "admin.role: OperatorOnly is not allowed for the auditor role");
  EXPECT_EQ(ErrorDetailOf(status).fdo_error_code(), 101u);
}

TEST_F(TlsTest, AdminPortRefusesMissingAndForeignClientCertificates) {
  EXPECT_EQ(Call(admin_port_, As(""), "whoami").error_code(), grpc::StatusCode::UNAVAILABLE);
  auto mallory = ClientCredentials(Read(root_ + "/service/tls-ca.pem"),
                                   Read(root_ + "/mallory.key"), Read(root_ + "/mallory.pem"));
  EXPECT_EQ(Call(admin_port_, mallory, "whoami").error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace custody::server
