#include "core/crypto/ec_private_key.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/internal/openssl_util.h"
#include "core/crypto/internal/pem.h"

namespace custody::crypto {

using internal::BignumPtr;
using internal::BioPtr;
using internal::EvpPkeyCtxPtr;
using internal::EvpPkeyPtr;
using internal::OpenSslError;
using internal::OpenSslPtr;
using internal::OsslParamBldPtr;
using internal::OsslParamPtr;
using internal::Pkcs8InfoPtr;

namespace {

using EcGroupPtr = OpenSslPtr<EC_GROUP, EC_GROUP_free>;
using EcPointPtr = OpenSslPtr<EC_POINT, EC_POINT_clear_free>;
using BnCtxPtr = OpenSslPtr<BN_CTX, BN_CTX_free>;

int CurveNid(Curve curve) { return curve == Curve::kP256 ? NID_X9_62_prime256v1 : NID_secp384r1; }

absl::Status CheckPairwise(EVP_PKEY* pkey) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr) return OpenSslError(absl::StatusCode::kInternal, "EVP_PKEY_CTX_new failed");
  if (EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "private key does not match its public key");
  }
  return absl::OkStatus();
}

}  // namespace

EcPrivateKey::EcPrivateKey(EVP_PKEY* pkey, EcPublicKey public_key)
    : pkey_(pkey), public_key_(std::move(public_key)) {}

EcPrivateKey::EcPrivateKey(EcPrivateKey&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)), public_key_(other.public_key_) {}

EcPrivateKey& EcPrivateKey::operator=(EcPrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(pkey_);
    pkey_ = std::exchange(other.pkey_, nullptr);
    public_key_ = other.public_key_;
  }
  return *this;
}

EcPrivateKey::~EcPrivateKey() { EVP_PKEY_free(pkey_); }

absl::StatusOr<EcPrivateKey> EcPrivateKey::FromOwnedEvpPkey(EVP_PKEY* raw) {
  EvpPkeyPtr pkey(raw);
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("private key is not an elliptic-curve key");
  }
  // The public half, validated exactly like any public key we accept.
  absl::StatusOr<EcPublicKey> public_key = EcPublicKey::FromEvpPkey(pkey.get());
  if (!public_key.ok()) return Annotate(public_key.status(), "private key");
  return EcPrivateKey(pkey.release(), *std::move(public_key));
}

absl::StatusOr<EcPrivateKey> EcPrivateKey::Generate(Curve curve) {
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  if (ctx == nullptr || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), std::string(CurveGroupName(curve)).c_str()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "preparing key generation failed");
  }
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_generate(ctx.get(), &pkey) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "key generation failed");
  }
  return FromOwnedEvpPkey(pkey);
}

absl::StatusOr<EcPrivateKey> EcPrivateKey::FromPkcs8Der(absl::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("private key is empty");
  if (der.size() > kMaxPrivateKeyPemSize) {
    return absl::ResourceExhaustedError("private key exceeds the size limit");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs8InfoPtr info(d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(der.size())));
  if (info == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "private key is not a valid PKCS#8 PrivateKeyInfo");
  }
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after the PKCS#8 private key");
  }
  EVP_PKEY* pkey = EVP_PKCS82PKEY(info.get());
  if (pkey == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "PKCS#8 private key cannot be decoded");
  }
  CUSTODY_ASSIGN_OR_RETURN(EcPrivateKey key, FromOwnedEvpPkey(pkey));
  CUSTODY_RETURN_IF_ERROR(CheckPairwise(key.pkey_));
  return key;
}

absl::StatusOr<EcPrivateKey> EcPrivateKey::FromPkcs8Pem(absl::string_view pem) {
  if (absl::StrContains(pem, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
    return absl::InvalidArgumentError(
        "encrypted private keys are not supported; store the key unencrypted in a mode-0600 "
        "file");
  }
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes der,
                           internal::ReadPemBlock(pem, "PRIVATE KEY", "private key PEM (PKCS#8)",
                                                  kMaxPrivateKeyPemSize));
  return FromPkcs8Der(der.Reveal());
}

