// What the in-process gRPC tests of every service share: a service's state
// directory holds its TLS CA and the admin credentials the test issued there.

#ifndef CUSTODY_SERVER_SERVICE_TEST_UTIL_H_
#define CUSTODY_SERVER_SERVICE_TEST_UTIL_H_

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"

namespace custody::server {

// The file's contents (at most 64 KiB); a test failure and "" when unreadable.
std::string ReadOrFail(const std::string& path);

// Ten seconds from now.
void SetTestDeadline(grpc::ClientContext& context);

// Issues the admin credentials "alice" (operator) and "bob" (auditor) from the
// admin CA in `state_dir`, as `state_dir`/alice.key|pem and bob.key|pem.
void IssueTestAdmins(const std::string& state_dir);

// A channel to 127.0.0.1:`port` that trusts `state_dir`/tls-ca.pem and presents
// the admin credential `admin` from `state_dir` (none when empty).
std::shared_ptr<grpc::Channel> TestChannel(const std::string& state_dir, int port,
                                           const std::string& admin);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_SERVICE_TEST_UTIL_H_
