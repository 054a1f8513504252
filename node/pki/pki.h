// A development federation PKI: a CA, and node and service certificates it
// issues, made with OpenSSL (ECDSA P-256, SHA-256). Production sites bring
// their own PKI; trenode only needs the certificates' shape (README, "PKI").
//
// A node certificate carries the URI SAN "trenode://<node-id>" and serves as
// both TLS server and client certificate; a service certificate carries
// "trenode://<node-id>/service/<name>", naming the node whose service it is,
// and is a client certificate only.
#ifndef TRENODE_NODE_PKI_PKI_H_
#define TRENODE_NODE_PKI_PKI_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace trenode::pki {

struct KeyAndCertificate {
  std::string key_pem;
  std::string certificate_pem;
};

struct Validity {
  absl::Time not_before;
  absl::Time not_after;
};

// A validity from now - 1 minute (for clock skew) for `days`.
Validity ValidFor(int days);

// A self-signed CA certificate named `name`.
absl::StatusOr<KeyAndCertificate> CreateCa(const std::string& name, Validity validity);

struct CertificateRequest {
  std::string common_name;
  std::vector<std::string> uri_sans;
  std::vector<std::string> dns_sans;
  std::vector<std::string> ip_sans;
  bool server = false;  // adds serverAuth to the extended key usage
  bool client = false;  // adds clientAuth
  Validity validity;
};

// A certificate for a fresh key, signed by `ca`. InvalidArgument for a bad
// CA key or certificate, or a malformed IP address.
absl::StatusOr<KeyAndCertificate> Issue(const KeyAndCertificate& ca,
                                        const CertificateRequest& request);

// The request for a node's certificate: URI SAN trenode://<node_id>, DNS
// localhost and <node_id>, IP 127.0.0.1 and ::1, server and client use.
CertificateRequest NodeCertificateRequest(const std::string& node_id, Validity validity);
// The request for a service account of node `node_id`: URI SAN
// trenode://<node_id>/service/<name>, client use.
CertificateRequest ServiceCertificateRequest(const std::string& node_id, const std::string& name,
                                             Validity validity);

// Who a verified peer certificate names: its "trenode://" URI SAN.
struct PeerName {
  enum class Kind { kNode, kService };
  Kind kind;
  std::string name;  // the node's id, or the service's name
  std::string node;  // a service's node
};

// The trenode identity in a PEM certificate. Unauthenticated if it has no
// (or more than one) trenode:// URI SAN, or the name is malformed (including
// a service certificate that names no node, "trenode://service/<name>").
absl::StatusOr<PeerName> PeerNameFromCertificate(const std::string& certificate_pem);

}  // namespace trenode::pki

#endif  // TRENODE_NODE_PKI_PKI_H_
