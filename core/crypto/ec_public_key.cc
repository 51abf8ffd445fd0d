#include "core/crypto/ec_public_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/constant_time.h"
#include "core/crypto/internal/openssl_util.h"
#include "core/crypto/internal/pem.h"

namespace custody::crypto {

using internal::BioPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OpenSslError;

namespace {

// SubjectPublicKeyInfo DER up to the point, for a named-curve uncompressed key:
// SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING { 00 04 X Y } }.
constexpr absl::string_view kP256SpkiPrefix(
    "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d\x03\x01"
    "\x07\x03\x42\x00",
    26);
constexpr absl::string_view kP384SpkiPrefix(
    "\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22\x03\x62"
    "\x00",
    23);

absl::string_view SpkiPrefix(Curve curve) {
  return curve == Curve::kP256 ? kP256SpkiPrefix : kP384SpkiPrefix;
}

size_t PointSize(Curve curve) { return 1 + 2 * CurveFieldSize(curve); }

// A parameters-only key per curve; keys are made by copying it and setting the
// point, which skips building the curve group each time.
EVP_PKEY* TemplateKey(Curve curve) {
  auto make = [](const char* group) {
    EVP_PKEY* key = nullptr;
    EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
    if (ctx == nullptr || EVP_PKEY_paramgen_init(ctx.get()) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx.get(), group) != 1 ||
        EVP_PKEY_paramgen(ctx.get(), &key) != 1) {
      std::abort();  // OpenSSL without P-256/P-384: nothing can work.
    }
    return key;
  };
  static EVP_PKEY* const p256 = make("P-256");
  static EVP_PKEY* const p384 = make("P-384");
  return curve == Curve::kP256 ? p256 : p384;
}

// Explains why `der` is not a canonical key, using OpenSSL's generic decoder.
// Only refusals come here, so its cost does not matter.
absl::Status ExplainRefusal(absl::string_view der) {
  // Whatever the decoder left on the error queue is cleared on every return.
  struct ClearOnReturn {
    ~ClearOnReturn() { internal::ClearOpenSslErrors(); }
  } clear_on_return;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "public key is not a valid SubjectPublicKeyInfo DER");
  }
  internal::ClearOpenSslErrors();
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        der.size() - static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(der.data())),
        " trailing bytes after the public key DER"));
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("public key is not an elliptic-curve key");
  }
  char encoding[32] = {0};
  if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                     sizeof(encoding), nullptr) == 1 &&
      std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
    return absl::InvalidArgumentError(
        "public key uses explicit curve parameters; only named curves are accepted");
  }
  char group[64] = {0};
  if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     nullptr) == 1 &&
      std::strcmp(group, "prime256v1") != 0 && std::strcmp(group, "secp384r1") != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("public key is on unsupported curve ", group, "; want P-256 or P-384"));
  }
  internal::ClearOpenSslErrors();
  unsigned char point[1 + 2 * 48 + 1];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                      &len) == 1 &&
      len > 0 && point[0] != 0x04) {
    return absl::InvalidArgumentError("public key point is not in uncompressed form");
  }
  internal::ClearOpenSslErrors();
  return absl::InvalidArgumentError("public key DER is not in canonical form");
}

}  // namespace

EcPublicKey::EcPublicKey(std::shared_ptr<EVP_PKEY> pkey, Curve curve, std::string spki_der)
    : pkey_(std::move(pkey)),
      curve_(curve),
      spki_der_(std::make_shared<const std::string>(std::move(spki_der))) {}

absl::StatusOr<EcPublicKey> EcPublicKey::FromSpkiDer(absl::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("public key is empty");
  if (der.size() > kMaxPublicKeyDerSize) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "public key of ", der.size(), " bytes exceeds the limit of ", kMaxPublicKeyDerSize));
  }
  for (Curve curve : {Curve::kP256, Curve::kP384}) {
    const absl::string_view prefix = SpkiPrefix(curve);
    if (der.size() != prefix.size() + PointSize(curve) || der.substr(0, prefix.size()) != prefix ||
        der[prefix.size()] != '\x04') {
      continue;
    }
    const absl::string_view point = der.substr(prefix.size());
    std::shared_ptr<EVP_PKEY> pkey(EVP_PKEY_dup(TemplateKey(curve)), EVP_PKEY_free);
    if (pkey == nullptr) return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_dup failed");
    // Loading the point checks that it lies on the curve; the point at infinity
    // has no uncompressed encoding, so every accepted key is a valid point.
    if (EVP_PKEY_set1_encoded_public_key(
            pkey.get(), reinterpret_cast<const unsigned char*>(point.data()), point.size()) != 1) {
      return OpenSslError(absl::StatusCode::kInvalidArgument,
                          "public key point is not a valid point of the curve");
    }
    return EcPublicKey(std::move(pkey), curve, std::string(der));
  }
  return ExplainRefusal(der);
}

