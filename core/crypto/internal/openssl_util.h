// Owning pointers for OpenSSL objects and conversion of OpenSSL errors to Status.
// Internal to core/crypto.
//
// Every OpenSSL object Custody creates lives in one of these unique_ptr types
// (Tink ssl_unique_ptr.h / BoringSSL bssl::UniquePtr); raw pointers appear only for
// get0 results that OpenSSL keeps owning.

#ifndef CUSTODY_CORE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
#define CUSTODY_CORE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace custody::crypto::internal {

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* ptr) const { Free(ptr); }
};

template <typename T, void (*Free)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslDeleter<T, Free>>;

inline void FreeBio(BIO* bio) { BIO_free_all(bio); }
inline void FreeX509Stack(STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); }
inline void FreeBnClear(BIGNUM* bn) { BN_clear_free(bn); }

using EvpPkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using EvpPkeyCtxPtr = OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using EvpMdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;
using EvpMacCtxPtr = OpenSslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using EvpKdfCtxPtr = OpenSslPtr<EVP_KDF_CTX, EVP_KDF_CTX_free>;
using EvpCipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using BioPtr = OpenSslPtr<BIO, FreeBio>;
using BignumPtr = OpenSslPtr<BIGNUM, FreeBnClear>;
using Asn1IntegerPtr = OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using X509ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;
using X509NamePtr = OpenSslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509StorePtr = OpenSslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509StackPtr = OpenSslPtr<STACK_OF(X509), FreeX509Stack>;
using Pkcs8InfoPtr = OpenSslPtr<PKCS8_PRIV_KEY_INFO, PKCS8_PRIV_KEY_INFO_free>;
using OsslParamBldPtr = OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>;
using OsslParamPtr = OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free>;

// Drains OpenSSL's thread-local error queue and returns a Status with `code` and
// the message "<what> (<openssl reason>)". The queue is always left empty, so a
// stale error never leaks into a later call.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);

// Empties the error queue without reporting (after an expected failure).
void ClearOpenSslErrors();

// Fetched algorithm implementations, cached for the life of the process (fetching
// per call is slow in OpenSSL 3.0). Never null: a missing algorithm aborts at first
// use, since the library cannot work without it.
const EVP_MD* Sha256Md();
const EVP_MD* Sha384Md();
EVP_MAC* HmacAlgorithm();
EVP_KDF* HkdfAlgorithm();
const EVP_CIPHER* Aes256GcmCipher();

// The contents of a memory BIO as a view (valid until the BIO changes).
absl::string_view BioContents(BIO* bio);

}  // namespace custody::crypto::internal

#endif  // CUSTODY_CORE_CRYPTO_INTERNAL_OPENSSL_UTIL_H_
