// Costs of the crypto core's operations on the paths that matter for throughput.
//
//   bazel run -c opt //core/crypto:crypto_benchmark
//
// Arg 0 is P-256, 1 is P-384. BM_PublicKeyFromSpkiDer is Custody's canonical key
// parse; BM_OpenSslDecodePublicKey is OpenSSL's generic decoder, shown for
// comparison (docs/performance.md explains the choice).

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "benchmark/benchmark.h"
#include "core/base/fake_random.h"
#include "core/base/secret_bytes.h"
#include "core/crypto/aes_gcm.h"
#include "core/crypto/ec_private_key.h"
#include "core/crypto/ecdh.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/hash.h"
#include "core/crypto/hkdf.h"
#include "core/crypto/x509_certificate.h"
#include "core/crypto/x509_issue.h"

namespace custody::crypto {
namespace {

Curve CurveOf(const benchmark::State& state) {
  return state.range(0) == 0 ? Curve::kP256 : Curve::kP384;
}

void BM_EcdsaSign(benchmark::State& state) {
  const EcPrivateKey key = *EcPrivateKey::Generate(CurveOf(state));
  const std::string message(300, 'm');
  for (auto _ : state) benchmark::DoNotOptimize(EcdsaSign(key, message));
}
BENCHMARK(BM_EcdsaSign)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_EcdsaVerify(benchmark::State& state) {
  const EcPrivateKey key = *EcPrivateKey::Generate(CurveOf(state));
  const std::string message(300, 'm');
  const std::string signature = *EcdsaSign(key, message);
  for (auto _ : state) {
    benchmark::DoNotOptimize(EcdsaVerify(key.public_key(), message, signature));
  }
}
BENCHMARK(BM_EcdsaVerify)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_EcdhSharedSecret(benchmark::State& state) {
  const EcPrivateKey own = *EcPrivateKey::Generate(CurveOf(state));
  const EcPrivateKey peer = *EcPrivateKey::Generate(CurveOf(state));
  for (auto _ : state) benchmark::DoNotOptimize(EcdhSharedSecret(own, peer.public_key()));
}
BENCHMARK(BM_EcdhSharedSecret)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_KeyGenerate(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(EcPrivateKey::Generate(CurveOf(state)));
}
BENCHMARK(BM_KeyGenerate)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_PublicKeyFromSpkiDer(benchmark::State& state) {
  const std::string der = EcPrivateKey::Generate(CurveOf(state))->public_key().spki_der();
  for (auto _ : state) benchmark::DoNotOptimize(EcPublicKey::FromSpkiDer(der));
}
BENCHMARK(BM_PublicKeyFromSpkiDer)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_OpenSslDecodePublicKey(benchmark::State& state) {
  const std::string der = EcPrivateKey::Generate(CurveOf(state))->public_key().spki_der();
  for (auto _ : state) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
    benchmark::DoNotOptimize(key);
    EVP_PKEY_free(key);
  }
}
BENCHMARK(BM_OpenSslDecodePublicKey)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

std::string SampleCertificateDer() {
  DeterministicRandom random(1);
  const EcPrivateKey key = *EcPrivateKey::Generate(Curve::kP256);
  const absl::Time now = absl::FromUnixSeconds(1790000000);
  return CreateSelfSignedCa(key, {"bench", "Custody", ""}, now, now + absl::Hours(24), random)
      ->der();
}

void BM_CertificateFromDer(benchmark::State& state) {
  const std::string der = SampleCertificateDer();
  for (auto _ : state) benchmark::DoNotOptimize(Certificate::FromDer(der));
}
BENCHMARK(BM_CertificateFromDer)->Unit(benchmark::kMicrosecond);

void BM_CertificateSpkiDer(benchmark::State& state) {
  const std::string der = SampleCertificateDer();
  for (auto _ : state) benchmark::DoNotOptimize(CertificateSpkiDer(der));
}
BENCHMARK(BM_CertificateSpkiDer)->Unit(benchmark::kMicrosecond);

void BM_Sha256(benchmark::State& state) {
  const std::string data(state.range(0), 'd');
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(1024)->Arg(64 * 1024);

void BM_AesGcmSeal(benchmark::State& state) {
  const Aes256Gcm aead = *Aes256Gcm::New(SecretBytes::CopyFrom(std::string(32, 'k')));
  const std::string nonce(12, 'n');
  const std::string data(state.range(0), 'd');
  for (auto _ : state) benchmark::DoNotOptimize(aead.Seal(nonce, data, "aad"));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_AesGcmSeal)->Arg(1024)->Arg(64 * 1024);

void BM_Hkdf(benchmark::State& state) {
  const SecretBytes ikm = SecretBytes::CopyFrom(std::string(32, 's'));
  for (auto _ : state) {
    benchmark::DoNotOptimize(Hkdf(HashAlgorithm::kSha256, ikm, "salt", "info", 64));
  }
}
BENCHMARK(BM_Hkdf)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace custody::crypto

BENCHMARK_MAIN();
