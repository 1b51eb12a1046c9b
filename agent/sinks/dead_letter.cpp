#include "agent/sinks/dead_letter.h"

#include "core/util/durable_file.h"

namespace sluice {

Result<std::filesystem::path> WriteDeadLetterFile(const std::filesystem::path& dir, const std::string& source,
                                                  const std::string& name, std::string_view lines) {
  const std::filesystem::path folder = dir / source;
  if (Status s = CreateDirectoriesDurable(folder, true); !s.ok()) return s;
  const std::filesystem::path path = folder / (name + ".jsonl");
  Result<AtomicFile> f = AtomicFile::Create(path, true);
  if (!f.ok()) return f.status();
  if (Status s = f->Append(lines); !s.ok()) return s;
  if (Status s = f->Commit(); !s.ok()) return s;
  return path;
}

}  // namespace sluice
