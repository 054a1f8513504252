// The node's configuration file (trenode.v1.NodeConfig in text format) as an
// operator might write it, loaded from a directory that holds the key and
// certificate files the seeds name. A loaded config is valid, has its
// defaults filled, and names every file by an absolute path.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "node/config/node_config.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

namespace fs = std::filesystem;

// A directory for the whole run: the config file and the files it may name.
const fs::path& ConfigDir() {
  static const fs::path* dir = [] {
    std::string pattern = (fs::temp_directory_path() / "trenode-fuzz-config-XXXXXX").string();
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    auto* path = new fs::path(pattern);
    fs::create_directories(*path / "pki");
    for (const char* file :
         {"pki/node.pem", "pki/node.key", "pki/ca.pem", "jwks.json", "pki/log.key"}) {
      std::ofstream(*path / file) << "x";
    }
    std::atexit([] { fs::remove_all(*dir); });
    return path;
  }();
  return *dir;
}

bool Absolute(const std::string& path) { return fs::path(path).is_absolute(); }

}  // namespace

TRENODE_FUZZ_TARGET(node_config) {
  const std::string path = (ConfigDir() / "node.textproto").string();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    FUZZ_CHECK(out.good());
  }
  absl::StatusOr<trenode::v1::NodeConfig> config = trenode::config::LoadNodeConfig(path);
  if (!config.ok()) {
    FUZZ_CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
    FUZZ_CHECK(absl::StartsWith(config.status().message(), path + ": "));
    return 0;
  }
  FUZZ_CHECK(trenode::config::ValidateNodeConfig(*config).ok());
  FUZZ_CHECK(Absolute(config->database_path()));
  FUZZ_CHECK(Absolute(config->work_dir()));
  FUZZ_CHECK(Absolute(config->tls().certificate_file()));
  FUZZ_CHECK(Absolute(config->tls().private_key_file()));
  FUZZ_CHECK(Absolute(config->tls().client_ca_file()));
  FUZZ_CHECK(Absolute(config->activity_log().signing_key_file()));
  FUZZ_CHECK(Absolute(config->object_store().posix().root()));
  FUZZ_CHECK(config->oidc().jwks_file().empty() || Absolute(config->oidc().jwks_file()));
  FUZZ_CHECK(config->max_import_bytes() > 0);
  FUZZ_CHECK(config->activity_log().checkpoint_interval_seconds() > 0);
  return 0;
}
