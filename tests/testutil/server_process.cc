#include "tests/testutil/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace trenode::testing {
namespace {

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

}  // namespace

absl::StatusOr<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError("no socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    return absl::UnavailableError("cannot bind a loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

absl::StatusOr<std::unique_ptr<ServerProcess>> ServerProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& environment, int port,
    const std::string& log_file, absl::Duration patience) {
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  env_strings.insert(env_strings.end(), environment.begin(), environment.end());
  std::vector<char*> env;
  for (std::string& e : env_strings) env.push_back(e.data());
  env.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> raw;
  for (std::string& arg : args) raw.push_back(arg.data());
  raw.push_back(nullptr);
  int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) return absl::UnavailableError(absl::StrCat("cannot open ", log_file));
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // gone with the test, even if it crashes
    ::dup2(log, 1);
    ::dup2(log, 2);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::execvpe(raw[0], raw.data(), env.data());
    ::_exit(127);
  }
  ::close(log);
  if (pid < 0) return absl::UnavailableError("cannot fork");
  std::unique_ptr<ServerProcess> server(new ServerProcess(pid, port));
  absl::Time deadline = absl::Now() + patience;
  while (!Accepts(port)) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      server->pid_ = -1;
      return absl::UnavailableError(
          absl::StrCat(argv[0], " exited before it listened on port ", port, "; see ", log_file));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not listen on port ", port, "; see ", log_file));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  // Something listens; make sure it is this child and not another program
  // that took the port first (the child then fails to bind and exits).
  absl::SleepFor(absl::Milliseconds(200));
  if (::waitpid(pid, nullptr, WNOHANG) == pid) {
    server->pid_ = -1;
    return absl::UnavailableError(
        absl::StrCat(argv[0], " exited after port ", port, " was taken by another; see ", log_file));
  }
  return server;
}

std::string ServerProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

ServerProcess::~ServerProcess() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  for (int i = 0; i < 60; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      ::kill(-pid_, SIGKILL);  // anything it left in its group
      return;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  Kill();
}

std::string SourceDir() { return TRENODE_SOURCE_DIR; }

absl::StatusOr<int64_t> JsonCounter(const std::string& json, const std::string& name) {
  std::string needle = absl::StrCat("\"", name, "\": ");
  size_t at = json.find(needle);
  if (at == std::string::npos) return absl::NotFoundError(absl::StrCat("no counter ", name));
  size_t start = at + needle.size();
  size_t end = json.find_first_of(",}", start);
  int64_t value = 0;
  if (!absl::SimpleAtoi(json.substr(start, end - start), &value)) {
    return absl::InternalError(json);
  }
  return value;
}

}  // namespace trenode::testing
