#include "tests/bench/duckdb_yardstick.h"

#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "tests/testutil/server_process.h"

namespace trenode::bench {
namespace {

std::string ShellQuote(const std::string& text) {
  return absl::StrCat("'", absl::StrReplaceAll(text, {{"'", "'\\''"}}), "'");
}

// The script's typed values: "s:<text>", "i:<integer>", "d:<double>", "n:".
bool ParseValue(absl::string_view token, SqlValue& value) {
  if (token.size() < 2 || token[1] != ':') return false;
  absl::string_view text = token.substr(2);
  switch (token[0]) {
    case 's':
      value = std::string(text);
      return true;
    case 'n':
      value = std::monostate{};
      return true;
    case 'i': {
      int64_t number;
      if (!absl::SimpleAtoi(text, &number)) return false;
      value = number;
      return true;
    }
    case 'd': {
      double number;
      if (!absl::SimpleAtod(text, &number)) return false;
      value = number;
      return true;
    }
  }
  return false;
}

// One line of the script's output, into `run`.
bool ParseLine(absl::string_view line, DuckDbRun& run) {
  std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
  double ms;
  if (fields[0] == "engine" && fields.size() == 3) {
    run.version = std::string(fields[1]);
    return absl::SimpleAtoi(fields[2], &run.threads);
  }
  if (fields[0] == "load" && fields.size() == 2 && absl::SimpleAtod(fields[1], &ms)) {
    run.load_seconds = ms / 1e3;
    return true;
  }
  if (fields[0] == "case" && fields.size() == 3 && absl::SimpleAtod(fields[2], &ms)) {
    run.cases[std::string(fields[1])].median_seconds = ms / 1e3;
    return true;
  }
  if (fields[0] == "row" && fields.size() >= 2) {
    SqlRow row(fields.size() - 2);
    for (size_t i = 2; i < fields.size(); ++i) {
      if (!ParseValue(fields[i], row[i - 2])) return false;
    }
    run.cases[std::string(fields[1])].rows.push_back(std::move(row));
    return true;
  }
  return false;
}

}  // namespace

std::string DuckDbFolder() {
  return (std::filesystem::path(trenode::testing::SourceDir()) / "tests/bench/duckdb").string();
}

bool DuckDbInstalled() {
  std::error_code ec;
  return std::filesystem::exists(
      std::filesystem::path(DuckDbFolder()) / "node_modules/@duckdb/node-api/package.json", ec);
}

absl::StatusOr<DuckDbRun> RunDuckDb(const std::string& site_dir,
                                    const std::string& database_file, int rounds) {
  std::string command =
      absl::StrCat("node ", ShellQuote(DuckDbFolder() + "/duckdb_bench.mjs"), " ",
                   ShellQuote(site_dir), " ", rounds, " ", ShellQuote(database_file));
  std::FILE* out = popen(command.c_str(), "r");
  if (out == nullptr) return absl::FailedPreconditionError(absl::StrCat("cannot run ", command));
  DuckDbRun run;
  std::string line, bad;
  char buffer[4096];
  while (std::fgets(buffer, sizeof(buffer), out) != nullptr) {
    line += buffer;
    if (line.empty() || line.back() != '\n') continue;
    line.pop_back();
    if (!ParseLine(line, run) && bad.empty()) bad = line;
    line.clear();
  }
  int status = pclose(out);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(command, " failed (status ", status, "); its error is above"));
  }
  if (!bad.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("unexpected line from the script: ", bad));
  }
  return run;
}

}  // namespace trenode::bench
