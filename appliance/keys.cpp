#include "appliance/keys.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "core/util/durable_file.h"
#include "core/util/secret_file.h"
#include "core/util/utf8.h"

namespace sluice::appliance {
namespace {

// O_EXCL: keygen never replaces a key that may already protect a shipped device.
Status WriteKeyFile(const std::filesystem::path& path, std::string_view bytes, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot create {}", path.string()));
  const std::string line = Base64(bytes) + "\n";
  const bool ok = ::fchmod(fd, mode) == 0 &&
                  ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, fmt::format("cannot write {}", path.string()));
  return Status::Ok();
}

Result<std::string> DecodeKey(const std::string& line, size_t want, const std::string& path, const char* what) {
  std::string bytes;
  if (!DecodeBase64(line, bytes) || bytes.size() != want) {
    return Status::InvalidArgument(fmt::format(
        "{}: not a {} (one line of base64 holding {} bytes, as `sluice appliance keygen` writes)", path, what, want));
  }
  return bytes;
}

Status InitSodium() {
  if (sodium_init() < 0) return Status::Internal("libsodium could not be initialised");
  return Status::Ok();
}

}  // namespace

Status GenerateKeys(const std::filesystem::path& dir_arg) {
  const std::filesystem::path dir = std::filesystem::absolute(dir_arg);
  if (Status s = InitSodium(); !s.ok()) return s;
  if (Status s = CreateDirectoriesDurable(dir, true); !s.ok()) return s;
  for (const char* name : {"sign.key", "sign.pub", "encrypt.key"}) {
    if (std::filesystem::exists(dir / name)) {
      return Status::InvalidArgument(
          fmt::format("{} exists already; keygen never replaces a key", (dir / name).string()));
    }
  }
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  unsigned char ek[crypto_secretstream_xchacha20poly1305_KEYBYTES];
  crypto_secretstream_xchacha20poly1305_keygen(ek);
  Status s = WriteKeyFile(dir / "sign.key", std::string_view(reinterpret_cast<char*>(sk), sizeof sk), 0600);
  if (s.ok()) s = WriteKeyFile(dir / "encrypt.key", std::string_view(reinterpret_cast<char*>(ek), sizeof ek), 0600);
  if (s.ok()) s = WriteKeyFile(dir / "sign.pub", std::string_view(reinterpret_cast<char*>(pk), sizeof pk), 0644);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(ek, sizeof ek);
  if (s.ok()) s = FsyncDirectory(dir);
  return s;
}

Result<SignKey> LoadSignKey(const std::string& path) {
  if (Status s = InitSodium(); !s.ok()) return s;
  Result<std::string> line = ReadSecretLine(path, "--sign-key");
  if (!line.ok()) return line.status();
  Result<std::string> sk = DecodeKey(line.value(), crypto_sign_SECRETKEYBYTES, path, "Ed25519 secret key");
  if (!sk.ok()) return sk.status();
  SignKey key;
  key.secret = std::move(sk).value();
  key.public_key.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(key.public_key.data()),
                               reinterpret_cast<const unsigned char*>(key.secret.data()));
  return key;
}

Result<std::string> LoadPublicKey(const std::string& path) {
  if (Status s = InitSodium(); !s.ok()) return s;
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return Status::NotFound(fmt::format("cannot read the public key {}", path));
  return DecodeKey(line, crypto_sign_PUBLICKEYBYTES, path, "Ed25519 public key");
}

Result<std::string> LoadEncryptKey(const std::string& path) {
  if (Status s = InitSodium(); !s.ok()) return s;
  Result<std::string> line = ReadSecretLine(path, "--encrypt-key");
  if (!line.ok()) return line.status();
  return DecodeKey(line.value(), crypto_secretstream_xchacha20poly1305_KEYBYTES, path, "secretstream key");
}

Result<ReaderKeys> LoadReaderKeys(const std::string& public_key_file, const std::string& encrypt_key_file) {
  ReaderKeys keys;
  if (!public_key_file.empty()) {
    Result<std::string> k = LoadPublicKey(public_key_file);
    if (!k.ok()) return k.status();
    keys.public_key = std::move(k).value();
  }
  if (!encrypt_key_file.empty()) {
    Result<std::string> k = LoadEncryptKey(encrypt_key_file);
    if (!k.ok()) return k.status();
    keys.encrypt_key = std::move(k).value();
  }
  return keys;
}

std::string Sign(const SignKey& key, std::string_view message) {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(key.secret.data()));
  return sig;
}

bool CheckSignature(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) return false;
  return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                     reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace sluice::appliance
