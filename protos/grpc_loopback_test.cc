// Checks the proto/gRPC code generation of tools/build_defs/proto.bzl end to end:
// generated messages (with an import across files) and a generated service on a
// real gRPC server on a loopback port, including the server's message size limit.
// Transport security is the services' concern (TLS arrives with the server
// foundation); this test is about code generation and limits only.

#include <memory>
#include <string>

#include "custody/v1/common.pb.h"
#include "custody/v1/echo_test.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace custody::v1::testing {
namespace {

constexpr int kMaxMessageSize = 1024;

class EchoService final : public Echo::Service {
  grpc::Status Unary(grpc::ServerContext*, const EchoRequest* request, EchoReply* reply) override {
    reply->set_data(request->data());
    *reply->mutable_guid() = request->guid();
    return grpc::Status::OK;
  }

  grpc::Status Stream(grpc::ServerContext*,
                      grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    EchoRequest request;
    while (stream->Read(&request)) {
      EchoReply reply;
      reply.set_data(request.data());
      if (!stream->Write(reply)) break;
    }
    return grpc::Status::OK;
  }
};

class GrpcLoopbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(kMaxMessageSize);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    stub_ = Echo::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                              grpc::InsecureChannelCredentials()));
  }

  void TearDown() override { server_->Shutdown(); }

  EchoService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Echo::Stub> stub_;
};

TEST_F(GrpcLoopbackTest, UnaryCarriesImportedMessageTypes) {
  EchoRequest request;
  request.set_data("ping");
  request.mutable_guid()->set_value(std::string(16, '\x42'));
  EchoReply reply;
  grpc::ClientContext context;
  const grpc::Status status = stub_->Unary(&context, request, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(reply.data(), "ping");
  EXPECT_EQ(reply.guid().value(), std::string(16, '\x42'));
}

TEST_F(GrpcLoopbackTest, BidirectionalStreamEchoesInOrder) {
  grpc::ClientContext context;
  auto stream = stub_->Stream(&context);
  for (const char* word : {"one", "two", "three"}) {
    EchoRequest request;
    request.set_data(word);
    ASSERT_TRUE(stream->Write(request));
    EchoReply reply;
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.data(), word);
  }
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(GrpcLoopbackTest, OversizedMessageIsRefusedByTheServer) {
  EchoRequest request;
  request.set_data(std::string(kMaxMessageSize + 1, 'x'));
  EchoReply reply;
  grpc::ClientContext context;
  const grpc::Status status = stub_->Unary(&context, request, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
}

TEST(CommonProtoTest, SignedPayloadKeepsExactBytes) {
  // "Sign bytes, not messages": the payload survives a round trip byte for byte,
  // including bytes that would not re-serialize identically as a message.
  const std::string odd_payload("\x0a\x01\x41\x0a\x01\x42", 6);  // Field 1 repeated.
  SignedPayload envelope;
  envelope.set_payload_type("custody.v1.Test");
  envelope.set_payload(odd_payload);
  envelope.set_algorithm(SIGNATURE_ALGORITHM_ES256);
  envelope.set_signature("sig");
  SignedPayload parsed;
  ASSERT_TRUE(parsed.ParseFromString(envelope.SerializeAsString()));
  EXPECT_EQ(parsed.payload(), odd_payload);
  Guid reparsed;
  ASSERT_TRUE(reparsed.ParseFromString(parsed.payload()));
  EXPECT_NE(reparsed.SerializeAsString(), odd_payload);
}

}  // namespace
}  // namespace custody::v1::testing
