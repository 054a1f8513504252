// trectl dataset ...: the catalogue, for every role.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "node/common/files.h"
#include "node/trectl/cli.h"
#include "node/trectl/import_progress_words.h"
#include "node/trectl/progress.h"
#include "trenode/v1/catalogue.grpc.pb.h"

namespace trenode::trectl {
namespace {
namespace fs = std::filesystem;
using trenode::v1::Dataset;

constexpr size_t kChunkBytes = 1 << 20;

constexpr char kDatasetHelp[] =
    "usage: trectl [GLOBAL FLAGS] dataset COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  list     [--include-retired] [--page-size N]   every dataset, all pages\n"
    "  get      ID [--version N]                      one dataset in full\n"
    "  search   WORDS... [--include-retired] [--page-size N] [--page-token T]\n"
    "                                                 ranked free-text search (word* = prefix)\n"
    "  import   DIR --id ID [--title T] [--metadata FILE] [--expected-version N]\n"
    "           streams DIR/*.csv to the node, which checks, converts and registers them;\n"
    "           metadata (a text-format trenode.v1.Dataset) defaults to DIR/dataset.textproto\n"
    "  register FILE                                  register a Dataset (text format) whose\n"
    "                                                 data is already in the node's store\n"
    "  update   FILE --expected-version N             new metadata version from FILE\n"
    "  retire   ID --reason TEXT                      withdraw a dataset from researchers\n"
    "\n"
    "Every command takes --help.\n";

struct Command {
  const char* name;
  const char* help;
  std::set<std::string> flags;
  int (*run)(const Args&, Cli&);
};

std::string Time(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-" : google::protobuf::util::TimeUtil::ToString(t);
}

std::string State(const Dataset& d) {
  return d.state() == trenode::v1::DATASET_STATE_RETIRED ? "retired" : "active";
}

std::string TypeName(trenode::v1::ColumnType type) {
  std::string name = trenode::v1::ColumnType_Name(type);
  return absl::AsciiStrToLower(name.substr(std::string("COLUMN_TYPE_").size()));
}

void PrintDatasetDetail(const Dataset& d) {
  std::cout << "id:           " << d.id() << "\n"
            << "version:      " << d.version() << "\n"
            << "state:        " << State(d) << "\n"
            << "title:        " << d.title() << "\n"
            << "publisher:    " << d.publisher() << "\n"
            << "custodian:    " << d.custodian().name() << " <" << d.custodian().email() << ">\n"
            << "population:   " << d.population().label() << "\n"
            << "sensitivity:  " << trenode::v1::Sensitivity_Name(d.sensitivity()) << "\n"
            << "coverage:     " << d.temporal_coverage().start_date() << " to "
            << d.temporal_coverage().end_date() << "\n"
            << "keywords:     " << absl::StrJoin(d.keywords(), ", ") << "\n"
            << "themes:       " << absl::StrJoin(d.themes(), ", ") << "\n"
            << "issued:       " << Time(d.issued()) << "\n"
            << "modified:     " << Time(d.modified()) << "\n";
  if (d.has_steward()) {
    std::cout << "storage:      " << d.steward().storage_location() << "\n"
              << "persons:      " << d.steward().exact_person_count() << " (stewards only)\n";
  }
  if (!d.retirement_reason().empty())
    std::cout << "retired:      " << d.retirement_reason() << "\n";
  if (!d.description().empty()) std::cout << "\n" << d.description() << "\n";
  if (!d.access_conditions().empty()) std::cout << "\nAccess: " << d.access_conditions() << "\n";
  for (const auto& table : d.tables()) {
    std::cout << "\ntable " << table.name()
              << (table.name() == d.person_table() ? " (person table)" : "")
              << (table.description().empty() ? "" : ": " + table.description()) << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& column : table.columns()) {
      std::string coding = column.coding_system() == trenode::v1::CODING_SYSTEM_UNSPECIFIED
                               ? ""
                               : trenode::v1::CodingSystem_Name(column.coding_system()).substr(14);
      rows.push_back({"  " + column.name(), TypeName(column.type()), coding,
                      column.is_person_key() ? "person key" : "", column.description()});
    }
    PrintTable({"  COLUMN", "TYPE", "CODING", "KEY", "DESCRIPTION"}, rows);
  }
}

absl::StatusOr<Dataset> ReadDatasetFile(const std::string& path) {
  std::optional<std::string> text = ReadWholeFile(path);
  if (!text) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  Dataset dataset;
  if (!google::protobuf::TextFormat::ParseFromString(*text, &dataset)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a text-format trenode.v1.Dataset (see the parse error above)"));
  }
  return dataset;
}

int List(const Args& args, Cli& cli) {
  auto page_size = args.GetInt("page-size", 0);
  if (!page_size.ok()) return Fail(page_size.status());
  auto stub = trenode::v1::Catalogue::NewStub(cli.channel);
  trenode::v1::ListDatasetsRequest request;
  request.set_page_size(static_cast<int32_t>(*page_size));
  request.set_include_retired(args.Has("include-retired"));
  trenode::v1::ListDatasetsResponse all;
  grpc::Status status = FetchAllPages(request, &all, [&](const auto& page_request, auto* page) {
    return stub->ListDatasets(cli.NewContext().get(), page_request, page);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(all);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : all.datasets()) {
    rows.push_back(
        {d.id(), absl::StrCat(d.version()), State(d), d.population().label(), d.title()});
  }
  PrintTable({"ID", "VERSION", "STATE", "POPULATION", "TITLE"}, rows);
  return kOk;
}

int Get(const Args& args, Cli& cli) {
  if (args.positional().size() != 1) return Usage("dataset get ID [--version N]");
  auto version = args.GetInt("version", 0);
  if (!version.ok()) return Fail(version.status());
  trenode::v1::GetDatasetRequest request;
  request.set_id(args.positional()[0]);
  request.set_version(*version);
  Dataset dataset;
  grpc::Status status = trenode::v1::Catalogue::NewStub(cli.channel)
                            ->GetDataset(cli.NewContext().get(), request, &dataset);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(dataset);
  } else {
    PrintDatasetDetail(dataset);
  }
  return kOk;
}

int Search(const Args& args, Cli& cli) {
  if (args.positional().empty()) return Usage("dataset search WORDS...");
  auto page_size = args.GetInt("page-size", 0);
  if (!page_size.ok()) return Fail(page_size.status());
  trenode::v1::SearchDatasetsRequest request;
  request.set_query(absl::StrJoin(args.positional(), " "));
  request.set_page_size(static_cast<int32_t>(*page_size));
  request.set_page_token(args.Get("page-token").value_or(""));
  request.set_include_retired(args.Has("include-retired"));
  trenode::v1::SearchDatasetsResponse response;
  grpc::Status status = trenode::v1::Catalogue::NewStub(cli.channel)
                            ->SearchDatasets(cli.NewContext().get(), request, &response);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(response);
    return kOk;
  }
  // Scores mean nothing to a person and compare only within one search, so
  // each hit shows its place and its score as a share of the page's best.
  double best = 0;
  for (const auto& hit : response.hits()) best = std::max(best, hit.score());
  std::vector<std::vector<std::string>> rows;
  int rank = 0;
  for (const auto& hit : response.hits()) {
    const double match = best > 0 ? 100 * hit.score() / best : 100;
    rows.push_back({absl::StrCat(++rank), absl::StrFormat("%.0f%%", match), hit.dataset().id(),
                    hit.dataset().population().label(), hit.dataset().title()});
  }
  PrintTable({"RANK", "MATCH", "ID", "POPULATION", "TITLE"}, rows);
  if (!response.next_page_token().empty()) {
    std::cout << "more: --page-token " << response.next_page_token() << "\n";
  }
  return kOk;
}

