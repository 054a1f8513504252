// trectl log ...: reading and independently verifying a node's activity log.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/dates.h"
#include "node/log/activity_event.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"
#include "node/trectl/cli.h"
#include "node/trectl/fhir_audit.h"
#include "trenode/v1/activity_log.grpc.pb.h"

namespace trenode::trectl {
namespace {
namespace fs = std::filesystem;
using log::Hash;

constexpr uint64_t kPage = 10000;

constexpr char kLogHelp[] =
    "usage: trectl [GLOBAL FLAGS] log COMMAND [ARGS]\n"
    "\n"
    "  checkpoint                      print the node's latest signed checkpoint\n"
    "  verify --log-key KEY [--checkpoint-store DIR]\n"
    "      Verifies the node's log trusting only KEY (the verifier key string, or a file\n"
    "      holding it, e.g. from `trectl pki log-key`): checks the checkpoint's signature,\n"
    "      fetches every entry, checks each is a canonical event record, recomputes the\n"
    "      tree, and, with DIR, proves the log consistent with the checkpoint saved there\n"
    "      last time, then saves the new one. Exit 0 only if everything holds; otherwise\n"
    "      exit 7 naming the first thing that failed.\n"
    "  tail [--from N] [--project P] [--actor A] [--action X]\n"
    "                                  follow new events as they are logged (Ctrl-C stops),\n"
    "                                  only those matching the filters (as for export)\n"
    "  export --format jsonl|fhir [--from N] [--to M] [--since T] [--until T]\n"
    "         [--project P] [--actor A] [--action X]\n"
    "                                  events as JSON lines, or a FHIR R5 AuditEvent Bundle;\n"
    "                                  only those in [since, until) (T a date, 2026-11-01, or\n"
    "                                  a UTC time, 2026-11-01T09:30:00Z), of project P, by\n"
    "                                  actor A, with action X (or a prefix ending in '.').\n"
    "                                  Researchers export their own projects' (--project)\n";

std::vector<Hash> ToHashes(const google::protobuf::RepeatedPtrField<std::string>& list) {
  std::vector<Hash> hashes;
  // A malformed item becomes a hash no proof can lead to.
  for (const std::string& bytes : list)
    hashes.push_back(log::HashFromBytes(bytes).value_or(Hash{}));
  return hashes;
}

int VerifyFailed(const std::string& why) {
  std::cerr << "trectl: verification FAILED: " << why << "\n";
  return kVerifyFailed;
}

std::string ReadKey(const std::string& value) {
  std::ifstream in(value);
  if (!in) return value;
  std::string line;
  std::getline(in, line);
  return line;
}

int Checkpoint(Cli& cli) {
  auto stub = trenode::v1::ActivityLog::NewStub(cli.channel);
  trenode::v1::Checkpoint checkpoint;
  grpc::Status status = stub->GetCheckpoint(cli.NewContext().get(), {}, &checkpoint);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(checkpoint);
  } else {
    std::cout << checkpoint.note();
  }
  return kOk;
}

int Verify(const Args& args, Cli& cli) {
  std::optional<std::string> key_text = args.Get("log-key");
  if (!key_text) return Usage("log verify --log-key KEY [--checkpoint-store DIR]");
  auto verifier = log::NoteVerifier::FromVerifierKey(ReadKey(*key_text));
  if (!verifier.ok()) return Fail(verifier.status());
  auto stub = trenode::v1::ActivityLog::NewStub(cli.channel);

  trenode::v1::Checkpoint checkpoint;
  grpc::Status status = stub->GetCheckpoint(cli.NewContext().get(), {}, &checkpoint);
  if (!status.ok()) return Fail(status);
  auto text = verifier->Verify(checkpoint.note());
  if (!text.ok()) return VerifyFailed(absl::StrCat("the checkpoint: ", text.status().message()));
  auto body = log::ParseCheckpointText(*text);
  if (!body.ok()) return VerifyFailed(absl::StrCat("the checkpoint: ", body.status().message()));
  if (body->origin != verifier->name()) {
    return VerifyFailed(absl::StrCat("the checkpoint's origin \"", body->origin,
                                     "\" is not the key's \"", verifier->name(), "\""));
  }

  // Every entry, recomputed into the tree.
  log::CompactRange tree;
  std::vector<Hash> leaf_hashes;
  for (uint64_t start = 0; start < body->size; start += kPage) {
    trenode::v1::GetEntriesRequest request;
    request.set_start(start);
    request.set_end(std::min(body->size, start + kPage));
    auto context = cli.NewContext(300);
    auto reader = stub->GetEntries(context.get(), request);
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) {
      if (entry.index() != tree.size()) {
        return VerifyFailed(absl::StrCat("entry ", tree.size(), " is missing (got entry ",
                                         entry.index(), " in its place)"));
      }
      if (!log::ParseLeaf(entry.leaf()).ok()) {
        return VerifyFailed(
            absl::StrCat("entry ", entry.index(), " is not a canonical event record"));
      }
      leaf_hashes.push_back(log::LeafHash(entry.leaf()));
      tree.Append(leaf_hashes.back());
    }
    grpc::Status finished = reader->Finish();
    if (!finished.ok()) {
      std::cerr << "trectl: the node could not serve entries from " << start << ": "
                << finished.error_message() << "\n";
      return VerifyFailed(absl::StrCat("entries from ", tree.size(), " could not be read"));
    }
  }
  if (tree.size() != body->size) {
    return VerifyFailed(
        absl::StrCat("the node served ", tree.size(), " entries for a checkpoint of ", body->size));
  }
  if (tree.Root() != body->root) {
    // Find the first entry the signed tree does not contain.
    for (uint64_t i = 0; i < leaf_hashes.size(); ++i) {
      trenode::v1::GetInclusionProofRequest request;
      request.set_index(i);
      request.set_tree_size(body->size);
      trenode::v1::InclusionProof proof;
      grpc::Status got = stub->GetInclusionProof(cli.NewContext().get(), request, &proof);
      if (!got.ok() ||
          !log::VerifyInclusion(i, body->size, leaf_hashes[i], ToHashes(proof.hashes()), body->root)
               .ok()) {
        return VerifyFailed(absl::StrCat("entry ", i,
                                         " does not match the signed tree (it was changed, "
                                         "reordered or replaced)"));
      }
    }
    return VerifyFailed("the entries do not hash to the signed root");
  }

