// The S3, Kinesis and Firehose sinks' configuration: defaults, and errors
// that name the file, line and key; the AWS IoT credential keys they share
// (all or none, files readable when the configuration is checked).
#include <catch2/catch.hpp>

#include "agent/agent_config.h"
#include "agent/sinks/aws_credentials_config.h"
#include "tests/support/agent_fixture.h"
#include "tests/support/sink_config_errors.h"
#include "tests/support/temp_dir.h"

namespace sluice {

using test::CheckSinkConfigErrors;
using test::SinkConfigError;

TEST_CASE("s3 and kinesis sinks: valid configurations pass", "[sinks]") {
  CHECK(SinkConfigError("type = \"s3\"\nbucket = \"my-lake\"\nprefix = \"edge/\"\ncompression = \"gzip\"\n") == "");
  CHECK(SinkConfigError("type = \"kinesis\"\nstream = \"s\"\npartition_key = \"{host}/{topic}-x\"\n"
                        "explicit_hash_key = \"170141183460469231731687303715884105728\"\n") == "");
  CHECK(SinkConfigError("type = \"kinesis\"\nstream = \"s\"\naggregate = true\naggregate_max_size = \"256KiB\"\n") ==
        "");
  CHECK(SinkConfigError("type = \"firehose\"\ndelivery_stream = \"to-lake.v2\"\ncombine = true\n") == "");
}

TEST_CASE("s3 and kinesis sinks: bad values name the line and the key", "[sinks]") {
  CheckSinkConfigErrors({
      {"type = \"s3\"\nbucket = \"Bad_Bucket\"\n", "sinks.out.bucket", "not an S3 bucket name"},
      {"type = \"s3\"\nbucket = \"lake\"\nprefix = \"/abs\"\n", "sinks.out.prefix", "must not start with '/'"},
      {"type = \"s3\"\nbucket = \"lake\"\nprefix = \"a//b\"\n", "sinks.out.prefix", "empty component"},
      {"type = \"s3\"\nbucket = \"lake\"\nendpoint = \"127.0.0.1:9000\"\n", "sinks.out.endpoint", "http"},
      {"type = \"s3\"\nbucket = \"lake\"\npart_size = \"1MiB\"\n", "sinks.out.part_size", ""},
      {"type = \"s3\"\nbucket = \"lake\"\ncompression = \"lz4\"\n", "sinks.out.compression", ""},
      {"type = \"s3\"\n", "bucket", "missing"},
      {"type = \"kinesis\"\nstream = \"s\"\npartition_key = \"{nope}\"\n", "sinks.out.partition_key",
       "unknown variable"},
      {"type = \"kinesis\"\nstream = \"s\"\nexplicit_hash_key = \"12a\"\n", "sinks.out.explicit_hash_key", "decimal"},
      {"type = \"kinesis\"\nstream = \"s\"\nmax_record_size = \"8MiB\"\n", "sinks.out.max_record_size",
       "max_request_size"},
      {"type = \"kinesis\"\nstream = \"s\"\nmax_records = 501\n", "sinks.out.max_records", ""},
      {"type = \"kinesis\"\n", "stream", "missing"},
      {"type = \"kinesis\"\nstream = \"s\"\naggregate = true\nmax_record_size = \"16KiB\"\n",
       "sinks.out.aggregate_max_size", "max_record_size"},
      {"type = \"kinesis\"\nstream = \"s\"\naggregate = \"yes\"\n", "sinks.out.aggregate", ""},
      {"type = \"firehose\"\n", "delivery_stream", "missing"},
      {"type = \"firehose\"\ndelivery_stream = \"a b\"\n", "sinks.out.delivery_stream", "1 to 64"},
      {"type = \"firehose\"\ndelivery_stream = \"d\"\nmax_record_size = \"2MiB\"\n", "sinks.out.max_record_size", ""},
      {"type = \"firehose\"\ndelivery_stream = \"d\"\nmax_request_size = \"5MiB\"\n", "sinks.out.max_request_size", ""},
      {"type = \"firehose\"\ndelivery_stream = \"d\"\nendpoint = \"firehose.local\"\n", "sinks.out.endpoint", "http"},
  });
}

namespace {

// The IoT keys, naming files under `dir`, without the key `drop`, and with
// `extra` ("key = value" lines) appended.
std::string IotKeys(const std::filesystem::path& dir, const std::string& drop = "", const std::string& extra = "") {
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"iot_credentials_endpoint", "abc123.credentials.iot.eu-west-1.amazonaws.com"},
      {"iot_role_alias", "sluice-edge"},
      {"iot_thing_name", "edge-7"},
      {"iot_cert", (dir / "dev.crt").string()},
      {"iot_key", (dir / "dev.key").string()},
  };
  std::string out;
  for (const auto& [k, v] : keys) {
    if (k != drop) out += k + " = " + test::TomlString(v) + "\n";
  }
  return out + extra;
}

}  // namespace

