#include "core/crypto/hash.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "core/crypto/internal/openssl_util.h"

namespace custody::crypto {

using internal::EvpMdCtxPtr;

namespace {

const EVP_MD* MdFor(HashAlgorithm algorithm) {
  return algorithm == HashAlgorithm::kSha256 ? internal::Sha256Md() : internal::Sha384Md();
}

}  // namespace

size_t DigestSize(HashAlgorithm algorithm) { return algorithm == HashAlgorithm::kSha256 ? 32 : 48; }

absl::string_view HashName(HashAlgorithm algorithm) {
  return algorithm == HashAlgorithm::kSha256 ? "SHA-256" : "SHA-384";
}

std::string ComputeHash(HashAlgorithm algorithm, absl::string_view data) {
  std::string out(DigestSize(algorithm), '\0');
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure or a broken provider; neither
  // leaves a meaningful way to continue.
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()), &len,
                 MdFor(algorithm), nullptr) != 1 ||
      len != out.size()) {
    std::abort();
  }
  return out;
}

std::string Sha256(absl::string_view data) { return ComputeHash(HashAlgorithm::kSha256, data); }
std::string Sha384(absl::string_view data) { return ComputeHash(HashAlgorithm::kSha384, data); }

struct IncrementalHash::State {
  EvpMdCtxPtr ctx;
};

IncrementalHash::IncrementalHash(HashAlgorithm algorithm, std::unique_ptr<State> state)
    : algorithm_(algorithm), state_(std::move(state)) {}

IncrementalHash::~IncrementalHash() = default;

std::unique_ptr<IncrementalHash> IncrementalHash::New(HashAlgorithm algorithm) {
  auto state = std::make_unique<State>();
  state->ctx.reset(EVP_MD_CTX_new());
  if (state->ctx == nullptr ||
      EVP_DigestInit_ex2(state->ctx.get(), MdFor(algorithm), nullptr) != 1) {
    std::abort();
  }
  return std::unique_ptr<IncrementalHash>(new IncrementalHash(algorithm, std::move(state)));
}

absl::Status IncrementalHash::Update(absl::string_view data) {
  if (finished_) return absl::FailedPreconditionError("hash already finished");
  if (EVP_DigestUpdate(state_->ctx.get(), data.data(), data.size()) != 1) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "hash update failed");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> IncrementalHash::Peek() const {
  if (finished_) return absl::FailedPreconditionError("hash already finished");
  EvpMdCtxPtr copy(EVP_MD_CTX_new());
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy.get(), state_->ctx.get()) != 1) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "hash copy failed");
  }
  std::string out(DigestSize(algorithm_), '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(copy.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "hash finish failed");
  }
  return out;
}

absl::StatusOr<std::string> IncrementalHash::Finish() {
  if (finished_) return absl::FailedPreconditionError("hash already finished");
  std::string out(DigestSize(algorithm_), '\0');
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(state_->ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) !=
      1) {
    return internal::OpenSslError(absl::StatusCode::kInternal, "hash finish failed");
  }
  finished_ = true;
  return out;
}

}  // namespace custody::crypto
