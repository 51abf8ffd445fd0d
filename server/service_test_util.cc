#include "server/service_test_util.h"

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/base/clock.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/pki/service_identity.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "server/credentials.h"

namespace custody::server {

std::string ReadOrFail(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFileBounded(path, 64 * 1024);
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *std::move(text) : std::string();
}

void SetTestDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
}

void IssueTestAdmins(const std::string& state_dir) {
  for (auto [admin, role] : {std::pair{"alice", pki::AdminRole::kOperator},
                             std::pair{"bob", pki::AdminRole::kAuditor}}) {
    absl::Status issued = pki::IssueAdminCredential(state_dir, admin, role, absl::Hours(24),
                                                    absl::StrCat(state_dir, "/", admin),
                                                    SystemClock(), SystemRandom());
    EXPECT_TRUE(issued.ok()) << issued;
  }
}

std::shared_ptr<grpc::Channel> TestChannel(const std::string& state_dir, int port,
                                           const std::string& admin) {
  auto credentials = ClientCredentials(
      ReadOrFail(state_dir + "/tls-ca.pem"),
      admin.empty() ? "" : ReadOrFail(absl::StrCat(state_dir, "/", admin, ".key")),
      admin.empty() ? "" : ReadOrFail(absl::StrCat(state_dir, "/", admin, ".pem")));
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port), credentials, args);
}

}  // namespace custody::server