int Import(const Args& args, Cli& cli) {
  if (args.positional().size() != 1) {
    return Usage("dataset import DIR --id ID [...]");
  }
  fs::path dir = args.positional()[0];
  if (!fs::is_directory(dir))
    return Fail(absl::NotFoundError(absl::StrCat(dir.string(), " is not a directory")));
  trenode::v1::ImportDatasetHeader header;
  std::string metadata_path = args.Get("metadata").value_or("");
  if (metadata_path.empty() && fs::exists(dir / "dataset.textproto")) {
    metadata_path = (dir / "dataset.textproto").string();
  }
  if (!metadata_path.empty()) {
    auto metadata = ReadDatasetFile(metadata_path);
    if (!metadata.ok()) return Fail(metadata.status());
    *header.mutable_dataset() = *metadata;
  }
  if (auto id = args.Get("id")) header.mutable_dataset()->set_id(*id);
  if (auto title = args.Get("title")) header.mutable_dataset()->set_title(*title);
  if (header.dataset().id().empty())
    return Usage("dataset import DIR --id ID (or an id in the metadata)");
  if (header.dataset().title().empty()) header.mutable_dataset()->set_title(header.dataset().id());
  auto expected = args.GetInt("expected-version", 0);
  if (!expected.ok()) return Fail(expected.status());
  header.set_expected_version(*expected);

  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file() && entry.path().extension() == ".csv")
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty())
    return Fail(absl::InvalidArgumentError(absl::StrCat("no .csv files in ", dir.string())));

  int64_t total_bytes = 0;
  for (const fs::path& file : files) {
    std::error_code ec;
    uintmax_t size = fs::file_size(file, ec);
    if (!ec) total_bytes += static_cast<int64_t>(size);
  }
  std::unique_ptr<Progress> progress = Progress::OnStderr(
      {.what = absl::StrCat("import ", header.dataset().id()),
       .total_bytes = total_bytes,
       .counts_rows = true},
      cli.json);

  auto context = cli.NewContext(0);
  // The node reports what it does with the data once it has it; on a
  // terminal those reports extend the progress line.
  auto writer =
      trenode::v1::Catalogue::NewStub(cli.channel)->ImportDatasetWithProgress(context.get());
  trenode::v1::ImportDatasetRequest message;
  *message.mutable_header() = header;
  bool open = writer->Write(message);
  int64_t bytes = 0;
  std::string buffer(kChunkBytes, '\0');
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      context->TryCancel();
      progress.reset();  // the error starts on a clean line
      return Fail(absl::UnavailableError(absl::StrCat("cannot read ", file.string())));
    }
    bool sent_any = false;
    // Rows as lines after the header (a quoted field holding a line break
    // counts twice: the node's count is the exact one).
    int64_t lines = 0;
    char last = '\n';
    while (open && (in || !sent_any)) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      trenode::v1::ImportDatasetRequest chunk;
      chunk.mutable_chunk()->set_file_name(file.filename().string());
      chunk.mutable_chunk()->set_data(buffer.data(), got);
      bytes += static_cast<int64_t>(got);
      open = writer->Write(chunk);
      sent_any = true;
      const int64_t chunk_lines = std::count(buffer.data(), buffer.data() + got, '\n');
      if (got > 0) last = buffer[got - 1];
      // The header line is not a row.
      const int64_t rows = lines == 0 ? std::max<int64_t>(chunk_lines - 1, 0) : chunk_lines;
      lines += chunk_lines;
      progress->Add(static_cast<int64_t>(got), rows);
    }
    if (last != '\n' && lines > 0) progress->Add(0, 1);  // a last row with no line end
    if (in.bad()) {
      context->TryCancel();
      progress.reset();  // the error starts on a clean line
      return Fail(absl::UnavailableError(absl::StrCat("error reading ", file.string())));
    }
  }
  writer->WritesDone();
  progress->Waiting("the node is checking the rows and building the dataset");
  grpc::Status status;
  std::optional<Dataset> reply;
  {
    ProgressTicker ticker(progress.get(), absl::Milliseconds(250));
    ImportProgressWords words;
    trenode::v1::ImportDatasetEvent event;
    while (writer->Read(&event)) {
      if (event.has_dataset()) {
        reply = event.dataset();
      } else if (event.has_progress()) {
        ImportProgressWords::Words said = words.Describe(event.progress(), absl::Now());
        progress->Doing(said.text, said.new_phase);
      }
    }
    status = writer->Finish();
  }
  if (status.ok() && !reply) {
    status = grpc::Status(grpc::StatusCode::INTERNAL,
                          "the node ended the import without sending the catalogue entry");
  }
  if (!status.ok()) {
    progress.reset();
    return Fail(status);
  }
  progress->Finish("the node checked and stored them");
  if (cli.json) {
    PrintJson(*reply);
  } else {
    std::cout << "imported " << reply->id() << " version " << reply->version() << ": "
              << files.size() << " tables, " << bytes << " bytes, population "
              << reply->population().label() << "\n";
  }
  return kOk;
}

