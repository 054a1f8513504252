// trectl pki ... and trectl token ...: development PKI and tokens, made on
// this machine without talking to a node.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/auth/jwk.h"
#include "node/auth/jwt_signer.h"
#include "node/catalogue/dataset_validation.h"
#include "node/common/files.h"
#include "node/log/signed_note.h"
#include "node/pki/pki.h"
#include "node/trectl/cli.h"

namespace trenode::trectl {
namespace {
namespace fs = std::filesystem;

constexpr char kPkiHelp[] =
    "usage: trectl pki COMMAND --dir DIR [...]\n"
    "\n"
    "A development federation PKI (ECDSA P-256). Production sites bring their own.\n"
    "  init       --dir D [--name NAME] [--days N]   a federation CA: D/ca.pem, D/ca.key\n"
    "  issue      --dir D --node ID [--days N]       D/ID.pem, D/ID.key: server and client\n"
    "                                                certificate naming trenode://ID\n"
    "  issue      --dir D --node ID --service NAME [--days N]  D/service-NAME.pem/.key:\n"
    "                                                client certificate naming\n"
    "                                                trenode://ID/service/NAME\n"
    "  dev-issuer --dir D                            a development token issuer:\n"
    "                                                D/dev-issuer.key and D/dev-issuer-jwks.json\n"
    "  log-key    --dir D --origin NAME              a node's activity-log signing key:\n"
    "                                                D/log.key (secret), D/log.pub (verifier "
    "key)\n";

constexpr char kTokenHelp[] =
    "usage: trectl token --issuer-key FILE --issuer URL --subject SUB --roles R1,R2\n"
    "                    [--audience AUD] [--ttl-minutes N] [--amr M1,M2]\n"
    "\n"
    "DEVELOPMENT ONLY: prints a short-lived ES256 token signed with a key from\n"
    "`trectl pki dev-issuer`, for a node whose oidc.jwks_file is that issuer's\n"
    "JWKS. Roles are claim values (by default the node's role names). Default\n"
    "audience \"trenode\", lifetime 15 minutes.\n";

absl::Status WriteSecret(const fs::path& path, const std::string& text, bool secret) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", path.string()));
  if (secret) ::chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadText(const fs::path& path) {
  std::optional<std::string> text = ReadWholeFile(path.string());
  if (!text) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  return *text;
}

int PkiInit(const Args& args, const fs::path& dir, int days) {
  if (fs::exists(dir / "ca.key")) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat((dir / "ca.key").string(), " exists; refusing to replace a CA key")));
  }
  auto ca = pki::CreateCa(args.Get("name").value_or("trenode development federation"),
                          pki::ValidFor(days));
  if (!ca.ok()) return Fail(ca.status());
  if (absl::Status s = WriteSecret(dir / "ca.key", ca->key_pem, true); !s.ok()) return Fail(s);
  if (absl::Status s = WriteSecret(dir / "ca.pem", ca->certificate_pem, false); !s.ok()) {
    return Fail(s);
  }
  std::cout << "created federation CA " << (dir / "ca.pem").string() << "\n";
  return kOk;
}

int PkiIssue(const Args& args, const fs::path& dir, int days) {
  bool service = args.Has("service");
  if (!args.Has("node")) return Usage("pki issue --dir D --node ID [--service NAME]");
  std::string node_id = *args.Get("node");
  std::string name = service ? *args.Get("service") : node_id;
  for (const std::string& each : {node_id, name}) {
    if (!catalogue::ValidateDatasetId(each).ok()) {
      return Fail(absl::InvalidArgumentError(
          absl::StrCat("\"", each, "\" must be 2 to 63 characters of [a-z0-9-]")));
    }
  }
  bool node = !service;
  auto key = ReadText(dir / "ca.key");
  auto cert = ReadText(dir / "ca.pem");
  if (!key.ok()) return Fail(key.status());
  if (!cert.ok()) return Fail(cert.status());
  auto request = node ? pki::NodeCertificateRequest(name, pki::ValidFor(days))
                      : pki::ServiceCertificateRequest(node_id, name, pki::ValidFor(days));
  auto issued = pki::Issue({*key, *cert}, request);
  if (!issued.ok()) return Fail(issued.status());
  std::string stem = node ? name : "service-" + name;
  if (absl::Status s = WriteSecret(dir / (stem + ".key"), issued->key_pem, true); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = WriteSecret(dir / (stem + ".pem"), issued->certificate_pem, false);
      !s.ok()) {
    return Fail(s);
  }
  std::cout << "issued " << (dir / (stem + ".pem")).string() << " for trenode://"
            << (node ? name : absl::StrCat(node_id, "/service/", name)) << "\n";
  return kOk;
}

