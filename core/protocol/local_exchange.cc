#include "core/protocol/local_exchange.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "core/base/status.h"

namespace custody::protocol {
namespace {

template <typename Client, typename Server, typename Request, typename Response>
absl::Status Exchange(Client& client, Server& server) {
  CUSTODY_ASSIGN_OR_RETURN(Request message, client.Start());
  while (true) {
    CUSTODY_ASSIGN_OR_RETURN(Response response, server.Handle(message));
    CUSTODY_ASSIGN_OR_RETURN(std::optional<Request> next, client.Handle(response));
    if (!next.has_value()) return absl::OkStatus();
    message = *std::move(next);
  }
}

}  // namespace

absl::Status TrustLocally(storage::Store& store, const crypto::EcPublicKey& manufacturer,
                          absl::string_view label) {
  return store.Transact([&](storage::Transaction& tx) {
    storage::TrustedKeyRecord trusted;
    trusted.spki_der = manufacturer.spki_der();
    trusted.fingerprint = manufacturer.Fingerprint();
    trusted.label = std::string(label);
    trusted.added_at = absl::Now();
    return tx.trusted_keys().Insert(trusted);
  });
}

absl::StatusOr<v1::To0AcceptOwner> RunTo0Locally(To0Registration request,
                                                 const crypto::Signer& owner,
                                                 const To0ServerDeps& deps,
                                                 const std::string& peer) {
  CUSTODY_ASSIGN_OR_RETURN(To0ClientSession client,
                           To0ClientSession::New(std::move(request), owner));
  To0ServerSession server(deps, peer);
  CUSTODY_RETURN_IF_ERROR(
      (Exchange<To0ClientSession, To0ServerSession, v1::To0Request, v1::To0Response>(client,
                                                                                     server)));
  return client.accepted();
}

absl::StatusOr<OwnerLocation> RunTo1Locally(To1DeviceIdentity identity, const To1ServerDeps& deps) {
  To1ClientSession client(std::move(identity));
  To1ServerSession server(deps);
  CUSTODY_RETURN_IF_ERROR(
      (Exchange<To1ClientSession, To1ServerSession, v1::To1Request, v1::To1Response>(client,
                                                                                     server)));
  return client.location();
}

}  // namespace custody::protocol
