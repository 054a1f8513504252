#include "node/pki/pki.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace trenode::pki {
namespace {

// Verifies `leaf` against `ca` with OpenSSL, as a TLS stack would.
bool ChainVerifies(const std::string& ca_pem, const std::string& leaf_pem) {
  BIO* ca_bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  BIO* leaf_bio = BIO_new_mem_buf(leaf_pem.data(), static_cast<int>(leaf_pem.size()));
  X509* ca = PEM_read_bio_X509(ca_bio, nullptr, nullptr, nullptr);
  X509* leaf = PEM_read_bio_X509(leaf_bio, nullptr, nullptr, nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  X509_free(leaf);
  BIO_free(ca_bio);
  BIO_free(leaf_bio);
  return ok;
}

TEST(PkiTest, NodeCertificateChainsToItsCaAndNamesTheNode) {
  auto ca = CreateCa("test federation", ValidFor(30));
  ASSERT_TRUE(ca.ok()) << ca.status();
  auto node = Issue(*ca, NodeCertificateRequest("site-a", ValidFor(7)));
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_TRUE(ChainVerifies(ca->certificate_pem, node->certificate_pem));
  auto peer = PeerNameFromCertificate(node->certificate_pem);
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->kind, PeerName::Kind::kNode);
  EXPECT_EQ(peer->name, "site-a");

  auto other_ca = *CreateCa("another federation", ValidFor(30));
  EXPECT_FALSE(ChainVerifies(other_ca.certificate_pem, node->certificate_pem));
}

TEST(PkiTest, ServiceCertificateNamesTheServiceAndItsNode) {
  auto ca = *CreateCa("test federation", ValidFor(30));
  auto service = Issue(ca, ServiceCertificateRequest("site-a", "backup", ValidFor(7)));
  ASSERT_TRUE(service.ok());
  auto peer = *PeerNameFromCertificate(service->certificate_pem);
  EXPECT_EQ(peer.kind, PeerName::Kind::kService);
  EXPECT_EQ(peer.name, "backup");
  EXPECT_EQ(peer.node, "site-a");
  // A service certificate that names no node is refused, saying how to fix it.
  CertificateRequest unscoped = ServiceCertificateRequest("site-a", "backup", ValidFor(7));
  unscoped.uri_sans = {"trenode://service/backup"};
  auto legacy = PeerNameFromCertificate(Issue(ca, unscoped)->certificate_pem);
  EXPECT_EQ(legacy.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(absl::StrContains(legacy.status().message(), "trenode://<node-id>/service/<name>"));
}

TEST(PkiTest, ExpiredCertificatesFailVerification) {
  auto ca = *CreateCa("test federation", ValidFor(30));
  absl::Time now = absl::Now();
  CertificateRequest request = NodeCertificateRequest("old-site", {now - absl::Hours(48),
                                                                   now - absl::Hours(24)});
  auto expired = Issue(ca, request);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(ChainVerifies(ca.certificate_pem, expired->certificate_pem));
}

TEST(PkiTest, CertificatesWithoutOneTrenodeNameAreRefused) {
  auto ca = *CreateCa("test federation", ValidFor(30));
  CertificateRequest none;
  none.common_name = "anonymous";
  none.dns_sans = {"example.org"};
  none.validity = ValidFor(1);
  auto plain = *Issue(ca, none);
  EXPECT_EQ(PeerNameFromCertificate(plain.certificate_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
  CertificateRequest two = NodeCertificateRequest("a-site", ValidFor(1));
  two.uri_sans.push_back("trenode://b-site");
  EXPECT_EQ(PeerNameFromCertificate(Issue(ca, two)->certificate_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
  CertificateRequest bad = NodeCertificateRequest("Bad Name", ValidFor(1));
  bad.dns_sans = {"localhost"};
  EXPECT_EQ(PeerNameFromCertificate(Issue(ca, bad)->certificate_pem).status().code(),
            absl::StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace trenode::pki
