#include "core/crypto/ec_public_key.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

absl::StatusOr<Curve> CurveOfKey(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    internal::ClearOpenSslErrors();
    return absl::InvalidArgumentError("public key is not an elliptic-curve key");
  }
  char encoding[32] = {0};
  if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                     sizeof(encoding), nullptr) != 1 ||
      std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
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
  if (std::strcmp(group, "prime256v1") == 0) return Curve::kP256;
  if (std::strcmp(group, "secp384r1") == 0) return Curve::kP384;
  return absl::InvalidArgumentError(
      absl::StrCat("public key is on unsupported curve ", group, "; want P-256 or P-384"));
}

absl::Status CheckPoint(EVP_PKEY* pkey, Curve curve) {
  unsigned char point[1 + 2 * 48];
  size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                      &len) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "public key has no readable point");
  }
  if (len != 1 + 2 * CurveFieldSize(curve) || point[0] != 0x04) {
    return absl::InvalidArgumentError("public key point is not in uncompressed form");
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_new failed");
  // For P-256 and P-384 (cofactor 1) the quick check (on the curve, not infinity)
  // is complete; the full check's extra order multiplication adds nothing.
  if (EVP_PKEY_public_check_quick(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "public key point is not a valid point of the curve");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> EncodeSpki(EVP_PKEY* pkey) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey, &der);
  if (len <= 0) return OpenSslError(absl::StatusCode::kInternal, "encoding public key failed");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

EcPublicKey::EcPublicKey(std::shared_ptr<EVP_PKEY> pkey, Curve curve, std::string spki_der)
    : pkey_(std::move(pkey)),
      curve_(curve),
      spki_der_(std::make_shared<const std::string>(std::move(spki_der))) {}

absl::StatusOr<EcPublicKey> EcPublicKey::FromOwnedEvpPkey(EVP_PKEY* raw) {
  std::shared_ptr<EVP_PKEY> pkey(raw, EVP_PKEY_free);
  if (pkey == nullptr) return absl::InvalidArgumentError("no public key");
  CUSTODY_ASSIGN_OR_RETURN(Curve curve, CurveOfKey(pkey.get()));
  CUSTODY_RETURN_IF_ERROR(CheckPoint(pkey.get(), curve));
  CUSTODY_ASSIGN_OR_RETURN(std::string der, EncodeSpki(pkey.get()));
  return EcPublicKey(std::move(pkey), curve, std::move(der));
}

absl::StatusOr<EcPublicKey> EcPublicKey::FromSpkiDer(absl::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("public key is empty");
  if (der.size() > kMaxPublicKeyDerSize) {
    return absl::ResourceExhaustedError(absl::StrCat("public key of ", der.size(),
                                                     " bytes exceeds the limit of ",
                                                     kMaxPublicKeyDerSize));
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (raw == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "public key is not a valid SubjectPublicKeyInfo DER");
  }
  const size_t consumed = static_cast<size_t>(p - reinterpret_cast<const unsigned char*>(der.data()));
  if (consumed != der.size()) {
    EVP_PKEY_free(raw);
    return absl::InvalidArgumentError(
        absl::StrCat(der.size() - consumed, " trailing bytes after the public key DER"));
  }
  CUSTODY_ASSIGN_OR_RETURN(EcPublicKey key, FromOwnedEvpPkey(raw));
  if (!ConstantTimeEquals(key.spki_der(), der)) {
    return absl::InvalidArgumentError("public key DER is not in canonical form");
  }
  return key;
}

absl::StatusOr<EcPublicKey> EcPublicKey::FromSpkiPem(absl::string_view pem) {
  CUSTODY_ASSIGN_OR_RETURN(
      SecretBytes der, internal::ReadPemBlock(pem, "PUBLIC KEY", "public key PEM",
                                              kMaxPublicKeyPemSize));
  return FromSpkiDer(der.Reveal());
}

std::string EcPublicKey::ToSpkiPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), pkey_.get()) != 1) std::abort();
  return std::string(internal::BioContents(bio.get()));
}

std::string EcPublicKey::Fingerprint() const { return Sha256(*spki_der_); }

bool SameKey(const EcPublicKey& a, const EcPublicKey& b) {
  return ConstantTimeEquals(a.spki_der(), b.spki_der());
}

}  // namespace custody::crypto
