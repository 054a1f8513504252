#include "adapters/cloud/xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <mutex>

#include "absl/strings/str_split.h"

namespace trenode::adapters::cloud {
namespace {

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
}

bool Named(const xmlNode* node, absl::string_view name) {
  return node->type == XML_ELEMENT_NODE &&
         absl::string_view(reinterpret_cast<const char*>(node->name)) == name;
}

void Collect(const xmlNode* node, const std::vector<absl::string_view>& path, size_t depth,
             std::vector<std::string>& out) {
  if (!Named(node, path[depth])) return;
  if (depth + 1 == path.size()) {
    xmlChar* text = xmlNodeGetContent(node);
    out.emplace_back(text == nullptr ? "" : reinterpret_cast<const char*>(text));
    xmlFree(text);
    return;
  }
  for (const xmlNode* child = node->children; child != nullptr; child = child->next) {
    Collect(child, path, depth + 1, out);
  }
}

}  // namespace

absl::StatusOr<XmlDocument> XmlDocument::Parse(absl::string_view text) {
  InitOnce();
  xmlDoc* doc = xmlReadMemory(text.data(), static_cast<int>(text.size()), "response.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr || xmlDocGetRootElement(doc) == nullptr) {
    if (doc != nullptr) xmlFreeDoc(doc);
    return absl::InvalidArgumentError("the response is not well-formed XML");
  }
  return XmlDocument(doc);
}

XmlDocument::~XmlDocument() {
  if (doc_ != nullptr) xmlFreeDoc(static_cast<xmlDoc*>(doc_));
}

XmlDocument::XmlDocument(XmlDocument&& other) noexcept : doc_(other.doc_) { other.doc_ = nullptr; }

XmlDocument& XmlDocument::operator=(XmlDocument&& other) noexcept {
  std::swap(doc_, other.doc_);
  return *this;
}

std::vector<std::string> XmlDocument::Texts(absl::string_view path) const {
  std::vector<absl::string_view> names = absl::StrSplit(path, '/', absl::SkipEmpty());
  std::vector<std::string> out;
  if (names.empty() || doc_ == nullptr) return out;
  Collect(xmlDocGetRootElement(static_cast<xmlDoc*>(doc_)), names, 0, out);
  return out;
}

std::optional<std::string> XmlDocument::Text(absl::string_view path) const {
  std::vector<std::string> texts = Texts(path);
  if (texts.empty()) return std::nullopt;
  return texts.front();
}

}  // namespace trenode::adapters::cloud
