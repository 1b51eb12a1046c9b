// Key files of `sluice appliance keygen` and what export, verify and import
// read from them. Each file is one line of standard base64: sign.key the
// 64-byte Ed25519 secret key (libsodium's seed + public key form), sign.pub
// the 32-byte public key, encrypt.key the 32-byte secretstream key. Secret
// files are created 0600 and never overwritten; their bytes never appear in a
// message, only their paths.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::appliance {

struct SignKey {
  std::string secret;      // 64 bytes
  std::string public_key;  // 32 bytes
};

// Writes sign.key, sign.pub and encrypt.key into `dir` (created if needed);
// refuses when any of them exists already.
Status GenerateKeys(const std::filesystem::path& dir);

Result<SignKey> LoadSignKey(const std::string& path);
Result<std::string> LoadPublicKey(const std::string& path);   // 32 bytes
Result<std::string> LoadEncryptKey(const std::string& path);  // 32 bytes

// The keys verify and import read: each file optional (empty path: empty key).
struct ReaderKeys {
  std::string public_key;   // 32 bytes, or empty
  std::string encrypt_key;  // 32 bytes, or empty
};
Result<ReaderKeys> LoadReaderKeys(const std::string& public_key_file, const std::string& encrypt_key_file);

// A detached Ed25519 signature (64 bytes) of `message`.
std::string Sign(const SignKey& key, std::string_view message);
bool CheckSignature(std::string_view public_key, std::string_view message, std::string_view signature);

}  // namespace sluice::appliance
