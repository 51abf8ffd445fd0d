#include "server/listen_address.h"

#include <arpa/inet.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace custody::server {
namespace {

bool ValidHostName(absl::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view field,
                                                 absl::string_view address) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", address, "\": ", why,
                     " (write host:port, e.g. 127.0.0.1:8040 or [::1]:8040; port 0 picks one)"));
  };
  if (address.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is required"));
  ListenAddress out;
  absl::string_view port;
  if (address.front() == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return invalid("an IPv6 address without its ']'");
    out.host = std::string(address.substr(1, close - 1));
    unsigned char bytes[16];
    if (::inet_pton(AF_INET6, out.host.c_str(), bytes) != 1) return invalid("not an IPv6 address");
    if (close + 1 >= address.size() || address[close + 1] != ':') return invalid("no port");
    port = address.substr(close + 2);
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return invalid("no port");
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return invalid("an IPv6 address must be in brackets");
    }
    if (!ValidHostName(out.host)) return invalid("not a host name or IPv4 address");
    port = address.substr(colon + 1);
  }
  uint32_t number = 0;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
      !absl::SimpleAtoi(port, &number) || number > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  out.port = number;
  return out;
}

absl::Status CheckListenAddresses(const std::vector<NamedAddress>& addresses) {
  std::vector<ListenAddress> parsed;
  parsed.reserve(addresses.size());
  for (const NamedAddress& named : addresses) {
    absl::StatusOr<ListenAddress> address = ParseListenAddress(named.field, named.address);
    if (!address.ok()) return address.status();
    for (size_t i = 0; i < parsed.size(); ++i) {
      const ListenAddress& other = parsed[i];
      if (address->port == 0 || address->port != other.port) continue;
      if (address->host == other.host || address->wildcard() || other.wildcard()) {
        return absl::InvalidArgumentError(absl::StrCat(named.field, " and ", addresses[i].field,
                                                       " both listen on port ", address->port,
                                                       "; give each its own port"));
      }
    }
    parsed.push_back(*std::move(address));
  }
  return absl::OkStatus();
}

}  // namespace custody::server