TEST_CASE("aws sinks: the AWS IoT credential keys, all or none", "[sinks]") {
  test::TempDir tmp("sluice-iot-conf");
  test::WriteFile(tmp / "dev.crt", "cert");
  test::WriteFile(tmp / "dev.key", "key");
  test::WriteFile(tmp / "ca.pem", "ca");
  for (const std::string sink : {"type = \"s3\"\nbucket = \"lake\"\n", "type = \"kinesis\"\nstream = \"s\"\n"}) {
    INFO(sink);
    CHECK(SinkConfigError(sink + IotKeys(tmp.path())) == "");
    CHECK(SinkConfigError(sink + IotKeys(tmp.path(), "", "iot_ca = " + test::TomlString((tmp / "ca.pem").string()))) ==
          "");
    CHECK(SinkConfigError(sink + "iot_credentials_endpoint = \"https://127.0.0.1:8443\"\n" +
                          IotKeys(tmp.path(), "iot_credentials_endpoint")) == "");

    CheckSinkConfigErrors(
        {
            {IotKeys(tmp.path(), "iot_key"), "sinks.out.iot_credentials_endpoint", "missing: iot_key"},
            {IotKeys(tmp.path(), "iot_credentials_endpoint"), "sinks.out.iot_role_alias",
             "missing: iot_credentials_endpoint"},
            {"iot_thing_name = \"edge-7\"\n", "sinks.out.iot_thing_name",
             "missing: iot_credentials_endpoint, iot_role_alias, iot_cert, iot_key"},
            {"iot_ca = \"/etc/ssl/certs/ca-certificates.crt\"\n", "sinks.out.iot_ca", "only used with"},
            {IotKeys(tmp.path(), "iot_cert", "iot_cert = " + test::TomlString((tmp / "missing.crt").string()) + "\n"),
             "sinks.out.iot_cert", "not readable"},
            {IotKeys(tmp.path(), "", "iot_ca = " + test::TomlString((tmp / "missing-ca.pem").string()) + "\n"),
             "sinks.out.iot_ca", "not readable"},
            {IotKeys(tmp.path(), "iot_credentials_endpoint", "iot_credentials_endpoint = \"http://x\"\n"),
             "sinks.out.iot_credentials_endpoint", "https://"},
            {IotKeys(tmp.path(), "iot_role_alias", "iot_role_alias = \"a/b\"\n"), "sinks.out.iot_role_alias",
             "not a role alias"},
            {IotKeys(tmp.path(), "iot_thing_name", "iot_thing_name = \"\"\n"), "sinks.out.iot_thing_name",
             "not a thing name"},
        },
        sink);
  }
}

TEST_CASE("aws sinks: the credential keys become the chain's sources", "[sinks]") {
  test::TempDir tmp("sluice-iot-sources");
  test::WriteFile(tmp / "dev.crt", "cert");
  test::WriteFile(tmp / "dev.key", "key");
  const std::string toml = "profile = \"edge\"\n" + IotKeys(tmp.path());
  const ConfigDocument doc = ConfigDocument::Parse(toml, "sink.toml");
  TableReader r(doc, nullptr);
  const AwsCredentialsConfig c = ParseAwsCredentialsConfig(r);
  r.Finish();
  const aws::CredentialSources s = MakeCredentialSources(c, {{"AWS_REGION", "eu-west-1"}});
  CHECK(s.profile == "edge");
  CHECK(s.environment.at("AWS_REGION") == "eu-west-1");
  REQUIRE(s.iot.has_value());
  CHECK(s.iot->endpoint == "abc123.credentials.iot.eu-west-1.amazonaws.com");
  CHECK(s.iot->role_alias == "sluice-edge");
  CHECK(s.iot->thing_name == "edge-7");
  CHECK(s.iot->cert_file == (tmp / "dev.crt").string());
  CHECK(s.iot->key_file == (tmp / "dev.key").string());
  CHECK(s.iot->ca_file.empty());
  CHECK(aws::IotCredentialsUrl(*s.iot) ==
        "https://abc123.credentials.iot.eu-west-1.amazonaws.com/role-aliases/sluice-edge/credentials");
}

}  // namespace sluice