  std::string message = absl::StrCat("verified ", body->size, " entries of ", body->origin,
                                     ", root ", log::ToBase64(body->root));
  if (std::optional<std::string> store = args.Get("checkpoint-store")) {
    fs::path saved_path = fs::path(*store) / "checkpoint";
    std::ifstream saved_in(saved_path);
    if (saved_in) {
      std::stringstream saved_note;
      saved_note << saved_in.rdbuf();
      auto saved_text = verifier->Verify(saved_note.str());
      if (!saved_text.ok())
        return Fail(absl::DataLossError("the saved checkpoint does not verify"));
      auto saved = log::ParseCheckpointText(*saved_text);
      if (!saved.ok()) return Fail(saved.status());
      if (body->size < saved->size) {
        return VerifyFailed(
            absl::StrCat("the log shrank from ", saved->size, " to ", body->size,
                         " entries since the saved checkpoint: it was rolled back"));
      }
      if (body->size == saved->size && body->root != saved->root) {
        return VerifyFailed(absl::StrCat("two different trees of size ", body->size,
                                         " were signed: the log was rewritten"));
      }
      if (body->size > saved->size) {
        trenode::v1::GetConsistencyProofRequest request;
        request.set_from_size(saved->size);
        request.set_to_size(body->size);
        trenode::v1::ConsistencyProof proof;
        grpc::Status got = stub->GetConsistencyProof(cli.NewContext().get(), request, &proof);
        if (!got.ok() || !log::VerifyConsistency(saved->size, body->size, ToHashes(proof.hashes()),
                                                 saved->root, body->root)
                              .ok()) {
          return VerifyFailed(
              absl::StrCat("the log is not consistent with the checkpoint saved "
                           "at size ",
                           saved->size, ": its history was rewritten"));
        }
      }
      absl::StrAppend(&message, "; consistent with the saved checkpoint at size ", saved->size);
    }
    std::error_code ec;
    fs::create_directories(*store, ec);
    std::ofstream(saved_path, std::ios::trunc) << checkpoint.note();
  }
  std::cout << message << "\n";
  return kOk;
}

