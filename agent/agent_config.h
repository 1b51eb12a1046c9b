// The agent's configuration: [agent] settings plus the named sources,
// transforms and sinks, each parsed by its component's own config reader,
// validated as a whole before anything starts (every input exists, the
// transforms form no cycle, every source and transform feeds something, names
// are safe as path components and unique across sources and transforms).
// Loading throws ConfigError (exit status 2).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/buffer/buffer.h"
#include "agent/sinks/sink.h"
#include "agent/sinks/sink_runner.h"
#include "agent/sources/source.h"
#include "agent/transforms/transform.h"
#include "core/config/reader.h"
#include "core/log/log.h"

namespace sluice {

using SourceBuilder = std::function<std::unique_ptr<Source>(const SourceContext&)>;
using SinkBuilder = std::function<std::unique_ptr<Sink>(const SinkContext&)>;

struct SourceSpec {
  std::string name;
  std::string type;
  SourceBuilder build;
};

struct SinkSpec {
  std::string name;
  std::string type;
  std::vector<std::string> inputs;
  BatchPolicy policy;
  RetryPolicy retry;
  SinkBuilder build;
};

struct AgentConfig {
  std::filesystem::path config_path;
  BufferOptions buffer;
  std::string host;
  std::string metrics_address;  // empty: no metrics endpoint
  LogFormat log_format = LogFormat::kText;
  spdlog::level::level_enum log_level = spdlog::level::info;
  std::chrono::milliseconds shutdown_timeout{30'000};
  std::vector<SourceSpec> sources;
  std::vector<TransformSpec> transforms;  // in the order of the file
  std::vector<SinkSpec> sinks;
  EffectiveConfig effective;
};

AgentConfig LoadAgentConfig(const std::string& path);
// The data flow as comment lines for `agent check`: each transform and each
// sink with what it takes, e.g. "#   transform tokens (tokenize) <- parsed".
std::string DescribeAgentGraph(const AgentConfig& config);
AgentConfig ParseAgentConfig(const ConfigDocument& doc);

}  // namespace sluice
