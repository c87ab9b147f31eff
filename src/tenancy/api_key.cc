#include "tenancy/api_key.h"

#include "base/hash.h"
#include "base/random.h"

namespace socle::tenancy {

std::string generate_key_secret() {
  return std::string(KEY_PREFIX) + secure_random_token(KEY_RANDOM_BYTES);
}

std::string hash_key_secret(std::string_view secret) {
  return sha256(secret);
}

std::string key_display_prefix(std::string_view secret) {
  return std::string(secret.substr(0, KEY_DISPLAY_CHARS));
}

Status check_supplied_key(std::string_view secret) {
  if (!secret.starts_with(KEY_PREFIX) ||
      secret.size() < KEY_PREFIX.size() + MIN_SUPPLIED_KEY_CHARS) {
    return invalid_argument("an API key is 'sk-' followed by at least " +
                            std::to_string(MIN_SUPPLIED_KEY_CHARS) + " characters");
  }
  for (char c : secret.substr(KEY_PREFIX.size())) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok) return invalid_argument("an API key uses only A-Z, a-z, 0-9, '-' and '_' after 'sk-'");
  }
  return Status::ok();
}

}  // namespace socle::tenancy
