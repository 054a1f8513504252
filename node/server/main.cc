// trenode: the node daemon. Wires configuration to a NodeServer and waits
// for SIGTERM or SIGINT to shut down gracefully.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/synchronization/mutex.h"
#include "node/config/node_config.h"
#include "node/server/node_server.h"

namespace {

constexpr char kUsage[] =
    "usage: trenode --config FILE [--port-file FILE]\n"
    "\n"
    "Runs a trenode node as FILE (a text-format trenode.v1.NodeConfig) describes.\n"
    "  --config FILE     the node's configuration\n"
    "  --port-file FILE  write the bound port here once serving (for listen_address port 0)\n"
    "On SIGHUP re-reads the config's federation partners (nothing else). Stops\n"
    "gracefully on SIGTERM or SIGINT. Exit: 0 after a clean stop, 2 for bad\n"
    "arguments or configuration, 1 if the node could not start.\n";

}  // namespace

int main(int argc, char** argv) {
  // Debian's Abseil is built with mutex deadlock detection on, which walks a
  // lock graph on every acquisition (~1.5 % of the node's CPU under a
  // federated load). The tests keep it on; the daemon does not pay for it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::string config_path;
  std::string port_file;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    }
    if (arg != "--config" && arg != "--port-file") {
      std::cerr << "trenode: unknown flag " << arg << "\n" << kUsage;
      return 2;
    }
    if (i + 1 == argc) {
      std::cerr << "trenode: " << arg << " needs a value\n" << kUsage;
      return 2;
    }
    (arg == "--config" ? config_path : port_file) = argv[++i];
  }
  if (config_path.empty()) {
    std::cerr << "trenode: --config FILE is required\n" << kUsage;
    return 2;
  }
  absl::StatusOr<trenode::v1::NodeConfig> config = trenode::config::LoadNodeConfig(config_path);
  if (!config.ok()) {
    std::cerr << "trenode: bad config: " << config.status().message() << "\n";
    return 2;
  }

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto node = trenode::server::NodeServer::Start(*config);
  if (!node.ok()) {
    std::cerr << "trenode: cannot start: " << node.status().message() << "\n";
    return 1;
  }
  if (!port_file.empty()) {
    // Written whole, then renamed, so a reader never sees a partial number.
    std::string staged = port_file + ".tmp";
    std::ofstream(staged) << (*node)->port() << "\n";
    if (std::rename(staged.c_str(), port_file.c_str()) != 0) {
      std::cerr << "trenode: cannot write " << port_file << "\n";
      (*node)->Shutdown(absl::ZeroDuration());
      return 1;
    }
  }
  std::cout << "trenode: node " << config->node_id() << " serving on port " << (*node)->port()
            << std::endl;
  if ((*node)->web_port() != 0) {
    std::cout << "trenode: JSON API on https port " << (*node)->web_port() << std::endl;
  }

  int signal_number = 0;
  while (sigwait(&stop_signals, &signal_number) == 0 && signal_number == SIGHUP) {
    // Partners are re-read; nothing else changes without a restart.
    absl::StatusOr<trenode::v1::NodeConfig> reread = trenode::config::LoadNodeConfig(config_path);
    if (!reread.ok()) {
      std::cerr << "trenode: SIGHUP: bad config, partners unchanged: " << reread.status().message()
                << std::endl;
      continue;
    }
    absl::StatusOr<std::string> reloaded = (*node)->ReloadPartners(*reread);
    if (reloaded.ok()) {
      std::cout << "trenode: SIGHUP: " << *reloaded << std::endl;
    } else {
      std::cerr << "trenode: SIGHUP: " << reloaded.status().message() << std::endl;
    }
  }
  std::cout << "trenode: " << strsignal(signal_number) << ", shutting down" << std::endl;
  (*node)->Shutdown(absl::Seconds(10));
  (*node)->Wait();
  std::cout << "trenode: stopped" << std::endl;
  return 0;
}
