"""custody_proto_library: C++ protobuf (and optionally gRPC) code from .proto files.

Bazel 4.2.3 offline has no usable proto_library/cc_grpc_library toolchain, so this
macro runs Debian's protoc and grpc_cpp_plugin in a genrule and wraps the generated
files in a cc_library. Import paths are relative to the package that holds the
.proto files (//protos), e.g. `import "custody/v1/common.proto";`, and C++ code
includes `custody/v1/common.pb.h`.
"""

PROTOC = "/usr/bin/protoc"
GRPC_CPP_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def custody_proto_library(name, srcs, deps = [], services = False, visibility = None):
    """Declares `name` (cc_library) and `name + "_files"` (the .proto sources).

    Args:
      name: the cc_library's name.
      srcs: .proto files, relative to this package.
      deps: other custody_proto_library targets whose .proto files srcs import.
      services: also run the gRPC plugin (the .proto declares services).
      visibility: of the cc_library and the source filegroup.
    """
    pkg = native.package_name()
    stems = [s[:-len(".proto")] for s in srcs]
    hdrs = [s + ".pb.h" for s in stems]
    cc_srcs = [s + ".pb.cc" for s in stems]
    if services:
        hdrs += [s + ".grpc.pb.h" for s in stems]
        cc_srcs += [s + ".grpc.pb.cc" for s in stems]

    native.filegroup(
        name = name + "_files",
        srcs = srcs + [d + "_files" for d in deps],
        visibility = visibility,
    )

    grpc_flags = ""
    if services:
        grpc_flags = "--grpc_out=$(GENDIR)/{pkg} --plugin=protoc-gen-grpc={plugin} ".format(
            pkg = pkg,
            plugin = GRPC_CPP_PLUGIN,
        )
    native.genrule(
        name = name + "_gen",
        srcs = [name + "_files"],
        outs = hdrs + cc_srcs,
        cmd = "{protoc} -I{pkg} -I/usr/include --cpp_out=$(GENDIR)/{pkg} {grpc}{files}".format(
            protoc = PROTOC,
            pkg = pkg or ".",
            grpc = grpc_flags,
            files = " ".join(["{}/{}".format(pkg, s) if pkg else s for s in srcs]),
        ),
        message = "protoc " + " ".join(srcs),
    )

    system_deps = ["@system//:protobuf"]
    if services:
        system_deps.append("@system//:grpc++")
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        includes = ["."],
        deps = deps + system_deps,
        visibility = visibility,
    )
