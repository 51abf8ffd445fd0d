// Fuzz target: the TO2 sessions fed untrusted messages. The input is a selector
// byte and up to eight messages, each a 2-byte big-endian length and that many
// bytes, parsed strictly as the session's request (or, for the device, response)
// type:
//   selector % 2 == 0: the owner's session (a device's messages);
//   selector % 2 == 1: the device's session (an owner's answers).
// Nothing may crash; no fuzzed device may change the owner's store or finish the
// session (it cannot sign as the device over the owner's fresh nonce); and no
// fuzzed owner may finish the device's session (it cannot sign the device's fresh
// nonce as the voucher's owner).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "core/base/clock.h"
#include "core/base/proto_parse.h"
#include "core/base/random.h"
#include "core/crypto/x509_issue.h"
#include "core/protocol/fuzz/fuzz_messages.h"
#include "core/protocol/to2_client.h"
#include "core/protocol/to2_format.h"
#include "core/protocol/to2_server.h"
#include "core/storage/memory_store.h"
#include "core/voucher/sample_voucher.h"

namespace custody::protocol {
namespace {

struct World {
  std::unique_ptr<storage::Store> store = storage::NewMemoryStore();
  std::unique_ptr<voucher::SampleVoucherSet> set;
  std::optional<crypto::EcPrivateKey> ca_key;
  OwnerKeys keys;
  OnboardingPolicy policy;
  std::string guid;
  std::string snapshot;  // The owner's store, to compare after each input.
};

std::string Snapshot(World& world) {
  std::string out;
  (void)world.store->Transact([&](storage::Transaction& tx) -> absl::Status {
    absl::StatusOr<storage::OwnedDevicePage> page = tx.owned_devices().List("", 10);
    if (!page.ok()) std::abort();
    for (const storage::OwnedDeviceRecord& r : page->records) {
      out += r.guid + r.replacement_guid + r.replacement_voucher + r.enrolment +
             std::to_string(r.revision);
    }
    absl::StatusOr<std::vector<storage::AuditEvent>> audit = tx.audit().List(0, 10);
    if (!audit.ok()) std::abort();
    out += std::to_string(audit->size());
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
    w->ca_key.emplace(*crypto::EcPrivateKey::Generate(crypto::Curve::kP256));
    w->keys.voucher_keys = {&w->set->owner_keys.back()};
    w->keys.device_ca_key = &*w->ca_key;
    w->keys.device_ca_chain = {*crypto::CreateSelfSignedCa(
        *w->ca_key, {"fuzz CA", "fuzz", ""}, options.now - absl::Hours(1),
        options.now + absl::Hours(24 * 365), SystemRandom())};
    v1::VoucherHeader header;
    header.ParseFromString(w->set->stages[0].header());
    w->guid = header.guid().value();
    storage::OwnedDeviceRecord record;
    record.guid = w->guid;
    record.model = header.device_info().model();
    record.serial = header.device_info().serial();
    record.voucher = w->set->stages.back().SerializeAsString();
    if (!w->store
             ->Transact([&](storage::Transaction& tx) { return tx.owned_devices().Insert(record); })
             .ok()) {
      std::abort();
    }
    w->snapshot = Snapshot(*w);
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
      SplitMessages(absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), 8);
  if (data[0] % 2 == 0) {
    To2ServerSession owner(
        {world.store.get(), &SystemClock(), &SystemRandom(), &world.keys, &world.policy});
    for (const std::string& bytes : messages) {
      v1::To2Request request;
      if (!ParseFuzzed(bytes, kMaxTo2MessageSize, &request) || !owner.Handle(request).ok()) break;
    }
    if (owner.done() || Snapshot(world) != world.snapshot) std::abort();
  } else {
    To2DeviceInputs inputs;
    inputs.guid = world.guid;
    inputs.header_bytes = world.set->stages[0].header();
    inputs.device_certificate_chain.assign(world.set->stages[0].device_certificate_chain().begin(),
                                           world.set->stages[0].device_certificate_chain().end());
    inputs.attestation_key = &world.set->device_key;
    inputs.hmac_secret = &world.set->device_secret;
    inputs.manufacturer_key = world.set->manufacturer_key.public_key();
    inputs.clock = &SystemClock();
    inputs.random = &SystemRandom();
    To2ClientSession device(std::move(inputs));
    if (!device.Start().ok()) std::abort();
    for (const std::string& bytes : messages) {
      v1::To2Response response;
      if (!ParseFuzzed(bytes, kMaxTo2MessageSize, &response) || !device.Handle(response).ok())
        break;
    }
    if (device.done()) std::abort();
  }
  return 0;
}
