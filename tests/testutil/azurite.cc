#include "tests/testutil/azurite.h"

#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "adapters/azure/blob_client.h"
#include "node/common/status_macros.h"

namespace trenode::testing {

using adapters::azure::AzureStorageAccount;

absl::StatusOr<Azurite*> Azurite::Get() {
  static std::unique_ptr<Azurite> azurite;  // stopped by its destructor at exit
  if (azurite != nullptr) return azurite.get();
  const std::string program = SourceDir() + "/tests/emulators/node_modules/.bin/azurite-blob";
  if (!std::filesystem::exists(program)) {
    return absl::FailedPreconditionError(
        absl::StrCat(program, " is missing: run `npm ci` in tests/emulators"));
  }
  std::unique_ptr<Azurite> started(new Azurite());
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  ASSIGN_OR_RETURN(
      started->server_,
      ServerProcess::Start(
          {"node", program, "--blobHost", "127.0.0.1", "--blobPort", absl::StrCat(port),
           "--location", started->dir_.path().string(), "--silent", "--disableTelemetry"},
          {}, port, started->dir_.File("azurite.log")));
  azurite = std::move(started);
  return azurite.get();
}

AzureStorageAccount Azurite::account() const { return AccountVia(server_->port()); }

AzureStorageAccount Azurite::AccountVia(int port) const {
  AzureStorageAccount account;
  account.blob_endpoint =
      absl::StrCat("http://127.0.0.1:", port, "/", adapters::azure::kDevelopmentAccountName);
  account.account_name = adapters::azure::kDevelopmentAccountName;
  account.account_key = adapters::azure::kDevelopmentAccountKey;
  return account;
}

absl::StatusOr<std::string> Azurite::NewContainer() {
  std::string name = absl::StrCat("test-", getpid(), "-", ++containers_made_);
  ASSIGN_OR_RETURN(auto client, adapters::azure::BlobClient::Create(account()));
  adapters::azure::BlobCall create{"PUT", name, {{"restype", "container"}}, {}, ""};
  ASSIGN_OR_RETURN(auto response, client->Send(create));
  if (response.status != 201) return client->Error(create, response);
  return name;
}

void AzuriteContainerTest::SetUp() {
  absl::StatusOr<Azurite*> azurite = Azurite::Get();
  ASSERT_TRUE(azurite.ok()) << azurite.status();
  azurite_ = *azurite;
  absl::StatusOr<std::string> container = azurite_->NewContainer();
  ASSERT_TRUE(container.ok()) << container.status();
  container_ = *container;
}

absl::StatusOr<std::unique_ptr<ServerProcess>> StartFaultProxy(
    int upstream_port, const std::vector<std::string>& flags, const std::string& log_file) {
  ASSIGN_OR_RETURN(int port, FreeLoopbackPort());
  std::vector<std::string> argv = {"python3",    SourceDir() + "/tests/emulators/fault_proxy.py",
                                   "--port",     absl::StrCat(port),
                                   "--upstream", absl::StrCat("127.0.0.1:", upstream_port)};
  argv.insert(argv.end(), flags.begin(), flags.end());
  return ServerProcess::Start(argv, {}, port, log_file);
}

}  // namespace trenode::testing
