#include "agent/sources/tail/tail_config.h"

#include "core/util/pcre_regex.h"

namespace sluice {

namespace {

std::vector<Glob> CompileGlobs(TableReader& r, std::string_view key, const std::vector<std::string>& patterns) {
  std::vector<Glob> out;
  for (const std::string& p : patterns) {
    Result<Glob> g = Glob::Compile(p);
    if (!g.ok()) r.Fail(key, g.status().message());
    out.push_back(std::move(g).value());
  }
  return out;
}

}  // namespace

TailConfig ParseTailConfig(TableReader& r) {
  TailConfig c;
  c.paths = CompileGlobs(r, "paths",
                         r.RequiredStrings("paths", "globs of the files to tail; ** matches any number of directories"));
  c.exclude = CompileGlobs(
      r, "exclude", r.Strings("exclude", {}, "globs of files to skip; one without '/' matches the file name"));
  c.start_at = r.Enum("start_at", "end", {"beginning", "end"},
                      "where to start in files present at the very first start; later files are read from the "
                      "beginning") == "beginning"
                   ? TailConfig::StartAt::kBeginning
                   : TailConfig::StartAt::kEnd;
  {
    TableReader ml = r.Table("multiline");
    c.multiline_start =
        ml.OptionalString("start", "regex (PCRE2) of a record's first line; other lines join the record before");
    if (c.multiline_start) {
      Result<PcreRegex> re = PcreRegex::Compile(*c.multiline_start);
      if (!re.ok()) ml.Fail("start", re.status().message());
    }
    c.multiline_timeout =
        ml.Duration("timeout", "1s", "emit a pending multiline record after no line joined it for this long");
    ml.Finish();
  }
  c.max_line = r.Size("max_line", "1MiB", 16, 64ULL << 20,
                      "longer lines are split into parts of this size (counted in sluice_tail_split_lines_total)");
  c.idle_flush = r.Duration("idle_flush", "5s", "emit a last line without newline once the file stopped growing this long");
  c.rotate_wait = r.Duration("rotate_wait", "5s",
                             "keep reading a rotated-away or deleted file until idle at its end this long");
  c.scan_interval = r.Duration("scan_interval", "1s", "rescan the globs (and poll, without inotify) this often",
                               std::chrono::milliseconds(10));
  c.poll = r.Bool("poll", false, "poll instead of using inotify (network file systems)");
  c.batch_bytes = r.Size("batch_bytes", "1MiB", 1024, 256ULL << 20, "commit a batch once it holds this many bytes");
  c.commit_interval =
      r.Duration("commit_interval", "1s", "commit a batch at most this long after its first record");
  c.read_buffer = r.Size("read_buffer", "256KiB", 16, 64ULL << 20, "bytes read from a file at once");
  c.fingerprint_bytes = r.Size("fingerprint_bytes", "1KiB", 16, 64 << 10,
                               "leading bytes hashed to tell files apart when inode numbers are reused");
  return c;
}

}  // namespace sluice
