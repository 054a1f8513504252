// Reading the XML bodies cloud storage services answer with (listings,
// errors), through libxml2: no network access, no entity expansion.
// Elements are named by their local names, whatever their namespace.
#ifndef TRENODE_ADAPTERS_CLOUD_XML_H_
#define TRENODE_ADAPTERS_CLOUD_XML_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters::cloud {

class XmlDocument {
 public:
  // InvalidArgument if `text` is not well-formed XML.
  static absl::StatusOr<XmlDocument> Parse(absl::string_view text);
  ~XmlDocument();
  XmlDocument(XmlDocument&&) noexcept;
  XmlDocument& operator=(XmlDocument&&) noexcept;

  // The text of every element at `path`, a '/'-separated chain of local
  // names from the root element down ("ListBucketResult/Contents/Key"), in
  // document order.
  std::vector<std::string> Texts(absl::string_view path) const;
  // The first of Texts(path), if any.
  std::optional<std::string> Text(absl::string_view path) const;

 private:
  explicit XmlDocument(void* doc) : doc_(doc) {}
  void* doc_;  // xmlDoc*
};

}  // namespace trenode::adapters::cloud

#endif  // TRENODE_ADAPTERS_CLOUD_XML_H_
