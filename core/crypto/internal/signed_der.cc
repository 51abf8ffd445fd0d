#include "core/crypto/internal/signed_der.h"

#include <openssl/objects.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "core/base/status.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto::internal {
namespace {

// DER tag and definite length (at most four length bytes: far beyond any limit here).
void AppendHeader(std::string* out, unsigned char tag, size_t length) {
  out->push_back(static_cast<char>(tag));
  if (length < 0x80) {
    out->push_back(static_cast<char>(length));
    return;
  }
  int bytes = 0;
  for (size_t rest = length; rest != 0; rest >>= 8) ++bytes;
  out->push_back(static_cast<char>(0x80 | bytes));
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>(length >> (8 * i)));
}

// AlgorithmIdentifier { ecdsa-with-SHA256 (1.2.840.10045.4.3.2) } and SHA-384 (…4.3.3).
constexpr absl::string_view kEcdsaSha256("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x02", 12);
constexpr absl::string_view kEcdsaSha384("\x30\x0a\x06\x08\x2a\x86\x48\xce\x3d\x04\x03\x03", 12);

constexpr size_t kMaxTbsSize = 1 << 20;

}  // namespace

int SignatureNid(const Signer& signer) {
  return signer.algorithm() == SignatureAlgorithm::kEs256 ? NID_ecdsa_with_SHA256
                                                          : NID_ecdsa_with_SHA384;
}

absl::Status SetCertificateSignatureAlgorithm(X509* cert, const Signer& signer) {
  // OpenSSL 3.0 has no setter for the inner algorithm outside X509_sign; the
  // structure belongs to `cert`, which the caller owns and may modify.
  X509_ALGOR* algorithm = const_cast<X509_ALGOR*>(X509_get0_tbs_sigalg(cert));
  if (algorithm == nullptr ||
      X509_ALGOR_set0(algorithm, OBJ_nid2obj(SignatureNid(signer)), V_ASN1_UNDEF, nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "setting the signature algorithm failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignDer(absl::string_view tbs, const Signer& signer) {
  if (tbs.empty() || tbs.size() > kMaxTbsSize) {
    return absl::InternalError(absl::StrCat("to-be-signed structure of ", tbs.size(), " bytes"));
  }
  CUSTODY_ASSIGN_OR_RETURN(std::string signature, signer.Sign(tbs));
  const absl::string_view algorithm =
      signer.algorithm() == SignatureAlgorithm::kEs256 ? kEcdsaSha256 : kEcdsaSha384;
  std::string bit_string;
  AppendHeader(&bit_string, 0x03, signature.size() + 1);
  bit_string.push_back('\0');  // No unused bits.
  bit_string += signature;
  std::string out;
  out.reserve(tbs.size() + algorithm.size() + bit_string.size() + 8);
  AppendHeader(&out, 0x30, tbs.size() + algorithm.size() + bit_string.size());
  out.append(tbs.data(), tbs.size());
  out.append(algorithm.data(), algorithm.size());
  out += bit_string;
  return out;
}

}  // namespace custody::crypto::internal