int Register(const Args& args, Cli& cli) {
  if (args.positional().size() != 1) return Usage("dataset register FILE");
  auto dataset = ReadDatasetFile(args.positional()[0]);
  if (!dataset.ok()) return Fail(dataset.status());
  trenode::v1::RegisterDatasetRequest request;
  *request.mutable_dataset() = *dataset;
  Dataset reply;
  grpc::Status status = trenode::v1::Catalogue::NewStub(cli.channel)
                            ->RegisterDataset(cli.NewContext().get(), request, &reply);
  if (!status.ok()) return Fail(status);
  if (cli.json)
    PrintJson(reply);
  else
    std::cout << "registered " << reply.id() << " version " << reply.version() << "\n";
  return kOk;
}

int Update(const Args& args, Cli& cli) {
  if (args.positional().size() != 1 || !args.Has("expected-version")) {
    return Usage("dataset update FILE --expected-version N");
  }
  auto dataset = ReadDatasetFile(args.positional()[0]);
  if (!dataset.ok()) return Fail(dataset.status());
  auto expected = args.GetInt("expected-version", 0);
  if (!expected.ok()) return Fail(expected.status());
  trenode::v1::UpdateDatasetRequest request;
  *request.mutable_dataset() = *dataset;
  request.set_expected_version(*expected);
  Dataset reply;
  grpc::Status status = trenode::v1::Catalogue::NewStub(cli.channel)
                            ->UpdateDataset(cli.NewContext().get(), request, &reply);
  if (!status.ok()) return Fail(status);
  if (cli.json)
    PrintJson(reply);
  else
    std::cout << "updated " << reply.id() << " to version " << reply.version() << "\n";
  return kOk;
}

