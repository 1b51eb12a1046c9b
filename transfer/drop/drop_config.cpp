#include "transfer/drop/drop_config.h"

#include <cctype>
#include <set>

#include "core/config/units.h"
#include "transfer/drop/landing.h"
#include "transfer/drop/source_layout.h"
#include "transfer/open_endpoint.h"
#include "transfer/s3/s3_url.h"

namespace sluice::transfer::drop {
namespace {

bool IsSafeName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

std::vector<Glob> Globs(TableReader& r, std::string_view key, const std::vector<std::string>& def,
                        std::string_view doc) {
  std::vector<Glob> out;
  for (const std::string& p : r.Strings(key, def, doc)) {
    Result<Glob> g = Glob::Compile(p);
    if (!g.ok()) r.Fail(key, "\"" + p + "\": " + g.status().message());
    out.push_back(std::move(g).value());
  }
  return out;
}

// A {name} template for a file beside the data file: one path component.
void CheckNameTemplate(TableReader& r, std::string_view key, const std::string& t) {
  if (t.find("{name}") == std::string::npos) r.Fail(key, "\"" + t + "\" must contain {name}");
  if (t.find('/') != std::string::npos) r.Fail(key, "\"" + t + "\" must name a file beside the data file (no '/')");
  if (t == "{name}") r.Fail(key, "\"" + t + "\" would be the data file itself");
}

DropSpec ParseDrop(const std::string& name, TableReader& r) {
  DropSpec d;
  d.name = name;
  if (!IsSafeName(name)) r.Fail("", "a drop name may use only letters, digits, '_' and '-' (64 at most)");
  d.source = r.RequiredString("source", "the inbox: a local directory or sftp://user@host:port/path");
  if (IsS3Url(d.source)) {
    r.Fail("source", d.source + ": an inbox is a local directory or sftp:// (an s3:// inbox is not supported)");
  } else if (std::string p = UrlProblem(d.source); !p.empty()) {
    r.Fail("source", p);
  }

  d.sftp.known_hosts = r.String("known_hosts", "", "known_hosts file for sftp:// (empty: ~/.ssh/known_hosts)");
  d.sftp.accept_new_host_key =
      r.Bool("accept_new_host_key", false, "add an unknown host's key on first contact (a changed key is refused)");
  d.sftp.key_file = r.String("ssh_key", "", "private key file for sftp://");
  d.sftp.key_passphrase_file = r.String("ssh_key_passphrase_file", "", "file holding the key's passphrase");
  d.sftp.password_file = r.String("password_file", "", "file holding the SSH password");
  d.sftp.connections = static_cast<int>(r.Int("connections", 4, 1, 64, "SSH connections to the source server at most"));

  d.include = Globs(r, "include", {}, "take only files matching one of these globs (empty: all)");
  d.exclude = Globs(r, "exclude", {}, "never take files matching these globs");
  d.ignore =
      Globs(r, "ignore", {"*.part", "*.filepart", ".~*", "*.tmp"}, "names of uploads still in progress: never taken");
  d.recursive = r.Bool("recursive", false, "also take files in folders below the inbox");
  d.poll = r.Duration("poll", "30s", "how often the inbox is listed", std::chrono::milliseconds(10));
  const std::string stable_default = FormatDuration(2 * d.poll);
  d.stable_for =
      r.Duration("stable_for", stable_default,
                 "a file is complete once its size and mtime stayed the same this long (default: two polls)");
  d.done_marker =
      r.String("done_marker", "", "complete once this file exists, e.g. \"{name}.done\" (empty: stability)");
  if (!d.done_marker.empty()) CheckNameTemplate(r, "done_marker", d.done_marker);
  d.sidecars = r.Strings("sidecars", {"{name}.sha256", "{name}.md5"},
                         "checksum files verified when the partner provides them (.sha256 or .md5)");
  for (const std::string& s : d.sidecars) {
    CheckNameTemplate(r, "sidecars", s);
    if (!s.ends_with(".sha256") && !s.ends_with(".md5"))
      r.Fail("sidecars", "\"" + s + "\" must end in .sha256 or .md5");
  }
  d.require_sidecar = r.Bool("require_sidecar", false, "wait for a sidecar checksum before taking a file");
  if (d.require_sidecar && d.sidecars.empty()) r.Fail("require_sidecar", "needs at least one entry in sidecars");

  d.destination = r.RequiredString("destination", "the lake root: a local directory, s3://bucket/prefix (or sftp://)");
  if (std::string p = UrlProblem(d.destination); !p.empty()) r.Fail("destination", p);
  d.s3.endpoint = r.String("s3_endpoint", "", "s3:// destination: endpoint URL (VPC endpoint, S3-compatible store)");
  d.s3.region = r.String("s3_region", "", "s3:// destination: region (empty: AWS_REGION, else us-east-1)");
  d.s3.path_style = r.Bool("s3_path_style", false, "s3:// destination: path-style addressing (https://host/bucket)");
  d.s3.profile = r.String("s3_profile", "", "s3:// destination: profile in ~/.aws/credentials and ~/.aws/config");
  d.land_as = r.String("land_as", "raw/{drop}/dt={date}/{name}",
                       "where a file lands below destination: {drop} {date} {name} {path} {stem} {ext} {version}");
  if (std::string p = LandingTemplateProblem(d.land_as); !p.empty()) r.Fail("land_as", p);
  d.decompress = r.Bool("decompress", false, "land .gz and .zst files decompressed, without the suffix");
  d.verify = r.Enum("verify", "readback", {"readback", "size"},
                    "check a landed file by reading it back and hashing it, or by its size") == "size"
                 ? VerifyLanded::kSize
                 : VerifyLanded::kReadback;
  const std::string dedupe = r.Enum("dedupe", "same-name", {"same-name", "any-name", "off"},
                                    "a re-upload with content already landed is not landed again");
  d.dedupe = dedupe == "same-name" ? Dedupe::kSameName : dedupe == "any-name" ? Dedupe::kAnyName : Dedupe::kOff;

  const std::string after = r.Enum("after", "move", {"move", "delete", "keep"},
                                   "what happens to the source file once it has landed and is verified");
  d.after = after == "move" ? AfterAction::kMove : after == "delete" ? AfterAction::kDelete : AfterAction::kKeep;
  d.move_to = r.String("move_to", "../processed", "after = \"move\": where (relative to the inbox, or absolute)");
  if (d.after != AfterAction::kMove) d.move_to.clear();
  d.failed_to = r.String("failed_to", "", "where a quarantined file's source goes (empty: left in place)");
  Result<SourceLayout> layout = ResolveSourceLayout(d.source, d.move_to, d.failed_to);
  if (!layout.ok()) {
    const std::string& m = layout.status().message();
    r.Fail(m.starts_with("failed_to") ? "failed_to" : m.starts_with("move_to") ? "move_to" : "source", m);
  }
  if (d.recursive) {
    const auto inside = [&](const std::string& dir) {
      return !dir.empty() && (layout.value().inbox.empty() || dir.starts_with(layout.value().inbox + "/"));
    };
    if (inside(layout.value().move_to) || inside(layout.value().failed_to)) {
      r.Fail("recursive", "move_to and failed_to must be outside the inbox when recursive = true");
    }
  }

  d.transfers = static_cast<int>(r.Int("transfers", 4, 1, 64, "files landed at once"));
  d.batch = static_cast<int>(r.Int("batch", 128, 1, 10000, "files taken per ledger step"));
  d.max_attempts =
      static_cast<int>(r.Int("max_attempts", 5, 1, 1000, "transient failures of one file before it is quarantined"));
  return d;
}

DropServiceConfig Parse(const ConfigDocument& doc) {
  DropServiceConfig c;
  c.path = doc.path();
  TableReader root(doc, &c.effective);
  TableReader top = root.Section("drop");
  c.data_dir = top.String("data_dir", "/var/lib/sluice/drop", "where the ledger (and the default log) live");
  c.landed_log =
      top.String("landed_log", c.data_dir + "/landed.jsonl", "a JSON line per landed, duplicate or quarantined file");
  const std::string metrics = top.String("metrics", "", "host:port for /metrics and /healthz; empty disables");
  if (!metrics.empty()) c.metrics = metrics;
  c.log_format = top.Enum("log_format", "text", {"text", "json"}, "log line format on stderr");
  c.log_level =
      top.Enum("log_level", "info", {"trace", "debug", "info", "warn", "error", "off"}, "lowest level logged");
  top.Finish();

  TableReader drops = root.Section("drops");
  for (const std::string& name : drops.Keys()) {
    TableReader r = drops.Section(name);
    c.drops.push_back(ParseDrop(name, r));
    r.Finish();
  }
  drops.Finish();
  root.Finish();
  if (c.drops.empty()) root.Fail("", "no [drops.NAME] table: nothing to ingest");
  return c;
}

}  // namespace

DropServiceConfig LoadDropConfig(const std::string& path) { return Parse(ConfigDocument::Load(path)); }

DropServiceConfig ParseDropConfig(std::string_view text, const std::string& path_for_errors) {
  return Parse(ConfigDocument::Parse(text, path_for_errors));
}

}  // namespace sluice::transfer::drop
