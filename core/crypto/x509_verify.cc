#include "core/crypto/x509_verify.h"

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "absl/strings/str_cat.h"
#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::OpenSslError;
using internal::X509StackPtr;
using internal::X509StoreCtxPtr;
using internal::X509StorePtr;

absl::Status VerifyCertificateChain(const Certificate& leaf,
                                    absl::Span<const Certificate> intermediates,
                                    absl::Span<const Certificate> trusted_roots, absl::Time at) {
  if (trusted_roots.empty()) {
    return absl::InvalidArgumentError("no trusted root certificate given");
  }
  if (intermediates.size() > kMaxChainIntermediates) {
    return absl::ResourceExhaustedError(absl::StrCat("chain has ", intermediates.size(),
                                                     " intermediates; the limit is ",
                                                     kMaxChainIntermediates));
  }
  X509StorePtr store(X509_STORE_new());
  X509StackPtr untrusted(sk_X509_new_null());
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (store == nullptr || untrusted == nullptr || ctx == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "allocating the verifier failed");
  }
  for (const Certificate& root : trusted_roots) {
    if (X509_STORE_add_cert(store.get(), root.x509()) != 1) {  // Takes its own reference.
      return OpenSslError(absl::StatusCode::kInternal, "adding a trusted root failed");
    }
  }
  for (const Certificate& cert : intermediates) {
    if (X509_up_ref(cert.x509()) != 1) {
      return OpenSslError(absl::StatusCode::kInternal, "X509_up_ref failed");
    }
    if (sk_X509_push(untrusted.get(), cert.x509()) <= 0) {
      X509_free(cert.x509());
      return OpenSslError(absl::StatusCode::kInternal, "building the chain failed");
    }
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.x509(), untrusted.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInternal, "initialising the verifier failed");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_set_depth(param, static_cast<int>(kMaxChainIntermediates) + 1);
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(at));

  const int result = X509_verify_cert(ctx.get());
  internal::ClearOpenSslErrors();
  if (result == 1) return absl::OkStatus();
  const int error = X509_STORE_CTX_get_error(ctx.get());
  return absl::UnauthenticatedError(
      absl::StrCat("certificate chain does not verify: ", X509_verify_cert_error_string(error),
                   " (at depth ", X509_STORE_CTX_get_error_depth(ctx.get()), ")"));
}

}  // namespace custody::crypto