google::protobuf::Value Text(const std::string& text) {
  google::protobuf::Value value;
  value.set_string_value(text);
  return value;
}

google::protobuf::Struct EventJson(uint64_t index, const log::ActivityEvent& event) {
  google::protobuf::Struct json;
  auto& f = *json.mutable_fields();
  f["index"].set_number_value(static_cast<double>(index));
  f["time"] = Text(absl::FormatTime("%Y-%m-%d%ET%H:%M:%E6SZ", event.time, absl::UTCTimeZone()));
  f["node"] = Text(event.node);
  f["actor"] = Text(event.actor);
  f["role"] = Text(event.role);
  f["via"] = Text(event.via);
  f["action"] = Text(event.action);
  f["object"] = Text(event.object);
  f["outcome"] = Text(event.outcome);
  f["reason"] = Text(event.reason);
  f["request"] = Text(event.request_id);
  f["project"] = Text(event.project);
  for (const std::string& hash : event.hashes) {
    *f["hashes"].mutable_list_value()->add_values() = Text(hash);
  }
  return json;
}

std::string CompactJson(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

// `--since` / `--until`: a date (UTC midnight) or an RFC 3339 time, if given.
absl::StatusOr<std::optional<google::protobuf::Timestamp>> TimeFlag(const Args& args,
                                                                    const std::string& flag) {
  std::optional<std::string> text = args.Get(flag);
  if (!text) return std::nullopt;
  absl::Time time;
  std::string error;
  if (!absl::ParseTime("%Y-%m-%d", *text, absl::UTCTimeZone(), &time, &error) &&
      !absl::ParseTime(absl::RFC3339_full, *text, absl::UTCTimeZone(), &time, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": \"", *text,
                     "\" is neither a date (2026-11-01) nor a UTC time (2026-11-01T09:30:00Z)"));
  }
  return ToTimestamp(time);
}

int Export(const Args& args, Cli& cli) {
  std::string format = args.Get("format").value_or("jsonl");
  if (format != "jsonl" && format != "fhir") return Usage("log export --format jsonl|fhir");
  auto from = args.GetInt("from", 0);
  if (!from.ok()) return Fail(from.status());
  trenode::v1::GetEntriesRequest filters;
  auto since = TimeFlag(args, "since");
  auto until = TimeFlag(args, "until");
  for (const auto* parsed : {&since, &until}) {
    if (!parsed->ok()) return Usage(parsed->status().message());
  }
  if (*since) *filters.mutable_since() = **since;
  if (*until) *filters.mutable_until() = **until;
  filters.set_project(args.Get("project").value_or(""));
  filters.set_actor(args.Get("actor").value_or(""));
  filters.set_action(args.Get("action").value_or(""));
  auto stub = trenode::v1::ActivityLog::NewStub(cli.channel);
  trenode::v1::Checkpoint checkpoint;
  grpc::Status status = stub->GetCheckpoint(cli.NewContext().get(), {}, &checkpoint);
  if (!status.ok()) return Fail(status);
  auto to = args.GetInt("to", static_cast<int64_t>(checkpoint.size()));
  if (!to.ok()) return Fail(to.status());
  google::protobuf::Struct bundle = AuditBundle(absl::Now());
  for (uint64_t start = *from; start < static_cast<uint64_t>(*to); start += kPage) {
    trenode::v1::GetEntriesRequest request = filters;
    request.set_start(start);
    request.set_end(std::min<uint64_t>(*to, start + kPage));
    auto context = cli.NewContext(300);
    auto reader = stub->GetEntries(context.get(), request);
    trenode::v1::LogEntry entry;
    while (reader->Read(&entry)) {
      auto event = log::ParseLeaf(entry.leaf());
      if (!event.ok())
        return Fail(absl::DataLossError(
            absl::StrCat("entry ", entry.index(), ": ", event.status().message())));
      if (format == "jsonl") {
        std::cout << CompactJson(EventJson(entry.index(), *event)) << "\n";
      } else {
        *(*bundle.mutable_fields())["entry"].mutable_list_value()->add_values() =
            AuditEventEntry(entry.index(), *event);
      }
    }
    if (grpc::Status finished = reader->Finish(); !finished.ok()) return Fail(finished);
  }
  if (format == "fhir") PrintJson(bundle);
  return kOk;
}

