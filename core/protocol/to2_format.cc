#include "core/protocol/to2_format.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/base/secret_bytes.h"
#include "core/base/status.h"
#include "core/crypto/ecdh.h"
#include "core/crypto/hkdf.h"

namespace custody::protocol {
namespace {

constexpr absl::string_view kKeyInfo = "custody.v1.To2 session keys";
constexpr absl::string_view kDeviceToOwner = "custody.v1.To2 device->owner";
constexpr absl::string_view kOwnerToDevice = "custody.v1.To2 owner->device";

std::string CounterNonce(uint64_t counter) {
  std::string nonce(crypto::kAesGcmNonceSize, '\0');
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<char>(counter >> (56 - 8 * i));
  return nonce;
}

bool IsSettingKeyChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

}  // namespace

absl::StatusOr<SuiteParameters> ParametersOf(v1::To2Suite suite, absl::string_view check) {
  switch (suite) {
    case v1::TO2_SUITE_ECDH_P256_AES256GCM:
      return SuiteParameters{crypto::Curve::kP256, crypto::HashAlgorithm::kSha256};
    case v1::TO2_SUITE_ECDH_P384_AES256GCM:
      return SuiteParameters{crypto::Curve::kP384, crypto::HashAlgorithm::kSha384};
    default:
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat("unknown TO2 suite ", static_cast<int>(suite)));
  }
}

std::vector<v1::To2Suite> DefaultSuites(crypto::Curve attestation_curve) {
  if (attestation_curve == crypto::Curve::kP384) {
    return {v1::TO2_SUITE_ECDH_P384_AES256GCM, v1::TO2_SUITE_ECDH_P256_AES256GCM};
  }
  return {v1::TO2_SUITE_ECDH_P256_AES256GCM, v1::TO2_SUITE_ECDH_P384_AES256GCM};
}

absl::Status To2FormatError(absl::string_view detail) {
  return CheckFailed(absl::StatusCode::kInvalidArgument, "to2.format", detail);
}

absl::Status To2Unparsed(const absl::Status& parsed) {
  return CheckFailed(parsed.code(), "to2.format", parsed.message());
}

std::string TranscriptHash(crypto::HashAlgorithm algorithm,
                           std::initializer_list<absl::string_view> parts) {
  std::string bytes;
  for (absl::string_view part : parts) {
    const uint32_t n = static_cast<uint32_t>(part.size());
    for (int i = 3; i >= 0; --i) bytes.push_back(static_cast<char>(n >> (8 * i)));
    bytes.append(part.data(), part.size());
  }
  return crypto::ComputeHash(algorithm, bytes);
}

absl::Status ValidateSettings(const google::protobuf::RepeatedPtrField<v1::Setting>& settings,
                              absl::string_view check) {
  if (static_cast<size_t>(settings.size()) > kMaxSettings) {
    return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                       absl::StrCat("at most ", kMaxSettings, " settings"));
  }
  for (int i = 0; i < settings.size(); ++i) {
    const v1::Setting& setting = settings[i];
    const std::string& key = setting.key();
    bool key_ok = !key.empty() && key.size() <= kMaxSettingKeyLength;
    for (char c : key) key_ok = key_ok && IsSettingKeyChar(c);
    if (!key_ok) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat("setting ", i + 1, ": a key is 1..", kMaxSettingKeyLength,
                                      " bytes of letters, digits, '.', '_' and '-'"));
    }
    if (setting.value().size() > kMaxSettingValueLength) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat("setting \"", key, "\": a value is at most ",
                                      kMaxSettingValueLength, " bytes"));
    }
    if (i > 0 && !(settings[i - 1].key() < key)) {
      return CheckFailed(absl::StatusCode::kInvalidArgument, check,
                         absl::StrCat("setting \"", key, "\": keys must be unique and sorted"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<To2Channel> To2Channel::Establish(Side side, const SuiteParameters& suite,
                                                 const crypto::EcPrivateKey& own_ephemeral,
                                                 const crypto::EcPublicKey& peer_ephemeral,
                                                 absl::string_view transcript_hash) {
  if (own_ephemeral.curve() != suite.curve || peer_ephemeral.curve() != suite.curve) {
    return absl::InvalidArgumentError("a TO2 key exchange key is not on the suite's curve");
  }
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes shared,
                           crypto::EcdhSharedSecret(own_ephemeral, peer_ephemeral));
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes keys, crypto::Hkdf(suite.hash, shared, transcript_hash,
                                                          kKeyInfo, 2 * crypto::kAesGcmKeySize));
  const absl::Span<const uint8_t> all = keys.span();
  CUSTODY_ASSIGN_OR_RETURN(
      crypto::Aes256Gcm device_to_owner,
      crypto::Aes256Gcm::New(SecretBytes::CopyFrom(all.subspan(0, crypto::kAesGcmKeySize))));
  CUSTODY_ASSIGN_OR_RETURN(crypto::Aes256Gcm owner_to_device,
                           crypto::Aes256Gcm::New(SecretBytes::CopyFrom(
                               all.subspan(crypto::kAesGcmKeySize, crypto::kAesGcmKeySize))));
  if (side == Side::kDevice) {
    return To2Channel(std::move(device_to_owner), std::move(owner_to_device), side);
  }
  return To2Channel(std::move(owner_to_device), std::move(device_to_owner), side);
}

absl::StatusOr<std::string> To2Channel::Seal(absl::string_view plaintext) {
  const absl::string_view aad = side_ == Side::kDevice ? kDeviceToOwner : kOwnerToDevice;
  CUSTODY_ASSIGN_OR_RETURN(std::string sealed, send_.Seal(CounterNonce(sent_), plaintext, aad));
  ++sent_;
  return sealed;
}

absl::StatusOr<std::string> To2Channel::Open(absl::string_view sealed) {
  const absl::string_view aad = side_ == Side::kDevice ? kOwnerToDevice : kDeviceToOwner;
  absl::StatusOr<std::string> plaintext = receive_.Open(CounterNonce(received_), sealed, aad);
  if (!plaintext.ok()) {
    return CheckFailed(absl::StatusCode::kUnauthenticated, "to2.sealed",
                       absl::StrCat("sealed message ", received_,
                                    " does not open under this session's key (altered, "
                                    "replayed, reordered or from another session)"));
  }
  ++received_;
  return plaintext;
}

}  // namespace custody::protocol
