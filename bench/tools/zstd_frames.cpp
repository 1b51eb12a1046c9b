// sluice-zstd-frames: compresses a file of JSON Lines the way the agent
// stores a stream (BatchBuilder: level 1, records staged and compressed in
// steps, one frame per `--frame-records` records, as a transform worker's
// chunk) and prints MB/s and the ratio, best of `--reps`. bench/zstd_hashlog.sh
// runs it on lake records of several shapes to choose zstd's hash table.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "agent/buffer/batch_builder.h"

int main(int argc, char** argv) {
  std::string path;
  size_t frame_records = 1024;
  int hash_log = 0;
  int reps = 7;
  CLI::App app{"Compress JSON Lines as the agent stores them; print MB/s and ratio"};
  app.add_option("file", path, "JSON Lines")->required();
  app.add_option("--frame-records", frame_records, "records per zstd frame")->check(CLI::PositiveNumber);
  app.add_option("--hash-log", hash_log, "zstd's hashLog (0: level 1's own)")->check(CLI::Range(0, 30));
  app.add_option("--reps", reps, "repetitions (the best is printed)")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(path);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 2;
  }
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line + '\n');

  double best = 1e300;
  uint64_t raw = 0, stored = 0;
  for (int r = 0; r < reps; ++r) {
    sluice::BatchBuilder b(1, hash_log);
    raw = stored = 0;
    const auto t0 = std::chrono::steady_clock::now();
    size_t n = 0;
    for (const std::string& line : lines) {
      b.staging() += line;
      b.EndRecord(static_cast<int64_t>(++n));
      if (n % frame_records == 0 || n == lines.size()) {
        sluice::Result<sluice::EncodedBatch> batch = b.Finish();
        if (!batch.ok()) {
          std::fprintf(stderr, "%s\n", batch.status().message().c_str());
          return 1;
        }
        raw += batch->raw_bytes;
        stored += batch->zstd.size();
      }
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("%.1f MB/s, %.3f:1 (%llu -> %llu bytes)\n", static_cast<double>(raw) / best / 1e6,
              static_cast<double>(raw) / static_cast<double>(stored), static_cast<unsigned long long>(raw),
              static_cast<unsigned long long>(stored));
}
