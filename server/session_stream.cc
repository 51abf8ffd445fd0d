#include "server/session_stream.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/base/proto_parse.h"
#include "core/base/status.h"
#include "server/grpc_status.h"

namespace custody::server {

absl::Status ParseStreamMessage(const grpc::ByteBuffer& in, const StreamProtocol& protocol,
                                google::protobuf::Message* out) {
  const std::string check = absl::StrCat(protocol.name, ".format");
  std::vector<grpc::Slice> slices;
  if (in.Length() > protocol.max_request_bytes || !in.Dump(&slices).ok()) {
    return CheckFailed(absl::StatusCode::kResourceExhausted, check,
                       absl::StrCat("a ", protocol.what, " is at most ",
                                    protocol.max_request_bytes, " bytes"));
  }
  std::string bytes;
  bytes.reserve(in.Length());
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  absl::Status parsed = ParseStrict(bytes, protocol.max_request_bytes, protocol.what, out);
  if (!parsed.ok()) return CheckFailed(absl::StatusCode::kInvalidArgument, check, parsed.message());
  return absl::OkStatus();
}

grpc::ByteBuffer SerializeToByteBuffer(const google::protobuf::Message& message) {
  const std::string bytes = message.SerializeAsString();
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

grpc::Status EndedEarly(grpc::ServerContextBase* context, const StreamProtocol& protocol,
                        uint32_t previous_message_type) {
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                        absl::StrCat(protocol.name, ".step_deadline: the ", protocol.peer,
                                     " took too long"));
  }
  return ToGrpcStatus(CheckFailed(absl::StatusCode::kFailedPrecondition,
                                  absl::StrCat(protocol.name, ".incomplete"),
                                  absl::StrCat("the ", protocol.peer,
                                               " ended the stream before ",
                                               protocol.final_message)),
                      previous_message_type);
}

}  // namespace custody::server
