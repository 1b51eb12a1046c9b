#include "agent/sinks/dead_letter.h"

#include "core/util/durable_file.h"

namespace sluice {

Result<std::filesystem::path> WriteDeadLetters(const std::filesystem::path& root, const BatchInfo& b,
                                               std::string_view lines) {
  const std::filesystem::path dir = root / b.source;
  if (Status s = CreateDirectoriesDurable(dir, true); !s.ok()) return s;
  const std::filesystem::path path = dir / (b.id + ".jsonl");
  Result<AtomicFile> f = AtomicFile::Create(path, true);
  if (!f.ok()) return f.status();
  if (Status s = f->Append(lines); !s.ok()) return s;
  if (Status s = f->Commit(); !s.ok()) return s;
  return path;
}

}  // namespace sluice
