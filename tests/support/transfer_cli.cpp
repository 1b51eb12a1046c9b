#include "tests/support/transfer_cli.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <vector>

#include "tests/support/no_instance_metadata.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace fs = std::filesystem;

namespace {

ProcessOptions TransferOptions(const std::vector<std::string>& args, const fs::path& log_dir,
                               std::vector<std::pair<std::string, std::string>> env) {
  ProcessOptions o;
  o.program = SLUICE_BINARY;
  o.args = {"transfer"};
  o.args.insert(o.args.end(), args.begin(), args.end());
  o.log_dir = log_dir;
  o.name = "sluice-transfer";
  o.append_logs = false;
  o.env = NoInstanceMetadata(std::move(env));
  return o;
}

}  // namespace

RunResult RunSluiceTransfer(const std::vector<std::string>& args, const fs::path& log_dir,
                            std::chrono::milliseconds timeout, std::vector<std::pair<std::string, std::string>> env) {
  return RunToCompletion(TransferOptions(args, log_dir, std::move(env)), timeout);
}

Process StartSluiceTransfer(const std::vector<std::string>& args, const fs::path& log_dir,
                            std::vector<std::pair<std::string, std::string>> env) {
  return Process(TransferOptions(args, log_dir, std::move(env)));
}

std::string Sha256File(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  // One buffer per thread: a fresh 1 MiB per file cost a page fault per 4 KiB
  // (30 s of system time over the 100,000 files of the appliance round trip).
  thread_local std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::map<std::string, TreeEntry> ReadTree(const fs::path& root, bool skip_partials) {
  std::map<std::string, TreeEntry> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (skip_partials && name.starts_with(".sluice-") && name.ends_with(".part")) continue;
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) throw std::runtime_error("lstat " + it->path().string());
    TreeEntry e;
    e.mode = st.st_mode & 07777;
    e.mtime_s = st.st_mtim.tv_sec;
    if (S_ISDIR(st.st_mode)) {
      e.type = 'd';
    } else if (S_ISLNK(st.st_mode)) {
      e.type = 'l';
      e.target = fs::read_symlink(it->path()).string();
    } else if (S_ISREG(st.st_mode)) {
      e.type = 'f';
      e.size = static_cast<uint64_t>(st.st_size);
      e.sha256 = Sha256File(it->path());
    }
    out[it->path().lexically_relative(root).string()] = e;  // fs::relative would resolve symlinks
  }
  return out;
}

nlohmann::json ReadJsonFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return nlohmann::json::parse(in);
}

nlohmann::json ReportEntryFor(const nlohmann::json& report, const std::string& path) {
  for (const nlohmann::json& e : report.at("entries")) {
    if (e.at("path") == path) return e;
  }
  return nullptr;
}

void SetMtime(const fs::path& path, int64_t seconds) {
  const timeval tv[2] = {{seconds, 0}, {seconds, 0}};
  if (lutimes(path.c_str(), tv) != 0) throw std::runtime_error("lutimes " + path.string());
}

void MakeAwkwardTree(const fs::path& root) {
  fs::create_directories(root / "dir with spaces/nested");
  fs::create_directories(root / "empty-dir");
  WriteFile(root / "dir with spaces/nested/file name.txt", "spaces");
  WriteFile(root / "caf\xC3\xA9-nfc", "nfc");
  WriteFile(root / "cafe\xCC\x81-nfd", "nfd");
  WriteFile(root / "new\nline", "newline");
  WriteFile(root / std::string(255, 'L'), "the longest component (its partial file gets a hashed name)");
  WriteFile(root / "empty", "");
  WriteRandomFile(root / "big.bin", 3 * 1024 * 1024 + 5, 3);
  fs::create_symlink("big.bin", root / "link-to-big");
}

void WriteRandomFile(const fs::path& path, uint64_t size, uint64_t seed) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  std::vector<uint64_t> buf((1 << 20) / 8);
  uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (uint64_t done = 0; done < size;) {
    for (uint64_t& w : buf) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      w = x;
    }
    const uint64_t n = std::min<uint64_t>(size - done, buf.size() * 8);
    out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(n));
    done += n;
  }
  if (!out.flush()) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace sluice::test
