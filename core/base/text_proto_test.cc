#include "core/base/text_proto.h"

#include "absl/status/status.h"
#include "custody/v1/config.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace custody {
namespace {

using ::testing::HasSubstr;

TEST(TextProtoTest, ParsesAConfiguration) {
  v1::ManufacturerConfig config;
  ASSERT_TRUE(ParseTextProto(R"(
      organization: "Acme"
      server { state_dir: "/var/lib/custody" listen_address: "0.0.0.0:8040" }
      models { model: "gw-100" device_certificate_validity_days: 3650 }
  )",
                             "m.textproto", &config)
                  .ok());
  EXPECT_EQ(config.organization(), "Acme");
  EXPECT_EQ(config.models(0).device_certificate_validity_days(), 3650u);
}

TEST(TextProtoTest, UnknownFieldsAndBadValuesNameThePlace) {
  v1::ManufacturerConfig config;
  absl::Status unknown =
      ParseTextProto("organization: \"Acme\"\nsurver {}\n", "m.textproto", &config);
  EXPECT_EQ(unknown.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("m.textproto:2:"));
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("surver"));
  absl::Status bad_value =
      ParseTextProto("models { device_certificate_validity_days: -3 }", "m.textproto", &config);
  EXPECT_THAT(std::string(bad_value.message()), HasSubstr("m.textproto:1:"));
  EXPECT_EQ(ReadTextProtoFile("/nonexistent/m.textproto", &config).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace custody
