// Listening addresses as the configuration gives them ("127.0.0.1:8040",
// "[::]:8040", "localhost:0"), checked before anything binds, so that a wrong
// one is refused at start with its field named rather than left to gRPC.

#ifndef CUSTODY_SERVER_LISTEN_ADDRESS_H_
#define CUSTODY_SERVER_LISTEN_ADDRESS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace custody::server {

struct ListenAddress {
  std::string host;   // Without brackets: "127.0.0.1", "::", "localhost".
  uint32_t port = 0;  // 0: the system picks one.
  bool wildcard() const { return host == "0.0.0.0" || host == "::" || host.empty(); }
};

// INVALID_ARGUMENT naming `field` when the address has no port, a port that is
// not a number from 0 to 65535, or an empty or malformed host.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view field,
                                                 absl::string_view address);

struct NamedAddress {
  std::string field;  // "server.listen_address"
  std::string address;
};

// Parses each, then refuses (INVALID_ARGUMENT naming both fields) two that would
// listen on one port: the same fixed port on the same host, or on any host when
// either is a wildcard.
absl::Status CheckListenAddresses(const std::vector<NamedAddress>& addresses);

}  // namespace custody::server

#endif  // CUSTODY_SERVER_LISTEN_ADDRESS_H_
