"""custody_fuzz_test: one fuzz target, run two ways.

For every parser of untrusted bytes the project keeps a libFuzzer target
(`LLVMFuzzerTestOneInput`) and a seed corpus. This macro declares:
  * `name`: a cc_test that replays every file of the corpus through the target,
    so `bazel test //...` exercises the parser on the seeds under any config
    (including --config=asan);
  * `name + "_fuzzer"`: the coverage-guided fuzzer itself. Under --config=fuzz it
    links libFuzzer (clang 14); otherwise it links the replay driver, so it still
    builds. Tagged manual: tools/fuzz.sh builds and runs it.
"""

def custody_fuzz_test(name, srcs, corpus, deps = [], size = "small"):
    """Args:
      name: the replay test's name.
      srcs: sources defining LLVMFuzzerTestOneInput.
      corpus: a directory (relative to this package) of seed inputs.
      deps: libraries the target needs.
      size: of the replay test.
    """
    corpus_files = native.glob([corpus + "/**"])
    corpus_path = native.package_name() + "/" + corpus
    native.cc_test(
        name = name,
        size = size,
        srcs = srcs,
        args = [corpus_path],
        data = corpus_files,
        deps = deps + ["//tools/build_defs:fuzz_replay_main"],
    )
    native.cc_binary(
        name = name + "_fuzzer",
        testonly = True,
        srcs = srcs,
        linkopts = select({
            "//tools/build_defs:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "//tools/build_defs:fuzzing": [],
            "//conditions:default": ["//tools/build_defs:fuzz_replay_main"],
        }),
        tags = ["manual"],
    )
