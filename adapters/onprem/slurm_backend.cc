#include "adapters/onprem/slurm_backend.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "adapters/onprem/command.h"
#include "adapters/onprem/job_directory.h"
#include "adapters/onprem/seccomp_filter.h"

namespace trenode::adapters {
namespace fs = std::filesystem;
namespace {

constexpr int kTimedOut = 124;  // timeout(1)'s status when the limit struck
// Where the batch script leaves the job's metering: "cpu_micros
// wall_micros peak_memory_bytes", -1 for what Slurm's cgroup did not say.
constexpr char kUsageFile[] = "usage.slurm";
// Shell that sets $cpu and $mem from the cgroup Slurm made for the job's
// batch step (proctrack/cgroup, jobacct_gather/cgroup: the counters Slurm's
// own accounting reads), found in /proc/self/cgroup by its job_<id>
// component; -1 without one (Slurm not tracking jobs by cgroup). cgroup v1:
// cpuacct.usage (ns), memory.max_usage_in_bytes; v2: cpu.stat usage_usec,
// memory.peak. The counters include every process of the step, the
// sandbox's dead ones too, and are read after the sandbox has ended while
// the step (this script) is still alive.
constexpr char kMeterStep[] =
    "cpu=-1; mem=-1\n"
    "while IFS=: read -r n c p; do\n"
    "  case \"$p/\" in */job_${SLURM_JOB_ID}/*) ;; *) continue ;; esac\n"
    "  case \",$c,\" in\n"
    "    *,cpuacct,*) v=$(cat \"/sys/fs/cgroup/$c$p/cpuacct.usage\" 2>/dev/null) &&"
    " cpu=$((v / 1000)) ;;\n"
    "    *,memory,*) v=$(cat \"/sys/fs/cgroup/$c$p/memory.max_usage_in_bytes\" 2>/dev/null) &&"
    " mem=$v ;;\n"
    "    ,,) v=$(sed -n 's/^usage_usec //p' \"/sys/fs/cgroup$p/cpu.stat\" 2>/dev/null) &&"
    " [ -n \"$v\" ] && cpu=$v\n"
    "        v=$(cat \"/sys/fs/cgroup$p/memory.peak\" 2>/dev/null) && mem=$v ;;\n"
    "  esac\n"
    "done < /proc/self/cgroup\n";

// Shell that, on SIGUSR1 (Cancel's `scancel --signal=USR1 --batch`, which
// signals the batch shell alone), kills every other process of the step
// from the step's cgroup.procs (the sandbox and whatever it forked, in
// every pid namespace) while the shell and so the step's cgroup live on,
// passing again until a pass finds nothing left (at most 20). The script
// then meters the step as after any run: a job cancelled while it ran is
// charged what it used, where `scancel --full` killed the shell first.
constexpr char kStopOnCancel[] =
    "stop() {\n"
    "  n=0\n"
    "  while [ $n -lt 20 ]; do\n"
    "    left=0\n"
    "    while IFS=: read -r _ c p; do\n"
    "      case \"$p/\" in */job_${SLURM_JOB_ID}/*) ;; *) continue ;; esac\n"
    "      if [ -n \"$c\" ]; then f=\"/sys/fs/cgroup/$c$p/cgroup.procs\";"
    " else f=\"/sys/fs/cgroup$p/cgroup.procs\"; fi\n"
    "      [ -r \"$f\" ] || continue\n"
    "      while read -r q; do\n"
    "        [ \"$q\" = \"$$\" ] && continue\n"
    "        kill -KILL \"$q\" 2>/dev/null && left=1\n"
    "      done < \"$f\"\n"
    "    done < /proc/self/cgroup\n"
    "    [ $left = 0 ] && break\n"
    "    n=$((n + 1))\n"
    "  done\n"
    "}\n"
    "trap stop USR1\n";

// The batch script's metering; metered_by "none" (wall time only) where
// Slurm's cgroup said nothing.
JobUsage ReadSlurmUsage(const fs::path& path) {
  JobUsage usage;
  std::ifstream in(path);
  int64_t cpu, wall, memory;
  if (!(in >> cpu >> wall >> memory)) return usage;
  usage.wall_micros = std::max<int64_t>(0, wall);
  if (cpu >= 0) {
    usage.cpu_micros = cpu;
    usage.peak_memory_bytes = std::max<int64_t>(0, memory);
    usage.metered_by = "slurm-cgroup";
  }
  return usage;
}

// The descriptor the batch script opens the seccomp filter on for bwrap.
constexpr int kSeccompFd = 3;
constexpr int64_t kDefaultLogBytes = 64 << 10;

std::optional<std::string> ReadSmallFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return std::string(absl::StripAsciiWhitespace(text));
}

bool WriteSmallFile(const fs::path& path, const std::string& text) {
  fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  return !ec;
}

// Single-quoted for sh.
std::string ShellQuote(const std::string& word) {
  return absl::StrCat("'", absl::StrReplaceAll(word, {{"'", "'\\''"}}), "'");
}

// The limit Slurm enforces as a backstop: the wall clock plus a minute.
int64_t SlurmMinutes(absl::Duration wall) {
  return absl::ToInt64Minutes(wall + absl::Minutes(1)) + 1;
}

// The job's memory for sbatch --mem, in MiB (Slurm's default unit).
int64_t SlurmMegabytes(int64_t bytes) { return (bytes + (int64_t{1} << 20) - 1) >> 20; }

// The limits the job was submitted with, kept for judging it later (also
// after a restart): seconds and bytes, space-separated.
std::string LimitsText(const ComputeLimits& l) {
  return absl::StrCat(absl::ToInt64Seconds(l.cpu), " ", absl::ToInt64Seconds(l.wall), " ",
                      l.memory_bytes, " ", l.output_bytes, " ", l.output_files, " ", l.processes,
                      " ", l.log_bytes);
}

ComputeLimits ReadLimits(const fs::path& path) {
  ComputeLimits limits;
  std::ifstream in(path);
  int64_t cpu, wall;
  if (in >> cpu >> wall >> limits.memory_bytes >> limits.output_bytes >> limits.output_files >>
      limits.processes >> limits.log_bytes) {
    limits.cpu = absl::Seconds(cpu);
    limits.wall = absl::Seconds(wall);
  }
  return limits;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SlurmBackend>> SlurmBackend::Create(SlurmOptions options) {
  if (::geteuid() != 0) {
    return absl::FailedPreconditionError(
        "the Slurm backend needs the node to run as root (the sandbox mounts as root)");
  }
  for (const std::string& tool :
       {options.tools.bwrap, options.tools.setpriv, options.tools.prlimit, options.sbatch,
        options.squeue, options.scancel, options.timeout}) {
    if (::access(tool.c_str(), X_OK) != 0) {
      return absl::FailedPreconditionError(absl::StrCat(tool, " is missing"));
    }
  }
  std::error_code ec;
  fs::create_directories(options.work_root, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", options.work_root));
  absl::StatusOr<std::string> seccomp = CompileJobSeccompFilter();
  if (!seccomp.ok()) return seccomp.status();
  std::unique_ptr<SlurmBackend> backend(new SlurmBackend(std::move(options)));
  backend->seccomp_program_ = *std::move(seccomp);
  absl::StatusOr<CommandResult> ping = RunCommand(
      {backend->options_.squeue, "-h", "-o", "%i", "-u", "root"}, backend->Environment());
  if (!ping.ok() || ping->exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("the Slurm controller does not answer: ",
                                               ping.ok() ? ping->err : "squeue did not run"));
  }
  return backend;
}

std::vector<std::string> SlurmBackend::Environment() const {
  if (options_.slurm_conf.empty()) return {};
  return {absl::StrCat("SLURM_CONF=", options_.slurm_conf)};
}

absl::StatusOr<std::string> SlurmBackend::QueueState(const std::string& slurm_id) const {
  absl::StatusOr<CommandResult> result =
      RunCommand({options_.squeue, "-h", "-j", slurm_id, "-o", "%T"}, Environment());
  if (!result.ok()) return result.status();
  // squeue fails with "Invalid job id" once Slurm has forgotten the job.
  if (result->exit_code != 0) {
    if (absl::StrContains(result->err, "Invalid job id")) return std::string();
    return absl::UnavailableError(absl::StrCat("squeue failed: ", result->err));
  }
  return std::string(absl::StripAsciiWhitespace(result->out));
}

absl::StatusOr<uid_t> SlurmBackend::FreeUid() const {
  std::set<uid_t> used;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.work_root, ec)) {
    if (fs::exists(entry.path() / "result")) continue;
    std::optional<std::string> uid = ReadSmallFile(entry.path() / "uid");
    uint32_t value;
    if (uid && absl::SimpleAtoi(*uid, &value)) used.insert(value);
  }
  for (int slot = 0; slot < options_.max_jobs; ++slot) {
    uid_t uid = options_.first_uid + static_cast<uid_t>(slot);
    if (!used.contains(uid)) return uid;
  }
  return absl::UnavailableError(
      absl::StrCat("all ", options_.max_jobs, " Slurm job slots are busy; try again later"));
}

