// TO0 and TO1 with both sides in one process and no transport: the client's
// messages go straight to the server session and back. For tests, benchmarks and
// the load tool's database fill; the services run the same sessions over gRPC.

#ifndef CUSTODY_CORE_PROTOCOL_LOCAL_EXCHANGE_H_
#define CUSTODY_CORE_PROTOCOL_LOCAL_EXCHANGE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/signer.h"
#include "core/protocol/to0_client.h"
#include "core/protocol/to0_server.h"
#include "core/protocol/to1_client.h"
#include "core/protocol/to1_server.h"
#include "core/storage/store.h"
#include "custody/v1/rendezvous.pb.h"

namespace custody::protocol {

// Adds `manufacturer` to the store's trust list, as an operator would.
absl::Status TrustLocally(storage::Store& store, const crypto::EcPublicKey& manufacturer,
                          absl::string_view label);

// Either side's refusal ends the exchange and is returned.
absl::StatusOr<v1::To0AcceptOwner> RunTo0Locally(To0Registration request,
                                                 const crypto::Signer& owner,
                                                 const To0ServerDeps& deps,
                                                 const std::string& peer);

absl::StatusOr<OwnerLocation> RunTo1Locally(To1DeviceIdentity identity, const To1ServerDeps& deps);

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_LOCAL_EXCHANGE_H_
