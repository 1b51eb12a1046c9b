#include "tests/support/test_pki.h"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;

// Runs openssl to completion; throws with the command line and its stderr
// when it fails.
void Openssl(const std::vector<std::string>& args) {
  ProcessOptions o;
  o.program = "openssl";
  o.args = args;
  const RunResult r = RunToCompletion(std::move(o), std::chrono::seconds(60));
  if (r.timed_out || !r.status.Exited(0)) {
    std::string command = "openssl";
    for (const auto& a : args) command += " " + a;
    throw std::runtime_error("`" + command + "` failed (" + (r.timed_out ? "timed out" : r.status.ToString()) +
                             "): " + r.err);
  }
}

void MakeCa(const fs::path& cert, const fs::path& key, const std::string& subject) {
  Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           key.string(), "-out", cert.string(), "-days", "3650", "-subj", subject, "-addext",
           "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"});
}

// <dir>/<name>.key and <name>.crt for `subject`, signed by the CA, with the
// extensions in `ext` (an openssl extension file's lines).
void MakeSigned(const fs::path& dir, const std::string& name, const std::string& subject, const std::string& ext,
                const fs::path& ca_cert, const fs::path& ca_key, int serial) {
  const fs::path key = dir / (name + ".key");
  const fs::path csr = dir / (name + ".csr");
  const fs::path ext_file = dir / (name + ".ext");
  Openssl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
           key.string(), "-out", csr.string(), "-subj", subject});
  WriteFile(ext_file, ext);
  Openssl({"x509", "-req", "-in", csr.string(), "-CA", ca_cert.string(), "-CAkey", ca_key.string(), "-set_serial",
           std::to_string(serial), "-days", "3650", "-out", (dir / (name + ".crt")).string(), "-extfile",
           ext_file.string()});
}

}  // namespace

TestPki::TestPki(fs::path dir, const std::string& client_cn) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
  MakeCa(ca_cert(), ca_key(), "/CN=Sluice Test CA");
  MakeSigned(dir_, "server", "/CN=localhost",
             "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage="
             "serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
             ca_cert(), ca_key(), 2);
  const std::string client_ext =
      "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n";
  MakeSigned(dir_, "client", "/CN=" + client_cn, client_ext, ca_cert(), ca_key(), 3);
  MakeCa(other_ca_cert(), dir_ / "other-ca.key", "/CN=Sluice Other CA");
  MakeSigned(dir_, "other-client", "/CN=sluice-test-intruder", client_ext, other_ca_cert(), dir_ / "other-ca.key", 4);
}

}  // namespace sluice::test