absl::Status SlurmBackend::Submit(const JobSpec& spec) {
  if (absl::Status valid = ValidateJobSpec(spec); !valid.ok()) return valid;
  if (!fs::is_directory(spec.code_dir)) {
    return absl::InvalidArgumentError(absl::StrCat("no code directory ", spec.code_dir));
  }
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, spec.job_id);
  if (dir.Exists()) return absl::OkStatus();
  absl::StatusOr<uid_t> uid = FreeUid();
  if (!uid.ok()) return uid.status();
  if (absl::Status created = dir.Create(*uid); !created.ok()) return created;
  auto fail = [&](absl::Status status) {
    std::error_code ec;
    fs::remove_all(dir.path(), ec);
    return status;
  };
  std::vector<std::string> sandbox =
      LimitedSandboxArgv(options_.tools, spec, dir.outbox().string(), *uid, kSeccompFd);
  std::vector<std::string> quoted;
  for (const std::string& word : sandbox) quoted.push_back(ShellQuote(word));
  fs::path exit_file = dir.path() / "exit";
  fs::path seccomp_file = dir.path() / "seccomp.bpf";
  fs::path usage_file = dir.path() / kUsageFile;
  std::string script = absl::StrCat(
      "#!/bin/sh\n"
      "# trenode job ",
      spec.job_id, ": the sandbox under the wall-clock limit, then its metering.\n",
      kStopOnCancel, "start=$(date +%s%N)\n", ShellQuote(options_.timeout), " -k 2 ",
      absl::ToInt64Seconds(spec.limits.wall) + 1, " ", absl::StrJoin(quoted, " "), " ",
      kSeccompFd, "< ", ShellQuote(seccomp_file.string()), " &\n",
      // A trapped signal ends `wait` early: wait again until the sandbox is
      // reaped, for its own status.
      "pid=$!\nwait $pid\ncode=$?\n",
      "while kill -0 $pid 2>/dev/null; do wait $pid; code=$?; done\n",
      "end=$(date +%s%N)\n", kMeterStep, "echo \"$cpu $(( (end - start) / 1000 )) $mem\" > ",
      ShellQuote(usage_file.string()), "\n", "echo $code > ",
      ShellQuote(exit_file.string() + ".tmp"), " && mv ", ShellQuote(exit_file.string() + ".tmp"),
      " ", ShellQuote(exit_file.string()), "\n");
  if (!WriteSmallFile(dir.path() / "uid", absl::StrCat(*uid)) ||
      !WriteSmallFile(dir.path() / "limits", LimitsText(spec.limits)) ||
      !WriteSmallFile(seccomp_file, seccomp_program_) ||
      !WriteSmallFile(dir.path() / "job.sh", script)) {
    return fail(absl::UnavailableError("cannot write the batch script"));
  }
  const ComputeLimits& limits = spec.limits;
  std::vector<std::string> sbatch = {options_.sbatch,
                                     "--parsable",
                                     absl::StrCat("--job-name=trenode-", spec.job_id),
                                     absl::StrCat("--output=", dir.stdout_path().string()),
                                     absl::StrCat("--error=", dir.stderr_path().string()),
                                     absl::StrCat("--chdir=", dir.path().string()),
                                     absl::StrCat("--time=", SlurmMinutes(limits.wall)),
                                     absl::StrCat("--mem=", SlurmMegabytes(limits.memory_bytes)),
                                     "--ntasks=1"};
  if (!options_.partition.empty()) sbatch.push_back("--partition=" + options_.partition);
  sbatch.push_back((dir.path() / "job.sh").string());
  absl::StatusOr<CommandResult> submitted = RunCommand(sbatch, Environment());
  if (!submitted.ok()) return fail(submitted.status());
  std::string slurm_id(absl::StripAsciiWhitespace(submitted->out));
  uint64_t number;
  if (submitted->exit_code != 0 || !absl::SimpleAtoi(slurm_id, &number)) {
    return fail(absl::UnavailableError(absl::StrCat("sbatch refused the job: ", submitted->err)));
  }
  if (!WriteSmallFile(dir.path() / "slurm-id", slurm_id)) {
    (void)RunCommand({options_.scancel, slurm_id}, Environment());
    return fail(absl::UnavailableError("cannot record the Slurm job id"));
  }
  // The batch script must not start before the id is recorded: sbatch
  // returns first, and the script only reads files it was given.
  return absl::OkStatus();
}

