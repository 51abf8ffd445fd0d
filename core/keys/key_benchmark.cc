// Signatures per second through the key store: a file key against the same
// signature in a SoftHSM2 token (one thread, then 2 threads over the key's
// session pool), in one run.
//
//   bazel run -c opt //core/keys:key_benchmark
//
// It makes its SoftHSM2 token folder in a temporary directory (softhsm2-util must
// be installed: tools/install_deps.sh). Arg 0 is P-256, 1 is P-384.

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "core/base/file_util.h"
#include "core/base/random.h"
#include "core/crypto/curve.h"
#include "core/keys/key_store.h"

namespace custody::keys {
namespace {

std::string& Folder() {
  static std::string* folder = [] {
    char pattern[] = "/tmp/custody-key-benchmark.XXXXXX";
    auto* path = new std::string(::mkdtemp(pattern));
    const std::string conf = *path + "/softhsm2.conf";
    (void)::mkdir((*path + "/tokens").c_str(), 0700);
    (void)WriteFileAtomically(conf,
                              absl::StrCat("directories.tokendir = ", *path,
                                           "/tokens\nobjectstore.backend = file\n"
                                           "log.level = ERROR\n"),
                              0600);
    (void)WriteFileAtomically(*path + "/pin", "11223344", 0600);
    ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    const std::string init =
        absl::StrCat("softhsm2-util --init-token --free --label bench --pin 11223344 ",
                     "--so-pin 55667788 >/dev/null");
    if (std::system(init.c_str()) != 0) std::abort();
    return path;
  }();
  return *folder;
}

std::unique_ptr<crypto::Signer> MakeKey(const std::string& uri, crypto::Curve curve) {
  absl::StatusOr<std::unique_ptr<crypto::Signer>> key =
      OpenOrCreateSigner(uri, curve, SystemRandom(), true);
  if (!key.ok()) {
    std::fprintf(stderr, "%s\n", std::string(key.status().message()).c_str());
    std::abort();
  }
  return *std::move(key);
}

void Sign(benchmark::State& state, const crypto::Signer& key) {
  const std::string message(300, 'm');
  for (auto _ : state) {
    absl::StatusOr<std::string> signature = key.Sign(message);
    if (!signature.ok()) state.SkipWithError("signing failed");
    benchmark::DoNotOptimize(signature);
  }
  state.counters["signatures_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

// Both curves' keys of each backend, made once (thread-safe static init).
const crypto::Signer& FileKey(int curve) {
  static const auto* keys = new std::unique_ptr<crypto::Signer>[2] {
    MakeKey(FileKeyUri(Folder() + "/file-0.key"), crypto::Curve::kP256),
        MakeKey(FileKeyUri(Folder() + "/file-1.key"), crypto::Curve::kP384)
  };
  return *keys[curve];
}

const crypto::Signer& TokenKey(int curve) {
  const auto uri = [](int i) {
    return absl::StrCat("pkcs11:token=bench;object=key-", i,
                        "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:", Folder(),
                        "/pin");
  };
  static const auto* keys = new std::unique_ptr<crypto::Signer>[2] {
    MakeKey(uri(0), crypto::Curve::kP256), MakeKey(uri(1), crypto::Curve::kP384)
  };
  return *keys[curve];
}

void BM_FileKeySign(benchmark::State& state) {
  Sign(state, FileKey(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_FileKeySign)->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

void BM_SoftHsmKeySign(benchmark::State& state) {
  Sign(state, TokenKey(static_cast<int>(state.range(0))));
}
BENCHMARK(BM_SoftHsmKeySign)->Arg(0)->Arg(1)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace custody::keys

BENCHMARK_MAIN();