absl::StatusOr<EcPrivateKey> EcPrivateKey::FromScalar(Curve curve, absl::string_view scalar) {
  // Strip leading zeros; what is left must fit in a field element.
  size_t first = 0;
  while (first < scalar.size() && scalar[first] == '\0') ++first;
  const absl::string_view digits = scalar.substr(first);
  if (digits.empty()) return absl::InvalidArgumentError("private scalar is zero");
  if (digits.size() > CurveFieldSize(curve)) {
    return absl::InvalidArgumentError("private scalar is larger than the curve order");
  }
  EcGroupPtr group(EC_GROUP_new_by_curve_name(CurveNid(curve)));
  BnCtxPtr bn_ctx(BN_CTX_new());
  BignumPtr d(BN_bin2bn(reinterpret_cast<const unsigned char*>(digits.data()),
                        static_cast<int>(digits.size()), nullptr));
  if (group == nullptr || bn_ctx == nullptr || d == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating curve objects failed");
  }
  BN_set_flags(d.get(), BN_FLG_CONSTTIME);
  if (BN_cmp(d.get(), EC_GROUP_get0_order(group.get())) >= 0) {
    return absl::InvalidArgumentError("private scalar is not below the curve order");
  }
  EcPointPtr q(EC_POINT_new(group.get()));
  if (q == nullptr ||
      EC_POINT_mul(group.get(), q.get(), d.get(), nullptr, nullptr, bn_ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "computing the public point failed");
  }
  unsigned char point[1 + 2 * 48];
  const size_t point_len = EC_POINT_point2oct(group.get(), q.get(), POINT_CONVERSION_UNCOMPRESSED,
                                              point, sizeof(point), bn_ctx.get());
  if (point_len == 0) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the public point failed");
  }
  OsslParamBldPtr bld(OSSL_PARAM_BLD_new());
  const std::string group_name(CurveGroupName(curve));
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group_name.c_str(),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get()) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point, point_len) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "building key parameters failed");
  }
  OsslParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_KEYPAIR, params.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "private scalar cannot be imported");
  }
  return FromOwnedEvpPkey(pkey);
}

absl::StatusOr<EcPrivateKey> EcPrivateKey::LoadPemFile(const std::string& path) {
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes pem, ReadPrivateFile(path, kMaxPrivateKeyPemSize));
  absl::StatusOr<EcPrivateKey> key = FromPkcs8Pem(pem.Reveal());
  if (!key.ok()) return Annotate(key.status(), path);
  return key;
}

absl::StatusOr<SecretBytes> EcPrivateKey::ToPkcs8Pem() const {
  // A secure-memory BIO: its buffer is wiped when freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (bio == nullptr ||
      PEM_write_bio_PKCS8PrivateKey(bio.get(), pkey_, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "encoding the private key failed");
  }
  return SecretBytes::CopyFrom(internal::BioContents(bio.get()));
}

absl::Status EcPrivateKey::SavePemFile(const std::string& path, WriteMode mode) const {
  CUSTODY_ASSIGN_OR_RETURN(SecretBytes pem, ToPkcs8Pem());
  return WriteFileAtomically(path, pem.Reveal(), 0600, mode);
}

}  // namespace custody::crypto

namespace custody::crypto {

absl::StatusOr<std::string> EcPrivateKey::Sign(absl::string_view data) const {
  const EVP_MD* md =
      CurveHash(curve()) == HashAlgorithm::kSha256 ? internal::Sha256Md() : internal::Sha384Md();
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDSA sign init failed");
  }
  std::string signature(MaxDerSignatureSize(curve()), '\0');
  size_t len = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDSA signing failed");
  }
  signature.resize(len);
  return signature;
}

std::string EcPrivateKey::uri() const { return absl::StrCat("software:", CurveName(curve())); }

absl::StatusOr<SecretBytes> EcPrivateKey::SharedSecret(const EcPublicKey& peer) const {
  if (curve() != peer.curve()) {
    return absl::InvalidArgumentError(absl::StrCat("ECDH peer key is on ", CurveName(peer.curve()),
                                                   ", own key on ", CurveName(curve())));
  }
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_, nullptr));
  if (ctx == nullptr || EVP_PKEY_derive_init(ctx.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH init failed");
  }
  // validate_peer = 0: an EcPublicKey is a valid point of its curve by
  // construction (canonical encoding, loaded and checked on the curve), and
  // P-256/P-384 have cofactor 1, so OpenSSL's full re-check (an extra scalar
  // multiplication, a third of the cost) would add nothing.
  if (EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.evp_pkey(), 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "ECDH peer key rejected");
  }
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len != CurveFieldSize(curve())) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH size query failed");
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.mutable_data(), &len) != 1 || len != secret.size()) {
    return OpenSslError(absl::StatusCode::kInternal, "ECDH derivation failed");
  }
  return secret;
}

}  // namespace custody::crypto