absl::StatusOr<JobStatus> SlurmBackend::Status(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (std::optional<JobStatus> result = dir.Result(kDefaultLogBytes)) return *result;
  std::optional<std::string> slurm_id = ReadSmallFile(dir.path() / "slurm-id");
  if (!slurm_id) {
    // The node stopped between preparing the job and Slurm accepting it: it
    // never ran, so it is unknown (and may be submitted again).
    std::error_code ec;
    fs::remove_all(dir.path(), ec);
    return absl::NotFoundError(absl::StrCat("no job ", job_id));
  }
  bool cancelled = fs::exists(dir.path() / "cancel");
  std::optional<std::string> exit_text = ReadSmallFile(dir.path() / "exit");
  ComputeLimits limits = ReadLimits(dir.path() / "limits");
  if (!exit_text) {
    absl::StatusOr<std::string> state = QueueState(*slurm_id);
    if (!state.ok()) return state.status();
    if (!state->empty() && *state != "COMPLETED" && *state != "CANCELLED" && *state != "FAILED" &&
        *state != "TIMEOUT" && *state != "NODE_FAIL") {
      JobStatus live;
      live.state =
          *state == "PENDING" || *state == "CONFIGURING" ? JobState::kQueued : JobState::kRunning;
      return live;
    }
    exit_text = ReadSmallFile(dir.path() / "exit");  // it may have ended meanwhile
  }
  JobEnd end;
  end.cancelled = cancelled;
  end.usage = ReadSlurmUsage(dir.path() / kUsageFile);
  int code;
  if (exit_text && absl::SimpleAtoi(*exit_text, &code)) {
    end.exit_code = code;
    end.timed_out = code == kTimedOut;
  } else if (!cancelled) {
    end.signal = 9;  // Slurm ended it without the script finishing
  }
  JobStatus judged = dir.Settle(end, limits);
  if (!exit_text && !cancelled) {
    judged.reason = "Slurm ended the job before it finished (time limit or node failure)";
    judged.failure = JobFailure::kBackend;
  }
  return judged;
}

