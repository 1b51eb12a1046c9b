// The S3, Kinesis and Firehose sinks' configuration: defaults, and errors that name
// the file, line and key.
#include <catch2/catch.hpp>

#include "agent/agent_config.h"

namespace sluice {
namespace {

std::string AwsSinkError(const std::string& sink_keys) {
  const std::string toml =
      "[agent]\ndata_dir = \"/tmp/state\"\n[sources.app]\ntype = \"tail\"\npaths = [\"/l/*.log\"]\n"
      "[sinks.out]\ninputs = [\"app\"]\n" +
      sink_keys;
  try {
    ParseAgentConfig(ConfigDocument::Parse(toml, "agent.toml"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("s3 and kinesis sinks: valid configurations pass", "[sinks]") {
  CHECK(AwsSinkError("type = \"s3\"\nbucket = \"my-lake\"\nprefix = \"edge/\"\ncompression = \"gzip\"\n") == "");
  CHECK(AwsSinkError("type = \"kinesis\"\nstream = \"s\"\npartition_key = \"{host}/{topic}-x\"\n"
                     "explicit_hash_key = \"170141183460469231731687303715884105728\"\n") == "");
  CHECK(AwsSinkError("type = \"kinesis\"\nstream = \"s\"\naggregate = true\naggregate_max_size = \"256KiB\"\n") == "");
  CHECK(AwsSinkError("type = \"firehose\"\ndelivery_stream = \"to-lake.v2\"\ncombine = true\n") == "");
}

TEST_CASE("s3 and kinesis sinks: bad values name the line and the key", "[sinks]") {
  struct Case {
    std::string keys;
    std::string key;
    std::string says;
  };
  const std::vector<Case> cases = {
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
  };
  for (const Case& c : cases) {
    INFO(c.keys);
    const std::string err = AwsSinkError(c.keys);
    CHECK(err.find("agent.toml:") != std::string::npos);
    CHECK(err.find(c.key) != std::string::npos);
    CHECK(err.find(c.says) != std::string::npos);
  }
}

}  // namespace sluice
