// What both sides of TO2 share (docs/to2.md): limits, payload types, the suites,
// the transcript, and the sealed channel of messages 65..71.
//
// Session keys: HKDF with the suite's hash over the ephemeral ECDH secret, salted
// with the transcript hash of HelloDevice, the owner's header and the device's
// proof (each u32be(length) || bytes), info "custody.v1.To2 session keys", 64
// bytes: the device -> owner AES-256 key, then the owner -> device key. Each
// direction numbers its messages from 0; the GCM nonce is 4 zero bytes || the
// number as u64be, and the associated data names the direction, so a sealed
// message replayed, reordered, reflected or altered fails to open.

#ifndef CUSTODY_CORE_PROTOCOL_TO2_FORMAT_H_
#define CUSTODY_CORE_PROTOCOL_TO2_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/crypto/aes_gcm.h"
#include "core/crypto/curve.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ec_public_key.h"
#include "core/crypto/hash.h"
#include "custody/v1/owner.pb.h"
#include "custody/v1/voucher.pb.h"

namespace custody::protocol {

inline constexpr char kTo2OwnerHeaderType[] = "custody.v1.To2OwnerHeader";
inline constexpr char kTo2DeviceProofType[] = "custody.v1.To2DeviceProof";
inline constexpr char kTo2SetupDeviceType[] = "custody.v1.To2SetupDevicePayload";

// Nonces (NonceTO2ProveOV, NonceTO2ProveDv, NonceTO2SetupDv): random, single-use.
inline constexpr size_t kTo2NonceSize = 16;
// The largest HelloDevice payload, owner header, device proof and SetupDevice
// payload.
inline constexpr size_t kMaxTo2HelloSize = 1024;
inline constexpr size_t kMaxTo2OwnerHeaderSize = 16 * 1024;
inline constexpr size_t kMaxTo2DeviceProofSize = 1024;
inline constexpr size_t kMaxTo2SetupSize = 16 * 1024;
inline constexpr size_t kMaxTo2Suites = 4;
// The largest TO2 message either side sends or takes (the default of
// maxDeviceMessageSize and maxOwnerMessageSize), and the smallest limit a peer
// may announce.
inline constexpr size_t kMaxTo2MessageSize = 64 * 1024;
inline constexpr size_t kMinTo2MessageSize = 16 * 1024;
// Owner-defined settings: 64 of them at the largest fit in one message with the
// certificates.
inline constexpr size_t kMaxSettings = 64;
inline constexpr size_t kMaxSettingKeyLength = 64;
inline constexpr size_t kMaxSettingValueLength = 512;
inline constexpr size_t kMaxSoftwareVersionLength = 64;
inline constexpr size_t kMaxFleetEndpointLength = 261;  // host (253) ":" port
inline constexpr size_t kMaxTrustAnchors = 8;
inline constexpr size_t kMaxOperationalChainLength = 8;
// The check-in interval an enrolment may set: a minute to a week.
inline constexpr uint32_t kMinCheckInIntervalSeconds = 60;
inline constexpr uint32_t kMaxCheckInIntervalSeconds = 7 * 24 * 3600;

struct SuiteParameters {
  crypto::Curve curve;
  crypto::HashAlgorithm hash;
};
// INVALID_ARGUMENT (check `check`) for UNSPECIFIED or an unknown value.
absl::StatusOr<SuiteParameters> ParametersOf(v1::To2Suite suite, absl::string_view check);
// The suites a device offers by default: its attestation curve's first.
std::vector<v1::To2Suite> DefaultSuites(crypto::Curve attestation_curve);

// to2.format, INVALID_ARGUMENT, with `detail`.
absl::Status To2FormatError(absl::string_view detail);
// A message that did not parse strictly: to2.format with the parser's code
// (RESOURCE_EXHAUSTED over its bound, INVALID_ARGUMENT otherwise).
absl::Status To2Unparsed(const absl::Status& parsed);

// H(u32be(len) || part, ...) with `algorithm`: the transcript hash of the parts.
std::string TranscriptHash(crypto::HashAlgorithm algorithm,
                           std::initializer_list<absl::string_view> parts);

// Whether a voucher's device info and what a device says (its DeviceInfo, or the
// DeviceReport of TO2 service info) name the same model, serial and MUD URL.
template <typename Info>
bool SameDeviceInfo(const v1::DeviceInfo& voucher_info, const Info& said) {
  return voucher_info.model() == said.model() && voucher_info.serial() == said.serial() &&
         voucher_info.mud_url() == said.mud_url();
}

// Checks the settings an owner sends: at most kMaxSettings, keys of 1..64 bytes
// of [A-Za-z0-9._-], unique and sorted, values of at most 512 bytes.
// INVALID_ARGUMENT (check `check`) naming the first bad one.
absl::Status ValidateSettings(const google::protobuf::RepeatedPtrField<v1::Setting>& settings,
                              absl::string_view check);

// One direction pair of sealed TO2 messages. Not thread-safe.
class To2Channel {
 public:
  enum class Side { kDevice, kOwner };

  // Derives the session keys (above). INVALID_ARGUMENT when the ephemeral keys
  // are not on the suite's curve.
  static absl::StatusOr<To2Channel> Establish(Side side, const SuiteParameters& suite,
                                              const crypto::EcPrivateKey& own_ephemeral,
                                              const crypto::EcPublicKey& peer_ephemeral,
                                              absl::string_view transcript_hash);

  To2Channel(To2Channel&&) noexcept = default;
  To2Channel& operator=(To2Channel&&) noexcept = default;

  // The sealed form of the next message this side sends.
  absl::StatusOr<std::string> Seal(absl::string_view plaintext);
  // The plaintext of the next message from the peer. UNAUTHENTICATED
  // ("to2.sealed") when it does not open: altered, replayed, reordered or not
  // from this session.
  absl::StatusOr<std::string> Open(absl::string_view sealed);

 private:
  To2Channel(crypto::Aes256Gcm send, crypto::Aes256Gcm receive, Side side)
      : send_(std::move(send)), receive_(std::move(receive)), side_(side) {}

  crypto::Aes256Gcm send_;
  crypto::Aes256Gcm receive_;
  Side side_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

}  // namespace custody::protocol

#endif  // CUSTODY_CORE_PROTOCOL_TO2_FORMAT_H_