absl::Status SlurmBackend::Cancel(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  JobDirectory dir(options_.work_root, job_id);
  if (!dir.Exists()) return absl::NotFoundError(absl::StrCat("no job ", job_id));
  if (fs::exists(dir.path() / "result")) return absl::OkStatus();
  if (!WriteSmallFile(dir.path() / "cancel", "cancelled")) {
    return absl::UnavailableError("cannot record the cancellation");
  }
  std::optional<std::string> slurm_id = ReadSmallFile(dir.path() / "slurm-id");
  if (!slurm_id) return absl::OkStatus();
  // Running: the batch shell alone is told, stops the rest of its step and
  // meters it (kStopOnCancel), so the job is charged what it used. Queued,
  // or if the shell cannot be signalled: cancelled outright, as before (a
  // job that never ran used nothing).
  absl::StatusOr<std::string> state = QueueState(*slurm_id);
  if (state.ok() && *state == "RUNNING") {
    absl::StatusOr<CommandResult> signalled = RunCommand(
        {options_.scancel, "--signal=USR1", "--batch", *slurm_id}, Environment());
    if (signalled.ok() && signalled->exit_code == 0) return absl::OkStatus();
  }
  absl::StatusOr<CommandResult> cancelled =
      RunCommand({options_.scancel, "--signal=KILL", "--full", *slurm_id}, Environment());
  if (!cancelled.ok()) return cancelled.status();
  return absl::OkStatus();
}

absl::Status SlurmBackend::Remove(const std::string& job_id) {
  absl::StatusOr<JobStatus> status = Status(job_id);
  if (!status.ok()) return status.status();
  if (!IsFinished(status->state)) {
    return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " is still running"));
  }
  absl::MutexLock lock(&mu_);
  std::error_code ec;
  fs::remove_all(JobDirectory(options_.work_root, job_id).path(), ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove job ", job_id));
  return absl::OkStatus();
}

}  // namespace trenode::adapters
