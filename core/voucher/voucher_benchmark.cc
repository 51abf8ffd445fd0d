// Voucher verification cost, against one raw ECDSA verify on the same curve.
//
//   bazel run -c opt //core/voucher:voucher_benchmark
//
// BM_RawVerify: one EcdsaVerify of a voucher-entry-sized message with a parsed key.
// BM_VerifyVoucher/<curve>/<N>: VerifyVoucher of a voucher with N entries (no trust
// root: the device chain is hashed but its signatures are not checked).
// After the runs, a table gives each voucher's cost in raw verifies beside the
// target of at most 1.2 x (N + 1).

#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/benchmark.h"
#include "core/base/fake_random.h"
#include "core/crypto/ecdsa.h"
#include "core/crypto/signed_payload.h"
#include "core/voucher/sample_voucher.h"
#include "core/voucher/voucher_verify.h"

namespace custody::voucher {
namespace {

constexpr int kEntryCounts[] = {0, 1, 2, 4, 8, 16};

crypto::Curve CurveOf(int64_t index) {
  return index == 0 ? crypto::Curve::kP256 : crypto::Curve::kP384;
}

const SampleVoucherSet& Sample(crypto::Curve curve) {
  static std::map<crypto::Curve, SampleVoucherSet>* sets = [] {
    auto* out = new std::map<crypto::Curve, SampleVoucherSet>();
    for (crypto::Curve curve : {crypto::Curve::kP256, crypto::Curve::kP384}) {
      DeterministicRandom random(curve == crypto::Curve::kP256 ? 1 : 2);
      SampleOptions options;
      options.curve = curve;
      options.owners = 16;
      options.now = absl::FromUnixSeconds(1790000000);
      absl::StatusOr<SampleVoucherSet> set = MakeSampleVoucherSet(options, random);
      if (!set.ok()) std::abort();
      out->emplace(curve, *std::move(set));
    }
    return out;
  }();
  return sets->at(curve);
}

void BM_RawVerify(benchmark::State& state) {
  const SampleVoucherSet& set = Sample(CurveOf(state.range(0)));
  const crypto::EcPublicKey key = set.manufacturer_key.public_key();
  v1::SignedPayload entry;
  entry.ParseFromString(set.stages[1].entries(0));
  const std::string tbs = crypto::SignedPayloadToBeSigned(entry.payload_type(), entry.payload());
  for (auto _ : state) {
    benchmark::DoNotOptimize(crypto::EcdsaVerify(key, tbs, entry.signature()));
  }
  state.SetLabel(std::string(crypto::CurveName(CurveOf(state.range(0)))));
}
BENCHMARK(BM_RawVerify)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

void BM_VerifyVoucher(benchmark::State& state) {
  const SampleVoucherSet& set = Sample(CurveOf(state.range(0)));
  const v1::OwnershipVoucher& voucher = set.stages[state.range(1)];
  for (auto _ : state) {
    absl::StatusOr<VerifiedVoucher> verified = VerifyVoucher(voucher, VerifyOptions{});
    if (!verified.ok()) state.SkipWithError("voucher does not verify");
    benchmark::DoNotOptimize(verified);
  }
  state.SetLabel(
      absl::StrCat(crypto::CurveName(CurveOf(state.range(0))), ", ", state.range(1), " entries"));
}
BENCHMARK(BM_VerifyVoucher)
    ->ArgsProduct({{0, 1}, {std::begin(kEntryCounts), std::end(kEntryCounts)}})
    ->Unit(benchmark::kMicrosecond);

// Prints the console output and keeps every run's time per iteration, for the
// summary table.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred || run.iterations == 0) continue;
      times_[run.benchmark_name()] = run.GetAdjustedRealTime();
    }
  }

  void PrintSummary() const {
    std::printf("\nvoucher verification in raw ECDSA verifies (target: at most 1.2 x (N + 1))\n");
    std::printf("%-6s %8s %12s %12s %16s %8s\n", "curve", "entries", "voucher us", "raw us",
                "raw verifies", "target");
    bool all_met = true;
    for (int curve = 0; curve < 2; ++curve) {
      const auto raw = times_.find(absl::StrCat("BM_RawVerify/", curve));
      if (raw == times_.end()) continue;
      for (int n : kEntryCounts) {
        const auto voucher = times_.find(absl::StrCat("BM_VerifyVoucher/", curve, "/", n));
        if (voucher == times_.end()) continue;
        const double ratio = voucher->second / raw->second;
        const double target = 1.2 * (n + 1);
        all_met = all_met && ratio <= target;
        std::printf("%-6s %8d %12.1f %12.1f %16.2f %8.1f%s\n",
                    std::string(crypto::CurveName(CurveOf(curve))).c_str(), n, voucher->second,
                    raw->second, ratio, target, ratio <= target ? "" : "  MISSED");
      }
    }
    std::printf("%s\n", all_met ? "all within target" : "target missed");
  }

 private:
  std::map<std::string, double> times_;
};

}  // namespace
}  // namespace custody::voucher

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  custody::voucher::SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