int Tail(const Args& args, Cli& cli) {
  auto from = args.GetInt("from", 0);
  if (!from.ok()) return Fail(from.status());
  auto stub = trenode::v1::ActivityLog::NewStub(cli.channel);
  trenode::v1::WatchEntriesRequest request;
  request.set_start(static_cast<uint64_t>(*from));
  request.set_project(args.Get("project").value_or(""));
  request.set_actor(args.Get("actor").value_or(""));
  request.set_action(args.Get("action").value_or(""));
  auto context = cli.NewContext(0);
  auto reader = stub->WatchEntries(context.get(), request);
  trenode::v1::LogEntry entry;
  uint64_t next = request.start();
  while (reader->Read(&entry)) {
    next = entry.index() + 1;
    auto event = log::ParseLeaf(entry.leaf());
    if (!event.ok()) {
      std::cout << entry.index() << " (not a canonical record)\n";
    } else if (cli.json) {
      std::cout << CompactJson(EventJson(entry.index(), *event)) << std::endl;
    } else {
      std::cout << entry.index() << " "
                << absl::FormatTime("%Y-%m-%d %H:%M:%S", event->time, absl::UTCTimeZone()) << " "
                << event->actor << " (" << event->role << ") " << event->action << " "
                << event->object << " " << event->outcome
                << (event->reason.empty() ? "" : ": " + event->reason) << std::endl;
    }
  }
  grpc::Status status = reader->Finish();
  std::cerr << "trectl: the stream ended; resume with --from " << next << "\n";
  return status.ok() ? kOk : Fail(status);
}

const std::vector<CommandLine>& LogCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"checkpoint", "usage: trectl log checkpoint\nThe node's latest signed checkpoint.\n", {}},
      {"verify",
       "usage: trectl log verify --log-key KEY [--checkpoint-store DIR]\n"
       "Verifies the node's log trusting only KEY (see `trectl log --help`); exit 7 if\n"
       "anything fails.\n",
       {"log-key", "checkpoint-store"}},
      {"tail",
       "usage: trectl log tail [--from N] [--project P] [--actor A] [--action X]\n"
       "Follows new events as they are logged (Ctrl-C stops).\n",
       {"from", "project", "actor", "action"}},
      {"export",
       "usage: trectl log export --format jsonl|fhir [--from N] [--to M] [--since T] "
       "[--until T]\n"
       "                         [--project P] [--actor A] [--action X]\n"
       "Events as JSON lines, or a FHIR R5 Bundle of AuditEvents (spec/activity-log.md).\n",
       {"format", "from", "to", "since", "until", "project", "actor", "action"}},
  };
  return *lines;
}

}  // namespace

int RunLogCommand(const Args& args, Cli& cli) {
  return RunArea(args, kLogHelp, LogCommandLines(), [&](const std::string& command,
                                                        const Args& rest) {
    if (int rc = Connect(rest, cli); rc != kOk) return rc;
    if (command == "checkpoint") return Checkpoint(cli);
    if (command == "verify") return Verify(rest, cli);
    if (command == "export") return Export(rest, cli);
    return Tail(rest, cli);
  });
}

}  // namespace trenode::trectl