int PkiDevIssuer(const fs::path& dir) {
  auto key = auth::DevSigningKey::Generate();
  if (!key.ok()) return Fail(key.status());
  if (absl::Status s = WriteSecret(dir / "dev-issuer.key", (*key)->PrivatePem(), true); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = WriteSecret(dir / "dev-issuer-jwks.json", (*key)->JwksJson(), false);
      !s.ok()) {
    return Fail(s);
  }
  std::cout << "created development token issuer " << (dir / "dev-issuer.key").string()
            << " (key id " << (*key)->kid() << ")\n";
  return kOk;
}

int PkiLogKey(const Args& args, const fs::path& dir) {
  std::optional<std::string> origin = args.Get("origin");
  if (!origin) return Usage("pki log-key --dir D --origin NAME (e.g. trenode.example.org/site-a)");
  auto signer = log::NoteSigner::Generate(*origin);
  if (!signer.ok()) return Fail(signer.status());
  if (fs::exists(dir / "log.key")) {
    return Fail(absl::AlreadyExistsError(
        absl::StrCat((dir / "log.key").string(), " exists; refusing to replace a log key")));
  }
  if (absl::Status s = WriteSecret(dir / "log.key", signer->KeyString() + "\n", true); !s.ok()) {
    return Fail(s);
  }
  if (absl::Status s = WriteSecret(dir / "log.pub", signer->VerifierKey() + "\n", false); !s.ok()) {
    return Fail(s);
  }
  std::cout << "created activity-log key " << (dir / "log.key").string() << "; verifier key "
            << signer->VerifierKey() << "\n";
  return kOk;
}

const std::vector<CommandLine>& PkiCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"init",
       "usage: trectl pki init --dir D [--name NAME] [--days N]\n"
       "A development federation CA: D/ca.pem, D/ca.key.\n",
       {"dir", "name", "days"}},
      {"issue",
       "usage: trectl pki issue --dir D --node ID [--service NAME] [--days N]\n"
       "A node's certificate (D/ID.pem, D/ID.key, naming trenode://ID), or with --service a\n"
       "service's client certificate (D/service-NAME.pem/.key, trenode://ID/service/NAME).\n",
       {"dir", "node", "service", "days"}},
      {"dev-issuer",
       "usage: trectl pki dev-issuer --dir D\n"
       "A development token issuer: D/dev-issuer.key and D/dev-issuer-jwks.json.\n",
       {"dir"}},
      {"log-key",
       "usage: trectl pki log-key --dir D --origin NAME\n"
       "A node's activity-log signing key: D/log.key (secret), D/log.pub (verifier key).\n",
       {"dir", "origin"}},
  };
  return *lines;
}

}  // namespace

int RunPkiCommand(const Args& args) {
  return RunArea(args, kPkiHelp, PkiCommandLines(), [&](const std::string& command,
                                                        const Args& rest) {
    std::optional<std::string> dir = rest.Get("dir");
    if (!dir) return Usage(absl::StrCat("pki ", command, " --dir DIR ..."));
    auto days = rest.GetInt("days", 365);
    if (!days.ok()) return Fail(days.status());
    if (command == "init") return PkiInit(rest, *dir, static_cast<int>(*days));
    if (command == "issue") return PkiIssue(rest, *dir, static_cast<int>(*days));
    if (command == "dev-issuer") return PkiDevIssuer(*dir);
    return PkiLogKey(rest, *dir);
  });
}

int RunTokenCommand(const Args& args) {
  if (args.Has("help")) {
    std::cout << kTokenHelp;
    return kOk;
  }
  if (int rc = CheckFlags(args, "token", kTokenHelp,
                          {"issuer-key", "issuer", "subject", "roles", "audience", "ttl-minutes",
                           "amr"});
      rc != kOk) {
    return rc;
  }
  auto key_file = args.Get("issuer-key");
  auto issuer = args.Get("issuer");
  auto subject = args.Get("subject");
  auto roles = args.Get("roles");
  if (!key_file || !issuer || !subject || !roles) {
    std::cerr << kTokenHelp;
    return kUsage;
  }
  auto pem = ReadText(*key_file);
  if (!pem.ok()) return Fail(pem.status());
  auto key = auth::DevSigningKey::FromPem(*pem);
  if (!key.ok()) return Fail(key.status());
  auto ttl = args.GetInt("ttl-minutes", 15);
  if (!ttl.ok()) return Fail(ttl.status());
  absl::Time now = absl::Now();
  auth::DevTokenClaims claims;
  claims.issuer = *issuer;
  claims.audience = args.Get("audience").value_or("trenode");
  claims.subject = *subject;
  claims.roles = absl::StrSplit(*roles, ',', absl::SkipEmpty());
  if (auto amr = args.Get("amr")) claims.amr = absl::StrSplit(*amr, ',', absl::SkipEmpty());
  claims.not_before = now - absl::Seconds(5);
  claims.expires = now + absl::Minutes(*ttl);
  auto token = auth::MintDevToken(**key, claims);
  if (!token.ok()) return Fail(token.status());
  std::cout << *token << "\n";
  return kOk;
}

}  // namespace trenode::trectl