int Retire(const Args& args, Cli& cli) {
  if (args.positional().size() != 1 || !args.Has("reason")) {
    return Usage("dataset retire ID --reason TEXT");
  }
  trenode::v1::RetireDatasetRequest request;
  request.set_id(args.positional()[0]);
  request.set_reason(*args.Get("reason"));
  Dataset reply;
  grpc::Status status = trenode::v1::Catalogue::NewStub(cli.channel)
                            ->RetireDataset(cli.NewContext().get(), request, &reply);
  if (!status.ok()) return Fail(status);
  if (cli.json)
    PrintJson(reply);
  else
    std::cout << "retired " << reply.id() << "\n";
  return kOk;
}

const std::vector<Command>& Commands() {
  static const auto* commands = new std::vector<Command>{
      {"list",
       "usage: trectl dataset list [--include-retired] [--page-size N]\n"
       "Lists every dataset (following all pages): id, version, state, population band, title.\n",
       {"include-retired", "page-size"},
       &List},
      {"get",
       "usage: trectl dataset get ID [--version N]\n"
       "Shows one dataset with its tables and columns; --version 0 (default) is the latest.\n",
       {"version"},
       &Get},
      {"search",
       "usage: trectl dataset search WORDS... [--include-retired] [--page-size N] [--page-token "
       "T]\n"
       "Ranked search over titles, descriptions, keywords, tables and columns. Every word\n"
       "must match; a trailing * matches a prefix (quote it from the shell). Prints the\n"
       "hits best first: RANK is the place on this page, MATCH how well the hit matches\n"
       "as a share of the best hit on this page (100%). --json gives the raw scores.\n",
       {"include-retired", "page-size", "page-token"},
       &Search},
      {"import",
       "usage: trectl dataset import DIR --id ID [--title T] [--metadata FILE] [--expected-version "
       "N]\n"
       "Streams every DIR/*.csv (table = file name) to the node. The node checks every row,\n"
       "infers undeclared column types, and registers the dataset; any error names the file,\n"
       "line and field, and nothing is imported. Metadata: a text-format trenode.v1.Dataset,\n"
       "by default DIR/dataset.textproto. To replace an existing dataset's data, give the\n"
       "version it replaces with --expected-version. On a terminal, stderr shows the upload\n"
       "and then what the node is doing (checking, loading, indexing, storing) with rows,\n"
       "bytes, rate and time left; off a terminal or with --json, nothing.\n",
       {"id", "title", "metadata", "expected-version"},
       &Import},
      {"register",
       "usage: trectl dataset register FILE\n"
       "Registers the text-format trenode.v1.Dataset in FILE; its steward.storage_location\n"
       "must already hold the data in the node's object store.\n",
       {},
       &Register},
      {"update",
       "usage: trectl dataset update FILE --expected-version N\n"
       "Makes FILE (a text-format trenode.v1.Dataset) the next version of its dataset.\n",
       {"expected-version"},
       &Update},
      {"retire",
       "usage: trectl dataset retire ID --reason TEXT\n"
       "Withdraws a dataset: stewards still see it; researchers and partner nodes do not.\n",
       {"reason"},
       &Retire},
  };
  return *commands;
}

}  // namespace

int RunDatasetCommand(const Args& args, Cli& cli) {
  static const auto* lines = [] {
    auto* lines = new std::vector<CommandLine>;
    for (const Command& command : Commands()) {
      lines->push_back({command.name, command.help, command.flags});
    }
    return lines;
  }();
  return RunArea(args, kDatasetHelp, *lines, [&](const std::string& name, const Args& rest) {
    if (int rc = Connect(rest, cli); rc != kOk) return rc;
    for (const Command& command : Commands()) {
      if (name == command.name) return command.run(rest, cli);
    }
    return static_cast<int>(kUsage);  // RunArea knows only these commands
  });
}

}  // namespace trenode::trectl
