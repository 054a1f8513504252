#include "node/pki/pki.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"

namespace trenode::pki {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

constexpr char kScheme[] = "trenode://";
constexpr char kServicePrefix[] = "service/";

absl::Status OpenSslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat("OpenSSL: ", what));
}

absl::StatusOr<Key> NewKey() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return OpenSslError("cannot generate a P-256 key");
  return key;
}

std::string KeyPem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size);
}

std::string CertPem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, size);
}

absl::StatusOr<Key> ParseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return absl::InvalidArgumentError("not a PEM private key");
  return key;
}

absl::StatusOr<Cert> ParseCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return absl::InvalidArgumentError("not a PEM certificate");
  return cert;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return absl::InvalidArgumentError(absl::StrCat("bad extension: ", value));
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return absl::OkStatus();
}

// A certificate for `key` named `common_name`, before extensions and signing.
absl::StatusOr<Cert> NewCertificate(EVP_PKEY* key, const std::string& common_name,
                                    const Validity& validity) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(validity.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(validity.not_after));
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

}  // namespace

Validity ValidFor(int days) {
  absl::Time now = absl::Now();
  return {now - absl::Minutes(1), now + absl::Hours(24) * days};
}

absl::StatusOr<KeyAndCertificate> CreateCa(const std::string& name, Validity validity) {
  ASSIGN_OR_RETURN(Key key, NewKey());
  ASSIGN_OR_RETURN(Cert cert, NewCertificate(key.get(), name, validity));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) return OpenSslError("cannot sign the CA");
  return KeyAndCertificate{KeyPem(key.get()), CertPem(cert.get())};
}

absl::StatusOr<KeyAndCertificate> Issue(const KeyAndCertificate& ca,
                                        const CertificateRequest& request) {
  ASSIGN_OR_RETURN(Key ca_key, ParseKey(ca.key_pem));
  ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.certificate_pem));
  ASSIGN_OR_RETURN(Key key, NewKey());
  ASSIGN_OR_RETURN(Cert cert, NewCertificate(key.get(), request.common_name, request.validity));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE"));
  RETURN_IF_ERROR(
      AddExtension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature"));
  std::vector<std::string> usages;
  if (request.server) usages.push_back("serverAuth");
  if (request.client) usages.push_back("clientAuth");
  if (!usages.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), ca_cert.get(), NID_ext_key_usage, absl::StrJoin(usages, ",")));
  }
  std::vector<std::string> sans;
  for (const auto& uri : request.uri_sans) sans.push_back("URI:" + uri);
  for (const auto& dns : request.dns_sans) sans.push_back("DNS:" + dns);
  for (const auto& ip : request.ip_sans) sans.push_back("IP:" + ip);
  if (!sans.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), ca_cert.get(), NID_subject_alt_name, absl::StrJoin(sans, ",")));
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid"));
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    return absl::InvalidArgumentError("the CA key does not match the CA certificate");
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) {
    return OpenSslError("cannot sign the certificate");
  }
  return KeyAndCertificate{KeyPem(key.get()), CertPem(cert.get())};
}

CertificateRequest NodeCertificateRequest(const std::string& node_id, Validity validity) {
  CertificateRequest request;
  request.common_name = node_id;
  request.uri_sans = {absl::StrCat(kScheme, node_id)};
  request.dns_sans = {"localhost", node_id};
  request.ip_sans = {"127.0.0.1", "::1"};
  request.server = true;
  request.client = true;
  request.validity = validity;
  return request;
}

CertificateRequest ServiceCertificateRequest(const std::string& node_id, const std::string& name,
                                             Validity validity) {
  CertificateRequest request;
  request.common_name = absl::StrCat("service ", name, " of ", node_id);
  request.uri_sans = {absl::StrCat(kScheme, node_id, "/", kServicePrefix, name)};
  request.client = true;
  request.validity = validity;
  return request;
}

namespace {

absl::StatusOr<PeerName> ReadPeerName(const std::string& certificate_pem) {
  absl::StatusOr<Cert> cert = ParseCert(certificate_pem);
  if (!cert.ok()) return absl::UnauthenticatedError("the client certificate does not parse");
  Names names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> found;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                     ASN1_STRING_length(uri));
    if (absl::StartsWith(text, kScheme)) found.push_back(text.substr(sizeof(kScheme) - 1));
  }
  if (found.size() != 1) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate must carry exactly one trenode:// URI name; it has ",
                     found.size()));
  }
  auto is_name = [](absl::string_view text) {
    bool ok = text.size() >= 2 && text.size() <= 63;
    for (char c : text) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    return ok;
  };
  PeerName peer;
  std::vector<std::string> parts = absl::StrSplit(found[0], '/');
  if (parts.size() == 1 && is_name(parts[0])) {
    peer.kind = PeerName::Kind::kNode;
    peer.name = parts[0];
    return peer;
  }
  if (parts.size() == 3 && parts[1] == "service" && is_name(parts[0]) && is_name(parts[2])) {
    peer.kind = PeerName::Kind::kService;
    peer.node = parts[0];
    peer.name = parts[2];
    return peer;
  }
  if (parts.size() == 2 && parts[0] == "service") {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate's name \"trenode://", found[0],
                     "\" names no node: service certificates name the node they serve, "
                     "trenode://<node-id>/service/<name>; have it reissued"));
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the client certificate's trenode:// name \"", PrintableText(found[0], 200), "\" is malformed"));
}

// The names read from the certificates seen lately, by their exact PEM
// text: every RPC of a partner or service presents the same certificate,
// and parsing it each time costs more than the call. Bounded: emptied when
// full. Only successes are kept. Thread-safe.
class PeerNameCache {
 public:
  std::optional<PeerName> Find(const std::string& pem) {
    absl::MutexLock lock(&mu_);
    auto found = names_.find(pem);
    if (found == names_.end()) return std::nullopt;
    return found->second;
  }
  void Keep(const std::string& pem, const PeerName& name) {
    absl::MutexLock lock(&mu_);
    if (names_.size() >= kMaxNames) names_.clear();
    names_.emplace(pem, name);
  }

 private:
  static constexpr size_t kMaxNames = 256;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, PeerName> names_ ABSL_GUARDED_BY(mu_);
};

PeerNameCache& PeerNames() {
  static PeerNameCache* cache = new PeerNameCache();
  return *cache;
}

}  // namespace

absl::StatusOr<PeerName> PeerNameFromCertificate(const std::string& certificate_pem) {
  if (std::optional<PeerName> known = PeerNames().Find(certificate_pem)) return *known;
  absl::StatusOr<PeerName> read = ReadPeerName(certificate_pem);
  if (read.ok()) PeerNames().Keep(certificate_pem, *read);
  return read;
}

}  // namespace trenode::pki
