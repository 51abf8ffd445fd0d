// Fuzz target: the rendezvous sessions fed untrusted messages. The input is a
// selector byte and up to four messages, each a 2-byte big-endian length and
// that many bytes, parsed strictly as the session's request (or, for the device,
// response) type:
//   selector % 3 == 0: TO0 server (an owner's messages);
//   selector % 3 == 1: TO1 server (a device's messages);
//   selector % 3 == 2: TO1 client (a rendezvous service's answers).
// Nothing may crash; no fuzzed TO0 may change the store (it cannot sign as the
// owner nor guess the nonce); TO1 never writes; and no fuzzed answer may convince
// the device (it cannot forge the owner's signature or the device's HMAC).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/proto_parse.h"
#include "core/base/random.h"
#include "core/protocol/fuzz/fuzz_messages.h"
#include "core/protocol/local_exchange.h"
#include "core/protocol/rendezvous_format.h"
#include "core/protocol/to0_server.h"
#include "core/protocol/to1_client.h"
#include "core/protocol/to1_server.h"
#include "core/storage/memory_store.h"
#include "core/voucher/sample_voucher.h"

namespace custody::protocol {
namespace {

struct World {
  std::unique_ptr<storage::Store> store = storage::NewMemoryStore();
  std::unique_ptr<voucher::SampleVoucherSet> set;
  std::string guid;
  std::string registration;  // The registration's bytes, to compare after each input.
};

std::string Snapshot(World& world) {
  std::string out;
  (void)world.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    absl::StatusOr<storage::RegistrationPage> page = tx.registrations().List("", 10);
    if (!page.ok()) std::abort();
    for (const storage::RegistrationRecord& r : page->records) {
      out += r.guid + r.voucher + r.device_key + r.owner_chain + r.address_record +
             std::to_string(absl::ToUnixMicros(r.expires_at));
    }
    return absl::OkStatus();
  });
  return out;
}

World& TheWorld() {
  static World* const world = [] {
    auto* w = new World;
    voucher::SampleOptions options;
    options.now = absl::Now();
    w->set = std::make_unique<voucher::SampleVoucherSet>(
        *voucher::MakeSampleVoucherSet(options, SystemRandom()));
    (void)TrustLocally(*w->store, w->set->manufacturer_key.public_key(), "fuzz");
    To0Registration registration;
    registration.voucher = w->set->stages.back();
    registration.addresses = {GrpcTlsAddress("owner.example", 8043)};
    registration.lifetime = absl::Hours(24);
    if (!RunTo0Locally(registration, w->set->owner_keys.back(),
                       {w->store.get(), &SystemClock(), &SystemRandom(), absl::Hours(24)}, "seed")
             .ok()) {
      std::abort();
    }
    v1::VoucherHeader header;
    header.ParseFromString(w->set->stages[0].header());
    w->guid = header.guid().value();
    w->registration = Snapshot(*w);
    return w;
  }();
  return *world;
}

}  // namespace
}  // namespace custody::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace custody;            // NOLINT: a fuzz entry point.
  using namespace custody::protocol;  // NOLINT
  if (size == 0) return 0;
  World& world = TheWorld();
  const std::vector<std::string> messages =
      SplitMessages(absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 4);
  switch (data[0] % 3) {
    case 0: {
      To0ServerSession server({world.store.get(), &SystemClock(), &SystemRandom(), absl::Hours(24)},
                              "fuzz");
      for (const std::string& bytes : messages) {
        v1::To0Request request;
        if (!ParseFuzzed(bytes, kMaxRendezvousMessageSize, &request) ||
            !server.Handle(request).ok()) {
          break;
        }
      }
      if (server.done() || Snapshot(world) != world.registration) std::abort();
      break;
    }
    case 1: {
      To1ServerSession server({world.store.get(), &SystemClock(), &SystemRandom()});
      for (const std::string& bytes : messages) {
        v1::To1Request request;
        if (!ParseFuzzed(bytes, kMaxRendezvousMessageSize, &request) ||
            !server.Handle(request).ok()) {
          break;
        }
      }
      if (server.done() || Snapshot(world) != world.registration) std::abort();
      break;
    }
    case 2: {
      To1DeviceIdentity identity;
      identity.guid = world.guid;
      identity.header_bytes = world.set->stages[0].header();
      identity.attestation_key = &world.set->device_key;
      identity.hmac_secret = &world.set->device_secret;
      To1ClientSession client(identity);
      if (!client.Start().ok()) std::abort();
      for (const std::string& bytes : messages) {
        v1::To1Response response;
        if (!ParseFuzzed(bytes, kMaxRendezvousMessageSize, &response) ||
            !client.Handle(response).ok()) {
          break;
        }
      }
      // A real voucher and a real owner-signed record are in the store; the fuzzer
      // could only replay them from its corpus, and that is a valid answer.
      if (client.done() && client.location().owner_key->spki_der() !=
                               world.set->owner_keys.back().public_key().spki_der()) {
        std::abort();
      }
      break;
    }
  }
  return 0;
}