absl::StatusOr<EcPublicKey> EcPublicKey::FromUncompressedPoint(Curve curve,
                                                               absl::string_view point) {
  // SubjectPublicKeyInfo { id-ecPublicKey, namedCurve } up to the BIT STRING's
  // unused-bits byte; the point completes it.
  static constexpr absl::string_view kP256Prefix(
      "\x30\x59\x30\x13\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x08\x2a\x86\x48\xce\x3d"
      "\x03\x01\x07\x03\x42\x00",
      26);
  static constexpr absl::string_view kP384Prefix(
      "\x30\x76\x30\x10\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x06\x05\x2b\x81\x04\x00\x22"
      "\x03\x62\x00",
      23);
  if (point.size() != 1 + 2 * CurveFieldSize(curve) || point[0] != '\x04') {
    return absl::InvalidArgumentError(
        absl::StrCat("public key point is not an uncompressed ", CurveName(curve), " point"));
  }
  return FromSpkiDer(absl::StrCat(curve == Curve::kP256 ? kP256Prefix : kP384Prefix, point));
}

absl::StatusOr<EcPublicKey> EcPublicKey::FromEvpPkey(const EVP_PKEY* pkey) {
  if (pkey == nullptr) return absl::InvalidArgumentError("no public key");
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("public key is not an elliptic-curve key");
  }
  char encoding[32] = {0};
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding, sizeof(encoding),
                                     nullptr) != 1 ||
      std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
    // OpenSSL may map explicit parameters that equal a named curve to its name;
    // the encoding still says they were explicit.
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError(
        "public key uses explicit curve parameters; only named curves are accepted");
  }
  char group[64] = {0};
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                     nullptr) != 1) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("public key names no curve");
  }
  Curve curve;
  if (std::strcmp(group, "prime256v1") == 0) {
    curve = Curve::kP256;
  } else if (std::strcmp(group, "secp384r1") == 0) {
    curve = Curve::kP384;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("public key is on unsupported curve ", group, "; want P-256 or P-384"));
  }
  unsigned char point[1 + 2 * 48];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len) !=
      1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "public key has no readable point");
  }
  if (len != PointSize(curve) || point[0] != 0x04) {
    return absl::InvalidArgumentError("public key point is not in uncompressed form");
  }
  const absl::string_view prefix = SpkiPrefix(curve);
  std::string spki(prefix.data(), prefix.size());
  spki.append(reinterpret_cast<const char*>(point), len);
  return FromSpkiDer(spki);
}

absl::StatusOr<EcPublicKey> EcPublicKey::FromSpkiPem(absl::string_view pem) {
  CUSTODY_ASSIGN_OR_RETURN(
      SecretBytes der,
      internal::ReadPemBlock(pem, "PUBLIC KEY", "public key PEM", kMaxPublicKeyPemSize));
  return FromSpkiDer(der.Reveal());
}

std::string EcPublicKey::ToSpkiPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio(bio.get(), "PUBLIC KEY", "",
                                      reinterpret_cast<const unsigned char*>(spki_der_->data()),
                                      static_cast<long>(spki_der_->size())) <= 0) {
    std::abort();
  }
  return std::string(internal::BioContents(bio.get()));
}

absl::string_view EcPublicKey::UncompressedPoint() const {
  return absl::string_view(*spki_der_).substr(SpkiPrefix(curve_).size());
}

std::string EcPublicKey::Fingerprint() const { return Sha256(*spki_der_); }

bool SameKey(const EcPublicKey& a, const EcPublicKey& b) {
  return ConstantTimeEquals(a.spki_der(), b.spki_der());
}

}  // namespace custody::crypto
