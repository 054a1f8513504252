// trectl log ...: reading and independently verifying a node's activity log.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "node/log/activity_event.h"
#include "node/log/activity_log.h"
#include "node/log/merkle.h"
#include "node/log/signed_note.h"
#include "node/trectl/cli.h"
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
    "      exit 7 naming the first thing that failed.\n";

Hash ToHash(const std::string& bytes) {
  Hash hash{};
  std::copy_n(bytes.begin(), std::min<size_t>(bytes.size(), 32), hash.begin());
  return hash;
}

std::vector<Hash> ToHashes(const google::protobuf::RepeatedPtrField<std::string>& list) {
  std::vector<Hash> hashes;
  for (const std::string& bytes : list) hashes.push_back(ToHash(bytes));
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

}  // namespace

int RunLogCommand(const Args& args, Cli& cli) {
  if (args.positional().size() < 2 || args.Has("help")) {
    std::cout << kLogHelp;
    return args.Has("help") ? kOk : kUsage;
  }
  const std::string& command = args.positional()[1];
  if (command == "checkpoint") return Checkpoint(cli);
  if (command == "verify") return Verify(args.Shift(2), cli);
  std::cerr << "trectl: unknown command \"log " << command << "\"\n" << kLogHelp;
  return kUsage;
}

}  // namespace trenode::trectl
